package ottu_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ottuops/ottu-lambda/shared/ottu"
)

// Ottu's documented example: these three fields signed with this key.
const (
	exampleKey       = "pu9MpX3yPR"
	exampleSignature = "6143b8ad4bd283540721ab000f6de746e722231aaaa90bc38f639081d3ff9f67"
)

func parse(t testing.TB, body, contentType string) ottu.Fields {
	t.Helper()
	f, err := ottu.ParseCallback([]byte(body), contentType)
	if err != nil {
		t.Fatalf("ParseCallback(%q): %v", body, err)
	}
	return f
}

func TestOttuExampleSignature(t *testing.T) {
	f := parse(t, `{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer"}`, "application/json")
	if got := ottu.CanonicalStandard(f); got != "amount86.000currency_codeKWDcustomer_first_nameexample-customer" {
		t.Errorf("canonical %q", got)
	}
	if got := ottu.Sign(f, exampleKey); got != exampleSignature {
		t.Errorf("Sign = %s, want Ottu's %s", got, exampleSignature)
	}
	scheme, err := ottu.Verify(parse(t, string(fixture(t, "callback_example.json")), "application/json"), exampleKey)
	if err != nil || scheme != ottu.SchemeStandard {
		t.Fatalf("Verify = %q, %v", scheme, err)
	}
}

func TestVerify(t *testing.T) {
	const sig = `,"signature":"` + exampleSignature + `"}`
	tests := []struct {
		name        string
		body        string
		contentType string
		key         string
		want        error // nil: verifies with the standard scheme
	}{
		{name: "the example verifies", body: `{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer"` + sig},
		{name: "an uppercase hex signature verifies", body: `{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer","signature":"` + strings.ToUpper(exampleSignature) + `"}`},
		{name: "fields in another order verify", body: `{"customer_first_name":"example-customer","currency_code":"KWD","amount":"86.000"` + sig},
		{name: "null and empty signed fields are skipped", body: `{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer","customer_last_name":null,"customer_email":"","order_no":""` + sig},
		{name: "unsigned fields do not count", body: `{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer","remaining_amount":3.5,"transactions":[{"a":1}],"extra":{"x":"y"}` + sig},
		{name: "a JSON number keeps its text as sent", body: `{"amount":86.000,"currency_code":"KWD","customer_first_name":"example-customer"` + sig},
		{name: "a form-encoded body verifies", body: string(fixture(t, "callback_example.form")), contentType: "application/x-www-form-urlencoded; charset=UTF-8"},
		{name: "a changed amount fails", body: `{"amount":"86.001","currency_code":"KWD","customer_first_name":"example-customer"` + sig, want: ottu.ErrBadSignature},
		{name: "a number re-formatted by the sender fails", body: `{"amount":86,"currency_code":"KWD","customer_first_name":"example-customer"` + sig, want: ottu.ErrBadSignature},
		{name: "a number written as 86.0 fails", body: `{"amount":"86.0","currency_code":"KWD","customer_first_name":"example-customer"` + sig, want: ottu.ErrBadSignature},
		{name: "an added signed field fails", body: `{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer","state":"paid"` + sig, want: ottu.ErrBadSignature},
		{name: "a removed signed field fails", body: `{"amount":"86.000","currency_code":"KWD"` + sig, want: ottu.ErrBadSignature},
		{name: "a tampered form field fails", body: strings.Replace(string(fixture(t, "callback_example.form")), "KWD", "USD", 1), contentType: "application/x-www-form-urlencoded", want: ottu.ErrBadSignature},
		{name: "a wrong key fails", key: "pu9MpX3yPr", body: `{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer"` + sig, want: ottu.ErrBadSignature},
		{name: "an empty key is refused", key: "-", body: `{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer"` + sig, want: ottu.ErrNoKey},
		{name: "a missing signature is refused", body: `{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer"}`, want: ottu.ErrNoSignature},
		{name: "an empty signature is refused", body: `{"amount":"86.000","signature":""}`, want: ottu.ErrNoSignature},
		{name: "a numeric signature is refused", body: `{"amount":"86.000","signature":12}`, want: ottu.ErrNoSignature},
		{name: "a truncated signature fails", body: `{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer","signature":"` + exampleSignature[:63] + `"}`, want: ottu.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.key
			switch key {
			case "":
				key = exampleKey
			case "-":
				key = ""
			}
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			scheme, err := ottu.Verify(parse(t, tt.body, ct), key)
			if tt.want == nil {
				if err != nil || scheme != ottu.SchemeStandard {
					t.Fatalf("Verify = %q, %v; want standard", scheme, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || scheme != "" {
				t.Fatalf("Verify = %q, %v; want %v", scheme, err, tt.want)
			}
		})
	}
}

func TestSubscriptionScheme(t *testing.T) {
	const key = "subscription-key"
	body := fixture(t, "subscription_callback.json")
	f := parse(t, string(body), "application/json")
	want := strings.Join([]string{
		"agreement.id=agr-7781", "amount=12.500", "currency_code=KWD", "customer_first_name=example-customer",
		"extra.autopay.subscription_id=sub-42", "extra.merchant_id=m-9", "gateway_account=mpgs-autopay", "gateway_name=mpgs",
		"order_no=ORD-1001", "payment_type=auto_debit", "reference_number=ref123", "result=success", "session_id=5f1c0ad3",
		"state=paid", "token.customer_id=cust-1", "token.pg_code=mpgs", "token.token=tok-9f",
	}, "\n")
	if got := ottu.CanonicalSubscription(f); got != want {
		t.Errorf("canonical:\n%s\nwant:\n%s", got, want)
	}

	tests := []struct {
		name   string
		mutate func(ottu.Fields)
		want   error
	}{
		{name: "a subscription callback signed by the subscription scheme verifies as subscription", mutate: func(ottu.Fields) {}},
		{name: "a changed nested token fails", mutate: func(f ottu.Fields) { f["token"].(ottu.Fields)["token"] = "tok-other" }, want: ottu.ErrBadSignature},
		{name: "a changed deeply nested subscription id fails", mutate: func(f ottu.Fields) {
			f["extra"].(ottu.Fields)["autopay"].(ottu.Fields)["subscription_id"] = "sub-43"
		}, want: ottu.ErrBadSignature},
		{name: "a removed agreement fails", mutate: func(f ottu.Fields) { delete(f, "agreement") }, want: ottu.ErrBadSignature},
		{name: "a changed unsigned nested field still verifies", mutate: func(f ottu.Fields) { f["token"].(ottu.Fields)["brand"] = "MC" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := parse(t, string(body), "application/json")
			f["signature"] = ottu.SignSubscription(f, key)
			tt.mutate(f)
			scheme, err := ottu.Verify(f, key)
			if tt.want == nil {
				if err != nil || scheme != ottu.SchemeSubscription {
					t.Fatalf("Verify = %q, %v; want subscription", scheme, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %q, %v; want %v", scheme, err, tt.want)
			}
		})
	}
}

func TestParseCallback(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		contentType string
		wantErr     bool
	}{
		{name: "a JSON object is read", body: `{"amount":"1.000"}`, contentType: "application/json"},
		{name: "a form body is read", body: "amount=1.000&state=paid", contentType: "application/x-www-form-urlencoded"},
		{name: "a JSON list is refused", body: `[1,2]`, contentType: "application/json", wantErr: true},
		{name: "data after the object is refused", body: `{"a":1}{"b":2}`, contentType: "application/json", wantErr: true},
		{name: "a JSON null is refused", body: `null`, contentType: "application/json", wantErr: true},
		{name: "broken JSON is refused", body: `{"a":`, contentType: "", wantErr: true},
		{name: "a broken form is refused", body: "a=%zz", contentType: "application/x-www-form-urlencoded", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ottu.ParseCallback([]byte(tt.body), tt.contentType)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCallback = %v, %v", f, err)
			}
		})
	}
	t.Run("numbers keep their text", func(t *testing.T) {
		f := parse(t, `{"amount":86.000,"n":{"x":1e3}}`, "application/json")
		if f["amount"] != json.Number("86.000") || f["n"].(ottu.Fields)["x"] != json.Number("1e3") {
			t.Errorf("got %#v", f)
		}
	})
}

// FuzzCanonical: parsing never panics, signing is deterministic, and a
// signature made by Sign verifies until any signed field changes.
func FuzzCanonical(f *testing.F) {
	f.Add([]byte(`{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer"}`), "application/json", exampleKey, uint8(0))
	f.Add(fixture(f, "subscription_callback.json"), "application/json", "k", uint8(5))
	f.Add([]byte("amount=1&state=paid&result=success"), "application/x-www-form-urlencoded", "k", uint8(17))
	f.Add([]byte(`{"amount":null,"state":"","result":true,"order_no":[1],"gateway_name":{"a":"b"}}`), "application/json", "k", uint8(3))
	f.Add([]byte(`not json`), "", "k", uint8(1))
	fields := []string{
		"amount", "currency_code", "customer_address_city", "customer_address_country", "customer_address_line1",
		"customer_address_line2", "customer_address_postal_code", "customer_address_state", "customer_email",
		"customer_first_name", "customer_last_name", "customer_phone", "gateway_account", "gateway_name",
		"order_no", "reference_number", "result", "state",
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType, key string, which uint8) {
		fs, err := ottu.ParseCallback(body, contentType)
		if err != nil {
			return
		}
		sig := ottu.Sign(fs, key)
		if again := ottu.Sign(fs, key); again != sig {
			t.Fatalf("Sign is not deterministic: %s then %s", sig, again)
		}
		fs["signature"] = sig
		scheme, err := ottu.Verify(fs, key)
		if key == "" {
			if !errors.Is(err, ottu.ErrNoKey) {
				t.Fatalf("empty key: %v", err)
			}
			return
		}
		if err != nil || scheme != ottu.SchemeStandard {
			t.Fatalf("a fresh signature does not verify: %q, %v", scheme, err)
		}
		// Replacing a signed field's text with itself plus "x" always changes
		// the signed message's length, so the signature must stop matching.
		name := fields[int(which)%len(fields)]
		old, _ := fs[name].(string)
		if n, ok := fs[name].(json.Number); ok {
			old = n.String()
		}
		fs[name] = old + "x"
		if _, err := ottu.Verify(fs, key); !errors.Is(err, ottu.ErrBadSignature) {
			t.Fatalf("changing %s still verifies: %v", name, err)
		}
	})
}

// FuzzVerify: any body and signature is answered without a panic, and only
// with one of Verify's documented results.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`{"amount":"86.000","currency_code":"KWD","customer_first_name":"example-customer"}`), exampleSignature)
	f.Add(fixture(f, "subscription_callback.json"), "00")
	f.Add([]byte(`{"signature":{"nested":true}}`), "")
	f.Add([]byte("signature=abc&amount=1"), "ABC")
	f.Fuzz(func(t *testing.T, body []byte, signature string) {
		for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
			fs, err := ottu.ParseCallback(body, ct)
			if err != nil {
				continue
			}
			if signature != "" {
				fs["signature"] = signature
			}
			scheme, err := ottu.Verify(fs, exampleKey)
			switch {
			case err == nil && (scheme == ottu.SchemeStandard || scheme == ottu.SchemeSubscription):
			case errors.Is(err, ottu.ErrNoSignature), errors.Is(err, ottu.ErrBadSignature):
				if scheme != "" {
					t.Fatalf("scheme %q with error %v", scheme, err)
				}
			default:
				t.Fatalf("unexpected result %q, %v", scheme, err)
			}
		}
	})
}

// FuzzSubscriptionScheme: a signature made by the subscription scheme
// verifies (as subscription, or as standard when no field is signed and
// both messages are empty), and stops verifying when session_id — signed
// only by the subscription scheme — changes.
func FuzzSubscriptionScheme(f *testing.F) {
	f.Add(fixture(f, "subscription_callback.json"), "k")
	f.Add([]byte(`{"token":{"token":"t"},"agreement":{"id":1e2},"extra":{"autopay":[]}}`), "k")
	f.Add([]byte("session_id=a&payment_type=auto_debit"), "key")
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		if key == "" {
			return
		}
		for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
			fs, err := ottu.ParseCallback(body, ct)
			if err != nil {
				continue
			}
			fs["signature"] = ottu.SignSubscription(fs, key)
			same := ottu.CanonicalSubscription(fs) == ottu.CanonicalStandard(fs)
			scheme, err := ottu.Verify(fs, key)
			if err != nil || (scheme != ottu.SchemeSubscription && !same) {
				t.Fatalf("a fresh subscription signature does not verify: %q, %v", scheme, err)
			}
			if same {
				// Both messages empty: the standard one still matches
				// whatever session_id becomes, as it does not sign it.
				continue
			}
			old, _ := fs["session_id"].(string)
			fs["session_id"] = old + "x"
			if _, err := ottu.Verify(fs, key); !errors.Is(err, ottu.ErrBadSignature) {
				t.Fatalf("changing session_id still verifies: %v", err)
			}
		}
	})
}
