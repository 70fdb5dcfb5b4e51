package sandbox

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ottuops/ottu-lambda/shared/payment"
)

// Fault kinds.
const (
	// FaultLatency delays matching requests, then processes them even if the
	// client has gone.
	FaultLatency = "latency"
	// FaultError5xx answers matching requests with a 5xx and does nothing.
	FaultError5xx = "error_5xx"
	// FaultDropAfterCommit processes the request, then closes the connection
	// without answering: the outcome is unknown to the client.
	FaultDropAfterCommit = "drop_after_commit"
	// FaultDuplicateCallback delivers the next callbacks twice (Copies
	// times), one delivery after another, as Ottu may.
	FaultDuplicateCallback = "duplicate_callback"
	// FaultReorderCallbacks holds the next Count callbacks and delivers them
	// newest first once all have been produced.
	FaultReorderCallbacks = "reorder_callbacks"
	// FaultQueueRefund accepts the next refunds as queued; they settle later.
	FaultQueueRefund = "queue_refund"
	// FaultDropNotification sends no operation notification for the next
	// successful operations (Operation may name capture, refund or void).
	FaultDropNotification = "drop_notification"
)

// FaultKinds lists every fault kind.
var FaultKinds = []string{
	FaultLatency, FaultError5xx, FaultDropAfterCommit,
	FaultDuplicateCallback, FaultReorderCallbacks, FaultQueueRefund,
	FaultDropNotification,
}

// Settlement results for queued refunds.
const (
	SettleSuccess  = "success"
	SettleRejected = "rejected"
)

// Fault is a misbehaviour applied to the next Count matching Ottu requests
// (or callbacks, or refunds, by kind). Zero fields take their defaults.
type Fault struct {
	Kind string `json:"kind"`
	// Count defaults to 1 (2 for reorder_callbacks). In listings it is what
	// is left.
	Count int `json:"count,omitempty"`
	// Operation limits latency, error_5xx and drop_after_commit to one
	// operation or "inquiry"; empty matches every Ottu request.
	Operation string `json:"operation,omitempty"`
	// LatencyMS is the delay of a latency fault; default 2000.
	LatencyMS int `json:"latency_ms,omitempty"`
	// Status is the answer of an error_5xx fault; default 500.
	Status int `json:"status,omitempty"`
	// Settle is how a queued refund ends: "success" (default) or "rejected".
	Settle string `json:"settle,omitempty"`
	// SettleAfterMS is when a queued refund settles; default
	// Config.QueueSettleDelay.
	SettleAfterMS int `json:"settle_after_ms,omitempty"`
	// Copies is how often a duplicate_callback fault delivers each
	// callback; default 2, at most maxCopies.
	Copies int `json:"copies,omitempty"`
	// Held is output only: callbacks a reorder_callbacks fault holds.
	Held int `json:"held,omitempty"`
}

// activeFault is a pending fault; held groups are callbacks awaiting release.
type activeFault struct {
	Fault
	held [][]*delivery
}

const maxLatencyMS = 10 * 60 * 1000

// maxCopies bounds a duplicate_callback fault's deliveries per callback.
const maxCopies = 100

// normalize checks f and fills its defaults.
func (f Fault) normalize() (Fault, error) {
	bad := func(format string, a ...any) (Fault, error) {
		return Fault{}, invalidf(format, a...)
	}
	if !slices.Contains(FaultKinds, f.Kind) {
		return bad("fault kind %q is unknown: use one of %s", f.Kind, strings.Join(FaultKinds, ", "))
	}
	if f.Held != 0 {
		return bad("held is reported by the sandbox; leave it out")
	}
	if f.Count < 0 {
		return bad("count must be 1 or more (got %d)", f.Count)
	}
	if f.Count == 0 {
		f.Count = 1
		if f.Kind == FaultReorderCallbacks {
			f.Count = 2
		}
	}
	if f.Kind == FaultReorderCallbacks && f.Count < 2 {
		return bad("reorder_callbacks needs a count of at least 2: the callbacks it holds and reverses")
	}
	requestKind := f.Kind == FaultLatency || f.Kind == FaultError5xx || f.Kind == FaultDropAfterCommit
	switch {
	case f.Operation == "":
	case f.Kind == FaultQueueRefund && f.Operation == string(payment.Refund):
	case f.Kind == FaultDropNotification:
		if op, err := payment.ParseOperation(f.Operation); err != nil || !op.External() {
			return bad("a drop_notification fault's operation must be capture, refund or void (got %q)", f.Operation)
		}
	case !requestKind:
		return bad("operation cannot filter a %s fault; leave it out", f.Kind)
	default:
		if _, err := payment.ParseOperation(f.Operation); err != nil && f.Operation != "inquiry" {
			return bad("operation %q is unknown: use one of capture, refund, void, cancel, expire, delete or inquiry", f.Operation)
		}
	}
	if f.Kind != FaultDuplicateCallback && f.Copies != 0 {
		return bad("copies applies only to duplicate_callback faults")
	}
	if f.Kind == FaultDuplicateCallback {
		if f.Copies == 0 {
			f.Copies = 2
		}
		if f.Copies < 2 || f.Copies > maxCopies {
			return bad("copies must be between 2 and %d (got %d)", maxCopies, f.Copies)
		}
	}
	if f.Kind != FaultLatency && f.LatencyMS != 0 {
		return bad("latency_ms applies only to latency faults")
	}
	if f.Kind == FaultLatency {
		if f.LatencyMS < 0 || f.LatencyMS > maxLatencyMS {
			return bad("latency_ms must be between 1 and %d (got %d)", maxLatencyMS, f.LatencyMS)
		}
		if f.LatencyMS == 0 {
			f.LatencyMS = int(DefaultLatency.Milliseconds())
		}
	}
	if f.Kind != FaultError5xx && f.Status != 0 {
		return bad("status applies only to error_5xx faults")
	}
	if f.Kind == FaultError5xx {
		if f.Status == 0 {
			f.Status = http.StatusInternalServerError
		}
		if f.Status < 500 || f.Status > 599 {
			return bad("status must be a 5xx code between 500 and 599 (got %d)", f.Status)
		}
	}
	if f.Kind != FaultQueueRefund && (f.Settle != "" || f.SettleAfterMS != 0) {
		return bad("settle and settle_after_ms apply only to queue_refund faults")
	}
	if f.Kind == FaultQueueRefund {
		if f.Settle == "" {
			f.Settle = SettleSuccess
		}
		if f.Settle != SettleSuccess && f.Settle != SettleRejected {
			return bad("settle must be %q or %q (got %q)", SettleSuccess, SettleRejected, f.Settle)
		}
		if f.SettleAfterMS < 0 {
			return bad("settle_after_ms must not be negative (got %d)", f.SettleAfterMS)
		}
	}
	return f, nil
}

// AddFault turns on f for the next matching requests; the error says what
// is wrong with f (errors.Is ErrInvalid).
func (s *Server) AddFault(f Fault) error {
	_, err := s.addFault(f)
	return err
}

func (s *Server) addFault(f Fault) (Fault, error) {
	f, err := f.normalize()
	if err != nil {
		return Fault{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &activeFault{Fault: f})
	return f, nil
}

// Faults lists the pending faults, oldest first.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		cp := f.Fault
		cp.Held = len(f.held)
		out = append(out, cp)
	}
	return out
}

// ClearFaults removes every pending fault and reports how many there were.
// Callbacks a reorder fault was holding are delivered in their own order.
func (s *Server) ClearFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.faults)
	for _, f := range s.faults {
		if len(f.held) > 0 {
			s.releaseLocked(f.held)
		}
	}
	s.faults = nil
	return n
}

// takeFaultLocked uses up one count of the oldest fault of kind matching
// op and returns a copy of it.
func (s *Server) takeFaultLocked(kind, op string) (Fault, bool) {
	for i, f := range s.faults {
		if f.Kind != kind || (f.Operation != "" && f.Operation != op) {
			continue
		}
		taken := f.Fault
		f.Count--
		if f.Count <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		return taken, true
	}
	return Fault{}, false
}

// requestFaults are the faults one Ottu request met.
type requestFaults struct {
	latency time.Duration
	status  int
	drop    bool
}

func (s *Server) takeRequestFaults(op string) requestFaults {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rf requestFaults
	if f, ok := s.takeFaultLocked(FaultLatency, op); ok {
		rf.latency = time.Duration(f.LatencyMS) * time.Millisecond
	}
	if f, ok := s.takeFaultLocked(FaultError5xx, op); ok {
		rf.status = f.Status
		return rf
	}
	if _, ok := s.takeFaultLocked(FaultDropAfterCommit, op); ok {
		rf.drop = true
	}
	return rf
}

// applyFaults runs the faults due before processing. It reports whether
// to drop the connection after processing, and false once it has answered.
func (s *Server) applyFaults(w http.ResponseWriter, op string) (drop, proceed bool) {
	rf := s.takeRequestFaults(op)
	if rf.latency > 0 && !s.sleep(rf.latency) {
		writeJSON(w, http.StatusServiceUnavailable, detailBody("The sandbox is shutting down."))
		return false, false
	}
	if rf.status != 0 {
		writeJSON(w, rf.status, detailBody(fmt.Sprintf("Server Error (%d)", rf.status)))
		return false, false
	}
	return rf.drop, true
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter, info *reqInfo) {
	info.dropped = true
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2 and friends: net/http resets the stream
	}
	_ = conn.Close()
}
