package ottu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ottuops/ottu-lambda/shared/amount"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

// Defaults for the zero values of Config.
const (
	DefaultDeadlineMargin   = 2 * time.Second
	DefaultTimeout          = 30 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	DefaultUserAgent        = "ottu-lambda"
)

// maxDrain bounds how much of an unread body is discarded to keep a
// connection reusable; anything longer closes the connection instead.
const maxDrain = 64 << 10

// Config configures a Client. Only Credentials is required.
type Config struct {
	// BaseURL is the default Ottu host, such as https://merchant.ottu.net. A
	// path prefix is kept. Credentials.BaseURL (from the secret) overrides it
	// per call.
	BaseURL string
	// Credentials supplies the credentials of each call.
	Credentials CredentialsProvider
	// APIVersion is 2 (the default) or 1 (legacy hosts: order_no in the path,
	// Basic authentication only).
	APIVersion int
	// HTTPClient defaults to one shared client whose Transport keeps
	// connections alive across calls. Its redirects are never followed: a
	// POST must not silently become a GET.
	HTTPClient *http.Client
	// DeadlineMargin is kept back before ctx's deadline so the caller still
	// has time to record the outcome. Default 2s.
	DeadlineMargin time.Duration
	// Timeout bounds a call whose ctx has no deadline. Default 30s.
	Timeout time.Duration
	// MaxResponseBytes caps the body read from Ottu; a longer body counts as
	// unreadable. Default 1 MiB.
	MaxResponseBytes int64
	// UserAgent is sent on every request. Default "ottu-lambda".
	UserAgent string
}

// String leaves the credentials provider out, so logging a Config with %v
// cannot leak a secret whatever provider it holds.
func (c Config) String() string {
	return fmt.Sprintf("ottu.Config{BaseURL: %q, APIVersion: %d, Credentials: %s, DeadlineMargin: %s, Timeout: %s, MaxResponseBytes: %d}",
		c.BaseURL, c.APIVersion, providerName(c.Credentials), c.DeadlineMargin, c.Timeout, c.MaxResponseBytes)
}

// GoString is used by %#v; it redacts like String.
func (c Config) GoString() string { return c.String() }

func providerName(p CredentialsProvider) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%T [redacted]", p)
}

// Client calls Ottu's Operations API. It is safe for concurrent use.
type Client struct {
	base      *url.URL // nil when only the credentials carry the host
	creds     CredentialsProvider
	version   int
	http      *http.Client
	margin    time.Duration
	timeout   time.Duration
	maxBody   int64
	userAgent string
}

// String describes the client without its credentials.
func (c *Client) String() string {
	base := ""
	if c.base != nil {
		base = c.base.String()
	}
	return fmt.Sprintf("ottu.Client{BaseURL: %q, APIVersion: %d, Credentials: %s}", base, c.version, providerName(c.creds))
}

// GoString is used by %#v; it redacts like String.
func (c *Client) GoString() string { return c.String() }

// sharedHTTPClient is built once so every Client in a process (a warm Lambda
// execution environment) reuses the same kept-alive connections to Ottu.
var sharedHTTPClient = sync.OnceValue(func() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: noRedirects,
	}
})

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Client, error) {
	if cfg.Credentials == nil {
		return nil, errors.New("ottu: Config.Credentials is required")
	}
	c := &Client{
		creds:     cfg.Credentials,
		version:   cfg.APIVersion,
		margin:    cfg.DeadlineMargin,
		timeout:   cfg.Timeout,
		maxBody:   cfg.MaxResponseBytes,
		userAgent: cfg.UserAgent,
	}
	if cfg.BaseURL != "" {
		u, err := parseBaseURL(cfg.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("ottu: Config.BaseURL: %w", err)
		}
		c.base = u
	}
	switch c.version {
	case 0:
		c.version = 2
	case 1, 2:
	default:
		return nil, fmt.Errorf("ottu: Config.APIVersion is %d: use 2, or 1 for legacy hosts", cfg.APIVersion)
	}
	if c.margin < 0 || c.timeout < 0 || c.maxBody < 0 {
		return nil, errors.New("ottu: Config.DeadlineMargin, Timeout and MaxResponseBytes must not be negative")
	}
	if c.margin == 0 {
		c.margin = DefaultDeadlineMargin
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxBody == 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if cfg.HTTPClient == nil {
		c.http = sharedHTTPClient()
	} else {
		hc := *cfg.HTTPClient
		hc.CheckRedirect = noRedirects
		c.http = &hc
	}
	return c, nil
}

// parseBaseURL accepts an absolute http(s) URL with no credentials, query or
// fragment; its path, if any, is kept as a prefix.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not a valid URL: use the form https://merchant.ottu.net")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme %q is not http or https: use the form https://merchant.ottu.net", u.Scheme)
	case u.Host == "":
		return nil, errors.New("the URL has no host: use the form https://merchant.ottu.net")
	case u.User != nil:
		return nil, errors.New("the URL must not carry a user or password: put them in the credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, errors.New("the URL must not have a query or fragment")
	}
	return u, nil
}

// endpoint joins the base URL and an API path; segment, when set, is
// path-escaped (v1's order_no).
func endpoint(base *url.URL, path, segment string) string {
	s := base.Scheme + "://" + base.Host + strings.TrimRight(base.EscapedPath(), "/") + path
	if segment != "" {
		s += url.PathEscape(segment)
	}
	return s
}

// operationBody is the JSON Ottu's operation endpoint reads.
type operationBody struct {
	Operation payment.Operation `json:"operation"`
	SessionID string            `json:"session_id,omitempty"`
	OrderNo   string            `json:"order_no,omitempty"`
	Amount    string            `json:"amount,omitempty"`
	Extra     json.RawMessage   `json:"extra,omitempty"`
}

// inquiryBody is the JSON Ottu's inquiry endpoint reads.
type inquiryBody struct {
	SessionID          string `json:"session_id,omitempty"`
	OrderNo            string `json:"order_no,omitempty"`
	DiscloseToMerchant bool   `json:"disclose_to_merchant,omitempty"`
	DisclosureURL      string `json:"disclosure_url,omitempty"`
}

// call is one prepared request: everything but credentials and the host.
type call struct {
	permission  string
	path        string // "/b/pbl/v2/operation/"
	segment     string // v1: order_no appended to path
	body        []byte
	trackingKey string // sent only when non-empty
	operation   payment.Operation
}

// Operation asks Ottu to carry out one operation. A nil error means Ottu
// accepted it (Result may be "queued" for refunds); every failure is an
// *Error whose Kind says what the caller may do next.
func (c *Client) Operation(ctx context.Context, req OperationRequest) (*OperationResponse, error) {
	cl, err := c.prepareOperation(req)
	if err != nil {
		return nil, err
	}
	status, raw, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	resp := &OperationResponse{Raw: raw, StatusCode: status}
	if err := decodeLenient(raw, resp); err != nil {
		return nil, &Error{Kind: KindUnavailable, StatusCode: status, Sent: true, Raw: raw,
			Detail: "Ottu accepted the request but its answer could not be decoded", Err: err}
	}
	if resp.Result == ResultFailed || resp.Result == ResultRejected {
		return nil, rejectedResult(status, raw, resp.Result, cl.operation)
	}
	return resp, nil
}

// Inquiry asks Ottu for a transaction's state. A 2xx answer is returned as is,
// whatever the payment's result: a failed payment is not a failed inquiry.
func (c *Client) Inquiry(ctx context.Context, req InquiryRequest) (*InquiryResponse, error) {
	cl, err := c.prepareInquiry(req)
	if err != nil {
		return nil, err
	}
	status, raw, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	resp := &InquiryResponse{}
	if err := decodeLenient(raw, resp); err != nil {
		return nil, &Error{Kind: KindUnavailable, StatusCode: status, Sent: true,
			Detail: "Ottu answered the inquiry but its answer could not be decoded", Err: err}
	}
	resp.Raw, resp.StatusCode = raw, status
	return resp, nil
}

// decodeLenient decodes a JSON object, tolerating fields whose type differs
// from ours (Ottu has sent amounts both as strings and numbers): Raw keeps
// the body exactly anyway.
func decodeLenient(raw []byte, v any) error {
	err := json.Unmarshal(raw, v)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return nil
	}
	return err
}

func invalid(format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Detail: fmt.Sprintf(format, args...)}
}

func (c *Client) prepareOperation(req OperationRequest) (*call, error) {
	op, err := payment.ParseOperation(string(req.Operation))
	if err != nil {
		return nil, invalid("%s", err.Error())
	}
	if err := checkIDs(req.SessionID, req.OrderNo, c.version); err != nil {
		return nil, err
	}
	if err := checkTrackingKey(req.TrackingKey); err != nil {
		return nil, err
	}
	b := operationBody{Operation: op}
	if req.Amount != nil {
		if !op.TakesAmount() {
			return nil, invalid("amount applies only to capture and refund: leave it out for %s, which always concerns the whole transaction", op)
		}
		text := amount.Format(*req.Amount)
		if _, err := amount.Parse(text); err != nil {
			return nil, invalid("%v", err)
		}
		b.Amount = text
	}
	extra := bytes.TrimSpace(req.Extra)
	if len(extra) > 0 && !bytes.Equal(extra, []byte("null")) {
		if extra[0] != '{' || !json.Valid(extra) {
			return nil, invalid(`extra must be a JSON object, such as {"key": "value"}`)
		}
		b.Extra = extra
	}
	cl := &call{permission: op.Permission(), operation: op}
	if op.External() {
		cl.trackingKey = req.TrackingKey
	}
	if c.version == 1 {
		cl.path, cl.segment = "/b/pbl/v1/operation/", req.OrderNo
	} else {
		cl.path = "/b/pbl/v2/operation/"
		b.SessionID, b.OrderNo = req.SessionID, req.OrderNo
	}
	if cl.body, err = json.Marshal(b); err != nil {
		return nil, invalid("the request could not be encoded as JSON: %v", err)
	}
	return cl, nil
}

func (c *Client) prepareInquiry(req InquiryRequest) (*call, error) {
	if err := checkIDs(req.SessionID, req.OrderNo, c.version); err != nil {
		return nil, err
	}
	if req.DisclosureURL != "" {
		u, err := url.Parse(req.DisclosureURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, invalid("disclosure_url must be an absolute http or https URL, such as https://example.com/webhooks/ottu")
		}
	}
	b := inquiryBody{DiscloseToMerchant: req.DiscloseToMerchant, DisclosureURL: req.DisclosureURL}
	cl := &call{permission: PermissionInquiry}
	if c.version == 1 {
		cl.path, cl.segment = "/b/pbl/v1/inquiry/", req.OrderNo
	} else {
		cl.path = "/b/pbl/v2/inquiry/"
		b.SessionID, b.OrderNo = req.SessionID, req.OrderNo
	}
	var err error
	if cl.body, err = json.Marshal(b); err != nil {
		return nil, invalid("the request could not be encoded as JSON: %v", err)
	}
	return cl, nil
}

func checkIDs(sessionID, orderNo string, version int) error {
	if version == 1 && orderNo == "" {
		return invalid("order_no is required: Ottu's API v1 identifies the transaction by order_no only")
	}
	if sessionID == "" && orderNo == "" {
		return invalid("give session_id or order_no to say which transaction to act on")
	}
	return nil
}

func checkTrackingKey(key string) error {
	if key == "" { // internal operations carry none
		return nil
	}
	if err := payment.CheckTrackingKey(key); err != nil {
		return invalid("%v", err)
	}
	return nil
}

// do sends cl, fetching credentials again and resending once after a 401.
// It returns the status and body of a 2xx JSON answer; anything else is an
// *Error.
func (c *Client) do(ctx context.Context, cl *call) (int, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, &Error{Kind: KindUnavailable, Detail: "the call's context ended before anything was sent to Ottu", Err: err}
	}
	deadline, ok := ctx.Deadline()
	if ok {
		deadline = deadline.Add(-c.margin)
	} else {
		deadline = time.Now().Add(c.timeout)
	}
	if !time.Now().Before(deadline) {
		return 0, nil, &Error{Kind: KindUnavailable,
			Detail: "no time was left before the deadline to call Ottu; nothing was sent", Err: context.DeadlineExceeded}
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	for refresh := false; ; refresh = true {
		creds, err := c.credentials(ctx, cl.permission, refresh)
		if err != nil {
			return 0, nil, err
		}
		status, body, err := c.send(ctx, cl, creds)
		var e *Error
		if errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized && !refresh {
			continue // 401: Ottu did nothing; the secret may have been rotated
		}
		return status, body, err
	}
}

// credentials asks the provider and checks what it returns. Its errors never
// quote the credentials.
func (c *Client) credentials(ctx context.Context, permission string, refresh bool) (Credentials, error) {
	creds, err := c.creds.Credentials(ctx, permission, refresh)
	if err != nil {
		if ctx.Err() != nil {
			return Credentials{}, &Error{Kind: KindUnavailable,
				Detail: "no time was left to load the Ottu credentials; nothing was sent", Err: err}
		}
		var bad interface{ InvalidCredentials() bool }
		if errors.As(err, &bad) && bad.InvalidCredentials() {
			return Credentials{}, &Error{Kind: KindAuth,
				Detail: fmt.Sprintf("the Ottu credentials for %s are misconfigured", permission), Err: err}
		}
		// The secret store itself failed (network, throttling, access):
		// nothing was sent, and a retry may well succeed.
		return Credentials{}, &Error{Kind: KindUnavailable,
			Detail: fmt.Sprintf("the Ottu credentials for %s could not be loaded; nothing was sent", permission), Err: err}
	}
	if err := creds.Validate(); err != nil {
		return Credentials{}, &Error{Kind: KindAuth,
			Detail: fmt.Sprintf("the Ottu credentials for %s are incomplete: they need api_key, or username and password", permission)}
	}
	return creds, nil
}

// send makes one HTTP attempt and classifies its result.
func (c *Client) send(ctx context.Context, cl *call, creds Credentials) (int, []byte, error) {
	base := c.base
	if creds.BaseURL != "" {
		u, err := parseBaseURL(creds.BaseURL)
		if err != nil {
			return 0, nil, &Error{Kind: KindAuth, Detail: "the base_url in the Ottu credentials is unusable: " + err.Error()}
		}
		base = u
	}
	if base == nil {
		return 0, nil, &Error{Kind: KindAuth, Detail: "no Ottu host is configured: set base_url in the Ottu secret or the client's BaseURL"}
	}
	auth, err := creds.authorization(c.version == 1)
	if err != nil {
		return 0, nil, &Error{Kind: KindAuth, Detail: err.Error()}
	}

	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			wrote.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace),
		http.MethodPost, endpoint(base, cl.path, cl.segment), bytes.NewReader(cl.body))
	if err != nil {
		return 0, nil, &Error{Kind: KindInvalid, Detail: "the request to Ottu could not be built", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", auth)
	req.Header.Set("User-Agent", c.userAgent)
	if cl.trackingKey != "" {
		req.Header.Set("Tracking-Key", cl.trackingKey)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		if wrote.Load() {
			if isTimeout(ctx, err) {
				return 0, nil, &Error{Kind: KindOutcomeUnknown, Sent: true, TimedOut: true,
					Detail: "the request reached Ottu but no answer came before the deadline; Ottu may have acted", Err: err}
			}
			return 0, nil, &Error{Kind: KindOutcomeUnknown, Sent: true,
				Detail: "the connection to Ottu broke after the request was sent, before an answer came; Ottu may have acted", Err: err}
		}
		return 0, nil, &Error{Kind: KindUnavailable,
			Detail: "Ottu could not be reached; nothing was sent", Err: err}
	}
	defer func() {
		// Discard a bounded remainder so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}()

	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		if isTimeout(ctx, err) {
			return 0, nil, &Error{Kind: KindOutcomeUnknown, StatusCode: resp.StatusCode, Sent: true, TimedOut: true,
				Detail: "Ottu's answer did not arrive in full before the deadline; Ottu may have acted", Err: err}
		}
		return 0, nil, &Error{Kind: KindUnavailable, StatusCode: resp.StatusCode, Sent: true,
			Detail: "Ottu's answer could not be read", Err: err}
	}
	if int64(len(body)) > c.maxBody {
		return 0, nil, &Error{Kind: KindUnavailable, StatusCode: resp.StatusCode, Sent: true,
			Detail: fmt.Sprintf("Ottu's answer is larger than %d bytes and was not read", c.maxBody)}
	}
	return classify(resp, body)
}

func isTimeout(ctx context.Context, err error) bool {
	var ne net.Error
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// classify maps an answer that arrived in full to a result or an *Error.
func classify(resp *http.Response, body []byte) (int, []byte, error) {
	status := resp.StatusCode
	e := &Error{StatusCode: status, Sent: true, Raw: body}
	object := isJSONObject(body)
	if object || json.Valid(body) {
		e.Body = json.RawMessage(body)
	}
	switch {
	case status >= 200 && status < 300:
		if !object {
			e.Kind = KindUnavailable
			e.Detail = fmt.Sprintf("Ottu answered HTTP %d with a body that is not a JSON object%s", status, describeType(resp))
			return 0, nil, e
		}
		return status, body, nil
	case status == http.StatusUnauthorized:
		e.Kind = KindAuth
		e.Detail = "Ottu refused the credentials (HTTP 401), also after loading them again: check the api_key or username and password in the Ottu secret"
		return 0, nil, e
	case status == http.StatusForbidden:
		e.Kind = KindAuth
		e.Detail = "Ottu refused the permission (HTTP 403): give the Ottu user the permission this call needs, or use the API key"
		return 0, nil, e
	case status == http.StatusTooManyRequests:
		// Throttled: Ottu turned the request away without processing it.
		e.Kind, e.Sent = KindUnavailable, false
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		e.Detail = "Ottu is throttling requests (HTTP 429): try again later"
		return 0, nil, e
	case status >= 500:
		e.Kind = KindUnavailable
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		e.Detail = fmt.Sprintf("Ottu is unavailable (HTTP %d): try again later", status)
		if d := errorDetail(body); d != "" {
			e.Detail += ": " + d
		}
		return 0, nil, e
	case status >= 300 && status < 400:
		e.Kind = KindUnavailable
		e.Detail = fmt.Sprintf("Ottu answered with a redirect (HTTP %d) to %q: set the base URL to the final address", status, resp.Header.Get("Location"))
		return 0, nil, e
	case status >= 400 && status < 500:
		if !rejectionStatus(status) || !ottuErrorBody(body) {
			// Not Ottu's documented refusal: a proxy, a load balancer or an
			// undocumented status (408, 409, 425…) may have answered after
			// Ottu acted, so the outcome is unknown, never "rejected".
			e.Kind = KindUnavailable
			e.Detail = fmt.Sprintf("Ottu answered HTTP %d with a body that is not one of Ottu's documented error answers%s: check the base URL", status, describeType(resp))
			return 0, nil, e
		}
		e.Kind = KindRejected
		e.Detail = errorDetail(body)
		e.FieldErrors = fieldErrors(body)
		switch {
		case status == http.StatusNotFound || isNotFound(e.Detail):
			e.Kind = KindNotFound
			if e.Detail == "" {
				e.Detail = "Ottu knows no such transaction: check session_id or order_no"
			}
		case e.Detail == "" && len(e.FieldErrors) == 0:
			e.Detail = fmt.Sprintf("Ottu rejected the request (HTTP %d)", status)
		}
		return 0, nil, e
	}
	e.Kind = KindUnavailable
	e.Detail = fmt.Sprintf("Ottu answered with an unexpected HTTP status %d", status)
	return 0, nil, e
}

// rejectionStatus tells the 4xx statuses Ottu documents for a refusal:
// 400 (field errors or a detail), 404 (no such transaction) and 405.
func rejectionStatus(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		return true
	}
	return false
}

// ottuErrorBody tells Ottu's documented error bodies: an object with a
// "detail", "message" or "non_field_errors", DRF field errors (every member a
// string or a list of strings), or a bare list of strings.
func ottuErrorBody(body []byte) bool {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return false
	}
	switch t := v.(type) {
	case []any:
		return len(t) > 0 && allStrings(t)
	case map[string]any:
		if len(t) == 0 {
			return false
		}
		for _, k := range []string{"detail", "message", "non_field_errors"} {
			if joinStrings(t[k]) != "" {
				return true
			}
		}
		for k, m := range t {
			if notFieldKeys[k] {
				continue
			}
			switch f := m.(type) {
			case string:
			case []any:
				if !allStrings(f) {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	return false
}

func allStrings(list []any) bool {
	for _, x := range list {
		if _, ok := x.(string); !ok {
			return false
		}
	}
	return true
}

// rejectedResult is the error for a 2xx answer whose result says the
// operation did not happen.
func rejectedResult(status int, body []byte, result string, op payment.Operation) error {
	e := &Error{Kind: KindRejected, StatusCode: status, Sent: true, Body: json.RawMessage(body), Detail: errorDetail(body)}
	if isNotFound(e.Detail) {
		e.Kind = KindNotFound
	}
	if e.Detail == "" {
		e.Detail = fmt.Sprintf("Ottu answered that the %s did not go through (result %q)", op, result)
	}
	return e
}

func describeType(resp *http.Response) string {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	return " (" + ct + ")"
}

func isJSONObject(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// notFoundTexts are the messages Ottu sends with 400 when the transaction
// does not exist (v2, then v1).
var notFoundTexts = []string{
	"no payment attempts found for this lookup",
	"order number does not exist",
}

func isNotFound(detail string) bool {
	d := strings.ToLower(detail)
	for _, t := range notFoundTexts {
		if strings.Contains(d, t) {
			return true
		}
	}
	return false
}

// errorDetail finds Ottu's human sentence in an error body: "detail",
// "message", "non_field_errors" or "error" of an object, or a bare string or
// list of strings (what DRF sends for a ValidationError without a field).
func errorDetail(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return ""
	}
	if m, ok := v.(map[string]any); ok {
		for _, k := range []string{"detail", "message", "non_field_errors", "error"} {
			if s := joinStrings(m[k]); s != "" {
				return s
			}
		}
		return ""
	}
	return joinStrings(v)
}

// joinStrings renders a string or a list of strings as one line.
func joinStrings(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case []any:
		parts := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
				parts = append(parts, strings.TrimSpace(s))
			}
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// notFieldKeys are keys of an error body that are not field errors.
var notFieldKeys = map[string]bool{
	"detail": true, "message": true, "non_field_errors": true, "error": true,
	"result": true, "success": true, "status": true, "code": true,
}

// fieldErrors reads DRF's field errors: {"amount": ["..."]}, nested objects
// as dotted paths. Bare string values count only when the body carries no
// detail or message, so a failed operation's own fields (amount, pg_code)
// are not mistaken for errors.
func fieldErrors(body []byte) map[string][]string {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil
	}
	_, hasDetail := m["detail"]
	_, hasMessage := m["message"]
	out := map[string][]string{}
	var walk func(prefix string, v any, depth int)
	walk = func(prefix string, v any, depth int) {
		switch t := v.(type) {
		case string:
			if !hasDetail && !hasMessage && t != "" {
				out[prefix] = append(out[prefix], t)
			}
		case []any:
			for _, x := range t {
				if s, ok := x.(string); ok {
					out[prefix] = append(out[prefix], s)
				}
			}
		case map[string]any:
			if depth >= 4 {
				return
			}
			for k, x := range t {
				walk(prefix+"."+k, x, depth+1)
			}
		}
	}
	for k, v := range m {
		if !notFieldKeys[k] {
			walk(k, v, 0)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// maxRetryAfter bounds the Retry-After believed: a longer wait is no wait
// a caller should be held to.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value, seconds or an HTTP date (RFC
// 9110, 10.2.3), as the wait from now; zero when absent, unreadable, past
// or over maxRetryAfter. The one reader of the header, for every caller.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 || d > maxRetryAfter {
		return 0
	}
	return d
}
