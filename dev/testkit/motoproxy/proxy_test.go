package motoproxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ottuops/ottu-lambda/dev/testkit"
	"github.com/ottuops/ottu-lambda/dev/testkit/motoproxy"
)

// overlapWait bounds how long the fake moto waits for requests that should
// overlap: a bound on a broken proxy, never reached by a working one.
const overlapWait = 20 * time.Second

// fakeMoto stands in for moto_server and records what reaches it.
type fakeMoto struct {
	// together, when positive, makes each request wait until that many are
	// inside at once, proving they were forwarded concurrently.
	together int

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	arrivals    []time.Time
	all         chan struct{}
}

func (f *fakeMoto) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.arrivals = append(f.arrivals, time.Now())
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	if f.together > 0 && f.inFlight == f.together {
		close(f.all)
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if f.together > 0 {
		select {
		case <-f.all:
		case <-time.After(overlapWait):
			http.Error(w, "the other requests never arrived while this one was in flight", http.StatusInternalServerError)
			return
		}
	} else {
		// Widens the window a broken proxy would let a second request into.
		time.Sleep(5 * time.Millisecond)
	}
	_, _ = io.WriteString(w, "{}")
}

func (f *fakeMoto) stats() (maxInFlight int, arrivals []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInFlight, append([]time.Time(nil), f.arrivals...)
}

// start serves a proxy to f and returns the proxy and its base URL.
func start(t *testing.T, f *fakeMoto) (*motoproxy.Proxy, string) {
	t.Helper()
	f.all = make(chan struct{})
	moto := httptest.NewServer(f)
	t.Cleanup(moto.Close)
	p, err := motoproxy.New(moto.URL)
	if err != nil {
		t.Fatalf("New(%s): %v", moto.URL, err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

// send posts an AWS-style request with the given X-Amz-Target ("" for
// none) and returns the response status.
func send(ctx context.Context, base, path, target string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader("{}"))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("send %s %s: %w", path, target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// sendAll sends every target at once and returns an error unless each
// answers 200.
func sendAll(base, path string, targets []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*overlapWait)
	defer cancel()
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, target := range targets {
		wg.Go(func() {
			status, err := send(ctx, base, path, target)
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("%s %s answered %d", path, target, status)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// mustSendAll is sendAll for the test goroutine.
func mustSendAll(t *testing.T, base, path string, targets []string) {
	t.Helper()
	if err := sendAll(base, path, targets); err != nil {
		t.Fatal(err)
	}
}

// sendAllHeld starts sendAll in the background, for requests a pause
// holds; the returned func waits for them, resuming the proxy first so
// that a failing test never leaves them behind.
func sendAllHeld(t *testing.T, p *motoproxy.Proxy, base string, targets []string) (wait func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- sendAll(base, "/", targets) }()
	var once sync.Once
	wait = func() {
		once.Do(func() {
			p.Resume()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(wait)
	return wait
}

// repeat returns n targets cycling through targets.
func repeat(n int, targets ...string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = targets[i%len(targets)]
	}
	return out
}

func TestProxySerialisesDynamoDBOnly(t *testing.T) {
	const n = 12
	cases := []struct {
		name    string
		path    string
		targets []string
		// wantTogether: the requests must reach moto at the same time;
		// otherwise never more than one at a time.
		wantTogether bool
	}{
		{
			name:    "concurrent UpdateItem calls reach moto one at a time",
			path:    "/",
			targets: repeat(n, "DynamoDB_20120810.UpdateItem"),
		},
		{
			name: "concurrent DynamoDB reads and writes of every kind reach moto one at a time",
			path: "/",
			targets: repeat(n, "DynamoDB_20120810.PutItem", "DynamoDB_20120810.DeleteItem", "DynamoDB_20120810.TransactWriteItems",
				"DynamoDB_20120810.BatchWriteItem", "DynamoDB_20120810.GetItem", "DynamoDB_20120810.Query"),
		},
		{
			name:         "concurrent Secrets Manager calls reach moto together",
			path:         "/",
			targets:      repeat(n, "secretsmanager.GetSecretValue"),
			wantTogether: true,
		},
		{
			name:         "concurrent Step Functions calls reach moto together",
			path:         "/",
			targets:      repeat(n, "AWSStepFunctions.StartExecution"),
			wantTogether: true,
		},
		{
			name:         "concurrent DynamoDB Streams calls reach moto together, being no table writes",
			path:         "/",
			targets:      repeat(n, "DynamoDBStreams_20120810.GetRecords"),
			wantTogether: true,
		},
		{
			name:         "concurrent moto-api requests reach moto together",
			path:         "/moto-api/reset",
			targets:      repeat(n, ""),
			wantTogether: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeMoto{}
			if tc.wantTogether {
				f.together = len(tc.targets)
			}
			_, base := start(t, f)
			mustSendAll(t, base, tc.path, tc.targets)
			maxInFlight, arrivals := f.stats()
			if len(arrivals) != len(tc.targets) {
				t.Fatalf("%d requests reached moto, want %d", len(arrivals), len(tc.targets))
			}
			if tc.wantTogether && maxInFlight != len(tc.targets) {
				t.Errorf("at most %d requests were at moto at once, want all %d", maxInFlight, len(tc.targets))
			}
			if !tc.wantTogether && maxInFlight != 1 {
				t.Errorf("%d DynamoDB requests were at moto at once, want 1", maxInFlight)
			}
		})
	}
}

func TestProxyForwardsRequestsUnchanged(t *testing.T) {
	var got struct {
		method, uri, host, target, body string
	}
	moto := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.uri, got.host, got.target, got.body = r.Method, r.RequestURI, r.Host, r.Header.Get("X-Amz-Target"), string(b)
		w.Header().Set("X-Amzn-Requestid", "req-1")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, `{"answer":true}`)
	}))
	defer moto.Close()
	p, err := motoproxy.New(moto.URL)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()

	req, err := http.NewRequest(http.MethodPost, srv.URL+"/some/path?x=1", strings.NewReader(`{"TableName":"t"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.PutItem")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("send through the proxy: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)

	checks := []struct{ what, got, want string }{
		{"the method moto saw", got.method, http.MethodPost},
		{"the path and query moto saw", got.uri, "/some/path?x=1"},
		{"the Host moto saw (the proxy's, so URLs moto builds point at the proxy)", got.host, strings.TrimPrefix(srv.URL, "http://")},
		{"the X-Amz-Target moto saw", got.target, "DynamoDB_20120810.PutItem"},
		{"the body moto saw", got.body, `{"TableName":"t"}`},
		{"the status the client got", resp.Status, "418 I'm a teapot"},
		{"the header the client got", resp.Header.Get("X-Amzn-Requestid"), "req-1"},
		{"the body the client got", string(body), `{"answer":true}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestProxyPause(t *testing.T) {
	targets := []string{"DynamoDB_20120810.UpdateItem", "DynamoDB_20120810.GetItem", "secretsmanager.GetSecretValue"}

	t.Run("a paused proxy holds DynamoDB and other requests until the pause ends", func(t *testing.T) {
		const pause = 300 * time.Millisecond
		f := &fakeMoto{}
		p, base := start(t, f)
		paused := time.Now()
		p.Pause(pause)
		mustSendAll(t, base, "/", targets)
		_, arrivals := f.stats()
		if len(arrivals) != len(targets) {
			t.Fatalf("%d requests reached moto, want %d", len(arrivals), len(targets))
		}
		for _, at := range arrivals {
			if at.Before(paused.Add(pause)) {
				t.Errorf("a request reached moto %s after the pause began, before its %s were up", at.Sub(paused), pause)
			}
		}
	})

	t.Run("Resume lets held requests go at once", func(t *testing.T) {
		f := &fakeMoto{}
		p, base := start(t, f)
		p.Pause(time.Hour)
		wait := sendAllHeld(t, p, base, targets)
		// Time for the requests to reach the proxy; a working proxy holds
		// them however long this is.
		time.Sleep(200 * time.Millisecond)
		if _, arrivals := f.stats(); len(arrivals) != 0 {
			t.Fatalf("%d requests reached moto during the pause, want none", len(arrivals))
		}
		wait() // resumes
		if _, arrivals := f.stats(); len(arrivals) != len(targets) {
			t.Errorf("%d requests reached moto after Resume, want %d", len(arrivals), len(targets))
		}
	})

	t.Run("a later short Pause replaces an earlier long one", func(t *testing.T) {
		f := &fakeMoto{}
		p, base := start(t, f)
		p.Pause(time.Hour)
		p.Pause(50 * time.Millisecond)
		mustSendAll(t, base, "/", targets) // within sendAll's bound, not an hour
	})

	t.Run("a later long Pause outlasts an earlier short one", func(t *testing.T) {
		f := &fakeMoto{}
		p, base := start(t, f)
		p.Pause(50 * time.Millisecond)
		p.Pause(time.Hour)
		sendAllHeld(t, p, base, targets)
		time.Sleep(300 * time.Millisecond) // well past the short pause
		if _, arrivals := f.stats(); len(arrivals) != 0 {
			t.Fatalf("%d requests reached moto when the short pause ended, want none until the long one does", len(arrivals))
		}
	})

	t.Run("a client that gives up during a pause is let go, and the proxy serves on", func(t *testing.T) {
		f := &fakeMoto{}
		p, base := start(t, f)
		p.Pause(time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := send(ctx, base, "/", "DynamoDB_20120810.UpdateItem"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a request during the pause ended with %v, want the client's deadline", err)
		}
		p.Resume()
		mustSendAll(t, base, "/", targets)
	})
}

func TestProxyAnswers502WhenMotoIsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	_ = ln.Close()
	p, err := motoproxy.New(down)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	for _, target := range []string{"DynamoDB_20120810.UpdateItem", "secretsmanager.GetSecretValue"} {
		status, err := send(context.Background(), srv.URL, "/", target)
		if err != nil || status != http.StatusBadGateway {
			t.Errorf("%s with moto down: status %d, error %v; want 502", target, status, err)
		}
	}
}

func TestNewRejectsATargetThatIsNoBaseURL(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:5000", "localhost:5000", "/moto", "http://"} {
		t.Run(fmt.Sprintf("%q is refused", target), func(t *testing.T) {
			if _, err := motoproxy.New(target); err == nil {
				t.Errorf("New(%q) succeeded, want an error", target)
			}
		})
	}
}

// TestThroughRealMoto checks the proxy testenv puts in front of moto_server
// passes Secrets Manager and moto's own API through.
func TestThroughRealMoto(t *testing.T) {
	m := testkit.SharedMoto(t)
	ctx := context.Background()

	t.Run("Secrets Manager answers through the proxy", func(t *testing.T) {
		sm := secretsmanager.NewFromConfig(m.AWSConfig())
		name := testkit.UniqueName("motoproxy")
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("s3cret")}); err != nil {
			t.Fatalf("CreateSecret through the proxy: %v", err)
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		if err != nil || aws.ToString(out.SecretString) != "s3cret" {
			t.Fatalf("GetSecretValue through the proxy: %v, %v", out, err)
		}
	})

	t.Run("moto's own API answers through the proxy", func(t *testing.T) {
		resp, err := http.Get(m.Endpoint + "/moto-api/")
		if err != nil {
			t.Fatalf("GET /moto-api/ through the proxy: %v", err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /moto-api/ through the proxy answered %d", resp.StatusCode)
		}
	})

	t.Run("the endpoint is the proxy, not moto_server itself", func(t *testing.T) {
		if m.Endpoint == m.Direct || m.Proxy == nil {
			t.Fatalf("Endpoint %s, Direct %s, Proxy %v: want the endpoint to be a proxy in front of moto", m.Endpoint, m.Direct, m.Proxy)
		}
	})
}
