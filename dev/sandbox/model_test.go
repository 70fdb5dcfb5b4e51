package sandbox

import (
	"slices"
	"testing"

	"github.com/shopspring/decimal"
)

func TestAmountsUseTheCurrencysDecimals(t *testing.T) {
	tests := []struct {
		name, amount, currency, want string
		fits                         bool
	}{
		{"dinars have three decimals", "2", "KWD", "2.000", true},
		{"Bahraini dinars have three decimals", "0.5", "BHD", "0.500", true},
		{"Omani rials have three decimals", "1.25", "OMR", "1.250", true},
		{"riyals have two decimals", "19", "SAR", "19.00", true},
		{"unknown currencies have two decimals", "1.1", "XYZ", "1.10", true},
		{"yen have none", "1500", "JPY", "1500", true},
		{"a third decimal does not fit dollars", "1.005", "USD", "1.01", false},
		{"a decimal does not fit yen", "1.5", "JPY", "2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := decimal.RequireFromString(tc.amount)
			if got := formatIn(d, tc.currency); got != tc.want {
				t.Fatalf("formatIn(%s, %s) = %s, want %s", tc.amount, tc.currency, got, tc.want)
			}
			if got := fitsCurrency(d, tc.currency); got != tc.fits {
				t.Fatalf("fitsCurrency(%s, %s) = %v, want %v", tc.amount, tc.currency, got, tc.fits)
			}
		})
	}
}

func TestInquiryResultPerState(t *testing.T) {
	want := map[string]string{
		"created": "pending", "pending": "pending", "attempted": "pending",
		"authorized": "success", "paid": "success", "refunded": "success",
		"failed": "failed", "canceled": "canceled", "expired": "canceled",
		"invalided": "error", "cod": "cod",
	}
	for _, state := range States {
		t.Run("a "+state+" transaction reports "+want[state], func(t *testing.T) {
			if got := inquiryResult(state); got != want[state] {
				t.Fatalf("inquiryResult(%s) = %s, want %s", state, got, want[state])
			}
		})
	}
}

func TestValidCurrency(t *testing.T) {
	for code, ok := range map[string]bool{"KWD": true, "USD": true, "kwd": false, "KW": false, "KWDD": false, "K1D": false, "": false} {
		if validCurrency(code) != ok {
			t.Errorf("validCurrency(%q) = %v, want %v", code, !ok, ok)
		}
	}
}

func TestPGCodesAreSortedAndComplete(t *testing.T) {
	want := []string{"benefit", "fss", "kpay", "mpgs", "myfatoorah", "ngenius", "ottu_pg", "payuindia", "qpay", "tabby"}
	if got := PGCodes(); !slices.Equal(got, want) {
		t.Fatalf("PGCodes() = %v, want %v", got, want)
	}
}

func TestJoinList(t *testing.T) {
	tests := map[string][]string{
		"":                                   nil,
		"paid":                               {"paid"},
		"paid or cod":                        {"paid", "cod"},
		"a, b or c":                          {"a", "b", "c"},
		"created, pending, attempted or cod": {"created", "pending", "attempted", "cod"},
	}
	for want, in := range tests {
		if got := joinList(in); got != want {
			t.Errorf("joinList(%v) = %q, want %q", in, got, want)
		}
	}
}
