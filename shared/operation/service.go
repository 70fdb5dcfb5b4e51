package operation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/ottu"
)

// OttuClient is the part of the Ottu client the domain uses.
type OttuClient interface {
	Operation(ctx context.Context, req ottu.OperationRequest) (*ottu.OperationResponse, error)
}

// Service sends operations to Ottu at most once per Tracking-Key.
type Service struct {
	Store Store
	Ottu  OttuClient
	// Retention is how long records are kept (DynamoDB TTL).
	Retention time.Duration
	// LeaseGrace keeps a key locked past the caller's deadline, and after an
	// unknown outcome, while Ottu may still be working on the first request.
	LeaseGrace time.Duration
	// Budget is the time allowed when the context has no deadline.
	Budget time.Duration
	// RecordTimeout bounds the outcome write, which runs even when the
	// caller's context is done so that no outcome is lost.
	RecordTimeout time.Duration
	Now           func() time.Time
	NewLeaseID    func() string
	Logger        func(context.Context) *slog.Logger
	// NoOttuReplay is set when Ottu is not known to replay a Tracking-Key
	// (API v1): an unknown outcome is then never sent again by itself, since
	// a second request could perform the operation twice.
	NoOttuReplay bool
	// Observe, when set, is told the outcome of every Execute (metrics).
	Observe func(ctx context.Context, op ottu.Operation, outcome string, d time.Duration)
}

// Defaults used when the Service fields are zero.
const (
	DefaultRetention     = 30 * 24 * time.Hour
	DefaultLeaseGrace    = 5 * time.Minute
	DefaultBudget        = 30 * time.Second
	DefaultRecordTimeout = 2 * time.Second
)

// Result is an accepted operation, first time or replayed.
type Result struct {
	TrackingKey string
	Operation   ottu.Operation
	Replayed    bool
	// OttuStatus and Body are Ottu's answer, unchanged.
	OttuStatus int
	Body       json.RawMessage
	// OttuResult is Ottu's "result": success, queued, …
	OttuResult string
}

// Execute validates the request, claims its Tracking-Key, calls Ottu and
// records the outcome. A retry of a success is replayed from the record.
func (s *Service) Execute(ctx context.Context, req Request) (res *Result, err error) {
	start := s.now()
	defer func() { s.observe(ctx, req.Operation, start, err, res) }()

	if err := req.Validate(); err != nil {
		return nil, err
	}
	fp := req.Fingerprint()
	leaseID := s.newLeaseID()
	existing, err := s.Store.Claim(ctx, Claim{
		TrackingKey: req.TrackingKey,
		Operation:   string(req.Operation),
		SessionID:   req.SessionID,
		OrderNo:     req.OrderNo,
		Amount:      req.amountText(),
		Fingerprint: fp,
		LeaseID:     leaseID,
		LeaseUntil:  s.leaseUntil(ctx, start),
		Now:         start,
		ExpiresAt:   start.Add(s.retention()),
	})
	switch {
	case errors.Is(err, ErrClaimConflict) && existing != nil:
		return s.conflict(req, fp, existing)
	case err != nil:
		return nil, &Error{Code: CodeStoreUnavailable, TrackingKey: req.TrackingKey, RetryAfter: time.Second, Err: err,
			Detail: "The Tracking-Key store could not be reached, so nothing was sent to Ottu; retry with the same Tracking-Key."}
	}

	resp, callErr := s.Ottu.Operation(ctx, req.ottuRequest())
	if callErr == nil {
		callErr = checkAnswerMatches(req, resp)
	}
	outcome := outcomeOf(req, resp, callErr)
	s.record(ctx, req, leaseID, outcome)
	if outcome.err != nil {
		return nil, outcome.err
	}
	return &Result{
		TrackingKey: req.TrackingKey,
		Operation:   req.Operation,
		OttuStatus:  resp.StatusCode,
		Body:        resp.Raw,
		OttuResult:  resp.Result,
	}, nil
}

// conflict decides what a caller gets when the key could not be claimed.
func (s *Service) conflict(req Request, fp string, rec *Record) (*Result, error) {
	if rec.Fingerprint == "" || rec.Status == "" {
		// A record caught half-written (DynamoDB never shows one; moto's
		// server can): treat it as in flight rather than as a reuse.
		return nil, inProgress(req.TrackingKey, time.Second)
	}
	if rec.Fingerprint != fp {
		return nil, &Error{Code: CodeTrackingKeyReused, TrackingKey: req.TrackingKey,
			Detail: fmt.Sprintf("Tracking-Key %q was already used for a different request (%s); send a new Tracking-Key for a new operation.",
				req.TrackingKey, describe(rec))}
	}
	if rec.Status == StatusSucceeded {
		return &Result{
			TrackingKey: req.TrackingKey,
			Operation:   req.Operation,
			Replayed:    true,
			OttuStatus:  rec.OttuStatus,
			Body:        rec.OttuBody,
			OttuResult:  resultOf(rec.OttuBody),
		}, nil
	}
	wait := rec.LeaseExpiresAt.Sub(s.now())
	if rec.Status == StatusUnknown && s.NoOttuReplay {
		return nil, &Error{Code: CodeOutcomeUnknown, TrackingKey: req.TrackingKey,
			Detail: fmt.Sprintf("Whether the %s with Tracking-Key %q was done is unknown, and this Ottu API version is not known to recognise a repeated key, so it will not be sent again. Check the transaction (inquiry or Ottu's dashboard); if it was not done, send it with a new Tracking-Key.", req.Operation, req.TrackingKey)}
	}
	return nil, inProgress(req.TrackingKey, roundUpSeconds(wait))
}

type outcome struct {
	status     Status
	ottuStatus int
	body       json.RawMessage
	code       Code
	err        *Error
	// holdLease keeps others off the key (Ottu may still be working).
	holdLease bool
}

// outcomeOf maps Ottu's answer to the record and the caller's error.
func outcomeOf(req Request, resp *ottu.OperationResponse, err error) outcome {
	if err == nil {
		return outcome{status: StatusSucceeded, ottuStatus: resp.StatusCode, body: resp.Raw}
	}
	var domainErr *Error
	if errors.As(err, &domainErr) {
		return outcome{status: StatusFailed, ottuStatus: resp.StatusCode, body: resp.Raw, code: domainErr.Code, err: domainErr}
	}
	var oe *ottu.Error
	if !errors.As(err, &oe) {
		oe = &ottu.Error{Kind: ottu.KindUnavailable, Err: err}
	}
	o := outcome{status: StatusFailed, ottuStatus: oe.StatusCode, body: oe.Body}
	e := &Error{TrackingKey: req.TrackingKey, Ottu: oe.Body, Err: err}
	switch oe.Kind {
	case ottu.KindInvalid:
		e.Code, e.Detail = CodeInvalidRequest, "The request cannot be sent to Ottu: "+oe.Detail
	case ottu.KindRejected:
		e.Code, e.Detail = CodeOperationRejected, fmt.Sprintf("Ottu rejected the %s: %s", req.Operation, ottuReason(oe))
	case ottu.KindNotFound:
		e.Code, e.Detail = CodeNotFound, fmt.Sprintf("Ottu knows no payment transaction %s; check the identifier.", transactionName(req))
	case ottu.KindAuth:
		e.Code = CodeOttuAuth
		e.Detail = fmt.Sprintf("Ottu refused the configured credentials (HTTP %d): check the API secret and that its user holds the %s permission.", oe.StatusCode, req.Operation.Permission())
	case ottu.KindOutcomeUnknown:
		o.status, o.holdLease = StatusUnknown, true
		e.Code = CodeOutcomeUnknown
		e.Detail = fmt.Sprintf("Ottu did not answer in time, so whether the %s was done is unknown. %s", req.Operation, retryAdvice(req.Operation))
	default: // unavailable
		e.Code = CodeOttuUnavailable
		if oe.Sent {
			o.status, o.holdLease = StatusUnknown, true
			e.Detail = fmt.Sprintf("Ottu answered with an error or something unreadable%s, so whether the %s was done is unknown. %s", statusSuffix(oe.StatusCode), req.Operation, retryAdvice(req.Operation))
		} else {
			e.Detail = fmt.Sprintf("Ottu could not be called (%s); nothing was sent, so the %s was not done. Retry with the same Tracking-Key.", oe.Detail, req.Operation)
		}
		if oe.RetryAfter != "" {
			e.RetryAfter = parseRetryAfter(oe.RetryAfter)
		}
	}
	o.code, o.err = e.Code, e
	return o
}

// retryAdvice says how to retry after an unknown outcome. Ottu replays
// external operations by Tracking-Key; it keeps no key for internal ones.
func retryAdvice(op ottu.Operation) string {
	if op.External() {
		return "Retry with the same Tracking-Key after the Retry-After delay: Ottu then answers with the first attempt's result instead of doing it again."
	}
	return fmt.Sprintf("Ottu keeps no Tracking-Key for %s: check the transaction's state (inquiry or Ottu's dashboard) before retrying; a retry after it was done is rejected as not allowed in the new state.", op)
}

// record writes the outcome, fenced on our lease, on a context of its own so
// that a caller at its deadline still gets its outcome stored.
func (s *Service) record(ctx context.Context, req Request, leaseID string, o outcome) {
	now := s.now()
	var leaseUntil time.Time
	if o.holdLease {
		// Ottu stores a key only once the operation succeeds: until it has
		// finished the first request, a second one could start another.
		leaseUntil = now.Add(s.leaseGrace())
		if o.err != nil {
			o.err.RetryAfter = s.leaseGrace()
		}
		if s.NoOttuReplay {
			// Held for the record's whole life: see NoOttuReplay.
			leaseUntil = now.Add(s.retention())
			if o.err != nil {
				o.err.RetryAfter = 0
				o.err.Detail += " This Ottu API version is not known to recognise a repeated Tracking-Key: check the transaction before sending it again with a new key."
			}
		}
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.recordTimeout())
	defer cancel()
	err := s.Store.Complete(wctx, Outcome{
		TrackingKey: req.TrackingKey,
		LeaseID:     leaseID,
		Status:      o.status,
		OttuStatus:  o.ottuStatus,
		OttuBody:    storable(o.body),
		ErrorCode:   string(o.code),
		Now:         now,
		LeaseUntil:  leaseUntil,
	})
	if err != nil {
		// Not fatal for the caller: a retry with the same key goes to Ottu
		// once the lease ends, and Ottu's own Tracking-Key answers it.
		s.logger(ctx).LogAttrs(ctx, slog.LevelError, "outcome not recorded",
			slog.String("status", string(o.status)), slog.String("error", err.Error()))
	}
}

// Status returns the record of a key. With refresh, Ottu is asked again with
// the same key — only when Ottu holds the key (a succeeded external
// operation), because otherwise the same request would perform it.
func (s *Service) Status(ctx context.Context, key string, refresh bool) (*Record, error) {
	if err := ValidateTrackingKey(key); err != nil {
		return nil, err
	}
	rec, err := s.Store.Get(ctx, key)
	if errors.Is(err, ErrRecordNotFound) {
		return nil, &Error{Code: CodeNotFound, TrackingKey: key,
			Detail: fmt.Sprintf("No operation is recorded for Tracking-Key %q (records are kept %d days).", key, int(s.retention().Hours()/24))}
	}
	if err != nil {
		return nil, &Error{Code: CodeStoreUnavailable, TrackingKey: key, RetryAfter: time.Second, Err: err,
			Detail: "The Tracking-Key store could not be reached; retry shortly."}
	}
	if !refresh {
		return rec, nil
	}
	op, _ := ottu.ParseOperation(rec.Operation)
	if rec.Status != StatusSucceeded || !op.External() {
		return nil, &Error{Code: CodeRefreshNotSafe, TrackingKey: key,
			Detail: fmt.Sprintf("Ottu holds no Tracking-Key %q for a %s in status %s, so asking again would perform the operation; retry the operation itself with the same Tracking-Key instead.", key, rec.Operation, rec.Status)}
	}
	req := Request{Operation: op, SessionID: rec.SessionID, OrderNo: rec.OrderNo, TrackingKey: key}
	if rec.Amount != "" {
		a, err := decimal.NewFromString(rec.Amount)
		if err == nil {
			req.Amount = &a
		}
	}
	resp, callErr := s.Ottu.Operation(ctx, req.ottuRequest())
	status, body, code := StatusSucceeded, json.RawMessage(nil), 0
	switch {
	case callErr == nil:
		body, code = resp.Raw, resp.StatusCode
	case ottu.KindOf(callErr) == ottu.KindRejected:
		// A queued refund that the gateway later rejected.
		var oe *ottu.Error
		errors.As(callErr, &oe)
		status, body, code = StatusFailed, oe.Body, oe.StatusCode
	default:
		o := outcomeOf(req, resp, callErr)
		return nil, o.err
	}
	if err := s.Store.Refresh(ctx, key, status, code, body, s.now()); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			return nil, inProgress(key, time.Second)
		}
		return nil, &Error{Code: CodeStoreUnavailable, TrackingKey: key, RetryAfter: time.Second, Err: err,
			Detail: "Ottu answered but the Tracking-Key store could not be updated; retry shortly."}
	}
	rec.Status, rec.OttuStatus, rec.OttuBody, rec.UpdatedAt = status, code, body, s.now()
	return rec, nil
}

// checkAnswerMatches guards against a key Ottu already holds for another
// operation: Ottu then answers that operation's status, whatever we asked.
func checkAnswerMatches(req Request, resp *ottu.OperationResponse) error {
	if !req.Operation.External() || resp == nil {
		return nil
	}
	if resp.Operation != "" && resp.Operation != string(req.Operation) {
		return reusedAtOttu(req, resp)
	}
	if req.Amount != nil && resp.Amount != "" {
		got, err := decimal.NewFromString(resp.Amount)
		if err == nil && !got.Equal(*req.Amount) {
			return reusedAtOttu(req, resp)
		}
	}
	return nil
}

func reusedAtOttu(req Request, resp *ottu.OperationResponse) *Error {
	return &Error{Code: CodeTrackingKeyReused, TrackingKey: req.TrackingKey, Ottu: resp.Raw,
		Detail: fmt.Sprintf("Ottu already holds Tracking-Key %q for a %s of %s and answered with that operation; nothing new was done. Send a new Tracking-Key.",
			req.TrackingKey, resp.Operation, resp.Amount)}
}

// maxStoredBody keeps a record well inside DynamoDB's 400 KB item limit.
const maxStoredBody = 300 << 10

// storable makes Ottu's body safe to record: valid UTF-8 JSON under the
// size limit. An outcome must never be lost because of its body.
func storable(body json.RawMessage) json.RawMessage {
	if len(body) == 0 {
		return body
	}
	if !utf8.Valid(body) {
		body = json.RawMessage(strings.ToValidUTF8(string(body), "\uFFFD"))
	}
	if len(body) <= maxStoredBody && json.Valid(body) {
		return body
	}
	marker, _ := json.Marshal(map[string]string{
		"result": resultOf(body),
		"note":   "Ottu's response was too large or unreadable to store; ask Ottu for the details.",
	})
	return marker
}

func describe(rec *Record) string {
	s := rec.Operation
	if rec.Amount != "" {
		s += " of " + rec.Amount
	}
	if rec.SessionID != "" {
		s += " on session_id " + rec.SessionID
	} else if rec.OrderNo != "" {
		s += " on order_no " + rec.OrderNo
	}
	return s
}

func transactionName(req Request) string {
	switch {
	case req.SessionID != "" && req.OrderNo != "":
		return fmt.Sprintf("with session_id %q and order_no %q", req.SessionID, req.OrderNo)
	case req.SessionID != "":
		return fmt.Sprintf("with session_id %q", req.SessionID)
	}
	return fmt.Sprintf("with order_no %q", req.OrderNo)
}

func ottuReason(oe *ottu.Error) string {
	switch {
	case oe.Detail != "" && len(oe.FieldErrors) > 0:
		return oe.Detail + " (" + ottu.FormatFieldErrors(oe.FieldErrors) + ")"
	case oe.Detail != "":
		return oe.Detail
	case len(oe.FieldErrors) > 0:
		return ottu.FormatFieldErrors(oe.FieldErrors)
	}
	return fmt.Sprintf("HTTP %d with no reason given", oe.StatusCode)
}

func statusSuffix(code int) string {
	if code == 0 {
		return ""
	}
	return fmt.Sprintf(" (HTTP %d)", code)
}

func resultOf(body json.RawMessage) string {
	var v struct {
		Result string `json:"result"`
	}
	_ = json.Unmarshal(body, &v)
	return v.Result
}

func parseRetryAfter(v string) time.Duration {
	var secs int
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && secs > 0 && secs < 3600 {
		return time.Duration(secs) * time.Second
	}
	return time.Second
}

func roundUpSeconds(d time.Duration) time.Duration {
	if d <= time.Second {
		return time.Second
	}
	return time.Duration(math.Ceil(d.Seconds())) * time.Second
}

func (s *Service) leaseUntil(ctx context.Context, now time.Time) time.Time {
	deadline, ok := ctx.Deadline()
	if !ok {
		budget := s.Budget
		if budget <= 0 {
			budget = DefaultBudget
		}
		deadline = now.Add(budget)
	}
	return deadline.Add(s.leaseGrace())
}

func (s *Service) observe(ctx context.Context, op ottu.Operation, start time.Time, err error, res *Result) {
	if s.Observe == nil {
		return
	}
	outcome := "succeeded"
	switch {
	case err != nil:
		outcome = string(CodeOf(err))
		if outcome == "" {
			outcome = "error"
		}
	case res != nil && res.Replayed:
		outcome = "replayed"
	}
	s.Observe(ctx, op, outcome, s.now().Sub(start))
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) newLeaseID() string {
	if s.NewLeaseID != nil {
		return s.NewLeaseID()
	}
	return uuid.NewString()
}

func (s *Service) logger(ctx context.Context) *slog.Logger {
	if s.Logger != nil {
		return s.Logger(ctx)
	}
	return slog.Default()
}

func (s *Service) retention() time.Duration {
	if s.Retention > 0 {
		return s.Retention
	}
	return DefaultRetention
}

func (s *Service) leaseGrace() time.Duration {
	if s.LeaseGrace > 0 {
		return s.LeaseGrace
	}
	return DefaultLeaseGrace
}

func (s *Service) recordTimeout() time.Duration {
	if s.RecordTimeout > 0 {
		return s.RecordTimeout
	}
	return DefaultRecordTimeout
}
