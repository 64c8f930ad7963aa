package appliance

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Config is statbox run's configuration: the contract's flags (DESIGN.md)
// and the storage settings carbon.conf used to hold.
type Config struct {
	Data    string // whisper tree under Data/whisper, and state
	ConfDir string // storage-schemas.conf and storage-aggregation.conf; "" for the built-in ones

	Statsd, Admin, Carbon, Pickle, HTTP string // listen addresses; "off" disables

	FlushInterval   time.Duration // statsd
	Collect         bool          // host collection
	CollectEBPF     bool          // the eBPF probes among the collectors
	CollectInterval time.Duration

	MaxOpenFiles        int           // whisper files kept mapped; 0 derives it from vm.max_map_count
	MaxMapCount         int           // vm.max_map_count to raise the kernel's to, as root; 0 leaves it
	SyncInterval        time.Duration // sync of dirty files
	LockWrites          bool          // carbon's WHISPER_LOCK_WRITES
	SparseCreate        bool          // carbon's WHISPER_SPARSE_CREATE
	MaxCreatesPerMinute int           // carbon's MAX_CREATES_PER_MINUTE
	MaxCacheSize        int           // points held in memory before new ones are dropped
	SelfInterval        time.Duration // self-metrics under statbox.<host>.

	StatsdConfig statsdConfig // etsy statsd's output settings, --forward, --statsd-debug (statsd.go)
	UpdateDir    string       // where POST /update stores a new system for statbox-init; "" turns it off

	LogLevel slog.Level
}

// parseFlags reads statbox run's command line.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("statbox run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Data, "data", "./data", "`DIR` of the whisper tree (DIR/whisper/a/b/c.wsp), events and state")
	fs.StringVar(&c.ConfDir, "conf-dir", "", "`DIR` holding storage-schemas.conf and storage-aggregation.conf in carbon's format (default: built in)")
	fs.StringVar(&c.Statsd, "statsd", ":8125", "statsd `ADDR`, UDP and TCP, or off")
	fs.StringVar(&c.Admin, "admin", ":8126", "etsy-compatible statsd admin `ADDR`, or off")
	fs.StringVar(&c.Carbon, "carbon", ":2003", "carbon plaintext `ADDR`, TCP and UDP, or off")
	fs.StringVar(&c.Pickle, "pickle", ":2004", "carbon pickle `ADDR`, TCP, or off")
	fs.StringVar(&c.HTTP, "http", ":8080", "render API `ADDR`, or off; GET /health answers 200 once every listener is up")
	fs.DurationVar(&c.FlushInterval, "flush-interval", 10*time.Second, "statsd flush interval")
	fs.BoolVar(&c.Collect, "collect", true, "collect host metrics")
	fs.BoolVar(&c.CollectEBPF, "collect-ebpf", true, "with --collect, also the kernel's eBPF probes (block I/O and run-queue latency, TCP retransmits, processes, OOM kills, system calls)")
	fs.DurationVar(&c.CollectInterval, "collect-interval", 10*time.Second, "host collection interval")
	fs.IntVar(&c.MaxOpenFiles, "max-open-files", 0, "whisper files kept memory-mapped (0: half of vm.max_map_count, at most 1048576)")
	fs.IntVar(&c.MaxMapCount, "max-map-count", 1<<21, "raise vm.max_map_count to this at start when lower and running as root, so the whole tree stays mapped (0: leave it)")
	fs.DurationVar(&c.SyncInterval, "sync-interval", 30*time.Second, "how often dirty whisper files are synced to disk")
	fs.BoolVar(&c.LockWrites, "lock-writes", false, "flock each whisper file around writes, as carbon's WHISPER_LOCK_WRITES")
	fs.BoolVar(&c.SparseCreate, "sparse-create", false, "create whisper files sparse, as carbon's WHISPER_SPARSE_CREATE")
	fs.IntVar(&c.MaxCreatesPerMinute, "max-creates-per-minute", 600, "new whisper files per minute, as carbon's MAX_CREATES_PER_MINUTE (0: no limit)")
	fs.IntVar(&c.MaxCacheSize, "max-cache-size", 20_000_000, "points held in memory awaiting write before new points are dropped, as carbon's MAX_CACHE_SIZE")
	fs.DurationVar(&c.SelfInterval, "self-interval", time.Minute, "how often statbox writes its own metrics under statbox.<host>. (0: never)")
	addStatsdFlags(fs, &c.StatsdConfig)
	fs.StringVar(&c.UpdateDir, "update-dir", "", "`DIR` where POST /update stores a new system for the appliance's init (set by the appliance image; default off)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("statbox run takes no arguments, got %q", fs.Args())
	}
	if err := finishStatsdFlags(fs, &c.StatsdConfig); err != nil {
		return c, err
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("--log-level: %w", err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"flush-interval", c.FlushInterval}, {"collect-interval", c.CollectInterval}} {
		if d.v <= 0 {
			return c, fmt.Errorf("--%s must be positive, got %v", d.name, d.v)
		}
	}
	return c, nil
}

// enabled reports whether a listen address is on.
func enabled(addr string) bool { return !strings.EqualFold(addr, "off") && addr != "" }
