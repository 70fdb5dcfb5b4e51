// Command ottu-sandbox runs the Ottu sandbox on its own (go run
// ./cmd/ottu-sandbox), configured by the SANDBOX_* environment variables.
// It enforces Ottu's inquiry throttle (SANDBOX_INQUIRY_THROTTLE=off lifts
// it); create a transaction with "age_minutes": 15 on POST
// /sandbox/transactions to inquire it at once.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(logger); err != nil {
		logger.Error("ottu-sandbox stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	cfg, addr, err := sandbox.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	cfg.Logger = logger
	srv := sandbox.New(cfg)
	defer srv.Close()

	httpSrv := &http.Server{Addr: addr, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	users := make([]string, 0, len(cfg.Users))
	for name := range cfg.Users {
		users = append(users, name)
	}
	throttle := "on: no inquiry in a transaction's first 10 minutes (age_minutes on POST /sandbox/transactions), then one per 30 minutes, at most 3, 30 a minute"
	if cfg.InquiryLimits.Off {
		throttle = "off (SANDBOX_INQUIRY_THROTTLE=off)"
	}
	logger.Info("ottu-sandbox listening", "addr", "http://"+addr, "users", users,
		"auth", "Api-Key from SANDBOX_API_KEY or Basic from SANDBOX_USERS", "inquiry_throttle", throttle)

	errc := make(chan error, 1)
	go func() { errc <- httpSrv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("ottu-sandbox shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Close() // ends latency sleeps so in-flight requests can finish
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
