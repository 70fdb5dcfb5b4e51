package ottu_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/ottuops/ottu-lambda/shared/ottu"
)

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *ottu.Error
		want string
	}{
		{name: "a kind alone reads as the kind", err: &ottu.Error{Kind: ottu.KindUnavailable}, want: "ottu: unavailable"},
		{name: "status and detail follow the kind", err: &ottu.Error{Kind: ottu.KindRejected, StatusCode: 400, Detail: "Operation is not allowed"},
			want: "ottu: rejected (HTTP 400): Operation is not allowed"},
		{name: "field errors are sorted by field", err: &ottu.Error{Kind: ottu.KindRejected, StatusCode: 400,
			FieldErrors: map[string][]string{"order_no": {"Required."}, "amount": {"Too many digits.", "Must be positive."}}},
			want: "ottu: rejected (HTTP 400): amount: Too many digits. Must be positive.; order_no: Required."},
		{name: "the transport error comes last", err: &ottu.Error{Kind: ottu.KindOutcomeUnknown, Detail: "no answer", Err: io.ErrUnexpectedEOF},
			want: "ottu: outcome_unknown: no answer: unexpected EOF"},
		{name: "an unknown kind is still readable", err: &ottu.Error{Kind: 42}, want: "ottu: kind(42)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorMatching(t *testing.T) {
	sentinels := map[ottu.Kind]error{
		ottu.KindInvalid: ottu.ErrInvalid, ottu.KindRejected: ottu.ErrRejected, ottu.KindNotFound: ottu.ErrNotFound,
		ottu.KindAuth: ottu.ErrAuth, ottu.KindUnavailable: ottu.ErrUnavailable, ottu.KindOutcomeUnknown: ottu.ErrOutcomeUnknown,
	}
	for kind := range sentinels {
		t.Run(fmt.Sprintf("a wrapped %s error matches its sentinel and no other", kind), func(t *testing.T) {
			err := fmt.Errorf("refund: %w", &ottu.Error{Kind: kind, StatusCode: 400, Detail: "x", Body: json.RawMessage(`{}`)})
			for k, s := range sentinels {
				if got := errors.Is(err, s); got != (k == kind) {
					t.Errorf("errors.Is(%s error, %s sentinel) = %v", kind, k, got)
				}
			}
			if ottu.KindOf(err) != kind {
				t.Errorf("KindOf = %v", ottu.KindOf(err))
			}
		})
	}
	t.Run("an error with details is not a sentinel for another error", func(t *testing.T) {
		a := &ottu.Error{Kind: ottu.KindRejected, Detail: "a"}
		b := &ottu.Error{Kind: ottu.KindRejected, Detail: "b"}
		if errors.Is(a, b) {
			t.Errorf("two detailed errors matched each other")
		}
	})
	t.Run("the transport error is reachable", func(t *testing.T) {
		err := &ottu.Error{Kind: ottu.KindUnavailable, Err: fmt.Errorf("dial: %w", io.EOF)}
		if !errors.Is(err, io.EOF) {
			t.Errorf("errors.Is(err, io.EOF) = false")
		}
	})
	t.Run("a foreign error has no kind", func(t *testing.T) {
		if k := ottu.KindOf(io.EOF); k != 0 {
			t.Errorf("KindOf(io.EOF) = %v", k)
		}
		if k := ottu.KindOf(nil); k != 0 {
			t.Errorf("KindOf(nil) = %v", k)
		}
	})
}

func TestKindNames(t *testing.T) {
	want := map[ottu.Kind]string{
		ottu.KindInvalid: "invalid", ottu.KindRejected: "rejected", ottu.KindNotFound: "not_found",
		ottu.KindAuth: "auth", ottu.KindUnavailable: "unavailable", ottu.KindOutcomeUnknown: "outcome_unknown", 0: "kind(0)",
	}
	for k, name := range want {
		t.Run("kind "+name+" has its name", func(t *testing.T) {
			if got := k.String(); got != name {
				t.Errorf("String() = %q", got)
			}
		})
	}
}
