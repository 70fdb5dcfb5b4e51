package amount

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		err  error
	}{
		{"a three-place amount is kept exactly", "2.500", "2.5", nil},
		{"a whole amount needs no point", "10", "10", nil},
		{"a leading point is a number", ".5", "0.5", nil},
		{"thirteen integer digits are allowed", "1234567890123.123", "1234567890123.123", nil},
		{"fourteen integer digits are refused", "12345678901234", "", ErrFormat},
		{"four decimal places are refused", "1.0001", "", ErrFormat},
		{"an exponent is refused", "1e3", "", ErrFormat},
		{"a plus sign is refused", "+1", "", ErrFormat},
		{"spaces are refused", " 1", "", ErrFormat},
		{"a bare point is refused", ".", "", ErrFormat},
		{"a bare minus is refused", "-", "", ErrFormat},
		{"an empty string is refused", "", "", ErrEmpty},
		{"zero is refused", "0.000", "", ErrNotPositive},
		{"a negative amount is refused", "-1.000", "", ErrNotPositive},
		{"a comma is refused", "1,5", "", ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if tt.err == nil && got.String() != tt.want {
				t.Fatalf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
		err    error
	}{
		{"a string amount is read", `"2.500"`, "2.5", true, nil},
		{"a number is read from its text, not a float", `0.1`, "0.1", true, nil},
		{"a long number keeps every digit", `1234567890123.123`, "1234567890123.123", true, nil},
		{"null means no amount", `null`, "", false, nil},
		{"absence means no amount", ``, "", false, nil},
		{"a number with an exponent is refused", `1e2`, "", false, ErrFormat},
		{"a boolean is refused", `true`, "", false, ErrNotString},
		{"an object is refused", `{}`, "", false, ErrNotString},
		{"a negative number is refused", `-2`, "", false, ErrNotPositive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ParseJSON(json.RawMessage(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseJSON(%s) error = %v, want %v", tt.in, err, tt.err)
			}
			if ok != tt.wantOK {
				t.Fatalf("ParseJSON(%s) ok = %v, want %v", tt.in, ok, tt.wantOK)
			}
			if ok && got.String() != tt.want {
				t.Fatalf("ParseJSON(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatPlaces(t *testing.T) {
	d := decimal.RequireFromString("2.5")
	if got := FormatPlaces(d, 3); got != "2.500" {
		t.Fatalf("FormatPlaces(2.5, 3) = %q, want 2.500", got)
	}
	for in, want := range map[string]string{"86.000": "86.000", "2.5": "2.5", "10": "10", ".5": "0.5"} {
		if got := Format(decimal.RequireFromString(in)); got != want {
			t.Fatalf("Format(%s) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse checks that Parse never panics, that whatever it accepts matches
// Ottu's pattern and is positive, and that formatting round-trips the value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2.500", "0", "-1", ".5", "1.", "1e3", "9999999999999.999", "", "-.", "١٢"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		if !ottuPattern.MatchString(s) {
			t.Fatalf("Parse accepted %q, which does not match Ottu's pattern", s)
		}
		if !d.IsPositive() {
			t.Fatalf("Parse accepted non-positive %q", s)
		}
		back, err := Parse(Format(d))
		if err != nil || !back.Equal(d) {
			t.Fatalf("Format(%q) = %q does not parse back to the same value: %v", s, Format(d), err)
		}
	})
}

// FuzzParseJSON checks that no JSON input panics and accepted values are positive.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`"2.500"`, `2.5`, `null`, `1e400`, `"\u0031"`, `[`, `-0`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok, err := ParseJSON(json.RawMessage(s))
		if ok && (err != nil || !d.IsPositive()) {
			t.Fatalf("ParseJSON(%q) = %s, %v, %v", s, d, ok, err)
		}
	})
}
