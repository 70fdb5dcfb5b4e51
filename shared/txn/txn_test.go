package txn

import (
	"testing"
	"time"
)

func TestOrderKey(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		older, newer Entry
	}{
		{"a later Ottu timestamp is newer", Entry{OttuTimestamp: t0, State: "paid"}, Entry{OttuTimestamp: t0.Add(time.Second), State: "pending"}},
		{"at the same timestamp a final state is newer", Entry{OttuTimestamp: t0, State: "attempted"}, Entry{OttuTimestamp: t0, State: "paid"}},
		{"without Ottu's timestamp the time received counts", Entry{ReceivedAt: t0, State: "pending"}, Entry{ReceivedAt: t0.Add(time.Millisecond), State: "pending"}},
		{"years apart still compare as text", Entry{OttuTimestamp: time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC)}, Entry{OttuTimestamp: t0}},
		{"at the same timestamp and state a disclosure is newer than the inquiry answer it repeats",
			Entry{OttuTimestamp: t0, State: "attempted", Source: SourceInquiry}, Entry{OttuTimestamp: t0, State: "attempted", Source: SourceDisclosure}},
		{"a final state still outranks a disclosure of a non-final one",
			Entry{OttuTimestamp: t0, State: "attempted", Source: SourceDisclosure}, Entry{OttuTimestamp: t0, State: "paid", Source: SourceInquiry}},
	}
	t.Run("a timestamp from the future is not believed over the time received", func(t *testing.T) {
		forged := Entry{OttuTimestamp: t0.Add(24 * time.Hour), ReceivedAt: t0, State: "pending", Source: SourceDisclosure}
		later := Entry{OttuTimestamp: t0.Add(time.Minute), ReceivedAt: t0.Add(time.Minute), State: "paid", Source: SourceDisclosure}
		if OrderKey(forged) >= OrderKey(later) {
			t.Fatalf("a forged future timestamp %s outranks a later real one %s", OrderKey(forged), OrderKey(later))
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if OrderKey(tt.older) >= OrderKey(tt.newer) {
				t.Fatalf("%s is not below %s", OrderKey(tt.older), OrderKey(tt.newer))
			}
		})
	}
}
