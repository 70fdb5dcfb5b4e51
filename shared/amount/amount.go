// Package amount parses and formats money amounts the way Ottu accepts them:
// decimal strings matching ^-?\d{0,13}(?:\.\d{0,3})?$, never through a float.
package amount

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/shopspring/decimal"
)

// ottuPattern is Ottu's own validation pattern for amounts.
var ottuPattern = regexp.MustCompile(`^-?\d{0,13}(?:\.\d{0,3})?$`)

// Errors returned by Parse; match them with errors.Is.
var (
	ErrEmpty       = errors.New("amount is empty")
	ErrFormat      = errors.New("amount is not a decimal number with at most 13 digits before the point and 3 after it")
	ErrNotPositive = errors.New("amount must be greater than zero")
	ErrNotString   = errors.New("amount must be a decimal string such as \"2.500\" or a JSON number")
)

// Parse reads a decimal string in Ottu's format and requires it to be
// greater than zero. The returned decimal keeps the exact value sent.
func Parse(s string) (decimal.Decimal, error) {
	d, err := ParseSigned(s)
	if err != nil {
		return decimal.Decimal{}, err
	}
	if !d.IsPositive() {
		return decimal.Decimal{}, fmt.Errorf("%w: got %q", ErrNotPositive, s)
	}
	return d, nil
}

// ParseSigned reads a decimal string in Ottu's format, allowing zero and
// negative values (Ottu's pattern allows a sign; callers decide what counts).
func ParseSigned(s string) (decimal.Decimal, error) {
	if s == "" {
		return decimal.Decimal{}, ErrEmpty
	}
	if len(s) > 20 || !ottuPattern.MatchString(s) {
		return decimal.Decimal{}, fmt.Errorf("%w: got %q", ErrFormat, truncate(s))
	}
	// The pattern admits "-", "." and "-." which have no digits at all.
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	if digits == 0 {
		return decimal.Decimal{}, fmt.Errorf("%w: got %q", ErrFormat, s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("%w: got %q", ErrFormat, s)
	}
	return d, nil
}

// ParseJSON reads an amount given in JSON either as a string ("2.500") or as
// a number (2.5). Numbers are read from their literal text, never as float64.
// A JSON null or an absent value yields ok=false and no error.
func ParseJSON(raw json.RawMessage) (d decimal.Decimal, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return decimal.Decimal{}, false, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return decimal.Decimal{}, false, ErrNotString
		}
		d, err := Parse(s)
		return d, err == nil, err
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		// JSON allows exponents ("1e3"); Ottu's pattern does not, so the
		// literal text must itself match the pattern.
		d, err := Parse(string(raw))
		return d, err == nil, err
	default:
		return decimal.Decimal{}, false, ErrNotString
	}
}

// Format writes d as Ottu expects it: a plain decimal string with no
// exponent, keeping the scale it was written with ("2.500" stays "2.500").
func Format(d decimal.Decimal) string {
	if exp := d.Exponent(); exp < 0 {
		return d.StringFixed(-exp)
	}
	return d.StringFixed(0)
}

// FormatPlaces writes d with exactly places digits after the point, as Ottu
// shows amounts in a currency (3 for KWD, 2 for SAR).
func FormatPlaces(d decimal.Decimal, places int32) string {
	return d.StringFixed(places)
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
