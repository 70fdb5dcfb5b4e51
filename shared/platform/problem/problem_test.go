package problem

import (
	"testing"
)

func TestTransactionName(t *testing.T) {
	tests := []struct {
		name, sessionID, orderNo, want string
	}{
		{"both identifiers are named", "sess-1", "order-1", `session_id "sess-1" and order_no "order-1"`},
		{"a session_id alone is named", "sess-1", "", `session_id "sess-1"`},
		{"an order_no alone is named", "", "order-1", `order_no "order-1"`},
		{"an identifier is quoted, so odd text stays visible", "a\"b", "", `session_id "a\"b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TransactionName(tt.sessionID, tt.orderNo); got != tt.want {
				t.Errorf("TransactionName = %s, want %s", got, tt.want)
			}
		})
	}
}
