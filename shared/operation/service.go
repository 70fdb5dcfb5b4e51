package operation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// OttuClient is the part of the Ottu client the domain uses.
type OttuClient interface {
	Operation(ctx context.Context, req ottu.OperationRequest) (*ottu.OperationResponse, error)
}

// Inquirer asks Ottu where a transaction stands, read-only (refresh).
type Inquirer interface {
	Inquiry(ctx context.Context, req ottu.InquiryRequest) (*ottu.InquiryResponse, error)
}

// Service sends operations to Ottu at most once per Tracking-Key.
type Service struct {
	Store Store
	Ottu  OttuClient
	// Inquiry settles records on GET ?refresh=true without sending the
	// operation again; nil refuses refresh.
	Inquiry Inquirer
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
	// StoreTimeout bounds each read and claim, so a hung table answers
	// store_unavailable within seconds instead of API Gateway's bare 502.
	StoreTimeout time.Duration
	// PollInterval is the Retry-After of a key whose first request is still
	// running: it will finish soon, so the caller polls.
	PollInterval time.Duration
	Now          func() time.Time
	NewLeaseID   func() string
	Logger       func(context.Context) *slog.Logger
	// NoOttuReplay is set when Ottu is not known to replay a Tracking-Key
	// (API v1): an unknown outcome is then never sent again by itself, since
	// a second request could perform the operation twice.
	NoOttuReplay bool
	// Refunds, when set, counts every refund in its transaction's refunded
	// total and refuses, on the direct route, one that needs an approval
	// (nil: refunds are neither counted nor limited).
	Refunds *RefundLimits
	// Observe, when set, is told the outcome of every Execute (metrics).
	Observe func(ctx context.Context, op payment.Operation, outcome string, d time.Duration)
}

// Defaults used when the Service fields are zero.
const (
	DefaultRetention     = 30 * 24 * time.Hour
	DefaultLeaseGrace    = 5 * time.Minute
	DefaultBudget        = 30 * time.Second
	DefaultRecordTimeout = 2 * time.Second
	DefaultStoreTimeout  = 2 * time.Second
	DefaultPollInterval  = 2 * time.Second
)

// Result is an accepted operation, first time or replayed.
type Result struct {
	TrackingKey string
	Operation   payment.Operation
	Replayed    bool
	// OttuStatus and Body are Ottu's answer, unchanged.
	OttuStatus int
	Body       json.RawMessage
	// OttuResult is Ottu's "result": success, queued, …
	OttuResult string
	// Unrecorded is set when Ottu's answer could not be written to the
	// Tracking-Key record (the store failed after Ottu answered).
	Unrecorded bool
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
	claim := Claim{
		TrackingKey:       req.TrackingKey,
		Operation:         string(req.Operation),
		SessionID:         req.SessionID,
		OrderNo:           req.OrderNo,
		Amount:            req.amountText(),
		Fingerprint:       fp,
		LeaseID:           leaseID,
		LeaseUntil:        s.leaseUntil(ctx, start),
		Now:               start,
		ExpiresAt:         start.Add(s.retention()),
		ReclaimOnlyFailed: s.NoOttuReplay,
	}
	if s.NoOttuReplay {
		claim.ExpiresAt = time.Time{}
	}
	cctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	existing, err := s.Store.Claim(cctx, claim)
	cancel()
	switch {
	case errors.Is(err, ErrClaimConflict) && existing != nil:
		return s.conflict(req, fp, existing)
	case err != nil:
		return nil, storeUnavailable(req.TrackingKey, err,
			"The Tracking-Key store could not be reached, so nothing was sent to Ottu and no money moved; retry with the same Tracking-Key after the Retry-After delay.")
	}

	var reserved *Reservation
	if s.Refunds != nil && req.Operation == payment.Refund {
		rctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
		reserved, err = s.Refunds.reserve(rctx, req)
		cancel()
		if err != nil {
			// Nothing was sent: the key is freed (failed) for a later try.
			var p *problem.Error
			if !errors.As(err, &p) {
				p = storeUnavailable(req.TrackingKey, err, "The refunded-total store could not be reached, so nothing was sent to Ottu and no money moved; retry with the same Tracking-Key.")
			}
			p.TrackingKey = req.TrackingKey
			s.record(ctx, req, leaseID, outcome{status: StatusFailed, code: p.Code, err: p})
			return nil, p
		}
	}

	resp, callErr := s.Ottu.Operation(ctx, req.ottuRequest())
	if callErr == nil {
		callErr = checkAnswerMatches(req, resp, start)
	}
	outcome := s.outcomeOf(req, resp, callErr)
	if reserved != nil && outcome.status == StatusFailed {
		// Ottu recognisably did nothing: the amount no longer counts. A
		// release that fails leaves the total too high, never too low.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.recordTimeout())
		if err := s.Refunds.Totals.Release(wctx, reserved.Transaction, reserved.TrackingKey); err != nil {
			s.logger(ctx).LogAttrs(ctx, slog.LevelError, "refund reservation not released", slog.String("error", err.Error()))
		}
		cancel()
	}
	if reserved != nil && outcome.status == StatusSucceeded {
		s.fileUnderChild(ctx, reserved, resp)
	}
	recorded := s.record(ctx, req, leaseID, outcome)
	if outcome.err != nil {
		if !recorded {
			outcome.err.Detail += " The outcome could not be recorded in the Tracking-Key store, so GET /operations/{tracking_key} may not show it yet."
		}
		return nil, outcome.err
	}
	return &Result{
		TrackingKey: req.TrackingKey,
		Operation:   req.Operation,
		OttuStatus:  resp.StatusCode,
		Body:        resp.Raw,
		OttuResult:  resp.Result,
		Unrecorded:  !recorded,
	}, nil
}

func storeUnavailable(key string, err error, detail string) *problem.Error {
	return &problem.Error{Code: problem.CodeStoreUnavailable, TrackingKey: key, RetryAfter: time.Second, Err: err, Detail: detail}
}

// conflict decides what a caller gets when the key could not be claimed.
func (s *Service) conflict(req Request, fp string, rec *Record) (*Result, error) {
	if rec.Fingerprint == "" || rec.Status == "" {
		// A record caught half-written (DynamoDB never shows one; moto's
		// server can): treat it as in flight rather than as a reuse.
		return nil, inProgress(req.TrackingKey, time.Second)
	}
	if rec.Fingerprint != fp {
		return nil, &problem.Error{Code: problem.CodeTrackingKeyReused, TrackingKey: req.TrackingKey,
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
	now := s.now()
	ownerDeadline := rec.LeaseExpiresAt.Add(-s.leaseGrace())
	switch {
	case rec.Status == StatusInProgress && now.Before(ownerDeadline):
		// The first request is still within its own deadline: poll.
		return nil, inProgress(req.TrackingKey, min(s.pollInterval(), roundUpSeconds(ownerDeadline.Sub(now))))
	case s.NoOttuReplay && (rec.Status == StatusUnknown || rec.Status == StatusInProgress):
		return nil, v1Unknown(req)
	case rec.LeaseExpiresAt.After(now):
		// Unknown outcome, or a request that outlived its deadline (crashed
		// or cut off): Ottu may still be working on it.
		return nil, outcomePending(req, roundUpSeconds(rec.LeaseExpiresAt.Sub(now)))
	}
	// The record changed between the write and what it returned: try again.
	return nil, inProgress(req.TrackingKey, time.Second)
}

// v1Unknown answers an attempt whose outcome is unknown on an Ottu API
// that does not recognise a repeated key: it is never sent again.
func v1Unknown(req Request) *problem.Error {
	return &problem.Error{Code: problem.CodeOutcomeUnknown, TrackingKey: req.TrackingKey,
		Detail: fmt.Sprintf("Whether the %s with Tracking-Key %q was done is unknown, and this Ottu API version (v1) does not recognise a repeated key, so it will never be sent again with this key: money may already have moved. Check the transaction first (GET /operations/%s?refresh=true asks Ottu read-only, or Ottu's dashboard); only if it was not done, send it with a new Tracking-Key.",
			req.Operation, req.TrackingKey, req.TrackingKey)}
}

type outcome struct {
	status     Status
	ottuStatus int
	body       json.RawMessage
	code       problem.Code
	err        *problem.Error
	// holdLease keeps others off the key (Ottu may still be working).
	holdLease bool
}

// outcomeOf maps Ottu's answer to the record and the caller's error. Only
// Ottu's own refusals (ottu.KindRejected, KindNotFound, KindAuth, and
// failures before sending) mark a request failed, which frees the key;
// anything else that may have reached Ottu is an unknown outcome, held.
func (s *Service) outcomeOf(req Request, resp *ottu.OperationResponse, err error) outcome {
	if err == nil {
		return outcome{status: StatusSucceeded, ottuStatus: resp.StatusCode, body: resp.Raw}
	}
	var domainErr *problem.Error
	if errors.As(err, &domainErr) {
		if mismatch := errors.Is(domainErr, errAnswerMismatch); mismatch || (s.NoOttuReplay && domainErr.Code == problem.CodeTrackingKeyReused) {
			// Ottu's 200 answered our own request with another operation,
			// amount or transaction (on v1 always: it has no key replay; on
			// v2 when the answer is not older than our claim, so it is not
			// an old operation's status). Ottu may have normalized the
			// amount and done it: money may have moved, so the key stays
			// held like any unknown outcome, and the answer says so.
			domainErr.Code = problem.CodeOutcomeUnknown
			domainErr.Detail = fmt.Sprintf("Ottu answered the %s with another operation, amount or transaction (%s), so what it did is unknown: money may already have moved.", req.Operation, describeAnswer(resp))
			if s.NoOttuReplay {
				domainErr.Detail += " " + s.retryAdvice(req)
			} else {
				domainErr.Detail += fmt.Sprintf(" Check the transaction before anything else (GET /operations/%s?refresh=true asks Ottu read-only, or Ottu's dashboard); do not send it again with a new Tracking-Key, and a retry with this one gets the same answer.", req.TrackingKey)
				domainErr.RetryAfter = s.leaseGrace()
			}
			return outcome{status: StatusUnknown, ottuStatus: resp.StatusCode, body: resp.Raw, code: domainErr.Code, err: domainErr, holdLease: true}
		}
		return outcome{status: StatusFailed, ottuStatus: resp.StatusCode, body: resp.Raw, code: domainErr.Code, err: domainErr}
	}
	var oe *ottu.Error
	if !errors.As(err, &oe) {
		oe = &ottu.Error{Kind: ottu.KindUnavailable, Err: err}
	}
	body := oe.Body
	if len(body) == 0 {
		body = oe.Raw
	}
	o := outcome{status: StatusFailed, ottuStatus: oe.StatusCode, body: body}
	e := &problem.Error{TrackingKey: req.TrackingKey, Ottu: oe.Body, Err: err}
	switch oe.Kind {
	case ottu.KindInvalid:
		e.Code, e.Detail = problem.CodeInvalidRequest, "The request cannot be sent to Ottu: "+oe.Detail
	case ottu.KindRejected:
		e.Code, e.Detail = problem.CodeOperationRejected, fmt.Sprintf("Ottu rejected the %s, so no money moved: %s", req.Operation, ottuReason(oe))
	case ottu.KindNotFound:
		e.Code, e.Detail = problem.CodeNotFound, fmt.Sprintf("Ottu knows no payment transaction with %s; check the identifier.", problem.TransactionName(req.SessionID, req.OrderNo))
	case ottu.KindAuth:
		e.Code = problem.CodeOttuAuth
		e.Detail = fmt.Sprintf("Ottu refused the configured credentials (HTTP %d), so nothing was done: check the API secret and that its user holds the %s permission, then retry with the same Tracking-Key.", oe.StatusCode, req.Operation.Permission())
		if oe.StatusCode == 0 {
			e.Detail = fmt.Sprintf("The Ottu credentials are unusable (%s), so nothing was sent: fix the API secret, then retry with the same Tracking-Key.", oe.Detail)
		}
	case ottu.KindOutcomeUnknown:
		o.status, o.holdLease = StatusUnknown, true
		e.Code = problem.CodeOutcomeUnknown
		what := "The connection to Ottu broke after the request was sent"
		if oe.TimedOut {
			what = "Ottu did not answer in time"
		}
		e.Detail = fmt.Sprintf("%s, so whether the %s was done is unknown: money may already have moved.", what, req.Operation)
	default: // unavailable
		e.Code = problem.CodeOttuUnavailable
		if oe.Sent {
			o.status, o.holdLease = StatusUnknown, true
			e.Detail = fmt.Sprintf("Ottu answered with an error or something unreadable%s, so whether the %s was done is unknown: money may already have moved.", statusSuffix(oe.StatusCode), req.Operation)
		} else {
			e.Detail = fmt.Sprintf("Ottu could not be called (%s); nothing was sent, so the %s was not done and no money moved. Retry with the same Tracking-Key.", oe.Detail, req.Operation)
			e.RetryAfter = time.Second
			if oe.RetryAfter > 0 && oe.RetryAfter < time.Hour {
				e.RetryAfter = roundUpSeconds(oe.RetryAfter)
			}
		}
	}
	if o.holdLease {
		e.Detail += " " + s.retryAdvice(req)
		if !s.NoOttuReplay {
			e.RetryAfter = s.leaseGrace()
		}
	}
	o.code, o.err = e.Code, e
	return o
}

// retryAdvice says the one thing to do after an unknown outcome.
func (s *Service) retryAdvice(req Request) string {
	switch {
	case s.NoOttuReplay:
		return fmt.Sprintf("This Ottu API version (v1) does not recognise a repeated Tracking-Key, so this key will never be sent again: check the transaction first (GET /operations/%s?refresh=true asks Ottu read-only, or Ottu's dashboard), and only if it was not done send it with a new Tracking-Key.", req.TrackingKey)
	case req.Operation.External():
		return fmt.Sprintf("Retry with the same Tracking-Key after %d seconds (Retry-After): Ottu then answers with the first attempt's result instead of doing it again. Do not use a new key for the same %s.", int(s.leaseGrace().Seconds()), req.Operation)
	}
	return fmt.Sprintf("Ottu keeps no Tracking-Key for %s, which moves no money: check the transaction's state (GET /operations/%s?refresh=true or Ottu's dashboard) before retrying; a retry after it was done is rejected as not allowed in the new state.", req.Operation, req.TrackingKey)
}

// record writes the outcome, fenced on our lease, on a context of its own so
// that a caller at its deadline still gets its outcome stored. It reports
// whether the outcome was written.
func (s *Service) record(ctx context.Context, req Request, leaseID string, o outcome) bool {
	now := s.now()
	var leaseUntil, expiresAt time.Time
	if o.holdLease {
		// Ottu stores a key only once the operation succeeds: until it has
		// finished the first request, a second one could start another.
		// No expiry: an unknown outcome must not vanish with its record.
		leaseUntil = now.Add(s.leaseGrace())
	} else {
		expiresAt = s.expiryAfter(now, o.status)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.recordTimeout())
	defer cancel()
	err := s.Store.Complete(wctx, Outcome{
		TrackingKey: req.TrackingKey,
		LeaseID:     leaseID,
		Status:      o.status,
		OttuStatus:  o.ottuStatus,
		OttuBody:    keptFor(storable(o.body), expiresAt),
		ErrorCode:   string(o.code),
		Now:         now,
		LeaseUntil:  leaseUntil,
		ExpiresAt:   expiresAt,
	})
	if err != nil {
		// Not fatal for the caller: the record stays in progress, and a
		// retry with the same key waits out the lease, then goes to Ottu
		// with the same key (v2), or is never sent again (v1).
		s.logger(ctx).LogAttrs(ctx, slog.LevelError, "outcome not recorded",
			slog.String("status", string(o.status)), slog.String("error", err.Error()))
		return false
	}
	return true
}

// Status returns the record of a key. With refresh, Ottu is asked through
// an inquiry of the transaction — read-only, so a refresh can never perform
// the operation — and the record is settled by what it shows: the child
// operation carrying this key (or the stored answer's reference number).
func (s *Service) Status(ctx context.Context, key string, refresh bool) (*Record, error) {
	if err := ValidateTrackingKey(key); err != nil {
		return nil, err
	}
	gctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	rec, err := s.Store.Get(gctx, key)
	cancel()
	if errors.Is(err, ErrRecordNotFound) {
		return nil, &problem.Error{Code: problem.CodeNotFound, TrackingKey: key,
			Detail: fmt.Sprintf("No operation is recorded for Tracking-Key %q (records are kept %d days).", key, int(s.retention().Hours()/24))}
	}
	if err != nil {
		return nil, storeUnavailable(key, err, "The Tracking-Key store could not be reached; retry shortly.")
	}
	if !refresh {
		return rec, nil
	}
	if s.Inquiry == nil {
		return nil, &problem.Error{Code: problem.CodeInvalidRequest, TrackingKey: key, Detail: "refresh is not available in this function; read the record without it."}
	}
	inq, err := s.Inquiry.Inquiry(ctx, ottu.InquiryRequest{SessionID: rec.SessionID, OrderNo: rec.OrderNo})
	if t := throttled(err); t != nil {
		// Ottu's throttle turned the inquiry away, and nothing was asked
		// (nor counted against the transaction's inquiries): the record as
		// stored is the answer, so a workflow polling a queued refund reads
		// "not settled yet" and waits on, instead of failing.
		rec.InquiryThrottled = t
		return rec, nil
	}
	if err != nil {
		return nil, inquiryError(rec, err)
	}
	view := findOperation(rec, inq)
	rec.Inquiry = view.raw
	if view.raw == nil {
		rec.Inquiry = json.RawMessage("null")
	}
	settled, ok := view.settles(rec, s.now())
	if !ok || settled == rec.Status {
		return rec, nil
	}
	now := s.now()
	st := Settlement{TrackingKey: key, Status: settled, Now: now, ExpiresAt: s.expiryAfter(now, settled)}
	if len(rec.OttuBody) == 0 && view.raw != nil {
		// No answer of Ottu's was ever recorded: Ottu's view of the child
		// is the best body to replay.
		st.OttuStatus, st.OttuBody = inq.StatusCode, keptFor(storable(view.raw), st.ExpiresAt)
	}
	sctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	err = s.Store.Settle(sctx, st)
	cancel()
	switch {
	case errors.Is(err, ErrLeaseLost):
		// A request with this key is running right now; it records its own.
		return rec, nil
	case err != nil:
		return nil, storeUnavailable(key, err, "Ottu answered the inquiry but the Tracking-Key store could not be updated; retry shortly.")
	}
	rec.Status, rec.UpdatedAt, rec.ExpiresAt = settled, now, st.ExpiresAt
	if st.OttuBody != nil {
		rec.OttuStatus, rec.OttuBody = st.OttuStatus, st.OttuBody
	}
	return rec, nil
}

// throttled reads Ottu's refusal of an inquiry by its throttle (429).
func throttled(err error) *InquiryThrottle {
	var oe *ottu.Error
	if !errors.As(err, &oe) || !oe.Throttled() {
		return nil
	}
	t := &InquiryThrottle{Detail: "Ottu's inquiry throttle refused the inquiry (none in a transaction's first 10 minutes, then one per 30 minutes, at most 3), so Ottu was not asked: this is the record as stored."}
	if oe.RetryAfter > 0 {
		t.RetryAfter = roundUpSeconds(oe.RetryAfter)
		t.Detail += fmt.Sprintf(" Ottu answers an inquiry of it again in %d seconds.", int(t.RetryAfter/time.Second))
	}
	return t
}

// inquiryError maps a failed inquiry; nothing was done either way.
func inquiryError(rec *Record, err error) *problem.Error {
	e := &problem.Error{TrackingKey: rec.TrackingKey, Err: err}
	var oe *ottu.Error
	if errors.As(err, &oe) {
		e.Ottu = oe.Body
	}
	switch ottu.KindOf(err) {
	case ottu.KindNotFound:
		e.Code, e.Detail = problem.CodeNotFound, "Ottu's inquiry knows no such transaction any more; the record is unchanged."
	case ottu.KindRejected, ottu.KindInvalid:
		e.Code, e.Detail = problem.CodeOperationRejected, "Ottu refused the inquiry of this transaction ("+oe.Detail+"); the record is unchanged. Check the transaction in Ottu's dashboard."
	case ottu.KindAuth:
		e.Code, e.Detail = problem.CodeOttuAuth, "Ottu refused the credentials for the inquiry: check the API secret and that its user holds payment.inquiry."
	default:
		e.Code, e.Detail, e.RetryAfter = problem.CodeOttuUnavailable, "Ottu could not answer the inquiry; the record is unchanged. Retry shortly.", time.Second
	}
	return e
}

// operationView is what an inquiry shows of one recorded operation.
type operationView struct {
	raw         json.RawMessage // the child transaction, nil when none matched
	state       string          // the child's state
	parentState string
}

// findOperation picks, from an inquiry answer, the child transaction the
// record's operation created: by Tracking-Key, else by the reference number
// of the answer stored.
func findOperation(rec *Record, inq *ottu.InquiryResponse) operationView {
	var parent struct {
		State        string            `json:"state"`
		Transactions []json.RawMessage `json:"transactions"`
	}
	_ = json.Unmarshal(inq.Raw, &parent)
	view := operationView{parentState: parent.State}
	ref := referenceOf(rec.OttuBody)
	for _, raw := range parent.Transactions {
		var c struct {
			TrackingKey     string `json:"tracking_key"`
			ReferenceNumber string `json:"reference_number"`
			Operation       string `json:"operation"`
			State           string `json:"state"`
		}
		if json.Unmarshal(raw, &c) != nil {
			continue
		}
		sameKey := (c.TrackingKey != "" && c.TrackingKey == rec.TrackingKey) || (ref != "" && c.ReferenceNumber == ref)
		// A child of another operation under a reused key proves nothing
		// about this one.
		if sameKey && (c.Operation == "" || c.Operation == rec.Operation) {
			view.raw, view.state = raw, c.State
			return view
		}
	}
	return view
}

// settles says what status the view proves, if any. Only outcomes that are
// not known yet are settled (in progress past its lease, or unknown); a
// record Ottu answered keeps its status, and its view is shown beside it.
func (v operationView) settles(rec *Record, now time.Time) (Status, bool) {
	open := rec.Status == StatusUnknown || (rec.Status == StatusInProgress && !rec.LeaseExpiresAt.After(now))
	if !open {
		return "", false
	}
	// The child states each operation leaves when it was done.
	done := map[string][]string{"capture": {"paid"}, "refund": {"refunded", "refund_queued"}, "void": {"voided"}}
	switch {
	case slices.Contains(done[rec.Operation], v.state):
		return StatusSucceeded, true
	case rec.Operation == "refund" && v.state == "refund_rejected":
		return StatusFailed, true
	}
	if v.raw == nil {
		// Internal operations leave no child: the parent's state shows them.
		parentDone := map[string]string{"cancel": "canceled", "expire": "expired"}
		if want, ok := parentDone[rec.Operation]; ok && v.parentState == want {
			return StatusSucceeded, true
		}
	}
	return "", false
}

// fileUnderChild moves a succeeded refund's reservation to the key of the
// child Ottu's answer names, the key its operation notification counts
// under, so that the notification does not count it again. A failed move
// leaves both counted: too much, never too little.
func (s *Service) fileUnderChild(ctx context.Context, reserved *Reservation, resp *ottu.OperationResponse) {
	if resp == nil {
		return
	}
	child := strings.TrimSpace(referenceOf(resp.Raw))
	if child == "" {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.recordTimeout())
	defer cancel()
	if err := s.Refunds.Totals.Move(wctx, reserved.Transaction, reserved.TrackingKey, ChildKey(child), reserved.Amount); err != nil {
		s.logger(ctx).LogAttrs(ctx, slog.LevelWarn, "refund reservation not moved to its child; its notification counts it a second time", slog.String("error", err.Error()))
	}
}

func referenceOf(body json.RawMessage) string {
	var v struct {
		ReferenceNumber string `json:"reference_number"`
	}
	_ = json.Unmarshal(body, &v)
	return v.ReferenceNumber
}

// errAnswerMismatch marks an answer of Ottu's that does not match our
// request and is not known to be older than it: an unknown outcome.
var errAnswerMismatch = errors.New("ottu's answer does not match the request")

// answerClockSkew is how much older than our claim Ottu's timestamp_utc
// must be before the answer is taken for an earlier operation's status:
// Ottu's clock may run behind ours, and calling a fresh operation "reused"
// would free its key and invite a second one.
const answerClockSkew = time.Minute

// checkAnswerMatches compares Ottu's 200 answer with our request:
// operation, amount, and transaction (the child's order_no, where both
// sides name one). A mismatch is Ottu answering with another
// operation's status (a key it already holds, tracking_key_reused, nothing
// new done) only when the answer's timestamp_utc predates our claim;
// otherwise Ottu may have done our request in its own way (an amount
// normalized to the currency's decimals, say): errAnswerMismatch, an
// unknown outcome.
func checkAnswerMatches(req Request, resp *ottu.OperationResponse, claimed time.Time) error {
	if !req.Operation.External() || resp == nil {
		return nil
	}
	mismatch := resp.Operation != "" && resp.Operation != string(req.Operation)
	if req.Amount != nil && resp.Amount != "" {
		got, err := decimal.NewFromString(resp.Amount)
		mismatch = mismatch || err != nil || !got.Equal(*req.Amount)
	}
	// The child transaction has a session_id of its own; its order_no, when
	// Ottu fills it, is the payment's.
	if resp.Txn != nil && req.OrderNo != "" && resp.Txn.OrderNo != "" && resp.Txn.OrderNo != req.OrderNo {
		mismatch = true
	}
	if !mismatch {
		return nil
	}
	ts, err := time.ParseInLocation("2006-01-02 15:04:05", strings.TrimSpace(resp.TimestampUTC), time.UTC)
	if err == nil && ts.Add(answerClockSkew).Before(claimed) {
		return reusedAtOttu(req, resp)
	}
	return &problem.Error{Code: problem.CodeOutcomeUnknown, TrackingKey: req.TrackingKey, Ottu: resp.Raw, Err: errAnswerMismatch}
}

func describeAnswer(resp *ottu.OperationResponse) string {
	s := fmt.Sprintf("a %s of %s", resp.Operation, resp.Amount)
	if resp.TimestampUTC != "" {
		s += " at " + resp.TimestampUTC + " UTC"
	}
	return s
}

func reusedAtOttu(req Request, resp *ottu.OperationResponse) *problem.Error {
	return &problem.Error{Code: problem.CodeTrackingKeyReused, TrackingKey: req.TrackingKey, Ottu: resp.Raw,
		Detail: fmt.Sprintf("Ottu already holds Tracking-Key %q for a %s of %s done at %s UTC, before this request, and answered with that operation; nothing new was done. Send a new Tracking-Key.",
			req.TrackingKey, resp.Operation, resp.Amount, resp.TimestampUTC)}
}

// maxStoredBody keeps a record well inside DynamoDB's 400 KB item limit;
// maxUnparsedText leaves room for JSON escaping of text that is not JSON.
const (
	maxStoredBody   = 300 << 10
	maxUnparsedText = 48 << 10
)

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
	// Kept as text: an answer Ottu gave is never lost because it cannot be
	// parsed (too deep, not JSON) or is too large.
	text := string(body)
	truncated := len(text) > maxUnparsedText
	if truncated {
		text = strings.ToValidUTF8(text[:maxUnparsedText], "")
	}
	marker, _ := json.Marshal(map[string]any{
		"result":        resultOf(body),
		"unparsed_body": text,
		"truncated":     truncated,
		"note":          "Ottu's answer could not be stored as JSON; this is its text as received.",
	})
	return marker
}

// keptFor is what of Ottu's body a record keeps: all of it when the record
// expires (RECORD_RETENTION_DAYS), and only ids, amounts and states when it
// never does (an unknown outcome, a v1 success), since Ottu's body can
// carry the customer's details (txn.customer_email, pg_response, …).
func keptFor(body json.RawMessage, expiresAt time.Time) json.RawMessage {
	if !expiresAt.IsZero() || len(body) == 0 {
		return body
	}
	return idsAmountsStates(body)
}

// The members of Ottu's operation answer (and of its child transaction)
// that name ids, amounts, states and codes.
var (
	keptTop   = []string{"operation", "result", "success", "amount", "currency_code", "reference_number", "tracking_key", "pg_code", "timestamp_utc", "state", "message", "detail", "truncated"}
	keptChild = []string{"amount", "currency_code", "state", "order_no", "session_id", "reference_number", "operation", "tracking_key"}
)

// idsAmountsStates keeps of a JSON object body the members above (and of
// its "txn" the child's); anything else is dropped. A body that is not an
// object keeps nothing but the fact that it was not.
func idsAmountsStates(body json.RawMessage) json.RawMessage {
	var all map[string]json.RawMessage
	if json.Unmarshal(body, &all) != nil {
		return json.RawMessage(`{"note":"Ottu's answer was not a JSON object; it is not kept in a record that never expires."}`)
	}
	out := pick(all, keptTop)
	var child map[string]json.RawMessage
	if raw, ok := all["txn"]; ok && json.Unmarshal(raw, &child) == nil && child != nil {
		out["txn"], _ = json.Marshal(pick(child, keptChild))
	}
	b, _ := json.Marshal(out)
	return b
}

func pick(m map[string]json.RawMessage, keys []string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
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

func (s *Service) observe(ctx context.Context, op payment.Operation, start time.Time, err error, res *Result) {
	if s.Observe == nil {
		return
	}
	outcome := "succeeded"
	switch {
	case err != nil:
		outcome = string(problem.CodeOf(err))
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
	return positiveOr(s.Retention, DefaultRetention)
}

func (s *Service) leaseGrace() time.Duration {
	return positiveOr(s.LeaseGrace, DefaultLeaseGrace)
}

// expiryAfter is a known outcome's TTL: retention after it, except for a
// success without Ottu's key replay (API v1), which is kept for good: once
// its record is gone the same key would be sent again and nothing at Ottu
// would stop a second operation.
func (s *Service) expiryAfter(now time.Time, status Status) time.Time {
	if s.NoOttuReplay && status == StatusSucceeded {
		return time.Time{}
	}
	return now.Add(s.retention())
}

func (s *Service) storeTimeout() time.Duration {
	return positiveOr(s.StoreTimeout, DefaultStoreTimeout)
}

func (s *Service) pollInterval() time.Duration {
	return positiveOr(s.PollInterval, DefaultPollInterval)
}

func (s *Service) recordTimeout() time.Duration {
	return positiveOr(s.RecordTimeout, DefaultRecordTimeout)
}

// positiveOr is d when it is positive, else fallback, so that a Service
// whose durations are left zero works with the package defaults.
func positiveOr(d, fallback time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return fallback
}
