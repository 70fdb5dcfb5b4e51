package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
)

func TestVerifyNotifications(t *testing.T) {
	notice := func(child string, codes []int, outcome string) sandbox.Callback {
		p, _ := json.Marshal(map[string]any{"operation": "refund", "amount": "1.000", "reference_number": "P", "txn": map[string]any{"reference_number": child}})
		return sandbox.Callback{Payload: p, StatusCodes: codes, Outcome: outcome}
	}
	disclosure := sandbox.Callback{Payload: json.RawMessage(`{"session_id":"s","operation":null,"state":"paid"}`), StatusCodes: []int{401}, Outcome: sandbox.OutcomeFailed}
	st := sandbox.Transaction{Children: []sandbox.Child{{ReferenceNumber: "C1"}, {ReferenceNumber: "C2"}}}
	cases := []struct {
		name      string
		callbacks []sandbox.Callback
		stored    []string
		want      []string // checks violated
	}{
		{"a notification delivered twice and stored once is fine",
			[]sandbox.Callback{notice("C1", []int{200}, sandbox.OutcomeDelivered), notice("C1", []int{200}, sandbox.OutcomeDelivered)}, []string{"C1"}, nil},
		{"a dropped notification is neither delivered nor stored", nil, nil, nil},
		{"a notification lost to a 503 is not a violation", []sandbox.Callback{notice("C2", []int{503}, sandbox.OutcomeFailed)}, nil, nil},
		{"a refused notification is a violation", []sandbox.Callback{notice("C1", []int{401}, sandbox.OutcomeFailed)}, nil, []string{checkNotifyAccept}},
		{"a notification stored twice is a violation", []sandbox.Callback{notice("C1", []int{200}, sandbox.OutcomeDelivered)}, []string{"C1", "C1"}, []string{checkNotifyOnce}},
		{"a delivered notification not stored is a violation", []sandbox.Callback{notice("C2", []int{200}, sandbox.OutcomeDelivered)}, nil, []string{checkNotifyOnce}},
		{"a stored notification of no child is a violation", nil, []string{"C9"}, []string{checkNotifyOnce}},
		{"a refused disclosure is not this check's business", []sandbox.Callback{disclosure}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := st
			s.Callbacks = tc.callbacks
			var got []string
			verifyNotifications(txnPlan{SessionID: "s"}, s, tc.stored, func(check, _, _, _ string, _ ...any) { got = append(got, check) })
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("violations %v, want %v", got, tc.want)
			}
		})
	}
}
