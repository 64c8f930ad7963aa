package whispertool

import (
	"cmp"
	"errors"
	"slices"

	"statbox/storage/whisper"
)

// runMerge is whisper-merge: src's points overwrite dst's, archive by archive.
func runMerge(r *run, args []string) int {
	var from, until int64
	var fromSet, untilSet bool
	p := &optParser{prog: "whisper-merge", usage: "%prog [options] from_path to_path", options: []*option{
		{long: "--from", metavar: "_FROM", integer: &from, given: &fromSet,
			help: "Begining of interval, unix timestamp (default: epoch)"},
		{long: "--until", metavar: "UNTIL", integer: &until, given: &untilSet,
			help: "End of interval, unix timestamp (default: now)"},
	}}
	args, code := r.parseArgs(p, args)
	if code != nil {
		return *code
	}
	if len(args) < 2 {
		r.out.WriteString(p.help())
		return 1
	}
	for _, path := range args[:2] {
		if !exists(path) {
			return r.exit("[ERROR] File \"" + path + "\" does not exist!")
		}
	}
	src, msg := openWhisper(args[0], whisper.Options{ReadOnly: true})
	if src == nil {
		return r.fail(msg)
	}
	defer src.Close()
	dst, msg := openWhisper(args[1], whisper.Options{})
	if dst == nil {
		return r.fail(msg)
	}
	defer dst.Close()
	now := r.now.Unix()
	if !fromSet {
		from = 0
	}
	if !untilSet {
		until = now
	}
	if err := whisper.Merge(src, dst, from, until, now); err != nil {
		return r.fail(err.Error())
	}
	return 0
}

// runFill is whisper-fill: dst's gaps filled from src, preferring src's most
// precise archive, without overwriting anything dst has.
func runFill(r *run, args []string) int {
	var lock bool
	p := &optParser{prog: "whisper-fill", usage: "%prog [--lock] src dst",
		description: "copies data from src in dst, if missing",
		options:     []*option{{long: "--lock", flag: &lock, help: "Lock whisper files"}},
	}
	args, code := r.parseArgs(p, args)
	if code != nil {
		return *code
	}
	if len(args) != 2 {
		r.out.WriteString(p.help())
		return 1
	}
	fl := &filler{srcPath: args[0], opts: whisper.Options{Lock: lock}, now: r.floatNow(), intNow: r.now.Unix()}
	dst, msg := openWhisper(args[1], fl.opts)
	if dst == nil {
		return r.fail(msg)
	}
	defer dst.Close()
	fl.dst = dst
	err := fl.fillArchives()
	if fl.src != nil {
		fl.src.Close()
	}
	if err != nil {
		return r.fail(err.Error())
	}
	return 0
}

// filler walks dst's archives for gaps and fills them from src as
// whisper-fill does, including its quirks: a value of 0 counts as a gap
// (Python's `not v`), a gap of one point is left alone, and times are
// compared as Python's floating-point time.time() gives them.
type filler struct {
	srcPath string
	src     *whisper.File // opened at the first gap: whisper-fill reads src only then
	dst     *whisper.File
	opts    whisper.Options
	now     float64 // time.time()
	intNow  int64   // int(time.time()), the now of whisper.py's fetch and update_many
}

// byRetention is a header's archives, shortest retention first.
func byRetention(h *whisper.Header) []whisper.ArchiveInfo {
	archives := slices.Clone(h.Archives)
	slices.SortStableFunc(archives, func(a, b whisper.ArchiveInfo) int { return cmp.Compare(a.Retention(), b.Retention()) })
	return archives
}

// errNotIterable is what Python says when whisper.fetch returns None to a
// caller that unpacks its result.
var errNotIterable = errors.New("cannot unpack non-iterable NoneType object")

func (fl *filler) fillArchives() error {
	startFrom := fl.now
	for _, a := range byRetention(&fl.dst.Header) {
		fromTime := fl.now - float64(a.Retention())
		if fromTime >= startFrom {
			continue
		}
		rng, values, err := fl.dst.Fetch(nil, int64(fromTime), int64(startFrom), fl.intNow)
		if errors.Is(err, whisper.ErrNoData) {
			return errNotIterable
		}
		if err != nil {
			return err
		}
		start, end, step := rng.From, rng.Until, rng.Step
		var gapStart int64 // 0 is no gap: whisper-fill tests it for truth
		for _, v := range values {
			set := !isNone(v) && v != 0
			switch {
			case !set && gapStart == 0:
				gapStart = start
			case set && gapStart != 0:
				if start-gapStart > int64(a.SecondsPerPoint) {
					if err := fl.fill(float64(gapStart-step), float64(start)); err != nil {
						return err
					}
				}
				gapStart = 0
			case gapStart != 0 && start == end-step:
				if err := fl.fill(float64(gapStart-step), float64(start)); err != nil {
					return err
				}
			}
			start += step
		}
		startFrom = fromTime
	}
	return nil
}

// fill copies src's points between tstart and tstop into dst, walking
// back in time from the most precise archive of src to the least.
func (fl *filler) fill(tstart, tstop float64) error {
	if fl.src == nil {
		src, msg := openWhisper(fl.srcPath, whisper.Options{ReadOnly: true})
		if src == nil {
			return errors.New(msg)
		}
		fl.src = src
	}
	srcTime := float64(fl.intNow - int64(fl.src.Header.MaxRetention))
	if tstart < srcTime && tstop < srcTime {
		return nil
	}
	for _, a := range byRetention(&fl.src.Header) {
		rtime := fl.now - float64(a.Retention())
		if tstop <= rtime {
			continue
		}
		fromTime := tstart
		if rtime > tstart {
			fromTime = rtime
		}
		rng, values, err := fl.src.Fetch(nil, int64(fromTime), int64(tstop), fl.intNow)
		if errors.Is(err, whisper.ErrNoData) {
			return errNotIterable
		}
		if err != nil {
			return err
		}
		var points []whisper.Point
		for k, v := range values {
			if !isNone(v) {
				points = append(points, whisper.Point{Timestamp: rng.From + int64(k)*rng.Step, Value: v})
			}
		}
		if msg := checkPackable(fl.dst, points, fl.intNow); msg != "" {
			return errors.New(msg)
		}
		if err := fl.dst.UpdateMany(points, fl.intNow); err != nil {
			return err
		}
		tstop = fromTime
		if tstart == tstop {
			return nil
		}
	}
	return nil
}
