package apispec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ottuops/ottu-lambda/dev/localstack"
	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// specVerdict is what openapi.yaml itself says of a request, checked with
// openapi3filter.ValidateRequest before the request is sent.
type specVerdict int

const (
	// specAccepts: the document allows the request.
	specAccepts specVerdict = iota
	// specRejects: the document itself rules the request out (a schema,
	// a required parameter, a media type).
	specRejects
	// specSilent: the request breaks a rule the document states only in
	// words (duplicate members, depth, size, zero), so ValidateRequest
	// cannot judge it.
	specSilent
	// specNoRoute: the request has no route in the document; it reaches
	// the function as an API Gateway event sent through the Invoke API.
	specNoRoute
)

// liveCase is one request to the running stack and what must come back.
type liveCase struct {
	name   string
	method string // POST when empty
	path   string
	// header holds the request headers; a body is sent as application/json
	// unless header names a Content-Type.
	header map[string]string
	body   string
	spec   specVerdict
	status int
	// code is the problem code of an error answer.
	code string
	// want holds response headers and their values; "*" is any value.
	want map[string]string
	// members are top-level members the JSON answer must have; absent
	// ones it must not.
	members, absent []string
	// setup runs first: faults, a concurrent request, a rotated key.
	setup func(t *testing.T, l *liveAPI)
	// as signs the request (SigV4, execute-api) with the key of this local
	// IAM user (localstack.LocalUsers); unsigned when empty.
	as string
	// direct sends the request as an API Gateway event to this function
	// through the Invoke API, for a method no route sends (405); documented
	// names the method whose operation describes the answer.
	direct, documented string
}

// Sandbox transactions of this test, apart from the stack's demo set, so
// that what one case does (a full refund, a void) cannot change another's
// answer, whatever the demo transactions become.
var liveTransactions = []sandbox.TransactionSpec{
	// Refreshed (an inquiry), so past inquiry's first 10 minutes.
	{SessionID: "live-paid", Amount: "100.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "mpgs", AgeMinutes: sandbox.DemoAgeMinutes},
	{SessionID: "live-authorized", Amount: "50.000", CurrencyCode: "KWD", State: sandbox.StateAuthorized, PGCode: "mpgs"},
	{SessionID: "live-authorized-void", Amount: "19.00", CurrencyCode: "SAR", State: sandbox.StateAuthorized, PGCode: "mpgs"},
	{SessionID: "live-pending", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StatePending, PGCode: "mpgs"},
	{SessionID: "live-pending-keyed", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StatePending, PGCode: "mpgs"},
	{SessionID: "live-attempted", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StateAttempted, PGCode: "kpay", AgeMinutes: sandbox.DemoAgeMinutes},
	{SessionID: "live-created", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StateCreated, PGCode: "kpay"},
	// Cases whose request must be refused before Ottu is called each get a
	// payment of their own: if one is wrongly accepted (an amount of null
	// refunds everything left), no other case sees it.
	{SessionID: "live-spare-refund-no-key", Amount: "10.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "mpgs"},
	{SessionID: "live-spare-capture-no-key", Amount: "10.000", CurrencyCode: "KWD", State: sandbox.StateAuthorized, PGCode: "mpgs"},
	{SessionID: "live-spare-void-no-key", Amount: "10.000", CurrencyCode: "KWD", State: sandbox.StateAuthorized, PGCode: "mpgs"},
	{SessionID: "live-spare-media-type", Amount: "10.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "mpgs"},
	{SessionID: "live-spare-duplicate", Amount: "10.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "mpgs"},
	{SessionID: "live-spare-null-amount", Amount: "10.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "mpgs"},
	{SessionID: "live-spare-deep-extra", Amount: "10.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "mpgs"},
	{SessionID: "live-spare-large-extra", Amount: "10.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "mpgs"},
	// Inquiries: each case's own payment, old enough for Ottu's throttle
	// but the young one.
	{SessionID: "live-inquiry", OrderNo: "live-inquiry-order", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StateAttempted, PGCode: "kpay", AgeMinutes: sandbox.DemoAgeMinutes},
	{SessionID: "live-inquiry-disclose", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StatePending, PGCode: "kpay", AgeMinutes: sandbox.DemoAgeMinutes},
	{SessionID: "live-inquiry-young", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StatePending, PGCode: "kpay"},
	{SessionID: "live-inquiry-canceled", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StateCanceled, PGCode: "kpay", AgeMinutes: sandbox.DemoAgeMinutes},
	{SessionID: "live-inquiry-created", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StateCreated, PGCode: "kpay", AgeMinutes: sandbox.DemoAgeMinutes},
	{SessionID: "live-inquiry-down", Amount: "5.000", CurrencyCode: "KWD", State: sandbox.StatePending, PGCode: "kpay", AgeMinutes: sandbox.DemoAgeMinutes},
}

// nestedExtra is a body whose extra holds levels objects, one in another.
func nestedExtra(session, amount string, levels int) string {
	extra := strings.Repeat(`{"a":`, levels-1) + `{}` + strings.Repeat(`}`, levels-1)
	return fmt.Sprintf(`{"session_id":%q,"amount":%q,"extra":%s}`, session, amount, extra)
}

func liveCases() []liveCase {
	tooLong := strings.Repeat("k", 256)
	return []liveCase{
		// Every operation, answered 200.
		{name: "a partial refund with a Tracking-Key succeeds", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-refund-1"}, body: `{"session_id":"live-paid","amount":"2.500"}`,
			status: 200, want: map[string]string{"Tracking-Key": "live-refund-1"}},
		{name: "the same refund again is replayed from the record", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-refund-1"}, body: `{"session_id":"live-paid","amount":"2.500"}`,
			status: 200, want: map[string]string{"Tracking-Key": "live-refund-1", "Idempotent-Replayed": "true"}},
		{name: "a refund whose amount is a JSON number succeeds", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-refund-number"}, body: `{"session_id":"live-paid","amount":0.5}`,
			status: 200},
		{name: "a refund sent as application/json with a charset succeeds", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-refund-charset", "Content-Type": "application/json; charset=utf-8"},
			body:   `{"session_id":"live-paid","amount":"0.010"}`, status: 200},
		{name: "a refund keyed by Idempotency-Key alone succeeds and answers with that key", path: "/operations/refund",
			// The document requires Tracking-Key and names the alias only in words.
			header: map[string]string{"Idempotency-Key": "live-refund-alias"}, body: `{"session_id":"live-paid","amount":"0.250"}`,
			spec: specRejects, status: 200, want: map[string]string{"Tracking-Key": "live-refund-alias"}},
		{name: "a refund whose extra is nested 8 levels deep succeeds", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-refund-deep-8"}, body: nestedExtra("live-paid", "0.010", 8),
			status: 200},
		{name: "a partial capture of an authorized payment succeeds", path: "/operations/capture",
			header: map[string]string{"Tracking-Key": "live-capture-1"}, body: `{"session_id":"live-authorized","amount":"5.000"}`,
			status: 200, want: map[string]string{"Tracking-Key": "live-capture-1"}},
		{name: "a void of an authorized payment succeeds", path: "/operations/void",
			header: map[string]string{"Tracking-Key": "live-void-1"}, body: `{"session_id":"live-authorized-void"}`,
			status: 200},
		{name: "a cancel without a Tracking-Key succeeds and answers with the key it made", path: "/operations/cancel",
			body: `{"session_id":"live-pending"}`, status: 200, want: map[string]string{"Tracking-Key": "*"}},
		{name: "a cancel with a Tracking-Key succeeds and answers with that key", path: "/operations/cancel",
			header: map[string]string{"Tracking-Key": "live-cancel-1"}, body: `{"session_id":"live-pending-keyed"}`,
			status: 200, want: map[string]string{"Tracking-Key": "live-cancel-1"}},
		{name: "an expire of an attempted payment succeeds", path: "/operations/expire",
			header: map[string]string{"Tracking-Key": "live-expire-1"}, body: `{"session_id":"live-attempted"}`,
			status: 200},
		{name: "a delete of a created payment succeeds", path: "/operations/delete",
			header: map[string]string{"Tracking-Key": "live-delete-1"}, body: `{"session_id":"live-created"}`,
			status: 200},

		// 400: malformed requests, refused before Ottu is called.
		{name: "an amount with four decimals is a 400 invalid_amount", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-decimals"}, body: `{"session_id":"live-paid","amount":"1.0001"}`,
			spec: specRejects, status: 400, code: "invalid_amount"},
		{name: "a negative amount is a 400 invalid_amount", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-negative"}, body: `{"session_id":"live-paid","amount":"-1"}`,
			spec: specRejects, status: 400, code: "invalid_amount"},
		{name: "an empty amount is a 400 invalid_amount", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-empty-amount"}, body: `{"session_id":"live-paid","amount":""}`,
			spec: specRejects, status: 400, code: "invalid_amount"},
		{name: "an amount of a lone point is a 400 invalid_amount", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-point"}, body: `{"session_id":"live-paid","amount":"."}`,
			spec: specRejects, status: 400, code: "invalid_amount"},
		{name: "an amount of zero is a 400 invalid_amount", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-zero"}, body: `{"session_id":"live-paid","amount":"0"}`,
			spec: specSilent, status: 400, code: "invalid_amount"},
		{name: "an amount written with an exponent is a 400 invalid_amount", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-exponent"}, body: `{"session_id":"live-paid","amount":1e0}`,
			spec: specSilent, status: 400, code: "invalid_amount"},
		{name: "an unknown member is a 400 unknown_field", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-unknown"}, body: `{"session_id":"live-paid","currency":"KWD"}`,
			spec: specRejects, status: 400, code: "unknown_field"},
		{name: "an amount on a void is a 400 amount_not_applicable", path: "/operations/void",
			header: map[string]string{"Tracking-Key": "live-400-void-amount"}, body: `{"session_id":"live-authorized-void","amount":"1.00"}`,
			spec: specRejects, status: 400, code: "amount_not_applicable"},
		{name: "a body that is not JSON is a 400 invalid_request", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-not-json"}, body: `session_id=live-paid`,
			spec: specRejects, status: 400, code: "invalid_request"},
		{name: "a body naming no transaction is a 400 invalid_request", path: "/operations/cancel",
			header: map[string]string{"Tracking-Key": "live-400-no-id"}, body: `{}`,
			spec: specRejects, status: 400, code: "invalid_request"},
		{name: "a session_id that is not a string is a 400 invalid_request", path: "/operations/expire",
			header: map[string]string{"Tracking-Key": "live-400-id-type"}, body: `{"session_id":5}`,
			spec: specRejects, status: 400, code: "invalid_request"},
		{name: "a Tracking-Key of 256 characters is a 400 invalid_tracking_key", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": tooLong}, body: `{"session_id":"live-paid","amount":"1.000"}`,
			spec: specRejects, status: 400, code: "invalid_tracking_key"},
		{name: "a Tracking-Key and a different Idempotency-Key are a 400 invalid_tracking_key", path: "/operations/capture",
			header: map[string]string{"Tracking-Key": "live-400-key-a", "Idempotency-Key": "live-400-key-b"}, body: `{"session_id":"live-authorized","amount":"1.000"}`,
			spec: specSilent, status: 400, code: "invalid_tracking_key"},
		{name: "a refund without a Tracking-Key is a 400 tracking_key_required", path: "/operations/refund",
			body: `{"session_id":"live-spare-refund-no-key","amount":"1.000"}`,
			spec: specRejects, status: 400, code: "tracking_key_required"},
		{name: "a capture without a Tracking-Key is a 400 tracking_key_required", path: "/operations/capture",
			body: `{"session_id":"live-spare-capture-no-key","amount":"1.000"}`,
			spec: specRejects, status: 400, code: "tracking_key_required"},
		{name: "a void without a Tracking-Key is a 400 tracking_key_required", path: "/operations/void",
			body: `{"session_id":"live-spare-void-no-key"}`,
			spec: specRejects, status: 400, code: "tracking_key_required"},
		{name: "a body with a member twice is a 400 invalid_request", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-duplicate"}, body: `{"session_id":"live-spare-duplicate","amount":"1.000","amount":"2.000"}`,
			spec: specSilent, status: 400, code: "invalid_request"},
		{name: "an amount of null is a 400 invalid_amount", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-null-amount"}, body: `{"session_id":"live-spare-null-amount","amount":null}`,
			spec: specRejects, status: 400, code: "invalid_amount"},
		{name: "an extra nested 10 levels deep is a 400 invalid_request", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-deep-extra"}, body: nestedExtra("live-spare-deep-extra", "1.000", 10),
			spec: specSilent, status: 400, code: "invalid_request"},
		{name: "an extra of 17 KiB is a 400 invalid_request", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-400-large-extra"},
			body:   `{"session_id":"live-spare-large-extra","amount":"1.000","extra":{"note":"` + strings.Repeat("x", 17<<10) + `"}}`,
			spec:   specSilent, status: 400, code: "invalid_request"},

		// 404, 405, 413, 415, 422.
		{name: "a refund of a payment Ottu does not know is a 404 not_found", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-404"}, body: `{"session_id":"live-no-such-payment","amount":"1.000"}`,
			status: 404, code: "not_found"},
		{name: "a PUT that reaches the refund function is a 405 method_not_allowed naming POST", method: http.MethodPut, path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-405"}, body: `{"session_id":"live-paid","amount":"1.000"}`,
			spec: specNoRoute, direct: "RefundFunction", documented: http.MethodPost,
			status: 405, code: "method_not_allowed", want: map[string]string{"Allow": "POST"}},
		{name: "a POST that reaches the status function is a 405 method_not_allowed naming GET", method: http.MethodPost, path: "/operations/live-refund-1",
			spec: specNoRoute, direct: "OperationStatusFunction", documented: http.MethodGet,
			status: 405, code: "method_not_allowed", want: map[string]string{"Allow": "GET"}},
		{name: "a body over 64 KiB is a 413 body_too_large", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-413"},
			body:   `{"session_id":"live-paid","extra":{"pad":"` + strings.Repeat("x", 65<<10) + `"}}`,
			spec:   specSilent, status: 413, code: "body_too_large"},
		{name: "a text/plain body is a 415 unsupported_media_type", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-415", "Content-Type": "text/plain"},
			body:   `{"session_id":"live-spare-media-type","amount":"1.000"}`,
			spec:   specRejects, status: 415, code: "unsupported_media_type"},
		{name: "the first refund's key with another amount is a 422 tracking_key_reused", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-refund-1"}, body: `{"session_id":"live-paid","amount":"3.000"}`,
			status: 422, code: "tracking_key_reused"},
		{name: "a refund past the balance is a 422 operation_rejected", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-422-over"}, body: `{"session_id":"live-paid","amount":"999.000"}`,
			status: 422, code: "operation_rejected"},
		{name: "a capture of a paid payment is a 422 operation_rejected", path: "/operations/capture",
			header: map[string]string{"Tracking-Key": "live-422-capture"}, body: `{"session_id":"live-paid","amount":"1.000"}`,
			status: 422, code: "operation_rejected"},

		// 409, 502, 504: Ottu slow, failing, silent or refusing.
		{name: "the same refund while the first is at Ottu is a 409 in_progress with Retry-After", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-409-slow"}, body: `{"session_id":"live-paid","amount":"0.100"}`,
			status: 409, code: "in_progress", want: map[string]string{"Retry-After": "*"},
			setup: func(t *testing.T, l *liveAPI) {
				l.fault(t, sandbox.Fault{Kind: sandbox.FaultLatency, Operation: "refund", LatencyMS: 4000})
				first := l.sendLater(liveCase{path: "/operations/refund",
					header: map[string]string{"Tracking-Key": "live-409-slow"}, body: `{"session_id":"live-paid","amount":"0.100"}`})
				l.waitForRecord(t, "live-409-slow")
				t.Cleanup(func() {
					if a := <-first; a.err != nil || a.status != 200 {
						t.Errorf("the first, slow refund answered %d %v: %s", a.status, a.err, a.body)
					}
				})
			}},
		{name: "a refund whose connection Ottu drops after acting is a 504 outcome_unknown with Retry-After", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-504"}, body: `{"session_id":"live-paid","amount":"0.100"}`,
			status: 504, code: "outcome_unknown", want: map[string]string{"Retry-After": "*"},
			setup: func(t *testing.T, l *liveAPI) {
				l.fault(t, sandbox.Fault{Kind: sandbox.FaultDropAfterCommit, Operation: "refund"})
			}},
		{name: "the same refund at once after the 504 is a 409 outcome_pending with Retry-After", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-504"}, body: `{"session_id":"live-paid","amount":"0.100"}`,
			status: 409, code: "outcome_pending", want: map[string]string{"Retry-After": "*"}},
		{name: "a refund Ottu answers with a 500 is a 502 ottu_unavailable with Retry-After", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-502"}, body: `{"session_id":"live-paid","amount":"0.100"}`,
			status: 502, code: "ottu_unavailable", want: map[string]string{"Retry-After": "*"},
			setup: func(t *testing.T, l *liveAPI) {
				l.fault(t, sandbox.Fault{Kind: sandbox.FaultError5xx, Operation: "refund"})
			}},
		{name: "a refund after Ottu's API key was rotated elsewhere is a 502 ottu_auth", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-502-auth"}, body: `{"session_id":"live-paid","amount":"0.100"}`,
			status: 502, code: "ottu_auth",
			setup: func(t *testing.T, l *liveAPI) {
				l.stack.Sandbox().SetAPIKey("live-rotated-elsewhere")
				t.Cleanup(func() { l.stack.Sandbox().SetAPIKey(sandbox.DefaultAPIKey) })
			}},

		// GET /operations/{tracking_key}.
		{name: "the record of the first refund is a 200 with its Tracking-Key", method: http.MethodGet, path: "/operations/live-refund-1",
			status: 200, want: map[string]string{"Tracking-Key": "live-refund-1"}},
		{name: "the record of an expire, which has no amount, is a 200", method: http.MethodGet, path: "/operations/live-expire-1",
			status: 200},
		{name: "a key with no record is a 404 not_found", method: http.MethodGet, path: "/operations/live-no-such-key",
			status: 404, code: "not_found"},
		{name: "refresh=maybe is a 400 invalid_request", method: http.MethodGet, path: "/operations/live-refund-1?refresh=maybe",
			spec: specRejects, status: 400, code: "invalid_request"},
		{name: "a key of 256 characters in the path is a 400 invalid_tracking_key", method: http.MethodGet, path: "/operations/" + tooLong,
			spec: specRejects, status: 400, code: "invalid_tracking_key"},
		{name: "refresh=true of a succeeded refund answers with Ottu's inquiry view", method: http.MethodGet, path: "/operations/live-refund-1?refresh=true",
			status: 200, members: []string{"ottu_inquiry"}},
		{name: "refresh=true of an expire answers 200, since an inquiry is safe for any record", method: http.MethodGet, path: "/operations/live-expire-1?refresh=true",
			status: 200, members: []string{"ottu_inquiry"}},
		{name: "refresh=true of a canceled payment's record is a 422 operation_rejected, since Ottu's inquiry refuses canceled payments",
			method: http.MethodGet, path: "/operations/live-cancel-1?refresh=true",
			status: 422, code: "operation_rejected"},
		{name: "refresh=true of a refund whose outcome is unknown answers with Ottu's inquiry view", method: http.MethodGet, path: "/operations/live-504?refresh=true",
			status: 200, members: []string{"ottu_inquiry"}},
		{name: "refresh=true while Ottu's inquiry answers a 500 is a 502 ottu_unavailable", method: http.MethodGet, path: "/operations/live-refund-1?refresh=true",
			status: 502, code: "ottu_unavailable",
			setup: func(t *testing.T, l *liveAPI) {
				l.fault(t, sandbox.Fault{Kind: sandbox.FaultError5xx, Operation: "inquiry", Count: 3})
			}},

		// POST /inquiry.
		{name: "an inquiry Ottu answers is a 200 with Ottu's body without its signature", path: "/inquiry", body: `{"session_id":"live-inquiry"}`,
			status: 200, want: map[string]string{"Inquiry-Source": "inquiry"}, members: []string{"state", "reference_number"}, absent: []string{"signature"}},
		{name: "a disclosure_url not this stack's nor allow-listed is a 400 disclosure_url_not_allowed", path: "/inquiry",
			body:   `{"session_id":"live-inquiry","disclose_to_merchant":true,"disclosure_url":"https://collector.example.net/hook"}`,
			status: 400, code: "disclosure_url_not_allowed"},
		{name: "the same inquiry at once is a 200 with the stored result", path: "/inquiry", body: `{"order_no":"live-inquiry-order"}`,
			status: 200, want: map[string]string{"Inquiry-Source": "stored"}, members: []string{"source", "fresh_after", "ottu"}},
		{name: "the same inquiry with fresh=true asks Ottu", path: "/inquiry?fresh=true", body: `{"session_id":"live-inquiry"}`,
			status: 200, want: map[string]string{"Inquiry-Source": "inquiry"}},
		{name: "an inquiry with disclosure to this stack's webhook is a 200", path: "/inquiry", body: `{"session_id":"live-inquiry-disclose","disclose_to_merchant":true}`,
			status: 200, want: map[string]string{"Inquiry-Source": "inquiry"}},
		{name: "an inquiry of a payment in its first 10 minutes is a 429 inquiry_throttled with Retry-After", path: "/inquiry", body: `{"session_id":"live-inquiry-young"}`,
			status: 429, code: "inquiry_throttled", want: map[string]string{"Retry-After": "*"}},
		{name: "an inquiry of a payment Ottu does not know is a 404 not_found", path: "/inquiry", body: `{"session_id":"live-inquiry-nobody"}`,
			status: 404, code: "not_found"},
		{name: "an inquiry of a canceled payment is a 422 inquiry_not_allowed", path: "/inquiry", body: `{"session_id":"live-inquiry-canceled"}`,
			status: 422, code: "inquiry_not_allowed"},
		{name: "an inquiry of a payment with no attempt is a 422 inquiry_not_allowed", path: "/inquiry", body: `{"session_id":"live-inquiry-created"}`,
			status: 422, code: "inquiry_not_allowed"},
		{name: "an inquiry while Ottu answers a 503 is a 502 ottu_unavailable", path: "/inquiry", body: `{"session_id":"live-inquiry-down"}`,
			status: 502, code: "ottu_unavailable",
			setup: func(t *testing.T, l *liveAPI) {
				l.fault(t, sandbox.Fault{Kind: sandbox.FaultError5xx, Operation: "inquiry", Status: 503})
			}},
		{name: "an inquiry naming no transaction is a 400 invalid_request", path: "/inquiry", body: `{"disclose_to_merchant":true}`,
			spec: specRejects, status: 400, code: "invalid_request"},
		{name: "an inquiry with a task_token over HTTP is a 400 unknown_field", path: "/inquiry", body: `{"session_id":"live-inquiry","task_token":"t"}`,
			spec: specRejects, status: 400, code: "unknown_field"},
		{name: "an inquiry disclosing to plain http elsewhere than localhost is a 400 invalid_request", path: "/inquiry",
			body: `{"session_id":"live-inquiry","disclose_to_merchant":true,"disclosure_url":"http://shop.example.com/hook"}`,
			spec: specSilent, status: 400, code: "invalid_request"},
		{name: "a GET that reaches the inquiry function is a 405 method_not_allowed naming POST", method: http.MethodGet, path: "/inquiry",
			spec: specNoRoute, direct: "InquiryFunction", documented: http.MethodPost, body: `{"session_id":"live-inquiry"}`,
			status: 405, code: "method_not_allowed", want: map[string]string{"Allow": "POST"}},

		// GET /transactions/{id}/inquiry.
		{name: "the stored result of an inquiry is a 200 by session_id", method: http.MethodGet, path: "/transactions/live-inquiry/inquiry",
			status: 200, members: []string{"source", "received_at", "ottu"}},
		{name: "the stored result with its history is a 200 by order_no", method: http.MethodGet, path: "/transactions/live-inquiry-order/inquiry?history=true",
			status: 200, members: []string{"history"}},
		{name: "a transaction with nothing stored is a 404 not_found", method: http.MethodGet, path: "/transactions/live-inquiry-canceled/inquiry",
			status: 404, code: "not_found"},
		{name: "history=maybe is a 400 invalid_request", method: http.MethodGet, path: "/transactions/live-inquiry/inquiry?history=maybe",
			spec: specRejects, status: 400, code: "invalid_request"},
		{name: "a POST that reaches the inquiry-result function is a 405 method_not_allowed naming GET", method: http.MethodPost, path: "/transactions/live-inquiry/inquiry",
			spec: specNoRoute, direct: "InquiryResultFunction", documented: http.MethodGet,
			status: 405, code: "method_not_allowed", want: map[string]string{"Allow": "GET"}},
	}
}

// TestLiveAnswersMatchOpenAPI sends a table of requests to the running
// stack — the real function binaries behind the local API, moto and the
// Ottu sandbox — and validates each real answer (status, headers, body)
// against openapi.yaml with kin-openapi, and each request where the
// document can judge it.
func TestLiveAnswersMatchOpenAPI(t *testing.T) {
	doc := loadSpec(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	stack, err := localstack.Start(ctx, localstack.Options{
		Template:     filepath.Join(repoRoot(t), "template.yaml"),
		APIAddr:      "127.0.0.1:0",
		SandboxAddr:  "127.0.0.1:0",
		MotoAddr:     "127.0.0.1:0",
		MaxProcesses: 2, // two refunds at once for the in_progress case; the machine is shared
		// moto refuses any action a function's own role does not allow.
		EnforceIAM:     true,
		FunctionOutput: io.Discard,
		// Ottu's inquiry throttle, but for the 30-minute interval and the
		// minute's rate: the refresh cases inquire one payment more than
		// once within seconds. Its first 10 minutes still answer 429.
		Sandbox: sandbox.Config{InquiryLimits: sandbox.InquiryLimits{Interval: time.Millisecond, PerMinute: 1000}},
		// The refund cases check Ottu's answers, in KWD and not, so the
		// direct route's threshold check is off here (refunds are still
		// counted); cmd/local's e2e test and statemachine's scenarios check
		// its 403 approval_required.
		Parameters: map[string]string{"DirectRefundApproval": "off"},
	})
	if err != nil {
		t.Fatalf("start the local stack with template.yaml: %v", err)
	}
	defer stack.Close()
	for _, spec := range append(liveTransactions, workflowTransactions...) {
		if _, err := stack.Sandbox().CreateTransaction(spec); err != nil {
			t.Fatalf("create sandbox transaction %s: %v", spec.SessionID, err)
		}
	}

	// Route requests to the running stack rather than the documented hosts.
	doc.Servers = openapi3.Servers{{URL: stack.URLs().API}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("route openapi.yaml: %v", err)
	}
	l := &liveAPI{ctx: ctx, api: stack.URLs().API, stack: stack, router: router, types: problemTypes(t, doc),
		client: &http.Client{Timeout: time.Minute}}
	for _, tc := range slices.Concat(liveCases(), webhookLiveCases(), workflowLiveCases()) {
		t.Run(tc.name, func(t *testing.T) { l.check(t, tc) })
	}
	checkAWSCalls(ctx, t, stack)
}

// liveAPI is the running stack as the table's cases use it.
type liveAPI struct {
	ctx    context.Context
	api    string
	stack  *localstack.Stack
	router routers.Router
	types  map[string]problemType
	client *http.Client
}

// answer is a response as the merchant sees it.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (l *liveAPI) check(t *testing.T, tc liveCase) {
	t.Cleanup(func() { l.stack.Sandbox().ClearFaults() })

	// What the document says of the request.
	vreq, err := l.request(tc, tc.documented)
	if err != nil {
		t.Fatal(err)
	}
	route, params, err := l.router.FindRoute(vreq)
	if err != nil {
		t.Fatalf("openapi.yaml has no route for %s %s: %v", vreq.Method, tc.path, err)
	}
	input := &openapi3filter.RequestValidationInput{
		Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	switch err := openapi3filter.ValidateRequest(l.ctx, input); {
	case tc.spec == specAccepts && err != nil:
		t.Errorf("openapi.yaml refuses a request the case calls valid: %v", err)
	case tc.spec == specRejects && err == nil:
		t.Errorf("openapi.yaml accepts a request the case says it rules out")
	}

	if tc.setup != nil {
		tc.setup(t, l)
	}
	var a answer
	if tc.direct != "" {
		a = l.invoke(tc)
	} else {
		a = l.send(tc)
	}
	if a.err != nil {
		t.Fatal(a.err)
	}

	// What the case expects.
	if a.status != tc.status {
		t.Errorf("status %d, want %d: %s", a.status, tc.status, a.body)
	}
	for name, want := range tc.want {
		got := a.header.Get(name)
		if got == "" || (want != "*" && got != want) {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &members); err != nil {
		t.Errorf("the answer is not a JSON object: %v: %s", err, a.body)
	}
	for _, m := range tc.members {
		if _, ok := members[m]; !ok {
			t.Errorf("the answer has no %q member: %s", m, a.body)
		}
	}
	for _, m := range tc.absent {
		if _, ok := members[m]; ok {
			t.Errorf("the answer has a %q member: %s", m, a.body)
		}
	}
	checkTimestamps(t, "", members)
	problem := strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json")
	var code string
	if problem {
		_ = json.Unmarshal(members["code"], &code)
	}
	if code != tc.code {
		t.Errorf("problem code %q, want %q: %s", code, tc.code, a.body)
	}

	// What the document says of the answer.
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 a.status,
		Header:                 a.header,
		Body:                   io.NopCloser(bytes.NewReader(a.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(l.ctx, out); err != nil {
		t.Errorf("the answer does not match openapi.yaml: %v\n%d %v\n%s", err, a.status, a.header, a.body)
	}
	if resp := route.Operation.Responses.Status(a.status); resp != nil && resp.Value != nil {
		for name := range a.header {
			if !transportHeaders[name] && !declared(resp.Value.Headers, name) {
				t.Errorf("header %s (%q) is not declared for %s %s %d", name, a.header.Get(name), route.Method, route.Path, a.status)
			}
		}
	}
	if problem {
		var p struct {
			Type   string `json:"type"`
			Title  string `json:"title"`
			Status int    `json:"status"`
		}
		_ = json.Unmarshal(a.body, &p)
		for _, d := range checkProblemIdentity(l.types, p.Type, p.Title, p.Status, code) {
			t.Error(d)
		}
		if p.Status != a.status {
			t.Errorf("the problem says status %d, the answer is %d", p.Status, a.status)
		}
	}
}

// transportHeaders are set by HTTP or API Gateway, not by the functions.
var transportHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Date": true, "Apigw-Requestid": true,
}

func declared(headers openapi3.Headers, name string) bool {
	for h := range headers {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// request builds the HTTP request of a case; method overrides its own.
func (l *liveAPI) request(tc liveCase, method string) (*http.Request, error) {
	if method == "" {
		method = tc.method
	}
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(tc.body)
	}
	req, err := http.NewRequestWithContext(l.ctx, method, l.api+tc.path, body)
	if err != nil {
		return nil, err
	}
	if tc.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	if tc.as != "" {
		if err := signAs(l.ctx, req, tc.as, tc.body); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// signAs signs req with the AWS SDK's v4 signer and the key of the local
// IAM user named name, as a merchant's SDK client would.
func signAs(ctx context.Context, req *http.Request, name, body string) error {
	for _, u := range localstack.LocalUsers {
		if u.Name == name {
			sum := sha256.Sum256([]byte(body))
			return v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey}, req,
				hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now())
		}
	}
	return fmt.Errorf("no local user %q", name)
}

// send makes the request through the local API, as a merchant would.
func (l *liveAPI) send(tc liveCase) answer {
	req, err := l.request(tc, "")
	if err != nil {
		return answer{err: err}
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

// sendLater sends tc in the background; the channel gets its answer.
func (l *liveAPI) sendLater(tc liveCase) <-chan answer {
	ch := make(chan answer, 1)
	go func() { ch <- l.send(tc) }()
	return ch
}

// invoke sends tc to tc.direct as the API Gateway event of its method and
// path, through the Lambda Invoke API, and reads the answer as API Gateway
// would pass it on.
func (l *liveAPI) invoke(tc liveCase) answer {
	u, err := url.Parse(l.api + tc.path)
	if err != nil {
		return answer{err: err}
	}
	headers := map[string]string{}
	if tc.body != "" {
		headers["content-type"] = "application/json"
	}
	for k, v := range tc.header {
		headers[strings.ToLower(k)] = v
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: tc.documented + " " + tc.path,
		RawPath:  u.EscapedPath(),
		Headers:  headers,
		Body:     tc.body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "live-direct-" + strings.ToLower(tc.method),
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: tc.method, Path: u.EscapedPath()},
		},
	}
	if key, ok := strings.CutPrefix(u.Path, "/operations/"); ok && tc.documented == http.MethodGet {
		ev.PathParameters = map[string]string{"tracking_key": key}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return answer{err: err}
	}
	out, err := l.stack.Invoke(l.ctx, tc.direct, payload)
	if err != nil {
		return answer{err: fmt.Errorf("invoke %s: %w", tc.direct, err)}
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		return answer{err: fmt.Errorf("%s answered %s: %w", tc.direct, out, err)}
	}
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	return answer{status: resp.StatusCode, header: header, body: []byte(resp.Body)}
}

// fault turns on a sandbox fault for the case.
func (l *liveAPI) fault(t *testing.T, f sandbox.Fault) {
	t.Helper()
	if err := l.stack.Sandbox().AddFault(f); err != nil {
		t.Fatalf("sandbox fault %+v: %v", f, err)
	}
}

// waitForRecord polls GET /operations/{key} until the key's record exists,
// so that a second request is sure to find the first one's claim.
func (l *liveAPI) waitForRecord(t *testing.T, key string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := l.send(liveCase{method: http.MethodGet, path: "/operations/" + key})
		if a.err == nil && a.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record of %s after 20 s: last answer %d %v %s", key, a.status, a.err, a.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var (
	// anyTimestamp is an RFC 3339 date-time of any precision.
	anyTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)
	// apiTimestamp is the API's one form (shared/platform/timefmt).
	apiTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

// checkTimestamps wants every timestamp of an answer in the API's one
// precision (RFC 3339, UTC, milliseconds), but inside Ottu's own bodies.
func checkTimestamps(t *testing.T, path string, members map[string]json.RawMessage) {
	t.Helper()
	for name, raw := range members {
		if name == "ottu" || name == "ottu_inquiry" {
			continue
		}
		walkTimestamps(t, path+"/"+name, raw)
	}
}

func walkTimestamps(t *testing.T, path string, raw json.RawMessage) {
	t.Helper()
	var str string
	var obj map[string]json.RawMessage
	var arr []json.RawMessage
	switch {
	case json.Unmarshal(raw, &str) == nil:
		if anyTimestamp.MatchString(str) && !apiTimestamp.MatchString(str) {
			t.Errorf("%s = %q: timestamps are RFC 3339 in UTC with milliseconds (2026-12-07T04:30:13.322Z)", path, str)
		}
	case json.Unmarshal(raw, &obj) == nil:
		checkTimestamps(t, path, obj)
	case json.Unmarshal(raw, &arr) == nil:
		for i, v := range arr {
			walkTimestamps(t, fmt.Sprintf("%s/%d", path, i), v)
		}
	}
}
