package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// sandboxAdmin speaks the Ottu sandbox's admin API (contract §5).
type sandboxAdmin struct {
	base string
	http *http.Client
}

func (s *sandboxAdmin) call(ctx context.Context, method, path string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox %s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("sandbox %s %s answered %d: %s", method, path, resp.StatusCode, truncate(string(b), 300))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("sandbox %s %s: %w", method, path, err)
		}
	}
	return nil
}

func (s *sandboxAdmin) createTransaction(ctx context.Context, t txnPlan) error {
	spec := sandbox.TransactionSpec{
		SessionID:    t.SessionID,
		OrderNo:      t.OrderNo,
		Amount:       t.Amount.StringFixed(t.Places),
		CurrencyCode: t.Currency,
		State:        t.State,
		PGCode:       t.PGCode,
	}
	return s.call(ctx, http.MethodPost, "/sandbox/transactions", spec, nil, http.StatusCreated)
}

func (s *sandboxAdmin) transaction(ctx context.Context, sessionID string) (sandbox.Transaction, error) {
	var t sandbox.Transaction
	err := s.call(ctx, http.MethodGet, "/sandbox/transactions/"+url.PathEscape(sessionID), nil, &t, http.StatusOK)
	return t, err
}

func (s *sandboxAdmin) addFault(ctx context.Context, f sandbox.Fault) error {
	return s.call(ctx, http.MethodPost, "/sandbox/faults", f, nil, http.StatusCreated)
}

// clearFaults removes the faults no request met and says how many there were.
func (s *sandboxAdmin) clearFaults(ctx context.Context) (int, error) {
	var out struct {
		Cleared int `json:"cleared"`
	}
	err := s.call(ctx, http.MethodDelete, "/sandbox/faults", nil, &out, http.StatusOK)
	return out.Cleared, err
}
