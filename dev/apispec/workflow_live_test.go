package apispec

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

// Sandbox transactions of the refund workflow's cases, and a paid payment
// younger than Ottu's first 10 minutes, whose refresh the throttle refuses.
var workflowTransactions = []sandbox.TransactionSpec{
	{SessionID: "live-workflow-paid", Amount: "100.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "mpgs"},
	{SessionID: "live-workflow-approve", Amount: "100.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "mpgs"},
	{SessionID: "live-young-paid", Amount: "10.000", CurrencyCode: "KWD", State: sandbox.StatePaid, PGCode: "mpgs"},
}

// waitForApproval starts a workflow above the local approval threshold and
// waits until its approval is pending.
func waitForApproval(t *testing.T, l *liveAPI, id, session, amount string) {
	t.Helper()
	a := l.send(liveCase{as: "requester", path: "/refund-workflows", body: `{"session_id":"` + session + `","amount":"` + amount + `","refund_id":"` + id + `"}`})
	if a.err != nil || (a.status != http.StatusAccepted && a.status != http.StatusOK) {
		t.Fatalf("start %s: %d %v %s", id, a.status, a.err, a.body)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		a := l.send(liveCase{method: http.MethodGet, path: "/refund-workflows/" + id})
		var v struct {
			Approval *struct {
				Status string `json:"status"`
			} `json:"approval"`
		}
		if a.err == nil && json.Unmarshal(a.body, &v) == nil && v.Approval != nil && v.Approval.Status == "pending" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow %s does not wait for its approval after a minute: %d %s", id, a.status, a.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func workflowLiveCases() []liveCase {
	return []liveCase{
		// POST /refund-workflows.
		{name: "a refund workflow under the approval threshold is a 202 with its id, Tracking-Key and status URL", path: "/refund-workflows",
			body:   `{"session_id":"live-workflow-paid","amount":"1.000","currency_code":"KWD","reason":"damaged","refund_id":"live-wf-1"}`,
			status: 202, want: map[string]string{"Location": "*"}, members: []string{"workflow_id", "tracking_key", "status_url"}},
		{name: "the same refund_id again is a 200 with that workflow, and nothing new starts", path: "/refund-workflows",
			body:   `{"session_id":"live-workflow-paid","amount":"1.000","currency_code":"KWD","reason":"damaged","refund_id":"live-wf-1"}`,
			status: 200, want: map[string]string{"Location": "*"}, members: []string{"status", "step", "request"}},
		{name: "the same refund_id for another amount is a 422 refund_id_reused", path: "/refund-workflows",
			body:   `{"session_id":"live-workflow-paid","amount":"2.000","currency_code":"KWD","refund_id":"live-wf-1"}`,
			status: 422, code: "refund_id_reused"},
		{name: "a refund workflow naming no payment is a 400 invalid_request", path: "/refund-workflows",
			body: `{"amount":"1.000","refund_id":"live-wf-no-payment"}`, spec: specRejects, status: 400, code: "invalid_request"},
		{name: "a refund_id that cannot name a workflow is a 400 invalid_request", path: "/refund-workflows",
			body: `{"session_id":"live-workflow-paid","refund_id":"a/b"}`, spec: specRejects, status: 400, code: "invalid_request"},
		{name: "a refund workflow with an unknown member is a 400 unknown_field", path: "/refund-workflows",
			body: `{"session_id":"live-workflow-paid","currency":"KWD","refund_id":"live-wf-unknown"}`, spec: specRejects, status: 400, code: "unknown_field"},
		{name: "a refund workflow with an amount of zero is a 400 invalid_amount", path: "/refund-workflows",
			body: `{"session_id":"live-workflow-paid","amount":"0","refund_id":"live-wf-zero"}`, spec: specSilent, status: 400, code: "invalid_amount"},
		{name: "a refund workflow without a refund_id is a 400 invalid_request, since a retry could refund twice", path: "/refund-workflows",
			body: `{"session_id":"live-workflow-paid","amount":"1.000"}`, spec: specRejects, status: 400, code: "invalid_request"},
		{name: "a refund workflow sent as text/plain is a 415 unsupported_media_type", path: "/refund-workflows",
			header: map[string]string{"Content-Type": "text/plain"}, body: `{"session_id":"live-workflow-paid","refund_id":"live-wf-text"}`,
			spec: specRejects, status: 415, code: "unsupported_media_type"},

		// GET /refund-workflows/{id}.
		{name: "a workflow is a 200 with its status, step, request and approval", method: http.MethodGet, path: "/refund-workflows/live-wf-1",
			status: 200, members: []string{"status", "step", "request", "approval", "result", "failure", "tracking_key"}},
		{name: "a workflow no one started is a 404 not_found", method: http.MethodGet, path: "/refund-workflows/live-wf-none",
			status: 404, code: "not_found"},
		{name: "a workflow id that cannot name a workflow is a 400 invalid_request", method: http.MethodGet, path: "/refund-workflows/-x",
			spec: specRejects, status: 400, code: "invalid_request"},

		// POST /refund-workflows/{id}/approval.
		{name: "a decision by the principal that started the workflow is a 403 self_approval", path: "/refund-workflows/live-wf-approve/approval",
			as: "requester", body: `{"approved":true,"note":"mine"}`, status: 403, code: "self_approval",
			setup: func(t *testing.T, l *liveAPI) {
				waitForApproval(t, l, "live-wf-approve", "live-workflow-approve", "75.000")
			}},
		{name: "a request to an IAM route with a bad signature is API Gateway's 403", path: "/refund-workflows/live-wf-approve/approval",
			header: map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=AKIALOCALAPPROVER001/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "X-Amz-Date": "20260101T000000Z"},
			body:   `{"approved":true}`, status: 403},
		{name: "approving a refund that waits for its approval is a 200 with the decision", path: "/refund-workflows/live-wf-approve/approval",
			as: "approver", body: `{"approved":true,"note":"checked"}`, status: 200, members: []string{"approval", "status_url"}},
		{name: "approving it again is a 409 approval_decided", path: "/refund-workflows/live-wf-approve/approval",
			as: "approver", body: `{"approved":true}`, status: 409, code: "approval_decided"},
		{name: "approving a workflow that needs no approval is a 409 approval_not_pending", path: "/refund-workflows/live-wf-1/approval",
			body: `{"approved":true}`, status: 409, code: "approval_not_pending"},
		{name: "approving a workflow no one started is a 404 not_found", path: "/refund-workflows/live-wf-none/approval",
			body: `{"approved":true}`, status: 404, code: "not_found"},
		{name: "a decision without approved is a 400 invalid_request", path: "/refund-workflows/live-wf-approve/approval",
			body: `{"note":"yes"}`, spec: specRejects, status: 400, code: "invalid_request"},
		{name: "a GET that reaches the approval function is a 405 method_not_allowed naming POST", method: http.MethodGet, path: "/refund-workflows/live-wf-1/approval",
			spec: specNoRoute, direct: "RefundApprovalFunction", documented: http.MethodPost, body: `{"approved":true}`,
			status: 405, code: "method_not_allowed", want: map[string]string{"Allow": "POST"}},

		// A refresh Ottu's inquiry throttle refuses.
		{name: "a refund of a payment in its first 10 minutes succeeds", path: "/operations/refund",
			header: map[string]string{"Tracking-Key": "live-refund-young"}, body: `{"session_id":"live-young-paid","amount":"1.000"}`, status: 200},
		{name: "refresh=true while Ottu's inquiry throttle refuses is a 200 with the stored record and ottu_inquiry_throttled", method: http.MethodGet,
			path: "/operations/live-refund-young?refresh=true", status: 200, want: map[string]string{"Tracking-Key": "live-refund-young"},
			members: []string{"ottu_inquiry_throttled", "status"}},
	}
}
