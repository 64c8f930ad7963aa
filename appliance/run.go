package appliance

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"statbox/storage/schema"
	"statbox/storage/whisper"
)

// Run is `statbox run`: it starts every stage, serves until SIGTERM or
// SIGINT, then drains and returns the exit code. SIGHUP re-reads the schemas.
func Run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "statbox run:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	d, err := start(cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			d.reload()
			continue
		}
		log.Info("draining", "signal", sig.String())
		break
	}
	if err := d.stop(); err != nil {
		log.Error("drain failed", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// daemon is a running appliance: its stages in start order.
type daemon struct {
	cfg   Config
	log   *slog.Logger
	rules atomic.Pointer[schema.Rules]
	pool  *whisper.Pool
	http  *http.Server
	httpL net.Listener
	ready atomic.Bool
}

func start(cfg Config, log *slog.Logger) (*daemon, error) {
	d := &daemon{cfg: cfg, log: log}
	rules, err := schema.Load(cfg.ConfDir)
	if err != nil {
		return nil, err
	}
	d.rules.Store(rules)
	if err := os.MkdirAll(filepath.Join(cfg.Data, "whisper"), 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	d.pool = whisper.NewPool(whisper.PoolOptions{MaxOpen: cfg.MaxOpenFiles, SyncInterval: cfg.SyncInterval, Lock: cfg.LockWrites})
	log.Info("storage started", "data", cfg.Data, "conf_dir", confName(cfg.ConfDir),
		"schemas", len(rules.Schemas), "max_open_files", d.pool.MaxOpen())

	if enabled(cfg.HTTP) {
		l, err := net.Listen("tcp", cfg.HTTP)
		if err != nil {
			d.stop()
			return nil, fmt.Errorf("http listener: %w", err)
		}
		d.httpL = l
		d.http = &http.Server{Handler: d.routes(), ReadHeaderTimeout: 10 * time.Second}
		go d.http.Serve(l)
		log.Info("http started", "addr", l.Addr().String())
	}
	d.ready.Store(true)
	return d, nil
}

func confName(dir string) string {
	if dir == "" {
		return "built-in"
	}
	return dir
}

// reload re-reads the schema files; on error the old rules stay.
func (d *daemon) reload() {
	rules, err := schema.Load(d.cfg.ConfDir)
	if err != nil {
		d.log.Error("reload failed, keeping the old schemas", "err", err)
		return
	}
	d.rules.Store(rules)
	d.log.Info("schemas reloaded", "conf_dir", confName(d.cfg.ConfDir), "schemas", len(rules.Schemas))
}

// stop drains the stages in flow order: listeners, then storage.
func (d *daemon) stop() error {
	d.ready.Store(false)
	var errs []error
	if d.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, d.http.Shutdown(ctx))
		cancel()
		d.log.Info("http stopped")
	}
	if d.pool != nil {
		errs = append(errs, d.pool.Close())
		d.log.Info("storage stopped", "files_synced", true)
	}
	return errors.Join(errs...)
}

func (d *daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if !d.ready.Load() {
			http.Error(w, "starting or draining\n", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	return mux
}
