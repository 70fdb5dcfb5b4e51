// Package webhook receives Ottu's disclosure callbacks: it reads a body
// (JSON or form-encoded), verifies its signature with the webhook key,
// stores each distinct callback once in the transaction's history (moving
// the current view only forward), and resumes the Step Functions tasks
// waiting for the transaction's next disclosure, each exactly once.
//
// It knows nothing of AWS: the key, the store and Step Functions come in
// through the small interfaces below.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/platform/timefmt"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// The problem codes of the webhook. A code's status is what Ottu sees:
// only a 5xx says "we did not take it", for a failure on our side.
const (
	// CodeInvalidSignature: no signature, or one the webhook key does not
	// produce. Nothing is stored.
	CodeInvalidSignature problem.Code = "invalid_signature"
	// CodeInvalidCallback: the body is not a callback (not a JSON object or
	// form, or naming no transaction).
	CodeInvalidCallback problem.Code = "invalid_callback"
	// CodeWebhookKeyUnavailable: the webhook secret could not be read, so
	// the signature could not be checked; never reported as a bad signature.
	CodeWebhookKeyUnavailable problem.Code = "webhook_key_unavailable"
	// CodeCallbackNotStored: the store failed; the callback was not kept.
	CodeCallbackNotStored problem.Code = "callback_not_stored"
	// CodeAmbiguousSignature: the signed values can be re-split into a
	// body naming another transaction, state or amount with the same
	// signature; logged as an attack, nothing stored.
	CodeAmbiguousSignature problem.Code = "ambiguous_signature"
)

// MaxBodyBytes is the contract's 256 KiB limit on a callback body.
const MaxBodyBytes = 256 << 10

// maxStoredBytes bounds the body as stored (JSON re-encoding can grow a
// body a little), under DynamoDB's 400 KB item limit.
const maxStoredBytes = 350_000

// maxIDBytes bounds session_id and order_no, as the store keys by them.
const maxIDBytes = 1024

// Default deadlines of the outbound calls, so one slow dependency cannot
// hold the answer past Ottu's 15 s wait.
const (
	DefaultKeyTimeout    = 3 * time.Second
	DefaultStoreTimeout  = 2 * time.Second
	DefaultResumeTimeout = 3 * time.Second
)

// ottuTimeLayout is Ottu's timestamp_utc, "2023-07-24 09:59:49" in UTC.
const ottuTimeLayout = "2006-01-02 15:04:05"

// Outcome names what became of one delivery: the log line's "outcome" and
// the metric Callback_<outcome>.
type Outcome string

// The outcomes.
const (
	Accepted  Outcome = "accepted"
	Duplicate Outcome = "duplicate"
	// Conflict: a verified callback whose signed identity disagrees with
	// the one its session_id is bound to: stored flagged, nothing changed.
	Conflict          Outcome = "conflict"
	Ambiguous         Outcome = "ambiguous_signature"
	RejectedSignature Outcome = "rejected_signature"
	Malformed         Outcome = "malformed"
	TooLarge          Outcome = "too_large"
	KeyUnavailable    Outcome = "key_unavailable"
	StoreUnavailable  Outcome = "store_unavailable"
	Failed            Outcome = "failed"
)

// OutcomeOf names the outcome of a failed Receive.
func OutcomeOf(err error) Outcome {
	switch problem.CodeOf(err) {
	case CodeInvalidSignature:
		return RejectedSignature
	case CodeAmbiguousSignature:
		return Ambiguous
	case CodeInvalidCallback, problem.CodeInvalidRequest, problem.CodeMethodNotAllowed:
		return Malformed
	case problem.CodeBodyTooLarge:
		return TooLarge
	case CodeWebhookKeyUnavailable:
		return KeyUnavailable
	case CodeCallbackNotStored:
		return StoreUnavailable
	}
	return Failed
}

// KeySource gives the webhook key; refresh reads the secret again (the key
// may have been rotated). secrets.WebhookKeyProvider is one.
type KeySource interface {
	WebhookKey(ctx context.Context, refresh bool) (string, error)
}

// Store is the part of txn.Store a delivery uses.
type Store interface {
	txn.Binder
	Put(ctx context.Context, e txn.Entry) (stored bool, err error)
	FirstReceived(ctx context.Context, e txn.Entry) (time.Time, error)
	Waiters(ctx context.Context, id string) ([]txn.Waiter, error)
	ClaimWaiter(ctx context.Context, w txn.Waiter, now time.Time) error
	FinishWaiter(ctx context.Context, w txn.Waiter, status txn.WaiterStatus, now time.Time) error
}

// Resumer ends a waiting Step Functions task with output (SendTaskSuccess),
// or with a failure (SendTaskFailure). It returns an error wrapping
// ErrTaskGone when Step Functions says the token expired or was already
// used; any other error is transient.
type Resumer interface {
	SendTaskSuccess(ctx context.Context, taskToken string, output []byte) error
	SendTaskFailure(ctx context.Context, taskToken, errorName, cause string) error
}

// MaxTaskOutputBytes is Step Functions' limit on a task's output (256 KiB):
// SendTaskSuccess with more can never succeed.
const MaxTaskOutputBytes = 256 << 10

// ErrorCallbackTooLarge is the error a waiting task fails with when the
// callback's output for it exceeds MaxTaskOutputBytes.
const ErrorCallbackTooLarge = "CallbackTooLarge"

// Nudger asks the reconciler to look first at the payment whose
// reference_number is ref (an operation notification arrived for it).
type Nudger interface {
	Nudge(ctx context.Context, ref string, at time.Time) error
}

// ErrTaskGone: the task token expired, or its task was already ended.
var ErrTaskGone = errors.New("the task token has expired or its task was already ended")

// ErrOutputRefused: Step Functions refused the output itself (InvalidOutput:
// too large, or not JSON); sending it again can never succeed.
var ErrOutputRefused = errors.New("step functions refused the task output")

// Service receives callbacks. Keys, Store and Resumer are required.
type Service struct {
	Keys    KeySource
	Store   Store
	Resumer Resumer
	// Waits serves Await (a workflow waiting for an operation
	// notification); required for Await only.
	Waits WaitStore
	// Nudge, when set, is told of each operation notification, so the
	// reconciler looks first at a transaction with unknown outcomes.
	Nudge Nudger
	// Totals and Links, when both set, count every signed refund
	// notification in its payment's refunded total (countNotified,
	// CountLinked).
	Totals operation.RefundTotals
	Links  Links
	// Retention is how long entries are kept (their TTL); zero keeps them
	// for good.
	Retention time.Duration
	// Deadlines of the outbound calls; zero takes the defaults.
	KeyTimeout, StoreTimeout, ResumeTimeout time.Duration
	Now                                     func() time.Time
}

// Result is what became of an accepted or duplicate delivery.
type Result struct {
	Outcome Outcome
	// Kind is a payment callback or an operation notification; Operation
	// is what an operation notification said.
	Kind      Kind
	Operation *txn.Operation
	Scheme    ottu.Scheme
	Entry     txn.Entry
	// Output is what a resumed task receives (TaskOutput): ids, amounts,
	// states; never customer fields, tokens or the signature.
	Output []byte
	// Waiters resumed now, found gone (token expired or used), or left
	// pending after a failure (a later delivery retries them).
	Resumed, Gone, Retry int
}

// Receive handles one delivery of a callback. A returned error is a
// *problem.Error whose code says what Ottu is answered.
//
// Every delivery, a repeated one too, looks for waiters to resume: if a
// resume failed on the first delivery, the waiter was put back to pending
// and a repeat takes it up. A waiter claimed by a concurrent delivery is
// left to it, so each task is resumed once.
func (s *Service) Receive(ctx context.Context, body []byte, contentType string) (*Result, error) {
	received := s.now()
	if len(body) > MaxBodyBytes {
		return nil, tooLarge()
	}
	fields, err := parse(body, contentType)
	if err != nil {
		return nil, err
	}
	scheme, err := s.verify(ctx, fields)
	if err != nil {
		return nil, err
	}
	if scheme == ottu.SchemeStandard {
		if field, ambiguous := ottu.AmbiguousStandard(fields); ambiguous {
			return nil, &problem.Error{Code: CodeAmbiguousSignature,
				Detail: fmt.Sprintf("The callback's signed values can be split into another callback with the same signature and another %s, so it cannot be trusted and nothing was stored.", field)}
		}
	}
	if IsOperationNotification(fields) {
		return s.receiveNotification(ctx, fields, scheme, received)
	}
	e, err := s.entry(fields, received)
	if err != nil {
		return nil, err
	}
	res := &Result{Outcome: Accepted, Kind: KindPayment, Scheme: scheme, Entry: e, Output: TaskOutput(fields, e)}

	// Filing: the session_id is a hint, bound to one signed identity.
	sctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	err = txn.File(sctx, s.Store, &e)
	cancel()
	if err != nil {
		return nil, notStored(err)
	}
	res.Entry = e
	if e.Conflict == "" && e.SessionID != "" && e.ReferenceNumber != "" && s.Links != nil {
		// The session_id is now bound to the reference_number: refunds
		// notified before are counted in its total.
		operation.CountLinked(ctx, s.Totals, s.Links, e.SessionID, e.ReferenceNumber, s.storeTimeout())
	}

	// The waiters are listed while the entry is stored: both are needed,
	// neither depends on the other, and Ottu is waiting.
	var ids []string
	if e.Conflict == "" {
		ids = uniqueIDs(e.SessionID, e.OrderNo)
	}
	lists := make([]waiterList, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
			defer cancel()
			lists[i].waiters, lists[i].err = s.Store.Waiters(sctx, id)
		})
	}
	sctx, cancel = context.WithTimeout(ctx, s.storeTimeout())
	stored, err := s.Store.Put(sctx, e)
	cancel()
	wg.Wait()
	if err != nil {
		return nil, notStored(err)
	}
	if !stored {
		res.Outcome = Duplicate
	}
	if e.Conflict != "" {
		res.Outcome = Conflict
		obs.Logger(ctx).LogAttrs(ctx, slog.LevelWarn, "callback conflicts with its session's signed identity; stored flagged, nothing changed",
			slog.String("session_id", e.SessionID), slog.String("order_no", e.OrderNo), slog.String("conflict", e.Conflict))
		return res, nil
	}
	first := e.ReceivedAt
	if !stored {
		// A repeated delivery resumes only the waiters that were already
		// waiting when it was first received (a resume that failed then is
		// retried): an exact replay of an old callback resumes no newer one.
		sctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
		first, err = s.Store.FirstReceived(sctx, e)
		cancel()
		if err != nil {
			res.Retry++
			obs.Logger(ctx).LogAttrs(ctx, slog.LevelError, "when the callback was first received could not be read; no waiter resumed", slog.String("error", err.Error()))
			return res, nil
		}
	}
	// A callback resumes a waiter only if the waiter was registered before
	// the callback was first received, and names the same signed order_no.
	s.resumeAll(ctx, e, lists, res, func(w txn.Waiter) bool {
		// A waiter for an operation notification (Amount or Payment set)
		// is resumed only by a notification, never by a payment callback.
		if w.Amount != "" || w.Payment != "" {
			return false
		}
		return w.CreatedAt.Before(first) && (w.OrderNo == "" || w.OrderNo == e.OrderNo)
	})
	return res, nil
}

func notStored(err error) error {
	return &problem.Error{Code: CodeCallbackNotStored, Err: err,
		Detail: "The callback could not be stored; nothing was kept. It is accepted when delivered again."}
}

// TaskOutput is what a waiting Step Functions task is resumed with: the
// callback's ids, amount, currency, state and result, and when it was
// received. Step Functions keeps its history 90 days and no retention
// applies there, so no customer field, token, signature or raw body goes
// in.
func TaskOutput(f ottu.Fields, e txn.Entry) []byte {
	out := map[string]any{
		"source":           e.Source,
		"session_id":       nullable(e.SessionID),
		"order_no":         nullable(e.OrderNo),
		"reference_number": nullable(e.ReferenceNumber),
		"state":            nullable(e.State),
		"result":           nullable(e.Result),
		"amount":           nullable(textOf(f["amount"])),
		"currency_code":    nullable(textOf(f["currency_code"])),
		"received_at":      timefmt.Format(e.ReceivedAt),
		"digest":           e.Digest,
	}
	if !e.OttuTimestamp.IsZero() {
		out["ottu_timestamp"] = timefmt.Format(e.OttuTimestamp)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(out)
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type waiterList struct {
	waiters []txn.Waiter
	err     error
}

func uniqueIDs(ids ...string) []string {
	var out []string
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func tooLarge() error {
	return &problem.Error{Code: problem.CodeBodyTooLarge,
		Detail: fmt.Sprintf("The callback body is larger than %d bytes.", MaxBodyBytes)}
}

func malformed(detail string) error {
	return &problem.Error{Code: CodeInvalidCallback, Detail: detail}
}

// parse reads a JSON or form body. Text must be UTF-8: it is stored and
// answered as JSON later.
func parse(body []byte, contentType string) (ottu.Fields, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, malformed("The body is empty; Ottu posts the transaction as a JSON object or a form.")
	}
	if !utf8.Valid(body) {
		return nil, malformed("The body is not UTF-8 text.")
	}
	fields, err := ottu.ParseCallback(body, contentType)
	if err != nil {
		return nil, malformed("The body is not a callback: " + err.Error() + ". Ottu posts the transaction as a JSON object (or a form).")
	}
	if !validText(fields) {
		return nil, malformed("The body holds text that is not UTF-8.")
	}
	return fields, nil
}

// validText reports whether every string in f is UTF-8 (a form value can
// percent-encode any byte).
func validText(v any) bool {
	switch t := v.(type) {
	case string:
		return utf8.ValidString(t)
	case ottu.Fields:
		for k, x := range t {
			if !utf8.ValidString(k) || !validText(x) {
				return false
			}
		}
	case []any:
		for _, x := range t {
			if !validText(x) {
				return false
			}
		}
	}
	return true
}

// verify checks the signature with the cached key, and once more with a
// freshly read one when it fails (the key may have been rotated; the key
// source limits how often that reads the secret). A key that cannot be read
// is our failure, answered 503: never a bad signature.
func (s *Service) verify(ctx context.Context, fields ottu.Fields) (ottu.Scheme, error) {
	key, err := s.key(ctx, false)
	if err != nil {
		return "", err
	}
	scheme, err := ottu.Verify(fields, key)
	if errors.Is(err, ottu.ErrBadSignature) {
		fresh, ferr := s.key(ctx, true)
		if ferr != nil {
			return "", ferr
		}
		if fresh != key {
			scheme, err = ottu.Verify(fields, fresh)
		}
	}
	switch {
	case err == nil:
		return scheme, nil
	case errors.Is(err, ottu.ErrNoSignature):
		return "", &problem.Error{Code: CodeInvalidSignature, Err: err,
			Detail: "The callback has no signature field; nothing was stored."}
	case errors.Is(err, ottu.ErrBadSignature):
		return "", &problem.Error{Code: CodeInvalidSignature, Err: err,
			Detail: "The callback's signature does not match the webhook key; nothing was stored. Check that the webhook secret holds the HMAC key of Ottu's dashboard."}
	}
	return "", keyUnavailable(err)
}

func (s *Service) key(ctx context.Context, refresh bool) (string, error) {
	kctx, cancel := context.WithTimeout(ctx, orDefault(s.KeyTimeout, DefaultKeyTimeout))
	defer cancel()
	key, err := s.Keys.WebhookKey(kctx, refresh)
	if err != nil {
		return "", keyUnavailable(err)
	}
	if key == "" {
		return "", keyUnavailable(ottu.ErrNoKey)
	}
	return key, nil
}

func keyUnavailable(err error) error {
	return &problem.Error{Code: CodeWebhookKeyUnavailable, Err: err,
		Detail: "The webhook key could not be read, so the signature was not checked and nothing was stored. It is accepted when delivered again once the webhook secret can be read."}
}

// entry builds the history entry of a verified callback. Its body is the
// callback's fields as one JSON object (a form becomes the object of its
// fields; numbers keep their text), so what is stored is exactly what was
// verified; its digest is that body's, so a repeated delivery is the same
// entry however Ottu encoded it.
func (s *Service) entry(f ottu.Fields, received time.Time) (txn.Entry, error) {
	e := txn.Entry{
		SessionID:       textOf(f["session_id"]),
		OrderNo:         textOf(f["order_no"]),
		ReferenceNumber: textOf(f["reference_number"]),
		Source:          txn.SourceDisclosure,
		ReceivedAt:      received,
		State:           textOf(f["state"]),
		Result:          textOf(f["result"]),
	}
	switch {
	case e.SessionID == "" && e.OrderNo == "":
		return e, malformed("The callback names no transaction: it has neither session_id nor order_no.")
	case len(e.SessionID) > maxIDBytes || len(e.OrderNo) > maxIDBytes:
		return e, malformed(fmt.Sprintf("The callback's session_id or order_no is longer than %d bytes.", maxIDBytes))
	case txn.IsNotificationKey(e.SessionID) || txn.IsNotificationKey(e.OrderNo):
		// The keys operation notifications and their waiters are filed
		// under (ref#, pymt#, child#) are this stack's own, never an Ottu
		// id: a callback naming one is forged to reach them.
		return e, malformed("The callback's session_id or order_no is not an Ottu identifier.")
	}
	if ts, err := time.Parse(ottuTimeLayout, strings.TrimSpace(textOf(f["timestamp_utc"]))); err == nil {
		e.OttuTimestamp = ts.UTC()
	}
	// The signature is what would let anyone holding the body re-post it
	// (with another session_id, or re-split): it is verified, then
	// dropped, and never stored, answered or sent on.
	kept := maps.Clone(f)
	delete(kept, "signature")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(kept); err != nil {
		return e, malformed("The callback could not be encoded as JSON.")
	}
	e.Body = json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n"))
	if len(e.Body) > maxStoredBytes {
		return e, tooLarge()
	}
	e.Digest = txn.Digest(e.Body)
	if s.Retention > 0 {
		e.ExpiresAt = received.Add(s.Retention)
	}
	return e, nil
}

// textOf is a scalar's text as sent; "" for anything else.
func textOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	}
	return ""
}

// resumeAll resumes each waiter listed for the transaction. Nothing here
// fails the delivery: the callback is stored, and a waiter that could not
// be resumed is back to pending for the next delivery.
//
// A waiter is resumed only by a callback first received after it
// registered, naming its order_no when it named one.
// admit, when not nil, says which listed waiters e may resume.
func (s *Service) resumeAll(ctx context.Context, e txn.Entry, lists []waiterList, res *Result, admit func(txn.Waiter) bool) {
	log := obs.Logger(ctx)
	seen := map[string]bool{}
	for _, l := range lists {
		if l.err != nil {
			res.Retry++
			log.LogAttrs(ctx, slog.LevelError, "waiting workflows could not be listed", slog.String("error", l.err.Error()))
			continue
		}
		for _, w := range l.waiters {
			if admit != nil && !admit(w) {
				continue
			}
			if id := w.ID(); !seen[id] {
				seen[id] = true
				s.resume(ctx, log, e, w, res)
			}
		}
	}
}

// resume claims w (a concurrent delivery may have it: then it is left
// alone), sends the callback as its task's output, and records the end.
func (s *Service) resume(ctx context.Context, log *slog.Logger, e txn.Entry, w txn.Waiter, res *Result) {
	log = log.With(slog.String("waiter", w.ID()[:16]))
	sctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	err := s.Store.ClaimWaiter(sctx, w, s.now())
	cancel()
	if errors.Is(err, txn.ErrClaimed) {
		return
	}
	if err != nil {
		res.Retry++
		log.LogAttrs(ctx, slog.LevelError, "waiting workflow could not be claimed", slog.String("error", err.Error()))
		return
	}
	rctx, cancel := context.WithTimeout(ctx, orDefault(s.ResumeTimeout, DefaultResumeTimeout))
	if len(res.Output) > MaxTaskOutputBytes {
		err = fmt.Errorf("%w: %d bytes", ErrOutputRefused, len(res.Output))
	} else {
		err = s.Resumer.SendTaskSuccess(rctx, w.TaskToken, res.Output)
	}
	if errors.Is(err, ErrOutputRefused) {
		// Step Functions would refuse it every time: end the task with a
		// clear failure instead of retrying on every delivery.
		log.LogAttrs(ctx, slog.LevelError, "the callback's output cannot resume the waiting workflow; failing its task", slog.String("error", err.Error()))
		err = s.Resumer.SendTaskFailure(rctx, w.TaskToken, ErrorCallbackTooLarge,
			fmt.Sprintf("The callback for this transaction was received and stored (GET /transactions/{id}/inquiry shows it), but Step Functions refused it as this task's output (over its %d-byte limit); read the transaction instead of waiting for it.", MaxTaskOutputBytes))
	}
	cancel()
	status := txn.WaiterResumed
	switch {
	case err == nil:
		res.Resumed++
		log.LogAttrs(ctx, slog.LevelInfo, "waiting workflow resumed")
	case errors.Is(err, ErrTaskGone):
		status = txn.WaiterGone
		res.Gone++
		log.LogAttrs(ctx, slog.LevelWarn, "waiting workflow's task token expired or was already used; nothing to resume", slog.String("error", err.Error()))
	default:
		status = txn.WaiterPending
		res.Retry++
		log.LogAttrs(ctx, slog.LevelError, "waiting workflow could not be resumed; it is left for the next delivery", slog.String("error", err.Error()))
	}
	fctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	defer cancel()
	if err := s.Store.FinishWaiter(fctx, w, status, s.now()); err != nil {
		log.LogAttrs(ctx, slog.LevelError, "the waiting workflow's end could not be recorded", slog.String("status", string(status)), slog.String("error", err.Error()))
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) storeTimeout() time.Duration { return orDefault(s.StoreTimeout, DefaultStoreTimeout) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
