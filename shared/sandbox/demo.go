package sandbox

// DemoTransactions are the transactions the local stack starts with, one for
// each operation to try; the sample events in events/ name them.
func DemoTransactions() []TransactionSpec {
	return []TransactionSpec{
		{SessionID: "demo-paid-kwd", OrderNo: "demo-order-1", Amount: "10.000", CurrencyCode: "KWD", State: StatePaid, PGCode: "mpgs"},
		{SessionID: "demo-authorized", OrderNo: "demo-order-2", Amount: "25.500", CurrencyCode: "KWD", State: StateAuthorized, PGCode: "mpgs"},
		{SessionID: "demo-authorized-void", OrderNo: "demo-order-3", Amount: "19.00", CurrencyCode: "SAR", State: StateAuthorized, PGCode: "mpgs"},
		{SessionID: "demo-pending", OrderNo: "demo-order-4", Amount: "5.000", CurrencyCode: "KWD", State: StatePending, PGCode: "mpgs"},
		{SessionID: "demo-attempted", OrderNo: "demo-order-5", Amount: "5.000", CurrencyCode: "KWD", State: StateAttempted, PGCode: "kpay"},
		{SessionID: "demo-created", OrderNo: "demo-order-6", Amount: "5.000", CurrencyCode: "KWD", State: StateCreated, PGCode: "kpay"},
	}
}
