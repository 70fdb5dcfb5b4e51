package apispec

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/ottuops/ottu-lambda/dev/sandbox"
	"github.com/ottuops/ottu-lambda/shared/ottu"
)

// liveCallback is a callback for session signed with the local stack's
// default webhook key, as the sandbox (standing in for Ottu) signs them.
func liveCallback(session, state string) ottu.Fields {
	f := ottu.Fields{"amount": "5.000", "currency_code": "KWD", "gateway_account": "kpay", "gateway_name": "KNET",
		"order_no": session + "-order", "reference_number": "REF-" + session, "result": "pending",
		"session_id": session, "state": state, "timestamp_utc": "2026-11-22 10:00:00"}
	f["signature"] = ottu.Sign(f, sandbox.DefaultWebhookKey)
	return f
}

func jsonOf(f ottu.Fields) string {
	b, err := json.Marshal(f)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func formOf(f ottu.Fields) string {
	v := url.Values{}
	for k, x := range f {
		v.Set(k, fmt.Sprint(x))
	}
	return v.Encode()
}

// webhookLiveCases are POST /webhooks/ottu's rows of the live table: Ottu's
// callbacks, not IAM-authorized, answered by the signature.
func webhookLiveCases() []liveCase {
	tampered := liveCallback("live-webhook-tampered", "pending")
	tampered["state"] = "paid"
	unsigned := liveCallback("live-webhook-unsigned", "paid")
	delete(unsigned, "signature")
	large := liveCallback("live-webhook-large", "paid")
	large["pad"] = strings.Repeat("x", 256<<10)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	ambiguous := liveCallback("live-webhook-ambiguous", "paid")
	delete(ambiguous, "signature")
	ambiguous["customer_last_name"] = "Xorder_noVICTIM-42reference_numberZ"
	ambiguous["signature"] = ottu.Sign(ambiguous, sandbox.DefaultWebhookKey)
	// The first callback re-posted under another bound session_id.
	refiled := liveCallback("live-webhook-1", "attempted")
	refiled["session_id"] = "live-webhook-form"
	return []liveCase{
		{name: "a signed callback is a 200 accepted", path: "/webhooks/ottu", body: jsonOf(liveCallback("live-webhook-1", "attempted")),
			status: 200, members: []string{"status"}},
		{name: "the same callback delivered again is a 200 duplicate", path: "/webhooks/ottu", body: jsonOf(liveCallback("live-webhook-1", "attempted")),
			status: 200, members: []string{"status"}},
		{name: "a signed form-encoded callback is a 200 accepted", path: "/webhooks/ottu", header: form,
			body: formOf(liveCallback("live-webhook-form", "paid")), status: 200, members: []string{"status"}},
		{name: "a tampered callback is a 401 invalid_signature", path: "/webhooks/ottu", body: jsonOf(tampered),
			spec: specSilent, status: 401, code: "invalid_signature"},
		{name: "an unsigned callback is a 401 invalid_signature", path: "/webhooks/ottu", body: jsonOf(unsigned),
			spec: specSilent, status: 401, code: "invalid_signature"},
		{name: "a callback over 256 KiB is a 413 body_too_large", path: "/webhooks/ottu", body: jsonOf(large),
			spec: specSilent, status: 413, code: "body_too_large"},
		{name: "a genuine callback re-posted under another session_id is a 200 conflict", path: "/webhooks/ottu", body: jsonOf(refiled),
			status: 200, members: []string{"status"}},
		{name: "a callback whose signed values re-split into another order_no is a 400 ambiguous_signature", path: "/webhooks/ottu", body: jsonOf(ambiguous),
			status: 400, code: "ambiguous_signature"},
		{name: "a body that is not a callback is a 400 invalid_callback", path: "/webhooks/ottu", body: `["live-webhook-list"]`,
			spec: specRejects, status: 400, code: "invalid_callback"},
	}
}
