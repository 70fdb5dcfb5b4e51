package statemachine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/ottuops/ottu-lambda/dev/localstack"
	"github.com/ottuops/ottu-lambda/dev/sandbox"
	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/shared/refundflow"
)

// scenario is one workflow run of testdata/scenarios.json: a paid
// transaction, the Ottu faults it meets, what the merchant sends, and what
// must come of it.
type scenario struct {
	Name   string          `json:"name"`
	Paid   string          `json:"paid"`
	Faults []sandbox.Fault `json:"faults"`
	// Direct are refunds sent first on the same payment through POST
	// /operations/refund (currency KWD), each answered with status and code.
	Direct []directRefund `json:"direct"`
	// Start is what starts the workflow; currency_code is KWD unless it
	// says otherwise ("" leaves it out).
	Start map[string]string `json:"start"`
	// DirectAfter are direct refunds sent once the workflow has ended.
	DirectAfter []directRefund `json:"direct_after"`
	// StartAgain are later starts with the same refund_id (and this
	// amount), each answered with status and code.
	StartAgain []struct {
		Amount string `json:"amount"`
		Status int    `json:"status"`
		Code   string `json:"code"`
		// AfterEnd sends it once the workflow has ended.
		AfterEnd bool `json:"after_end"`
	} `json:"start_again"`
	// Decide is the approver's decision, sent once the approval is pending,
	// signed (SigV4) as the local approver.
	Decide *struct {
		Approved bool   `json:"approved"`
		Note     string `json:"note,omitempty"`
	} `json:"decide"`
	// SelfDecide sends the decision first signed as the requester, who
	// started the workflow: it must be a 403 self_approval that changes
	// nothing.
	SelfDecide bool `json:"self_decide"`
	// Forge, once the approval is pending, sends SendTaskSuccess with this
	// output and the task token read from the execution's history, as any
	// holder of states:SendTaskSuccess could.
	Forge json.RawMessage `json:"forge"`
	// DecideAgain is sent once the workflow has ended.
	DecideAgain *struct {
		Approved bool   `json:"approved"`
		Status   int    `json:"status"`
		Code     string `json:"code"`
	} `json:"decide_again"`
	Want struct {
		Status         string `json:"status"`
		State          string `json:"state"`
		Amount         string `json:"amount"`
		TrackingKey    string `json:"tracking_key"`
		Error          string `json:"error"`
		Code           string `json:"code"`
		DetailContains string `json:"detail_contains"`
		FailureHasOttu bool   `json:"failure_has_ottu"`
		Approval       string `json:"approval"`
		DecidedBy      string `json:"decided_by"`
		ApprovalNote   string `json:"approval_note"`
		Children       int    `json:"children"`
		ChildState     string `json:"child_state"`
		RefundAttempts *int   `json:"refund_attempts"`
		MinAttempts    int    `json:"min_refund_attempts"`
		MinPolls       int    `json:"min_polls"`
		// MaxPolls, when set, bounds the polls (0: none at all).
		MaxPolls *int     `json:"max_polls"`
		History  []string `json:"history_contains"`
	} `json:"want"`
}

// directRefund is one POST /operations/refund and its answer.
type directRefund struct {
	Amount string `json:"amount"`
	Status int    `json:"status"`
	Code   string `json:"code"`
}

// workflowView is the part of GET /refund-workflows/{id} the checks read.
type workflowView struct {
	WorkflowID  string  `json:"workflow_id"`
	TrackingKey string  `json:"tracking_key"`
	Status      string  `json:"status"`
	Step        string  `json:"step"`
	RequestedBy *string `json:"requested_by"`
	Approval    *struct {
		Status      string  `json:"status"`
		Note        *string `json:"note"`
		RequestedBy *string `json:"requested_by"`
		DecidedBy   *string `json:"decided_by"`
	} `json:"approval"`
	Result *struct {
		TrackingKey     string  `json:"tracking_key"`
		ReferenceNumber *string `json:"reference_number"`
		Amount          string  `json:"amount"`
		State           string  `json:"state"`
	} `json:"result"`
	Failure *struct {
		Error  string          `json:"error"`
		Code   string          `json:"code"`
		Detail string          `json:"detail"`
		Ottu   json.RawMessage `json:"ottu"`
	} `json:"failure"`
}

// TestRefundWorkflowScenarios runs the real definition in moto's ASL
// engine against the real function binaries, through the local stack's
// Invoke API, the Ottu sandbox and moto's DynamoDB, as a merchant drives
// it: POST /refund-workflows, GET /refund-workflows/{id} and POST
// /refund-workflows/{id}/approval. The local waits are short: LEASE_GRACE
// 2 s, an approval timeout of 6 s, polls every 2 s, and an inquiry
// throttle of Ottu's shape scaled down the same way (the first inquiry 4 s
// after a payment, then one per 3 s, at most 3).
func TestRefundWorkflowScenarios(t *testing.T) {
	raw, err := os.ReadFile("testdata/scenarios.json")
	if err != nil {
		t.Fatal(err)
	}
	var scenarios []scenario
	if err := json.Unmarshal(raw, &scenarios); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var output testkit.Buffer
	stack, err := localstack.Start(ctx, localstack.Options{
		Template:     "../template.yaml",
		APIAddr:      "127.0.0.1:0",
		SandboxAddr:  "127.0.0.1:0",
		MotoAddr:     "127.0.0.1:0",
		MaxProcesses: 2,
		// moto refuses any action a function's own role does not allow.
		EnforceIAM:     true,
		FunctionOutput: &output,
		Parameters:     map[string]string{"RefundApprovalTimeoutSeconds": "6"},
		FunctionEnv:    map[string]string{"LEASE_GRACE": "2s"},
		Sandbox:        sandbox.Config{InquiryLimits: sandbox.InquiryLimits{FirstAfter: 4 * time.Second, Interval: 3 * time.Second}},
	})
	if err != nil {
		t.Fatalf("start the local stack with template.yaml: %v", err)
	}
	defer stack.Close()
	defer func() {
		if t.Failed() {
			t.Logf("function output:\n%s", tail(output.String(), 200))
		}
	}()
	machines := stack.StateMachines()
	if len(machines) != 1 {
		t.Fatalf("the stack created %d state machines, want the refund workflow: %+v", len(machines), machines)
	}
	r := &runner{ctx: ctx, api: stack.URLs().API, stack: stack, sfn: sfn.NewFromConfig(stack.AWSConfig()), machine: machines[0].ARN}
	for i, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) { r.run(t, i, sc) })
	}
	t.Run("every AWS call a function made is allowed by its own role, action and resource", func(t *testing.T) {
		stack.RequireCallsAllowed(ctx, t)
		// dev/apispec's unusedGrants counts on this suite for the rejection.
		if !stack.Called("RefundApprovalFunction", "states:SendTaskFailure") {
			t.Error("no scenario made RefundApprovalFunction send states:SendTaskFailure (a rejected approval)")
		}
	})
}

type runner struct {
	ctx     context.Context
	api     string
	stack   *localstack.Stack
	sfn     *sfn.Client
	machine string
}

func (r *runner) run(t *testing.T, i int, sc scenario) {
	t.Cleanup(func() { r.stack.Sandbox().ClearFaults() })
	session := fmt.Sprintf("wf-scenario-%d", i+1)
	if _, err := r.stack.Sandbox().CreateTransaction(sandbox.TransactionSpec{SessionID: session, Amount: sc.Paid, CurrencyCode: "KWD",
		State: sandbox.StatePaid, PGCode: "mpgs"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range sc.Faults {
		if err := r.stack.Sandbox().AddFault(f); err != nil {
			t.Fatal(err)
		}
	}
	direct := func(refunds []directRefund, when string) {
		t.Helper()
		for j, d := range refunds {
			status, body := r.doHeaders(t, localstack.LocalUser{}, http.MethodPost, "/operations/refund",
				map[string]string{"session_id": session, "amount": d.Amount, "currency_code": "KWD"},
				map[string]string{"Tracking-Key": fmt.Sprintf("%s-%s-%d", session, when, j)})
			if status != d.Status || (d.Code != "" && !strings.Contains(string(body), `"code":"`+d.Code+`"`)) {
				t.Fatalf("direct refund of %s %s: %d %s, want %d %s", d.Amount, when, status, body, d.Status, d.Code)
			}
		}
	}
	direct(sc.Direct, "before")
	start := map[string]string{"session_id": session, "currency_code": "KWD"}
	for k, v := range sc.Start {
		start[k] = v
		if v == "" {
			delete(start, k)
		}
	}
	status, body := r.doAs(t, requester, http.MethodPost, "/refund-workflows", start)
	if status != http.StatusAccepted {
		t.Fatalf("start: %d %s", status, body)
	}
	var started struct {
		WorkflowID string `json:"workflow_id"`
		StatusURL  string `json:"status_url"`
	}
	if err := json.Unmarshal(body, &started); err != nil || started.WorkflowID == "" || !strings.HasSuffix(started.StatusURL, "/refund-workflows/"+started.WorkflowID) {
		t.Fatalf("start answered %s", body)
	}
	id := started.WorkflowID
	startAgain := func(afterEnd bool) {
		t.Helper()
		for _, again := range sc.StartAgain {
			if again.AfterEnd != afterEnd {
				continue
			}
			req := map[string]string{"session_id": session, "refund_id": sc.Start["refund_id"], "amount": again.Amount, "currency_code": "KWD"}
			status, body := r.doAs(t, requester, http.MethodPost, "/refund-workflows", req)
			if status != again.Status || (again.Code != "" && !strings.Contains(string(body), `"code":"`+again.Code+`"`)) ||
				(status == http.StatusOK && !strings.Contains(string(body), `"workflow_id":"`+id+`"`)) {
				t.Errorf("starting refund_id %s again with %s: %d %s, want %d %s", sc.Start["refund_id"], again.Amount, status, body, again.Status, again.Code)
			}
		}
	}
	startAgain(false)
	if sc.Decide != nil || sc.Forge != nil {
		r.waitFor(t, id, func(v workflowView) bool { return v.Approval != nil && v.Approval.Status == "pending" })
	}
	if sc.SelfDecide {
		status, body := r.doAs(t, requester, http.MethodPost, "/refund-workflows/"+id+"/approval", sc.Decide)
		if status != http.StatusForbidden || !strings.Contains(string(body), `"code":"self_approval"`) {
			t.Fatalf("a decision by the requester: %d %s, want 403 self_approval", status, body)
		}
		if v := r.waitFor(t, id, func(workflowView) bool { return true }); v.Approval == nil || v.Approval.Status != "pending" {
			t.Fatalf("after the requester's decision the approval is %+v, want still pending", v.Approval)
		}
	}
	if sc.Forge != nil {
		token := r.taskToken(t, id)
		if _, err := r.sfn.SendTaskSuccess(r.ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(sc.Forge))}); err != nil {
			t.Fatalf("forged SendTaskSuccess: %v", err)
		}
	}
	if sc.Decide != nil {
		if status, body := r.doAs(t, approver, http.MethodPost, "/refund-workflows/"+id+"/approval", sc.Decide); status != http.StatusOK {
			t.Fatalf("decision: %d %s", status, body)
		}
	}
	v := r.waitFor(t, id, func(v workflowView) bool { return v.Status != "running" })
	startAgain(true)
	direct(sc.DirectAfter, "after")
	if sc.DecideAgain != nil {
		status, body := r.doAs(t, approver, http.MethodPost, "/refund-workflows/"+id+"/approval", map[string]bool{"approved": sc.DecideAgain.Approved})
		if status != sc.DecideAgain.Status || !strings.Contains(string(body), `"code":"`+sc.DecideAgain.Code+`"`) {
			t.Errorf("decision after the end: %d %s, want %d %s", status, body, sc.DecideAgain.Status, sc.DecideAgain.Code)
		}
	}
	history := r.history(t, id)
	r.check(t, sc, session, v, history)
}

func (r *runner) check(t *testing.T, sc scenario, session string, v workflowView, history string) {
	t.Helper()
	w := sc.Want
	fail := func(format string, a ...any) {
		t.Helper()
		t.Errorf(format+"\nworkflow: %+v\nhistory: %s", append(a, v, tail(history, 4000))...)
	}
	if v.Status != w.Status {
		fail("status %s, want %s", v.Status, w.Status)
	}
	if w.Status == "succeeded" {
		switch {
		case v.Result == nil:
			fail("no result")
		case v.Result.State != w.State || (w.Amount != "" && v.Result.Amount != w.Amount) || v.Result.ReferenceNumber == nil || v.Result.TrackingKey != v.TrackingKey:
			fail("result %+v, want state %s amount %s, a reference number and the tracking key %s", *v.Result, w.State, w.Amount, v.TrackingKey)
		case w.TrackingKey != "" && v.Result.TrackingKey != w.TrackingKey:
			fail("tracking key %s, want %s", v.Result.TrackingKey, w.TrackingKey)
		}
	}
	if w.Error != "" {
		switch {
		case v.Failure == nil:
			fail("no failure")
		case v.Failure.Error != w.Error || v.Failure.Code != w.Code || !strings.Contains(v.Failure.Detail, w.DetailContains):
			fail("failure %+v, want %s %s with %q", *v.Failure, w.Error, w.Code, w.DetailContains)
		case w.FailureHasOttu && len(v.Failure.Ottu) == 0:
			fail("the failure carries no Ottu body")
		}
	}
	if w.Approval != "" && (v.Approval == nil || v.Approval.Status != w.Approval) {
		fail("approval %+v, want %s", v.Approval, w.Approval)
	}
	if w.Approval != "" && (v.RequestedBy == nil || *v.RequestedBy != requester.ARN || v.Approval == nil || v.Approval.RequestedBy == nil || *v.Approval.RequestedBy != requester.ARN) {
		fail("requested_by %v (approval %+v), want the requester %s", v.RequestedBy, v.Approval, requester.ARN)
	}
	if w.DecidedBy != "" && (v.Approval == nil || v.Approval.DecidedBy == nil || *v.Approval.DecidedBy != r.arnOf(w.DecidedBy)) {
		fail("approval %+v, want decided_by the %s", v.Approval, w.DecidedBy)
	}
	if w.ApprovalNote != "" && (v.Approval == nil || v.Approval.Note == nil || *v.Approval.Note != w.ApprovalNote) {
		fail("approval %+v, want the note %q", v.Approval, w.ApprovalNote)
	}
	children := r.children(t, session)
	if len(children) != w.Children || (w.ChildState != "" && (len(children) == 0 || children[0].State != w.ChildState)) {
		fail("Ottu's children %+v, want %d in state %s", children, w.Children, w.ChildState)
	}
	if len(children) == 1 && v.Result != nil && v.Result.ReferenceNumber != nil && *v.Result.ReferenceNumber != children[0].ReferenceNumber {
		fail("reference number %s, Ottu's child has %s", *v.Result.ReferenceNumber, children[0].ReferenceNumber)
	}
	// The history names each task's function by the physical name the
	// deployed stack gave it.
	attempts := strings.Count(history, "function:"+r.stack.Deployment().PhysicalID("RefundFunction"))
	if w.RefundAttempts != nil && attempts != *w.RefundAttempts {
		fail("%d refund attempts in the history, want %d", attempts, *w.RefundAttempts)
	}
	if attempts < w.MinAttempts {
		fail("%d refund attempts in the history, want at least %d", attempts, w.MinAttempts)
	}
	if polls := strings.Count(history, "function:"+r.stack.Deployment().PhysicalID("OperationStatusFunction")); polls < w.MinPolls {
		fail("%d polls in the history, want at least %d", polls, w.MinPolls)
	}
	if polls := strings.Count(history, "function:OperationStatusFunction"); w.MaxPolls != nil && polls > *w.MaxPolls {
		fail("%d polls in the history, want at most %d", polls, *w.MaxPolls)
	}
	for _, s := range w.History {
		if !strings.Contains(history, s) {
			fail("the history never shows %q", s)
		}
	}
}

// The local IAM users the requests are signed as.
var (
	requester = localstack.LocalUser{Name: "requester", ARN: "arn:aws:iam::123456789012:user/requester"}
	approver  = localstack.LocalUser{Name: "approver", ARN: "arn:aws:iam::123456789012:user/approver"}
)

func (r *runner) arnOf(name string) string {
	for _, u := range r.stack.Users() {
		if u.Name == name {
			return u.ARN
		}
	}
	return ""
}

// do sends an unsigned request to the local API (the local principal).
func (r *runner) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	return r.doAs(t, localstack.LocalUser{}, method, path, body)
}

// doAs sends a request to the local API as a merchant's code would,
// signed (SigV4, execute-api) with the named local user's key by the AWS
// SDK's signer; a user without a name sends it unsigned.
func (r *runner) doAs(t *testing.T, as localstack.LocalUser, method, path string, body any) (int, []byte) {
	t.Helper()
	return r.doHeaders(t, as, method, path, body, nil)
}

// doHeaders is doAs with request headers.
func (r *runner) doHeaders(t *testing.T, as localstack.LocalUser, method, path string, body any, headers map[string]string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.ctx, method, r.api+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if as.Name != "" {
		var raw []byte
		if body != nil {
			raw, _ = json.Marshal(body)
		}
		r.sign(t, req, as.Name, raw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// waitFor reads the workflow until cond holds (two minutes at most).
func (r *runner) waitFor(t *testing.T, id string, cond func(workflowView) bool) workflowView {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, body := r.do(t, http.MethodGet, "/refund-workflows/"+id, nil)
		var v workflowView
		if status != http.StatusOK || json.Unmarshal(body, &v) != nil {
			t.Fatalf("GET /refund-workflows/%s: %d %s", id, status, body)
		}
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow %s still %s at step %s after two minutes: %s\nhistory: %s", id, v.Status, v.Step, body, tail(r.history(t, id), 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sign signs req with the key of the local user named name.
func (r *runner) sign(t *testing.T, req *http.Request, name string, body []byte) {
	t.Helper()
	for _, u := range localstack.LocalUsers {
		if u.Name != name {
			continue
		}
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(r.ctx, aws.Credentials{AccessKeyID: u.AccessKeyID, SecretAccessKey: u.SecretAccessKey}, req,
			hex.EncodeToString(sum[:]), "execute-api", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no local user %s", name)
}

// taskToken reads the approval task's token from the execution's history,
// where anyone allowed to read the history finds it.
func (r *runner) taskToken(t *testing.T, id string) string {
	t.Helper()
	out, err := r.sfn.GetExecutionHistory(r.ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(refundflow.ExecutionARN(r.machine, id))})
	if err != nil {
		t.Fatalf("execution history: %v", err)
	}
	for _, e := range out.Events {
		if e.TaskScheduledEventDetails == nil {
			continue
		}
		var params struct {
			Payload struct {
				TaskToken string `json:"task_token"`
			} `json:"Payload"`
		}
		if json.Unmarshal([]byte(aws.ToString(e.TaskScheduledEventDetails.Parameters)), &params) == nil && params.Payload.TaskToken != "" {
			return params.Payload.TaskToken
		}
	}
	t.Fatalf("no task token in the history of %s", id)
	return ""
}

// history is the execution's history as JSON, for counting attempts.
func (r *runner) history(t *testing.T, id string) string {
	t.Helper()
	out, err := r.sfn.GetExecutionHistory(r.ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(refundflow.ExecutionARN(r.machine, id))})
	if err != nil {
		t.Fatalf("execution history: %v", err)
	}
	b, _ := json.Marshal(out.Events)
	return string(b)
}

// children are the operations Ottu recorded on a transaction.
func (r *runner) children(t *testing.T, session string) []sandbox.Child {
	t.Helper()
	tx, ok := r.stack.Sandbox().Transaction(session)
	if !ok {
		t.Fatalf("the sandbox has no transaction %s", session)
	}
	return tx.Children
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
