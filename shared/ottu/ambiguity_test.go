package ottu_test

import (
	"strings"
	"testing"

	"github.com/ottuops/ottu-lambda/shared/ottu"
)

func TestAmbiguousStandard(t *testing.T) {
	tests := []struct {
		name      string
		fixture   string
		edit      func(ottu.Fields)
		ambiguous bool
		field     string
	}{
		{name: "a genuine callback whose customer fields hold common words (estate, Paramount, result) is not ambiguous",
			fixture: "ambiguity/genuine_full.json"},
		{name: "Ottu's documented example is not ambiguous", fixture: "callback_example.json"},
		{name: "a customer name holding order_no and reference_number can be re-split into another order_no",
			fixture: "ambiguity/evil_last_name.json", ambiguous: true, field: "order_no"},
		{name: "a result holding a state can be re-split into another result and state",
			fixture: "ambiguity/genuine_full.json", ambiguous: true, field: "result",
			edit: func(f ottu.Fields) { f["result"] = "failedstatepaid"; delete(f, "state") }},
		{name: "an amount re-split out of a customer field is refused only when it is a decimal",
			fixture: "ambiguity/genuine_full.json",
			edit:    func(f ottu.Fields) { f["customer_last_name"] = "amount is fine" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parse(t, string(fixture(t, tt.fixture)), "application/json")
			if tt.edit != nil {
				tt.edit(f)
			}
			field, ambiguous := ottu.AmbiguousStandard(f)
			if ambiguous != tt.ambiguous || field != tt.field {
				t.Fatalf("AmbiguousStandard = %q, %v; want %q, %v (message %q)", field, ambiguous, tt.field, tt.ambiguous, ottu.CanonicalStandard(f))
			}
		})
	}
}

// TestReSplitForgery shows the attack the check stops: a genuine callback
// whose customer name holds signed field names is turned into one that
// verifies with the same signature and names the victim's order_no; both
// are found ambiguous.
func TestReSplitForgery(t *testing.T) {
	const key = "webhook-key"
	genuine := parse(t, string(fixture(t, "ambiguity/evil_last_name.json")), "application/json")
	genuine["signature"] = ottu.Sign(genuine, key)

	msg := ottu.CanonicalStandard(genuine)
	i := strings.Index(msg, "reference_numberZ")
	forged := ottu.Fields{
		"amount": "10.000", "currency_code": "KWD", "customer_last_name": "X", "order_no": "VICTIM-42",
		"reference_number": msg[i+len("reference_number") : strings.Index(msg, "resultsuccess")],
		"result":           "success", "state": "paid", "signature": genuine["signature"],
	}
	if _, err := ottu.Verify(forged, key); err != nil {
		t.Fatalf("the re-split body does not verify (%v): the test no longer shows the attack", err)
	}
	for name, f := range map[string]ottu.Fields{"the genuine body": genuine, "the forged body": forged} {
		if _, ambiguous := ottu.AmbiguousStandard(f); !ambiguous {
			t.Errorf("%s is not found ambiguous", name)
		}
	}
}
