package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
)

// delivery is one callback to send; rec is its record on the transaction.
type delivery struct {
	rec     *Callback
	url     string
	payload []byte
}

// produceCallbackLocked records a callback on t and starts delivering it,
// unless a fault duplicates it or holds it back to reorder.
func (s *Server) produceCallbackLocked(t *txn, target string, payload []byte) {
	copies := 1
	if f, dup := s.takeFaultLocked(FaultDuplicateCallback, ""); dup {
		copies = f.Copies
	}
	group := make([]*delivery, 0, copies)
	for range copies {
		rec := &Callback{URL: redactURL(target), Payload: payload, StatusCodes: []int{}, Outcome: OutcomePending}
		t.callbacks = append(t.callbacks, rec)
		group = append(group, &delivery{rec: rec, url: target, payload: payload})
	}
	for i, f := range s.faults {
		if f.Kind != FaultReorderCallbacks {
			continue
		}
		f.held = append(f.held, group)
		if len(f.held) >= f.Count {
			s.faults = slices.Delete(s.faults, i, i+1)
			slices.Reverse(f.held)
			s.releaseLocked(f.held)
		}
		return
	}
	s.releaseLocked([][]*delivery{group})
}

// releaseLocked delivers groups one after another, in order, so a receiver
// sees them in exactly that order.
func (s *Server) releaseLocked(groups [][]*delivery) {
	s.goLocked(func() {
		for _, g := range groups {
			for _, d := range g {
				s.deliver(d)
			}
		}
	})
}

// deliver sends one callback the way Ottu does: each attempt bounded by
// CallbackTimeout, retried only on a time-out, CallbackRetryDelay apart;
// 200 and 201 count as delivered, any other answer as failed.
func (s *Server) deliver(d *delivery) {
	attempts := 1 + s.cfg.CallbackRetries
	for i := range attempts {
		if i > 0 && !s.sleep(s.cfg.CallbackRetryDelay) {
			s.finish(d, OutcomeFailed, "the sandbox closed before the callback was retried")
			return
		}
		s.mu.Lock()
		d.rec.Attempts++
		if d.rec.FirstSentAt == nil {
			now := s.now()
			d.rec.FirstSentAt = &now
		}
		s.mu.Unlock()

		status, err := s.post(d)
		switch {
		case err == nil && (status == http.StatusOK || status == http.StatusCreated):
			s.finish(d, OutcomeDelivered, "", status)
			return
		case err == nil:
			s.finish(d, OutcomeFailed, fmt.Sprintf("the receiver answered %d", status), status)
			return
		case !isTimeout(err):
			s.finish(d, OutcomeFailed, "the callback could not be sent: "+err.Error())
			return
		}
		// Timed out: retry unless this was the last attempt.
	}
	s.finish(d, OutcomeTimedOut, fmt.Sprintf("no answer within %s in %d attempts", s.cfg.CallbackTimeout, attempts))
}

// finish records a delivery's outcome and logs it.
func (s *Server) finish(d *delivery, outcome, why string, status ...int) {
	s.mu.Lock()
	d.rec.StatusCodes = append(d.rec.StatusCodes, status...)
	d.rec.Outcome = outcome
	if outcome != OutcomeDelivered {
		d.rec.Error = why
	}
	attempts := d.rec.Attempts
	s.mu.Unlock()
	s.cfg.Logger.Info("callback", "url", d.rec.URL, "outcome", outcome, "attempts", attempts, "status_codes", status)
}

// post makes one attempt; the status is 0 when no answer came.
func (s *Server) post(d *delivery) (int, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CallbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.payload))
	if err != nil {
		return 0, errors.New("the disclosure URL is not usable")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ottu-sandbox")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, which may carry credentials
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// redactURL hides a password in the URL's user info.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}
