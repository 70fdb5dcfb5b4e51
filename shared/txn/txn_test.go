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
		{"a later Ottu timestamp is newer", Entry{OttuTimestamp: t0, State: "attempted"}, Entry{OttuTimestamp: t0.Add(time.Second), State: "pending"}},
		{"a later final state is newer than an earlier final one", Entry{OttuTimestamp: t0, State: "paid"}, Entry{OttuTimestamp: t0.Add(time.Second), State: "refunded"}},
		{"a final state is never replaced by a later non-final one",
			Entry{OttuTimestamp: t0.Add(time.Hour), ReceivedAt: t0.Add(time.Hour), State: "attempted", Source: SourceDisclosure}, Entry{OttuTimestamp: t0, ReceivedAt: t0, State: "paid", Source: SourceDisclosure}},
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
	t.Run("a timestamp even a minute ahead of arrival is not believed", func(t *testing.T) {
		// An old attempted callback replayed with timestamp_utc set a
		// little ahead must not outrank a pending one that arrived since.
		replayed := Entry{OttuTimestamp: t0.Add(4 * time.Minute), ReceivedAt: t0, State: "attempted", Source: SourceDisclosure}
		newer := Entry{OttuTimestamp: t0.Add(time.Minute), ReceivedAt: t0.Add(time.Minute), State: "pending", Source: SourceDisclosure}
		if OrderKey(replayed) >= OrderKey(newer) {
			t.Fatalf("a timestamp 4 minutes ahead of arrival %s outranks a later real one %s", OrderKey(replayed), OrderKey(newer))
		}
	})
	t.Run("a key of the earlier format is replaced by any new one", func(t *testing.T) {
		old := "00000001796000000000#3"
		if k := OrderKey(Entry{ReceivedAt: t0, State: "pending"}); k <= old {
			t.Fatalf("new key %s does not sort after old-format key %s", k, old)
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
