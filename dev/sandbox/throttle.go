package sandbox

import (
	"fmt"
	"net/http"
	"time"
)

// InquiryLimits is Ottu's inquiry throttle (reference/ottu.md, Inquiry):
// no inquiry in a transaction's first FirstAfter, then at most one per
// Interval and PerTransaction in all, and PerMinute inquiry requests a
// minute overall. Zero fields take Ottu's documented values, so the zero
// value is Ottu's throttle; Off turns it off for tests about something
// else that inquire often on new transactions.
type InquiryLimits struct {
	Off            bool
	FirstAfter     time.Duration
	Interval       time.Duration
	PerTransaction int
	PerMinute      int
}

// Ottu's documented inquiry limits.
const (
	DefaultInquiryFirstAfter     = 10 * time.Minute
	DefaultInquiryInterval       = 30 * time.Minute
	DefaultInquiryPerTransaction = 3
	DefaultInquiryPerMinute      = 30
)

func (l InquiryLimits) withDefaults() InquiryLimits {
	if l.FirstAfter <= 0 {
		l.FirstAfter = DefaultInquiryFirstAfter
	}
	if l.Interval <= 0 {
		l.Interval = DefaultInquiryInterval
	}
	if l.PerTransaction <= 0 {
		l.PerTransaction = DefaultInquiryPerTransaction
	}
	if l.PerMinute <= 0 {
		l.PerMinute = DefaultInquiryPerMinute
	}
	return l
}

// throttleWindow is the span of the overall per-minute limit.
const throttleWindow = time.Minute

// refusal is an inquiry the throttle turns away. Ottu runs on Django REST
// framework, whose throttles answer 429 with "Request was throttled.
// Expected available in N seconds." and a Retry-After of N; the sandbox
// answers the same, so the client reads it as "throttled, nothing done".
// wait is zero when no wait helps (the transaction has had every inquiry
// it is allowed): then there is no Retry-After.
type refusal struct {
	wait time.Duration
	msg  string
}

func (r *refusal) answer() (int, any, time.Duration) {
	return http.StatusTooManyRequests, detailBody(r.msg), r.wait
}

// waitRefusal is DRF's message for a refusal that ends after d.
func waitRefusal(d time.Duration) *refusal {
	secs := retryAfterSeconds(d)
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	return &refusal{wait: time.Duration(secs) * time.Second, msg: fmt.Sprintf("Request was throttled. Expected available in %d %s.", secs, unit)}
}

// retryAfterSeconds rounds d up to whole seconds, never below 1.
func retryAfterSeconds(d time.Duration) int {
	secs := int((d + time.Second - 1) / time.Second)
	return max(secs, 1)
}

// admitInquiryLocked applies the overall per-minute limit to an inquiry
// request and counts it when it passes (as DRF counts every request its
// throttle lets through, whatever the view answers).
func (s *Server) admitInquiryLocked(now time.Time) *refusal {
	if s.limits.Off {
		return nil
	}
	keep := s.inquiryTimes[:0]
	for _, at := range s.inquiryTimes {
		if now.Sub(at) < throttleWindow {
			keep = append(keep, at)
		}
	}
	s.inquiryTimes = keep
	if len(keep) >= s.limits.PerMinute {
		return waitRefusal(keep[0].Add(throttleWindow).Sub(now))
	}
	s.inquiryTimes = append(s.inquiryTimes, now)
	return nil
}

// transactionRefusalLocked applies the per-transaction limits: not in the
// first FirstAfter after the transaction was created, one per Interval, at
// most PerTransaction. Only inquiries Ottu answered count.
func (s *Server) transactionRefusalLocked(t *txn, now time.Time) *refusal {
	if s.limits.Off {
		return nil
	}
	n := len(t.inquiredAt)
	if n >= s.limits.PerTransaction {
		return &refusal{msg: fmt.Sprintf("Request was throttled. A transaction may be inquired at most %d times, and this one has been inquired %d times.", s.limits.PerTransaction, n)}
	}
	if open := t.createdAt.Add(s.limits.FirstAfter); now.Before(open) {
		return waitRefusal(open.Sub(now))
	}
	if n > 0 {
		if next := t.inquiredAt[n-1].Add(s.limits.Interval); now.Before(next) {
			return waitRefusal(next.Sub(now))
		}
	}
	return nil
}
