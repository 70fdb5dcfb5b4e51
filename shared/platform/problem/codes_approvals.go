package problem

// The separation of duties' codes (issue 12): who may start and who may
// approve a refund, and when the direct refund route must send a refund
// through the approval workflow.
const (
	// CodeSelfApproval: the IAM principal that started a refund workflow
	// tried to decide its approval.
	CodeSelfApproval Code = "self_approval"
	// CodePrincipalRequired: the request carries no IAM principal (the
	// route is not IAM-authorized), so who asked cannot be recorded.
	CodePrincipalRequired Code = "principal_required"
	// CodeApprovalRequired: a direct refund above the approval threshold
	// (on its own, or with what was refunded before) must go through the
	// approval workflow.
	CodeApprovalRequired Code = "approval_required"
)
