package ottu

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
)

// standardFields are the top-level fields Ottu signs on payment callbacks.
var standardFields = []string{
	"amount", "currency_code",
	"customer_address_city", "customer_address_country", "customer_address_line1",
	"customer_address_line2", "customer_address_postal_code", "customer_address_state",
	"customer_email", "customer_first_name", "customer_last_name", "customer_phone",
	"gateway_account", "gateway_name", "order_no", "reference_number", "result", "state",
}

// subscriptionExtra are the paths the subscription (autopay) scheme signs on
// top of the standard fields; a dot walks into a nested object.
var subscriptionExtra = []string{
	"agreement.id", "extra.autopay.subscription_id", "extra.merchant_id",
	"payment_type", "session_id", "token.customer_id", "token.pg_code", "token.token",
}

func init() {
	slices.Sort(standardFields)
}

// Scheme names which of Ottu's two signature schemes matched.
type Scheme string

// The two signature schemes Ottu uses on callbacks.
const (
	SchemeStandard     Scheme = "standard"
	SchemeSubscription Scheme = "subscription"
)

// Fields is a decoded callback body. Values are strings, json.Number (the
// number's text exactly as sent), bool, nil, or nested Fields / []any.
type Fields map[string]any

// ParseCallback decodes a callback body, JSON or form-encoded, keeping every
// number's text as sent.
func ParseCallback(body []byte, contentType string) (Fields, error) {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "application/x-www-form-urlencoded") {
		values, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errors.New("the form body could not be read: " + err.Error())
		}
		f := make(Fields, len(values))
		for k, v := range values {
			if len(v) > 0 {
				f[k] = v[0]
			}
		}
		return f, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errors.New("the body is not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("the body has data after the JSON object")
	}
	return normalize(m).(Fields), nil
}

func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		f := make(Fields, len(t))
		for k, x := range t {
			f[k] = normalize(x)
		}
		return f
	case []any:
		for i := range t {
			t[i] = normalize(t[i])
		}
		return t
	}
	return v
}

// lookup walks a dotted path through nested objects.
func (f Fields) lookup(path string) (any, bool) {
	var cur any = f
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(Fields)
		if !ok {
			return nil, false
		}
		cur, ok = m[part]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// text renders a scalar exactly as sent; ok is false for values Ottu leaves
// out of the signature (absent, null, empty string, objects, arrays).
func text(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, t != ""
	case json.Number:
		return t.String(), true
	case bool:
		if t {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// CanonicalStandard is the message of the standard scheme: the signed
// fields present and non-empty, sorted by name, written name+value with no
// separator.
func CanonicalStandard(f Fields) string {
	var b strings.Builder
	for _, name := range standardFields {
		if s, ok := text(f[name]); ok {
			b.WriteString(name)
			b.WriteString(s)
		}
	}
	return b.String()
}

// CanonicalSubscription is the message of the subscription scheme: the
// standard fields and the subscription paths present and non-empty, sorted,
// written path=value, joined with newlines.
func CanonicalSubscription(f Fields) string {
	paths := append(slices.Clone(standardFields), subscriptionExtra...)
	slices.Sort(paths)
	lines := make([]string, 0, len(paths))
	for _, p := range paths {
		v, ok := f.lookup(p)
		if !ok {
			continue
		}
		if s, ok := text(v); ok {
			lines = append(lines, p+"="+s)
		}
	}
	return strings.Join(lines, "\n")
}

// HMAC returns the lowercase hex HMAC-SHA256 of message under key.
func HMAC(message, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(message))
	return hex.EncodeToString(m.Sum(nil))
}

// Sign computes the standard-scheme signature of a callback.
func Sign(f Fields, key string) string { return HMAC(CanonicalStandard(f), key) }

// SignSubscription computes the subscription-scheme signature of a callback.
func SignSubscription(f Fields, key string) string { return HMAC(CanonicalSubscription(f), key) }

// ErrNoSignature and ErrBadSignature are returned by Verify.
var (
	ErrNoSignature  = errors.New("the callback has no signature field")
	ErrBadSignature = errors.New("the callback's signature does not match the webhook key")
	ErrNoKey        = errors.New("no webhook key is configured")
)

// Verify checks the body's "signature" field against the standard scheme,
// then the subscription scheme, in constant time, and says which matched.
func Verify(f Fields, key string) (Scheme, error) {
	if key == "" {
		return "", ErrNoKey
	}
	sig, _ := f["signature"].(string)
	if sig == "" {
		return "", ErrNoSignature
	}
	got := []byte(strings.ToLower(sig))
	if hmac.Equal(got, []byte(Sign(f, key))) {
		return SchemeStandard, nil
	}
	if hmac.Equal(got, []byte(SignSubscription(f, key))) {
		return SchemeSubscription, nil
	}
	return "", ErrBadSignature
}
