// Package whispertool is `statbox whisper`: python3-whisper 1.1.4's whisper-create,
// -info, -fetch, -update, -dump, -resize, -merge and -fill, same output byte for byte.
package whispertool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"statbox/storage/whisper"
)

// Env is what a tool sees of its process: the output streams and the clock.
type Env struct {
	Stdout, Stderr io.Writer
	// Now is the clock; nil means time.Now. The Location of the time it
	// returns is the local time zone of --pretty output.
	Now func() time.Time
}

// tools maps each tool's name to its run function.
var tools = map[string]func(*run, []string) int{
	"create": runCreate,
	"info":   runInfo,
	"fetch":  runFetch,
	"update": runUpdate,
	"dump":   runDump,
	"resize": runResize,
	"merge":  runMerge,
	"fill":   runFill,
}

// Main runs the tool named by args[0] ("create", "info", "fetch", "update",
// "dump", "resize", "merge" or "fill") with the arguments after it, as
// whisper-TOOL takes them, and returns its exit status.
func Main(args []string, env Env) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	if len(args) == 0 || tools[args[0]] == nil {
		fmt.Fprintln(env.Stderr, "usage: statbox whisper create|info|fetch|update|dump|resize|merge|fill ARGS...")
		return 2
	}
	r := &run{out: bufio.NewWriter(env.Stdout), errw: env.Stderr, now: env.Now()}
	code := tools[args[0]](r, args[1:])
	r.out.Flush()
	return code
}

// run is one tool run: buffered standard output, standard error, and the
// time it started, which is the only clock the tools read.
type run struct {
	out  *bufio.Writer
	errw io.Writer
	now  time.Time
}

func (r *run) printf(format string, args ...any) { fmt.Fprintf(r.out, format, args...) }

// exit prints msg to standard error and returns 1, as Python's
// SystemExit(msg) does.
func (r *run) exit(msg string) int {
	r.out.Flush()
	fmt.Fprintln(r.errw, msg)
	return 1
}

// fail is r.exit("[ERROR] " + msg): the tools' own error form, used also
// where whisper.py would die with a traceback.
func (r *run) fail(msg string) int { return r.exit("[ERROR] " + msg) }

// parseArgs runs p over args; a non-nil code means the run is over.
func (r *run) parseArgs(p *optParser, args []string) ([]string, *int) {
	pos, err := p.parse(args, r.out, r.errw)
	var e errExit
	if errors.As(err, &e) {
		code := int(e)
		return nil, &code
	}
	return pos, nil
}

// unixTime is t seconds after the epoch in the time zone of the run's clock.
func (r *run) unixTime(t int64) time.Time { return time.Unix(t, 0).In(r.now.Location()) }

// floatNow is Python's time.time(): the clock in fractional seconds.
func (r *run) floatNow() float64 {
	return float64(r.now.Unix()) + float64(r.now.Nanosecond())/1e9
}

// noneBits marks a missing value. The library's fetches give math.NaN()
// where whisper.py gives None; its payload differs from the quiet NaN Python
// stores for float('nan'), so a NaN that was written stays a value here as it
// does in whisper.py.
var noneBits = math.Float64bits(whisper.Missing)

func isNone(v float64) bool { return math.Float64bits(v) == noneBits }

// pyError is the text of the exception Python raises for err: an OSError as
// "[Errno 2] No such file or directory: 'path'" (path is the name the user
// gave, not a temporary one), anything else as the error's own text.
func pyError(err error, path string) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		msg := errno.Error()
		if msg != "" {
			msg = strings.ToUpper(msg[:1]) + msg[1:]
		}
		return fmt.Sprintf("[Errno %d] %s: %s", int(errno), msg, strRepr(path))
	}
	return err.Error()
}

// openWhisper opens path with the library, reporting failures as whisper.py
// would: a directory cannot be opened, and a header the library refuses is
// described in whisper.py's words when whisper.py's looser checks refuse it too.
func openWhisper(path string, opts whisper.Options) (*whisper.File, string) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, pyError(syscall.EISDIR, path)
	}
	f, err := whisper.Open(path, opts)
	if err == nil {
		return f, ""
	}
	if errors.Is(err, whisper.ErrCorrupt) {
		if _, perr := readPyHeader(path); perr != nil {
			return nil, pyError(perr, path)
		}
	}
	return nil, pyError(err, path)
}

// unlink is Python's os.unlink, which unlike os.Remove never removes a
// directory.
func unlink(path string) error {
	if err := syscall.Unlink(path); err != nil {
		return &os.PathError{Op: "unlink", Path: path, Err: err}
	}
	return nil
}

// exists is Python's os.path.exists: the path, symbolic links followed, is there.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// retentionUsage is the usage text of whisper-create and whisper-resize
// after their first line.
const retentionUsage = `

timePerPoint and timeToStore specify lengths of time, for example:

60:1440      60 seconds per datapoint, 1440 datapoints = 1 day of retention
15m:8        15 minutes per datapoint, 8 datapoints = 2 hours of retention
1h:7d        1 hour per datapoint, 7 days of retention
12h:2y       12 hours per datapoint, 2 years of retention
`

// methodList is ', '.join(whisper.aggregationMethods).
var methodList = strings.Join(whisper.AggregationMethods, ", ")

// parseRetentions parses retention definitions, failing with whisper.py's
// message for the first bad one.
func parseRetentions(defs []string) ([]whisper.Retention, error) {
	out := make([]whisper.Retention, 0, len(defs))
	for _, d := range defs {
		r, err := whisper.ParseRetentionDef(d)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
