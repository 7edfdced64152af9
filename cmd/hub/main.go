// Command hub runs the omnichannel contact-center hub: `go run ./cmd/hub`
// starts it with an embedded store and no configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only on debug_addr
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/omnihub/hub/internal/config"
	"github.com/omnihub/hub/internal/hubapp"
	"github.com/omnihub/hub/internal/sqlitedb"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "hub:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "backup" || args[0] == "restore") {
		return runStoreCommand(ctx, args[0], args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("hub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML file with settings (keys as listed below)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hub [-config FILE]\n       hub backup [-config FILE] BACKUP_FILE   (while the hub runs)\n       hub restore [-config FILE] BACKUP_FILE  (with the hub stopped)\n\n")
		fs.PrintDefaults()
		fmt.Fprintln(stderr)
		config.Usage(stderr)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath, os.LookupEnv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)

	// First signal: graceful drain. Second signal: stop waiting.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	force, forceNow := context.WithCancel(context.Background())
	defer forceNow()
	go func() {
		<-ctx.Done()
		stop() // restore default handling, then catch the second signal
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		select {
		case <-sig:
			log.Warn("second signal: stopping now")
			forceNow()
		case <-force.Done():
		}
	}()

	if cfg.DebugAddr != "" {
		// The profiler has no authentication: bind it to loopback.
		srv := &http.Server{Addr: cfg.DebugAddr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.ListenAndServe() }()
		defer srv.Close()
		log.Info("profiler listening", "addr", cfg.DebugAddr)
	}
	h, err := hubapp.New(ctx, cfg, hubapp.Options{Logger: log})
	if err != nil {
		return err
	}
	store := "embedded (" + cfg.DataDir + ")"
	if cfg.MongoDBURI != "" {
		store = "MongoDB"
	}
	log.Info("hub ready", "http", h.Addr(), "metrics", h.MetricsAddr(), "store", store, "startup", h.StartupTime().String())
	metrics := "off (metrics_addr is empty)"
	if a := h.MetricsAddr(); a != "" {
		metrics = "http://" + a + "/metrics (not on the public address)"
	}
	fmt.Fprintf(stdout, "\nHub is ready (%s).\n  Web:     %s/\n  API:     %s/api/v1\n  Health:  %s/readyz\n  Metrics: %s\n",
		h.StartupTime().Round(1e6), h.URL(), h.URL(), h.URL(), metrics)
	if h.FirstAdmin.Username != "" {
		fmt.Fprintf(stdout, "\nFirst admin created (shown once, change the password after logging in):\n  username: %s\n  password: %s\n", h.FirstAdmin.Username, h.FirstAdmin.Password)
	}
	fmt.Fprintln(stdout)
	return h.Serve(ctx, force)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(cfg.LogLevel))
	o := &slog.HandlerOptions{Level: lv}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// runStoreCommand is `hub backup FILE` (a consistent copy of the embedded
// store, taken while the hub runs) and `hub restore FILE` (with the hub
// stopped; the store it replaces is kept beside it).
func runStoreCommand(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hub "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "YAML file with settings (data_dir is used)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: hub %s [-config FILE] BACKUP_FILE\n", cmd)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%s: name one backup file", cmd)
	}
	cfg, err := config.Load(*cfgPath, os.LookupEnv)
	if err != nil {
		return err
	}
	if cfg.MongoDBURI != "" {
		return fmt.Errorf("%s: the hub uses MongoDB (mongodb_uri is set): back it up with mongodump and restore with mongorestore", cmd)
	}
	file := fs.Arg(0)
	start := time.Now()
	switch cmd {
	case "backup":
		if err := sqlitedb.Backup(ctx, filepath.Join(cfg.DataDir, sqlitedb.FileName), file); err != nil {
			return err
		}
		fi, err := os.Stat(file)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Backup of %s written to %s (%d bytes, %s).\n", cfg.DataDir, file, fi.Size(), time.Since(start).Round(time.Millisecond))
	case "restore":
		kept, err := sqlitedb.Restore(ctx, cfg.DataDir, file)
		if errors.Is(err, sqlitedb.ErrInUse) {
			return fmt.Errorf("restore: %w: stop the hub first", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Restored %s into %s.\n", file, cfg.DataDir)
		if kept != "" {
			fmt.Fprintf(stdout, "The store it replaced is kept as %s.\n", kept)
		}
	}
	return nil
}
