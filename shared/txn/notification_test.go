package txn_test

import (
	"encoding/json"
	"testing"

	"github.com/ottuops/ottu-lambda/shared/txn"
)

func TestExplainMarksOperationsNoRecordOfOursExplains(t *testing.T) {
	history := []txn.Entry{
		{Source: txn.SourceInquiry, Body: json.RawMessage(`{"reference_number":"P","transactions":[
			{"reference_number":"OURS","tracking_key":"refund-1"},
			{"reference_number":"DASH","tracking_key":""}]}`)},
		{Source: txn.SourceOperation, Body: json.RawMessage(`{"operation":"refund","txn":{"reference_number":"LATER"},"transactions":[{"reference_number":"LATER"}]}`)},
	}
	origins := txn.Origins(history)
	cases := []struct {
		name, child string
		want        *bool
	}{
		{"a child Ottu lists with our Tracking-Key is ours", "OURS", ptr(false)},
		{"a child Ottu lists without a Tracking-Key is external", "DASH", ptr(true)},
		{"a child no stored answer lists is not known yet", "LATER", nil},
		{"a notification naming no child is not known", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := txn.Operation{ChildReferenceNumber: tc.child}
			op.Explain(origins)
			switch {
			case tc.want == nil && op.External != nil:
				t.Errorf("external = %v, want unknown", *op.External)
			case tc.want != nil && (op.External == nil || *op.External != *tc.want):
				t.Errorf("external = %v, want %v", op.External, *tc.want)
			}
		})
	}
}

func ptr(b bool) *bool { return &b }

func TestPaymentReference(t *testing.T) {
	entry := func(ref, conflict string) txn.Entry {
		return txn.Entry{Source: txn.SourceDisclosure, Conflict: conflict, Body: []byte(`{"reference_number":"` + ref + `"}`)}
	}
	tests := []struct {
		name    string
		history []txn.Entry
		want    string
	}{
		{"the newest entry's reference is the payment's", []txn.Entry{entry("R-2", ""), entry("R-1", "")}, "R-2"},
		{"a conflict never lends its reference", []txn.Entry{entry("R-OTHER", "another payment's"), entry("R-1", "")}, "R-1"},
		{"a history of conflicts alone names none", []txn.Entry{entry("R-OTHER", "another payment's")}, ""},
		{"no history names none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := txn.PaymentReference(tt.history); got != tt.want {
				t.Fatalf("PaymentReference = %q, want %q", got, tt.want)
			}
		})
	}
}
