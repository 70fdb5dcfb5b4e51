// Package inquiry asks Ottu where a payment stands (its read-only inquiry,
// optionally having Ottu disclose the transaction to a webhook), keeps
// every answer in the transaction store, and answers from what it kept
// when Ottu's inquiry throttle would refuse a fresh one. It also reads
// what is kept (GET /transactions/{id}/inquiry). It knows nothing of AWS:
// the store is a txn.Store, Ottu an *ottu.Client.
package inquiry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// Ottu's inquiry throttle (reference/ottu.md): none in a transaction's
// first 10 minutes, then one per Interval, at most PerTransaction. The
// first rule needs the transaction's creation time, which only Ottu knows;
// the other two are applied from our own stored inquiries.
const (
	Interval       = 30 * time.Minute
	PerTransaction = 3
)

// WebhookPath is the webhook function's route: with disclose_to_merchant
// and no disclosure_url, Ottu is sent this stack's own base URL plus this.
const WebhookPath = "/webhooks/ottu"

// Defaults for the zero values of Service.
const (
	DefaultRetention    = 30 * 24 * time.Hour
	DefaultStoreTimeout = 2 * time.Second
	// HistoryLimit bounds the entries one read of a transaction's history
	// returns (Ottu allows 3 inquiries, each disclosed at most a few times).
	HistoryLimit = 100
)

// maxIDLen and maxURLLen bound what a request may name.
const (
	maxIDLen  = 255
	maxURLLen = 2048
)

// timestampLayout is Ottu's timestamp_utc.
const timestampLayout = "2006-01-02 15:04:05"

// Ottu is the inquiry call of the Ottu client.
type Ottu interface {
	Inquiry(ctx context.Context, req ottu.InquiryRequest) (*ottu.InquiryResponse, error)
}

// Store is the part of txn.Store an inquiry uses.
type Store interface {
	txn.Binder
	Put(ctx context.Context, e txn.Entry) (stored bool, err error)
	History(ctx context.Context, id string, limit int) ([]txn.Entry, error)
	AddWaiter(ctx context.Context, w txn.Waiter) error
}

// Request is one inquiry.
type Request struct {
	SessionID string
	OrderNo   string
	// Disclose asks Ottu to post the transaction to DisclosureURL, or to
	// this stack's own webhook when DisclosureURL is empty.
	Disclose      bool
	DisclosureURL string
	// Fresh asks Ottu even when its throttle would refuse, passing the
	// refusal on instead of a stored answer.
	Fresh bool
	// TaskToken is a Step Functions task (.waitForTaskToken) waiting for
	// the disclosure; it is stored before Ottu is asked. It implies Fresh:
	// a stored answer would leave the task waiting for nothing.
	TaskToken string
	// APIBaseURL is the base URL the request reached this stack through
	// (HTTP only; empty for a direct invocation): the stack's own webhook
	// is there when Service.WebhookURL is not configured.
	APIBaseURL string
}

// Result is an inquiry's answer.
type Result struct {
	// Source is txn.SourceInquiry (Ottu answered now) or
	// txn.SourceStored (the newest stored answer, Ottu not asked).
	Source txn.Source
	// Entry is Ottu's answer as stored, or the stored entry answered.
	Entry txn.Entry
	// FreshAfter is when Ottu's throttle allows the next inquiry (stored
	// answers); zero when no time is known or none will be allowed.
	FreshAfter time.Time
	// Reason says, in a sentence, why the answer is a stored one.
	Reason string
	// Unstored is true when Ottu answered but the answer could not be
	// stored: GET /transactions/{id}/inquiry will not show it.
	Unstored bool
	// Waiting is true when a task token waits for Ottu's disclosure.
	Waiting bool
}

// Service answers inquiries. The zero values of its optional fields take
// the defaults above.
type Service struct {
	Ottu  Ottu
	Store Store
	// WebhookURL is this stack's own webhook (PUBLIC_BASE_URL +
	// WebhookPath); empty when PUBLIC_BASE_URL is not set.
	WebhookURL string
	// AllowedDisclosureURLs are the other URLs (exactly as written) a
	// caller may have Ottu disclose a transaction to
	// (DISCLOSURE_URL_ALLOWLIST): Ottu posts the customer's name, e-mail,
	// phone and address there, signed.
	AllowedDisclosureURLs []string
	// Retention is how long an answer and a waiter are kept (TTL).
	Retention time.Duration
	// StoreTimeout bounds each store call, so a hung table costs seconds,
	// not the function's whole budget.
	StoreTimeout time.Duration
	Now          func() time.Time
	// NewDigest names each answer (every inquiry answer is distinct).
	NewDigest func() string
	Logger    func(ctx context.Context) *slog.Logger
	// Observe is told each inquiry's outcome ("inquiry", "stored", or the
	// problem code) and how long it took, for metrics.
	Observe func(ctx context.Context, outcome string, d time.Duration)
	// Totals, when set, is the refunded totals: binding a session_id to
	// its reference_number counts, in its total, the refund notifications
	// filed under that reference_number before (operation.CountLinked).
	Totals operation.RefundTotals
}

// Inquire asks Ottu where the transaction stands and stores the answer, or
// answers the newest stored result when Ottu's throttle would refuse.
func (s *Service) Inquire(ctx context.Context, req Request) (res *Result, err error) {
	start := s.now()
	defer func() { s.observe(ctx, start, res, err) }()

	target, err := s.check(&req)
	if err != nil {
		return nil, err
	}
	var history []txn.Entry
	if !req.Fresh {
		history = s.history(ctx, req)
		if res := s.storedIfThrottled(history, start); res != nil {
			return res, nil
		}
	}
	if req.TaskToken != "" {
		if err := s.addWaiter(ctx, req, start); err != nil {
			return nil, err
		}
	}
	resp, err := s.Ottu.Inquiry(ctx, ottu.InquiryRequest{
		SessionID: req.SessionID, OrderNo: req.OrderNo,
		DiscloseToMerchant: req.Disclose, DisclosureURL: target,
	})
	if err != nil {
		p := fromOttu(req, err)
		if p.Code == CodeThrottled && !req.Fresh {
			if res := storedAfterRefusal(history, s.now(), p.RetryAfter); res != nil {
				return res, nil
			}
		}
		return nil, p
	}
	e := s.entryOf(req, resp)
	res = &Result{Source: txn.SourceInquiry, Entry: e, Waiting: req.TaskToken != ""}
	s.bind(ctx, e)
	if err := s.put(ctx, e); err != nil {
		// Ottu answered; the merchant still gets the answer, and is told
		// it was not kept.
		s.logger(ctx).LogAttrs(ctx, slog.LevelError, "the inquiry answer could not be stored", slog.String("error", err.Error()))
		res.Unstored = true
	}
	return res, nil
}

// check validates req and returns the disclosure URL to send Ottu ("" when
// not disclosing). Failures are 400 problems naming the field.
func (s *Service) check(req *Request) (string, error) {
	if req.SessionID == "" && req.OrderNo == "" {
		return "", problem.Invalid(problem.CodeInvalidRequest, "session_id",
			`Name the transaction: send session_id or order_no, such as {"session_id": "…"}.`)
	}
	for field, v := range map[string]string{"session_id": req.SessionID, "order_no": req.OrderNo} {
		if err := checkID(field, v); err != nil {
			return "", err
		}
	}
	if req.TaskToken != "" {
		req.Fresh = true
	}
	own := s.ownWebhook(*req)
	if req.DisclosureURL != "" {
		if err := checkDisclosureURL(req.DisclosureURL); err != nil {
			return "", err
		}
		if !req.Disclose {
			return "", problem.Invalid(problem.CodeInvalidRequest, "disclosure_url",
				"disclosure_url is used only with disclose_to_merchant: true; send both, or leave disclosure_url out.")
		}
		if req.DisclosureURL != own && !slices.Contains(s.AllowedDisclosureURLs, req.DisclosureURL) {
			return "", problem.Invalid(CodeDisclosureURLNotAllowed, "disclosure_url",
				"disclosure_url is neither this stack's own webhook nor on its allow-list: Ottu posts the customer's details there, so only those are accepted. Leave disclosure_url out to use this stack's webhook, or have the stack's DisclosureUrlAllowList parameter name the URL.")
		}
	}
	if req.TaskToken != "" {
		switch {
		case !req.Disclose:
			return "", problem.Invalid(problem.CodeInvalidRequest, "disclose_to_merchant",
				"task_token waits for Ottu's disclosure: send disclose_to_merchant: true with it.")
		case req.DisclosureURL != "" && req.DisclosureURL != own:
			return "", problem.Invalid(problem.CodeInvalidRequest, "disclosure_url",
				"task_token waits for a disclosure to this stack's own webhook, and disclosure_url names another URL: leave disclosure_url out.")
		}
	}
	if !req.Disclose {
		return "", nil
	}
	if req.DisclosureURL != "" {
		return req.DisclosureURL, nil
	}
	if own == "" {
		return "", errNoDisclosureURL()
	}
	return own, nil
}

// ownWebhook is this stack's webhook URL: configured, else where the
// request came in; "" when neither is known.
func (s *Service) ownWebhook(req Request) string {
	if s.WebhookURL != "" {
		return s.WebhookURL
	}
	if req.APIBaseURL != "" {
		return strings.TrimRight(req.APIBaseURL, "/") + WebhookPath
	}
	return ""
}

func checkID(field, v string) error {
	if v == "" {
		return nil
	}
	if len(v) > maxIDLen || strings.TrimSpace(v) != v || strings.ContainsFunc(v, isControl) {
		return problem.Invalid(problem.CodeInvalidRequest, field,
			fmt.Sprintf("%s must be 1 to %d characters with no control characters and no leading or trailing spaces, exactly as Ottu gave it.", field, maxIDLen))
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkDisclosureURL accepts an absolute https URL (plain http only for a
// loopback host, as on a laptop) with no user or fragment: Ottu posts the
// customer's details there. Its errors never repeat the URL, which may
// carry a token.
func checkDisclosureURL(raw string) error {
	bad := func(why string) error {
		return problem.Invalid(problem.CodeInvalidRequest, "disclosure_url", "disclosure_url "+why+".")
	}
	if len(raw) > maxURLLen {
		return bad(fmt.Sprintf("is longer than %d characters", maxURLLen))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return bad("must be an absolute URL such as https://shop.example.com/webhooks/ottu")
	}
	switch {
	case u.User != nil:
		return bad("must not carry a user or password; put a token in the path or query instead")
	case u.Fragment != "":
		return bad("must not have a fragment (#…)")
	case strings.EqualFold(u.Scheme, "https"):
	case strings.EqualFold(u.Scheme, "http") && loopback(u.Hostname()):
	case strings.EqualFold(u.Scheme, "http"):
		return bad("must use https, since Ottu posts the customer's details to it (plain http is accepted only for localhost)")
	default:
		return bad("must be an https URL such as https://shop.example.com/webhooks/ottu")
	}
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// history reads the transaction's stored entries. A failed read is logged
// and treated as none: it only means Ottu is asked, which is safe.
func (s *Service) history(ctx context.Context, req Request) []txn.Entry {
	ctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	defer cancel()
	for _, id := range ids(req) {
		h, err := s.Store.History(ctx, id, HistoryLimit)
		switch {
		case errors.Is(err, txn.ErrNotFound):
		case err != nil:
			s.logger(ctx).LogAttrs(ctx, slog.LevelWarn, "stored inquiries could not be read; asking Ottu", slog.String("error", err.Error()))
			return nil
		default:
			return h
		}
	}
	return nil
}

// ids are the ids to look a request's transaction up by, session_id first.
func ids(req Request) []string {
	var out []string
	for _, id := range []string{req.SessionID, req.OrderNo} {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}

// storedIfThrottled answers the newest stored result when our own stored
// inquiries show Ottu's throttle would refuse a fresh one.
func (s *Service) storedIfThrottled(history []txn.Entry, now time.Time) *Result {
	var inquiries []time.Time
	for _, e := range history {
		if e.Source == txn.SourceInquiry {
			inquiries = append(inquiries, e.ReceivedAt)
		}
	}
	if len(inquiries) == 0 {
		return nil
	}
	if len(inquiries) >= PerTransaction {
		return stored(history, time.Time{},
			fmt.Sprintf("Ottu answers at most %d inquiries per transaction, and this stack has made %d; this is the newest stored result, and Ottu will answer no further inquiry of this transaction.", PerTransaction, len(inquiries)))
	}
	last := inquiries[0]
	for _, t := range inquiries[1:] {
		if t.After(last) {
			last = t
		}
	}
	if next := last.Add(Interval); now.Before(next) {
		return stored(history, next, fmt.Sprintf("Ottu answers one inquiry per transaction every %d minutes, and the last was at %s; this is the newest stored result. A fresh inquiry is possible from %s, or send ?fresh=true to ask Ottu anyway.",
			int(Interval.Minutes()), last.UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339)))
	}
	return nil
}

// storedAfterRefusal answers the newest stored result when Ottu's throttle
// refused a fresh inquiry; nil when nothing is stored.
func storedAfterRefusal(history []txn.Entry, now time.Time, wait time.Duration) *Result {
	if wait <= 0 {
		return stored(history, time.Time{}, "Ottu's inquiry throttle refused a fresh inquiry and named no time for the next one; this is the newest stored result.")
	}
	next := now.Add(wait)
	return stored(history, next, fmt.Sprintf("Ottu's inquiry throttle refused a fresh inquiry; this is the newest stored result. A fresh inquiry is possible from %s, or send ?fresh=true to ask Ottu anyway.",
		next.UTC().Format(time.RFC3339)))
}

// stored answers the current view among history (txn.OrderKey, as
// the store keeps it), saying why in reason: nil when nothing is stored.
func stored(history []txn.Entry, freshAfter time.Time, reason string) *Result {
	if len(history) == 0 {
		return nil
	}
	best := history[0]
	for _, e := range history[1:] {
		if txn.OrderKey(e) > txn.OrderKey(best) {
			best = e
		}
	}
	res := &Result{Source: txn.SourceStored, Entry: best, Reason: reason}
	if !freshAfter.IsZero() {
		res.FreshAfter = freshAfter.UTC()
	}
	return res
}

// addWaiter stores the task token before Ottu is asked to disclose, so a
// disclosure that arrives at once still finds it.
func (s *Service) addWaiter(ctx context.Context, req Request, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	defer cancel()
	w := txn.Waiter{SessionID: req.SessionID, OrderNo: req.OrderNo, TaskToken: req.TaskToken,
		CreatedAt: now, ExpiresAt: now.Add(s.retention())}
	if err := s.Store.AddWaiter(ctx, w); err != nil {
		return &problem.Error{Code: problem.CodeStoreUnavailable, RetryAfter: time.Second, Err: err,
			Detail: "The task token could not be stored, so Ottu was not asked (the disclosure could not have resumed the task); retry the task."}
	}
	return nil
}

// entryOf is Ottu's answer as a stored entry; the ids Ottu answered with
// win, so the entry is found by either.
func (s *Service) entryOf(req Request, resp *ottu.InquiryResponse) txn.Entry {
	now := s.now()
	var extra struct {
		TimestampUTC    string `json:"timestamp_utc"`
		ReferenceNumber string `json:"reference_number"`
	}
	_ = json.Unmarshal(resp.Raw, &extra)
	e := txn.Entry{
		SessionID:       first(resp.SessionID, req.SessionID),
		OrderNo:         first(resp.OrderNo, req.OrderNo),
		ReferenceNumber: extra.ReferenceNumber,
		Source:          txn.SourceInquiry,
		ReceivedAt:      now,
		State:           resp.State,
		Result:          resp.Result,
		Body:            txn.WithoutSignature(resp.Raw),
		Digest:          s.newDigest(),
		ExpiresAt:       now.Add(s.retention()),
	}
	if t, err := time.ParseInLocation(timestampLayout, strings.TrimSpace(extra.TimestampUTC), time.UTC); err == nil {
		e.OttuTimestamp = t
	}
	return e
}

// bind binds the session_id of Ottu's authenticated answer to its signed
// identity (txn.File): a callback re-posted with this session_id and
// another identity is then a conflict. A failure is logged: the callbacks
// then bind it on first use.
func (s *Service) bind(ctx context.Context, e txn.Entry) {
	if e.SessionID == "" || txn.IdentityOf(e).IsZero() {
		return
	}
	bctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	_, err := s.Store.Bind(bctx, e.SessionID, txn.IdentityOf(e), true)
	cancel()
	if err != nil {
		s.logger(ctx).LogAttrs(ctx, slog.LevelWarn, "the session's signed identity could not be recorded", slog.String("error", err.Error()))
		return
	}
	if s.Totals != nil && e.ReferenceNumber != "" {
		operation.CountLinked(ctx, s.Totals, s.Store, e.SessionID, e.ReferenceNumber, s.storeTimeout())
	}
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Service) put(ctx context.Context, e txn.Entry) error {
	ctx, cancel := context.WithTimeout(ctx, s.storeTimeout())
	defer cancel()
	_, err := s.Store.Put(ctx, e)
	return err
}

func (s *Service) observe(ctx context.Context, start time.Time, res *Result, err error) {
	if s.Observe == nil {
		return
	}
	outcome := "error"
	switch {
	case err != nil:
		if c := problem.CodeOf(err); c != "" {
			outcome = string(c)
		}
	case res != nil:
		outcome = string(res.Source)
	}
	s.Observe(ctx, outcome, s.now().Sub(start))
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) newDigest() string {
	if s.NewDigest != nil {
		return s.NewDigest()
	}
	return txn.Digest([]byte("inquiry#" + uuid.NewString()))
}

func (s *Service) retention() time.Duration {
	if s.Retention > 0 {
		return s.Retention
	}
	return DefaultRetention
}

func (s *Service) storeTimeout() time.Duration {
	if s.StoreTimeout > 0 {
		return s.StoreTimeout
	}
	return DefaultStoreTimeout
}

func (s *Service) logger(ctx context.Context) *slog.Logger {
	if s.Logger != nil {
		return s.Logger(ctx)
	}
	return slog.Default()
}
