// Package sandbox is an in-memory Ottu: the Operations API (v2 and v1),
// inquiry with signed disclosure callbacks, Tracking-Key replay, and an
// admin API to create transactions and inject faults. It follows
// shared/reference/ottu.md so that local runs and tests meet Ottu's rules,
// not a stub that always says yes.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
)

// User is a Basic-authenticated Ottu user. Permissions are Ottu codes such
// as "payment.refund"; "*" grants all of them.
type User struct {
	Password    string
	Permissions []string
}

// Config configures a Server. Zero durations and counts take the defaults
// documented on each field.
type Config struct {
	// APIKey is accepted as "Authorization: Api-Key <key>" (superadmin, v2
	// only). Empty disables API-key authentication.
	APIKey string
	// WebhookKey signs disclosure payloads (ottu.Sign).
	WebhookKey string
	// OperationWebhookURL receives an operation notification for every
	// capture, refund and void that succeeded (Ottu's operations webhook
	// configuration); empty sends none.
	OperationWebhookURL string
	// Users are the Basic-authenticated users.
	Users map[string]User
	// Now is the clock for timestamps; default time.Now.
	Now func() time.Time
	// CallbackTimeout bounds each callback attempt; default 15s, like Ottu.
	CallbackTimeout time.Duration
	// CallbackRetries is how many times a timed-out callback is sent again;
	// default 3. Negative means none.
	CallbackRetries int
	// CallbackRetryDelay separates callback retries; default 5s.
	CallbackRetryDelay time.Duration
	// QueueSettleDelay is how long a queued refund waits before settling on
	// its own; default 2s.
	QueueSettleDelay time.Duration
	// Logger gets one JSON line per request; default JSON on stderr.
	Logger *slog.Logger
	// HTTPClient delivers callbacks; default a client without a global
	// timeout (CallbackTimeout bounds each attempt).
	HTTPClient *http.Client
	// InquiryLimits is Ottu's inquiry throttle; the zero value is Ottu's
	// documented limits.
	InquiryLimits InquiryLimits
}

// Defaults used when Config leaves a field zero.
const (
	DefaultCallbackTimeout    = 15 * time.Second
	DefaultCallbackRetries    = 3
	DefaultCallbackRetryDelay = 5 * time.Second
	DefaultQueueSettleDelay   = 2 * time.Second
	DefaultLatency            = 2 * time.Second

	maxBodyBytes = 1 << 20
)

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CallbackTimeout <= 0 {
		c.CallbackTimeout = DefaultCallbackTimeout
	}
	switch {
	case c.CallbackRetries == 0:
		c.CallbackRetries = DefaultCallbackRetries
	case c.CallbackRetries < 0:
		c.CallbackRetries = 0
	}
	if c.CallbackRetryDelay <= 0 {
		c.CallbackRetryDelay = DefaultCallbackRetryDelay
	}
	if c.QueueSettleDelay <= 0 {
		c.QueueSettleDelay = DefaultQueueSettleDelay
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	c.InquiryLimits = c.InquiryLimits.withDefaults()
	return c
}

// Server is the sandbox. All state sits behind one mutex that is never held
// across sleeps or network I/O.
type Server struct {
	cfg   Config
	users map[string]authUser

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	bySession map[string]*txn
	byOrder   map[string]*txn
	keys      map[string]*child // Tracking-Key → the child it made
	faults    []*activeFault
	limits    InquiryLimits
	// inquiryTimes are the inquiry requests of the last minute, for the
	// overall per-minute limit.
	inquiryTimes []time.Time
}

// New builds a Server from cfg.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:       cfg,
		users:     make(map[string]authUser, len(cfg.Users)),
		ctx:       ctx,
		cancel:    cancel,
		bySession: map[string]*txn{},
		byOrder:   map[string]*txn{},
		keys:      map[string]*child{},
		limits:    cfg.InquiryLimits,
	}
	for name, u := range cfg.Users {
		s.users[name] = newAuthUser(u)
	}
	return s
}

// Close stops queued settlements and callback deliveries and waits for
// them. Requests after Close answer 503.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// goLocked runs fn in a goroutine that Close waits for. Callers hold s.mu,
// which orders it before Close's Wait.
func (s *Server) goLocked(fn func()) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// sleep waits d or until Close; false means the server closed.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *Server) now() time.Time { return s.cfg.Now().UTC() }

// Handler serves Ottu's API under /b/pbl/ and the admin API under /sandbox/.
func (s *Server) Handler() http.Handler {
	return s.logRequests(http.HandlerFunc(s.route))
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if s.ctx.Err() != nil {
		writeJSON(w, http.StatusServiceUnavailable, detailBody("The sandbox is shutting down."))
		return
	}
	p := r.URL.EscapedPath()
	switch {
	case p == "/b/pbl/v2/operation" || p == "/b/pbl/v2/operation/":
		s.serveOperation(w, r, 2, "")
	case p == "/b/pbl/v2/inquiry" || p == "/b/pbl/v2/inquiry/":
		s.serveInquiry(w, r, 2, "")
	case strings.HasPrefix(p, "/b/pbl/v1/operation/"):
		if id, ok := pathID(p, "/b/pbl/v1/operation/"); ok {
			s.serveOperation(w, r, 1, id)
			return
		}
		notFound(w)
	case strings.HasPrefix(p, "/b/pbl/v1/inquiry/"):
		if id, ok := pathID(p, "/b/pbl/v1/inquiry/"); ok {
			s.serveInquiry(w, r, 1, id)
			return
		}
		notFound(w)
	case strings.HasPrefix(p, "/sandbox/"):
		s.serveAdmin(w, r, p)
	default:
		notFound(w)
	}
}

// pathID reads the one segment after prefix (a trailing slash allowed).
func pathID(escaped, prefix string) (string, bool) {
	seg := strings.TrimSuffix(strings.TrimPrefix(escaped, prefix), "/")
	if seg == "" || strings.Contains(seg, "/") {
		return "", false
	}
	id, err := url.PathUnescape(seg)
	if err != nil || id == "" {
		return "", false
	}
	return id, true
}

// reqInfo collects what the request log line reports; handlers fill it.
type reqInfo struct {
	operation   string
	sessionID   string
	orderNo     string
	trackingKey string
	replayed    bool
	dropped     bool
}

type infoKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	if i, ok := ctx.Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

// statusWriter remembers the status for the log line; Unwrap lets
// http.ResponseController reach Hijack.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one JSON line per request. It never reads the
// Authorization header, so no credential reaches the log.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &reqInfo{}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			err, _ := v.(error)
			abort := errors.Is(err, http.ErrAbortHandler)
			if v != nil && !abort {
				s.cfg.Logger.Error("handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				if sw.status == 0 {
					writeJSON(sw, http.StatusInternalServerError, detailBody("Server Error (500)"))
				}
			}
			if abort {
				info.dropped = true
			}
			attrs := []any{
				"method", r.Method,
				"path", r.URL.Path,
				"status", sw.status,
				"duration_ms", float64(time.Since(start).Microseconds()) / 1000,
			}
			for _, kv := range [][2]string{
				{"operation", info.operation}, {"session_id", info.sessionID},
				{"order_no", info.orderNo}, {"tracking_key", info.trackingKey},
			} {
				if kv[1] != "" {
					attrs = append(attrs, kv[0], kv[1])
				}
			}
			if info.replayed {
				attrs = append(attrs, "replayed", true)
			}
			if info.dropped {
				attrs = append(attrs, "dropped", true)
			}
			s.cfg.Logger.Info("request", attrs...)
			if abort {
				panic(v) // let net/http drop the connection quietly
			}
		}()
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	})
}

// writeJSON answers v as JSON; v may be raw bytes already encoded.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	switch b := v.(type) {
	case json.RawMessage:
		body = b
	default:
		var err error
		body, err = json.Marshal(v)
		if err != nil {
			status = http.StatusInternalServerError
			body = []byte(`{"detail":"Server Error (500)"}`)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body) //nolint:gosec // G705: JSON from json.Marshal with nosniff, never HTML

}

func detailBody(msg string) map[string]string { return map[string]string{"detail": msg} }

// failedBody is Ottu's shape for a refused request: detail and result.
func failedBody(msg string) map[string]string {
	return map[string]string{"detail": msg, "result": ottu.ResultFailed}
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, detailBody("Not found."))
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow ...string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, detailBody(fmt.Sprintf("Method %q not allowed.", r.Method)))
}

// readBody reads at most maxBodyBytes; ok is false once it has answered.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, detailBody("Request body is larger than 1 MiB; send a smaller JSON object."))
			return nil, false
		}
		writeJSON(w, http.StatusBadRequest, detailBody("The request body could not be read: "+err.Error()))
		return nil, false
	}
	return body, true
}

// randomHex returns n random bytes as lowercase hex (session ids are 40).
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// referenceNumber makes an Ottu-looking reference such as "sandbox4RKKRQ".
func referenceNumber() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "sandbox" + string(b)
}
