package apispec

import (
	"context"
	"fmt"
	"testing"

	"github.com/ottuops/ottu-lambda/dev/localstack"
)

// unusedGrants are the grants of template.yaml that no call of the
// end-to-end cases makes, each with the reason it stays. A grant that
// becomes used, or a new unused one, fails the test: keep this list and
// the template's comments true.
var unusedGrants = map[string]string{
	// Claim reads the record with GetItem only when a conditional
	// UpdateItem fails without returning it (a race with another claim);
	// the template's comment on TrackingKeyRecords says so.
	"CaptureFunction/TrackingKeyRecords dynamodb:GetItem": "read after a conflict that returned no item",
	"RefundFunction/TrackingKeyRecords dynamodb:GetItem":  "read after a conflict that returned no item",
	"VoidFunction/TrackingKeyRecords dynamodb:GetItem":    "read after a conflict that returned no item",
	"CancelFunction/TrackingKeyRecords dynamodb:GetItem":  "read after a conflict that returned no item",
	"ExpireFunction/TrackingKeyRecords dynamodb:GetItem":  "read after a conflict that returned no item",
	"DeleteFunction/TrackingKeyRecords dynamodb:GetItem":  "read after a conflict that returned no item",
	// A rejected approval fails the waiting task (statemachine's scenarios
	// reject one); these cases approve.
	"RefundApprovalFunction/ResumeWaitingWorkflows states:SendTaskFailure": "a rejection, run by statemachine's scenarios",
	// Ottu's disclosure resumes a workflow waiting for it (cmd/local's
	// Step Functions walk); these cases have no workflow waiting on a
	// disclosure.
	"WebhookFunction/ResumeWaitingWorkflows states:SendTaskSuccess": "a resumed disclosure wait, run by cmd/local's walk",
	// A callback Step Functions refuses as a task's output (over its 256
	// KiB) fails the waiting task instead (CallbackTooLarge); the
	// webhook's own tests cover it, these cases resume nothing that large.
	"WebhookFunction/ResumeWaitingWorkflows states:SendTaskFailure": "a callback too large for a task's output, covered by shared/webhook's tests",
	// Ottu's callbacks and operation notifications, and the reconciler,
	// run in cmd/local's TestNothingLeftUnknown, which checks these calls;
	// these cases deliver no callback and run no reconciler.
	"WebhookFunction/TransactionResults dynamodb:PutItem":    "callbacks and notifications, run by cmd/local's TestNothingLeftUnknown",
	"WebhookFunction/TransactionResults dynamodb:UpdateItem": "callbacks and notifications, run by cmd/local's TestNothingLeftUnknown",
	"WebhookFunction/TransactionResults dynamodb:GetItem":    "callbacks and notifications, run by cmd/local's TestNothingLeftUnknown",
	// Refund notifications count in the refunded totals (issue 13): these
	// cases send none, cmd/local's TestNothingLeftUnknown does. GetItem
	// reads a total only after a refused reservation returned no item.
	"WebhookFunction/RefundedTotals dynamodb:UpdateItem":            "refund notifications counted, run by cmd/local's TestNothingLeftUnknown",
	"InquiryFunction/RefundedTotals dynamodb:UpdateItem":            "refund notifications counted when an inquiry binds their payment, run by cmd/local's TestNothingLeftUnknown",
	"WebhookFunction/RefundedTotals dynamodb:GetItem":               "read after a refused reservation that returned no item",
	"InquiryFunction/RefundedTotals dynamodb:GetItem":               "read after a refused reservation that returned no item",
	"ReconcileFunction/TrackingKeyRecords dynamodb:UpdateItem":      "the reconciler settling a record, run by cmd/local's TestNothingLeftUnknown",
	"ReconcileFunction/TransactionsAndBudget dynamodb:Query":        "the reconciler, run by cmd/local's TestNothingLeftUnknown",
	"ReconcileFunction/TransactionsAndBudget dynamodb:PutItem":      "the reconciler, run by cmd/local's TestNothingLeftUnknown",
	"ReconcileFunction/TransactionsAndBudget dynamodb:UpdateItem":   "the reconciler's budget, run by cmd/local's TestNothingLeftUnknown",
	"ReconcileFunction/TransactionsAndBudget dynamodb:DeleteItem":   "a nudge taken, run by cmd/local's TestNothingLeftUnknown",
	"ReconcileFunction/OttuApiSecret secretsmanager:GetSecretValue": "the reconciler's inquiry, run by cmd/local's TestNothingLeftUnknown",
}

// checkAWSCalls compares every AWS call the functions made during the live
// cases (action and resource, recorded at the moto proxy) with the policies
// of the roles the deployed stack gave them: moto's IAM enforcement checks
// actions only, this checks the resources too, and that every grant is used
// or explained.
func checkAWSCalls(ctx context.Context, t *testing.T, stack *localstack.Stack) {
	t.Helper()
	var rep localstack.CallReport
	t.Run("every AWS call a function made is allowed by its own role, action and resource", func(t *testing.T) {
		rep = stack.RequireCallsAllowed(ctx, t)
	})
	t.Run("every grant of the template is used by a call, or says why not", func(t *testing.T) {
		got := map[string]bool{}
		for _, g := range rep.Unused {
			k := grantKey(g)
			got[k] = true
			if _, ok := unusedGrants[k]; !ok {
				t.Errorf("%s is granted but no call used it: remove it from template.yaml, or add it to unusedGrants with the reason", k)
			}
		}
		for k := range unusedGrants {
			if !got[k] {
				t.Errorf("%s is listed in unusedGrants but a call used it (or it is gone): remove it from the list", k)
			}
		}
	})
}

// grantKey names a grant without the stack's physical names: the
// function, the statement's Sid and the action.
func grantKey(g localstack.Grant) string {
	return fmt.Sprintf("%s/%s %s", g.Function, g.Sid, g.Action)
}
