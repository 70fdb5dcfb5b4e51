package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestChaosShort is make chaos in small: about 100 captures and refunds
// over both API versions, with faults, one kill and one short moto pause
// per version, against the real function binaries. Any violation fails it.
func TestChaosShort(t *testing.T) {
	cfg := defaultConfig()
	cfg.Template = "../../template.yaml"
	cfg.Requests = 50
	cfg.Transactions = 10
	cfg.Faults = 8
	cfg.Kills = 1
	cfg.Pauses = 1
	cfg.PauseFor = time.Second
	cfg.Workers = 6
	cfg.MaxDuration = 6 * time.Minute
	cfg.Client = clientPolicy(cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := run(ctx, cfg, slog.New(slog.NewJSONHandler(t.Output(), nil)))
	if err != nil {
		t.Fatalf("the chaos run could not be carried out: %v", err)
	}
	var report bytes.Buffer
	writeReport(&report, out)
	t.Log("\n" + report.String())

	t.Run("no check is violated", func(t *testing.T) {
		for _, v := range out.Violations {
			t.Error(v.String())
		}
	})
	t.Run("the chaos really happened", func(t *testing.T) {
		kills, pauses, faults, requests := 0, 0, 0, 0
		for _, ph := range out.Phases {
			kills += ph.Kills
			pauses += ph.Pauses
			for _, n := range ph.Injected {
				faults += n
			}
			for _, rs := range ph.Observed.Results {
				requests += len(rs)
			}
		}
		if kills == 0 || pauses == 0 || faults == 0 || requests < 2*cfg.Requests {
			t.Fatalf("%d kills, %d moto pauses, %d faults, %d requests: the run proved less than it should", kills, pauses, faults, requests)
		}
	})
}
