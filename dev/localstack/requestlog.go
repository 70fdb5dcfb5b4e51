package localstack

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// requestLog writes one compact line per request the API port serves:
//
//	12:04:05 POST /operations/refund 201 23ms
//	12:04:06 invoke RefundFunction 200 12ms function error
//
// so a terminal shows the traffic while the functions' own logs go to a
// file.
type requestLog struct {
	next http.Handler
	mu   sync.Mutex
	w    io.Writer
	now  func() time.Time
}

func newRequestLog(next http.Handler, w io.Writer) http.Handler {
	if w == nil {
		return next
	}
	return &requestLog{next: next, w: w, now: time.Now}
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := l.now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	l.next.ServeHTTP(rec, r)
	what := r.Method + " " + r.URL.Path
	if name, ok := invokedFunction(r.URL.Path); ok {
		what = "invoke " + name
	}
	note := ""
	if rec.Header().Get("X-Amz-Function-Error") != "" {
		note = " function error"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, "%s %s %d %dms%s\n", start.Format("15:04:05"), what, rec.status, l.now().Sub(start).Milliseconds(), note)
}

// invokedFunction is the function name of an Invoke API path.
func invokedFunction(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/2015-03-31/functions/")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, "/invocations")
	if !ok {
		return "", false
	}
	fn, _ := functionName(unescape(name))
	return fn, true
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
