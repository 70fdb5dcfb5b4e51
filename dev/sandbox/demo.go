package sandbox

// The demo refund the local stack runs once at start, through the real
// refund function, so that events/operation-status-apigw.json has a
// Tracking-Key record to read on a fresh stack.
const (
	DemoStatusSessionID   = "demo-events-status"
	DemoStatusTrackingKey = "demo-status-refund-1"
	DemoStatusRefund      = "1.000"
)

// DemoInquirySessionID is the transaction the local stack inquires once at
// start, through the real inquiry function, so that
// events/inquiry-result-apigw.json has a stored result to read.
const DemoInquirySessionID = "demo-events-inquiry-result"

// The demo refund workflow the local stack starts at start-up, above the
// local approval threshold, so that events/refund-workflow-read-apigw.json
// and events/refund-approval-apigw.json find a workflow waiting for its
// approval on a fresh stack.
const (
	DemoWorkflowID        = "demo-events-workflow-approval"
	DemoWorkflowSessionID = "demo-events-refund-workflow-approval"
	DemoWorkflowAmount    = "75.000"
)

// DemoAgeMinutes is how old every demo transaction is made: past inquiry's
// first 10 minutes (Ottu's throttle), so each can be inquired at once.
const DemoAgeMinutes = 15

// DemoTransactions are the transactions the local stack starts with. The
// first six are for trying each operation by hand (the README's curls name
// demo-paid-kwd). Every sample event in events/ names one of its own below,
// so the samples work once each, in any order, on a fresh stack: an
// operation such as a void or a cancel can be done only once per
// transaction, and an inquiry once per 30 minutes. Every one is
// DemoAgeMinutes old.
func DemoTransactions() []TransactionSpec {
	specs := []TransactionSpec{
		{SessionID: "demo-paid-kwd", OrderNo: "demo-order-1", Amount: "10.000", CurrencyCode: "KWD", State: StatePaid, PGCode: "mpgs"},
		{SessionID: "demo-authorized", OrderNo: "demo-order-2", Amount: "25.500", CurrencyCode: "KWD", State: StateAuthorized, PGCode: "mpgs"},
		{SessionID: "demo-authorized-void", OrderNo: "demo-order-3", Amount: "19.00", CurrencyCode: "SAR", State: StateAuthorized, PGCode: "mpgs"},
		{SessionID: "demo-pending", OrderNo: "demo-order-4", Amount: "5.000", CurrencyCode: "KWD", State: StatePending, PGCode: "mpgs"},
		{SessionID: "demo-attempted", OrderNo: "demo-order-5", Amount: "5.000", CurrencyCode: "KWD", State: StateAttempted, PGCode: "kpay"},
		{SessionID: "demo-created", OrderNo: "demo-order-6", Amount: "5.000", CurrencyCode: "KWD", State: StateCreated, PGCode: "kpay"},

		// One per sample event; capture and void need an authorization on a
		// gateway that supports them (mpgs), refund a paid payment.
		{SessionID: "demo-events-capture-http", OrderNo: "demo-order-7", Amount: "25.500", CurrencyCode: "KWD", State: StateAuthorized, PGCode: "mpgs"},
		{SessionID: "demo-events-capture-direct", OrderNo: "demo-order-8", Amount: "25.500", CurrencyCode: "KWD", State: StateAuthorized, PGCode: "mpgs"},
		{SessionID: "demo-events-refund-http", OrderNo: "demo-order-9", Amount: "10.000", CurrencyCode: "KWD", State: StatePaid, PGCode: "mpgs"},
		{SessionID: "demo-events-refund-direct", OrderNo: "demo-order-10", Amount: "10.000", CurrencyCode: "KWD", State: StatePaid, PGCode: "kpay"},
		{SessionID: "demo-events-void-http", OrderNo: "demo-order-11", Amount: "19.00", CurrencyCode: "SAR", State: StateAuthorized, PGCode: "mpgs"},
		{SessionID: "demo-events-void-direct", OrderNo: "demo-order-12", Amount: "19.00", CurrencyCode: "SAR", State: StateAuthorized, PGCode: "mpgs"},
		{SessionID: "demo-events-cancel-http", OrderNo: "demo-order-13", Amount: "5.000", CurrencyCode: "KWD", State: StatePending, PGCode: "mpgs"},
		{SessionID: "demo-events-cancel-direct", OrderNo: "demo-order-14", Amount: "5.000", CurrencyCode: "KWD", State: StateCreated, PGCode: "kpay"},
		{SessionID: "demo-events-expire-http", OrderNo: "demo-order-15", Amount: "5.000", CurrencyCode: "KWD", State: StateAttempted, PGCode: "kpay"},
		{SessionID: "demo-events-expire-direct", OrderNo: "demo-order-16", Amount: "5.000", CurrencyCode: "KWD", State: StatePending, PGCode: "mpgs"},
		{SessionID: "demo-events-delete-http", OrderNo: "demo-order-17", Amount: "5.000", CurrencyCode: "KWD", State: StateCreated, PGCode: "kpay"},
		{SessionID: "demo-events-delete-direct", OrderNo: "demo-order-18", Amount: "5.000", CurrencyCode: "KWD", State: StatePaid, PGCode: "mpgs"},
		{SessionID: DemoStatusSessionID, OrderNo: "demo-order-19", Amount: "10.000", CurrencyCode: "KWD", State: StatePaid, PGCode: "mpgs"},
		// Inquiry answers for payments still under way (and paid ones).
		{SessionID: "demo-events-inquiry-http", OrderNo: "demo-order-20", Amount: "5.000", CurrencyCode: "KWD", State: StateAttempted, PGCode: "kpay"},
		{SessionID: "demo-events-inquiry-direct", OrderNo: "demo-order-21", Amount: "5.000", CurrencyCode: "KWD", State: StatePending, PGCode: "kpay"},
		{SessionID: DemoInquirySessionID, OrderNo: "demo-order-22", Amount: "5.000", CurrencyCode: "KWD", State: StateAttempted, PGCode: "kpay"},
		// events/webhook-apigw.json is a disclosure of this one, signed with
		// the default webhook key (DefaultWebhookKey).
		{SessionID: "demo-events-webhook", OrderNo: "demo-order-23", Amount: "5.000", CurrencyCode: "KWD", State: StateAttempted, PGCode: "kpay"},
		// Refund workflows: the README's walk (a refund under the local
		// approval threshold and one above it), the start sample, and the
		// workflow the local stack starts to wait for an approval.
		{SessionID: "demo-workflow-paid", OrderNo: "demo-order-24", Amount: "200.000", CurrencyCode: "KWD", State: StatePaid, PGCode: "mpgs"},
		{SessionID: "demo-events-refund-workflow-http", OrderNo: "demo-order-25", Amount: "100.000", CurrencyCode: "KWD", State: StatePaid, PGCode: "mpgs"},
		{SessionID: DemoWorkflowSessionID, OrderNo: "demo-order-26", Amount: "100.000", CurrencyCode: "KWD", State: StatePaid, PGCode: "mpgs"},
	}
	for i := range specs {
		specs[i].AgeMinutes = DemoAgeMinutes
	}
	return specs
}
