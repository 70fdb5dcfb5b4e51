package localstack

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
)

// contractRoutes are the merchant API's routes (contract §1) plus a greedy
// and an ANY route.
var contractRoutes = []apiRoute{
	{Method: "POST", Path: "/operations/capture", Function: "CaptureFunction"},
	{Method: "POST", Path: "/operations/refund", Function: "RefundFunction"},
	{Method: "GET", Path: "/operations/{tracking_key}", Function: "OperationStatusFunction"},
	{Method: "GET", Path: "/transactions/{id}/inquiry", Function: "InquiryResultFunction"},
	{Method: "POST", Path: "/webhooks/ottu", Function: "WebhookFunction"},
	{Method: "ANY", Path: "/files/{path+}", Function: "FilesFunction"},
	{Method: "GET", Path: "/files/special", Function: "SpecialFunction"},
}

func TestRouteMatching(t *testing.T) {
	withDefault := append([]apiRoute{{Method: "ANY", Path: "$default", Function: "DefaultFunction"}}, contractRoutes...)
	tests := []struct {
		name         string
		routes       []apiRoute
		method, path string
		wantKey      string
		wantParams   map[string]string
	}{
		{"a literal path picks its own route", contractRoutes, "POST", "/operations/refund", "POST /operations/refund", nil},
		{"the same path with another method falls to the parameter route", contractRoutes, "GET", "/operations/refund", "GET /operations/{tracking_key}", map[string]string{"tracking_key": "refund"}},
		{"a path parameter is captured", contractRoutes, "GET", "/operations/7b0c3f0e-refund-1", "GET /operations/{tracking_key}", map[string]string{"tracking_key": "7b0c3f0e-refund-1"}},
		{"an escaped slash stays inside one parameter, unescaped", contractRoutes, "GET", "/operations/a%2Fb%20c", "GET /operations/{tracking_key}", map[string]string{"tracking_key": "a/b c"}},
		{"a parameter in the middle of the path is captured", contractRoutes, "GET", "/transactions/sess-1/inquiry", "GET /transactions/{id}/inquiry", map[string]string{"id": "sess-1"}},
		{"a greedy parameter takes the rest of the path", contractRoutes, "GET", "/files/a/b/c", "ANY /files/{path+}", map[string]string{"path": "a/b/c"}},
		{"a literal beats a greedy parameter", contractRoutes, "GET", "/files/special", "GET /files/special", nil},
		{"ANY serves every method", contractRoutes, "DELETE", "/files/x", "ANY /files/{path+}", map[string]string{"path": "x"}},
		{"a method with no route is not found", contractRoutes, "DELETE", "/operations/refund/x", "", nil},
		{"an extra segment is not found", contractRoutes, "GET", "/transactions/a/b/inquiry", "", nil},
		{"an empty parameter is not found", contractRoutes, "GET", "/operations/", "", nil},
		{"an unknown path is not found", contractRoutes, "POST", "/nowhere", "", nil},
		{"$default takes what no other route matches", withDefault, "POST", "/nowhere", "$default", nil},
		{"$default does not shadow a real route", withDefault, "POST", "/webhooks/ottu", "POST /webhooks/ottu", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newAPIGateway(tt.routes, nil, nil, slog.New(slog.DiscardHandler))
			r := httptest.NewRequest(tt.method, tt.path, nil)
			route, params, ok := g.route(r)
			if tt.wantKey == "" {
				if ok {
					t.Fatalf("matched %s, want no route", route.routeKey())
				}
				return
			}
			if !ok || route.routeKey() != tt.wantKey {
				t.Fatalf("matched %q (ok=%v), want %q", route.routeKey(), ok, tt.wantKey)
			}
			if !reflect.DeepEqual(params, tt.wantParams) {
				t.Fatalf("path parameters %v, want %v", params, tt.wantParams)
			}
		})
	}
}

// echoAPI serves routes to the echo function through the API gateway.
func echoAPI(t *testing.T) string {
	t.Helper()
	fns := functionSet{"EchoFunction": newEchoPool(t, 4, 5*time.Second)}
	routes := []apiRoute{
		{Method: "POST", Path: "/items/{id}", IAMAuth: true, Function: "EchoFunction"},
		{Method: "ANY", Path: "/echo", Function: "EchoFunction"},
		{Method: "GET", Path: "/missing", Function: "NoSuchFunction"},
	}
	srv := httptest.NewServer(newAPIGateway(routes, fns, testUsers(), slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv.URL
}

// eventFrom decodes the API event the echo function received.
func eventFrom(t *testing.T, resp *http.Response) events.APIGatewayV2HTTPRequest {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	var ans struct {
		Event events.APIGatewayV2HTTPRequest `json:"event"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatalf("echo answer %s: %v", body, err)
	}
	return ans.Event
}

func TestAPIGatewayEvent(t *testing.T) {
	base := echoAPI(t)
	req, _ := http.NewRequest(http.MethodPost, base+"/items/abc%20def?a=1&a=2&b=x", strings.NewReader(`{"k":"v"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("X-Custom", "v1")
	req.Header.Add("X-Custom", "v2")
	req.Header.Set("Cookie", "c1=1; c2=2")
	req.Header.Set("User-Agent", "event-test/1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ev := eventFrom(t, resp)

	checks := []struct {
		name string
		got  any
		want any
	}{
		{"the version is 2.0", ev.Version, "2.0"},
		{"the routeKey names the template route", ev.RouteKey, "POST /items/{id}"},
		{"rawPath is the path as sent", ev.RawPath, "/items/abc%20def"},
		{"rawQueryString is the query as sent", ev.RawQueryString, "a=1&a=2&b=x"},
		{"repeated query parameters are joined with commas", ev.QueryStringParameters, map[string]string{"a": "1,2", "b": "x"}},
		{"path parameters are captured and unescaped", ev.PathParameters, map[string]string{"id": "abc def"}},
		{"cookies are split out of the Cookie header", ev.Cookies, []string{"c1=1", "c2=2"}},
		{"repeated headers are joined with commas", ev.Headers["x-custom"], "v1,v2"},
		{"the Cookie header is not repeated in headers", ev.Headers["cookie"], ""},
		{"the body is passed as text", ev.Body, `{"k":"v"}`},
		{"a JSON body is not base64", ev.IsBase64Encoded, false},
		{"the request context carries the route key", ev.RequestContext.RouteKey, "POST /items/{id}"},
		{"the stage is $default", ev.RequestContext.Stage, "$default"},
		{"the account is the local one", ev.RequestContext.AccountID, "123456789012"},
		{"the request id matches the Apigw-Requestid header", ev.RequestContext.RequestID, resp.Header.Get("Apigw-Requestid")},
		{"the HTTP method is given", ev.RequestContext.HTTP.Method, "POST"},
		{"the HTTP path is given", ev.RequestContext.HTTP.Path, "/items/abc%20def"},
		{"the source IP is the caller's", ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		{"the user agent is the caller's", ev.RequestContext.HTTP.UserAgent, "event-test/1.0"},
		{"an IAM route carries a local IAM identity", ev.RequestContext.Authorizer != nil && ev.RequestContext.Authorizer.IAM != nil, true},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Fatalf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
	t.Run("header names are lower case", func(t *testing.T) {
		for k := range ev.Headers {
			if k != strings.ToLower(k) {
				t.Fatalf("header %q is not lower case", k)
			}
		}
		if ev.Headers["content-type"] != "application/json" {
			t.Fatalf("content-type header %q", ev.Headers["content-type"])
		}
	})
	t.Run("the request id is a fresh UUID", func(t *testing.T) {
		if _, err := uuid.Parse(ev.RequestContext.RequestID); err != nil {
			t.Fatalf("requestId %q: %v", ev.RequestContext.RequestID, err)
		}
	})
	t.Run("the time fields say when the request came", func(t *testing.T) {
		at, err := time.Parse("02/Jan/2006:15:04:05 -0700", ev.RequestContext.Time)
		if err != nil {
			t.Fatalf("time %q is not in API Gateway's format: %v", ev.RequestContext.Time, err)
		}
		if at.Unix() != ev.RequestContext.TimeEpoch/1000 {
			t.Fatalf("time %s and timeEpoch %d disagree", ev.RequestContext.Time, ev.RequestContext.TimeEpoch)
		}
	})
}

func TestAPIGatewayBodies(t *testing.T) {
	base := echoAPI(t)
	binary := []byte{0x00, 0xff, 0xfe, 'a'}
	tests := []struct {
		name, contentType string
		body              []byte
		wantBase64        bool
	}{
		{"JSON goes as text", "application/json; charset=utf-8", []byte(`{"a":1}`), false},
		{"a form goes as text", "application/x-www-form-urlencoded", []byte(`a=1&b=2`), false},
		{"text/plain goes as text", "text/plain", []byte("hello"), false},
		{"octet-stream goes as base64", "application/octet-stream", binary, true},
		{"an image goes as base64 even when it happens to be ASCII", "image/png", []byte("PNG"), true},
		{"no content type with UTF-8 goes as text", "", []byte("plain words"), false},
		{"no content type with binary goes as base64", "", binary, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, base+"/echo", bytes.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			ev := eventFrom(t, resp)
			if ev.IsBase64Encoded != tt.wantBase64 {
				t.Fatalf("isBase64Encoded = %v, want %v", ev.IsBase64Encoded, tt.wantBase64)
			}
			got := []byte(ev.Body)
			if ev.IsBase64Encoded {
				if got, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
					t.Fatalf("body %q is not base64: %v", ev.Body, err)
				}
			}
			if !bytes.Equal(got, tt.body) {
				t.Fatalf("the function got body %q, want %q", got, tt.body)
			}
		})
	}

	t.Run("a body over 10 MB is refused with 413", func(t *testing.T) {
		resp, err := http.Post(base+"/echo", "application/octet-stream", bytes.NewReader(make([]byte, maxAPIBody+1)))
		if err != nil {
			t.Fatal(err)
		}
		assertAPIMessage(t, resp, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
	})
}

func TestAPIGatewayResponses(t *testing.T) {
	base := echoAPI(t)
	respond := func(t *testing.T, fnResponse string) *http.Response {
		t.Helper()
		resp, err := http.Post(base+"/echo?action=respond", "application/json", strings.NewReader(fnResponse))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	t.Run("a structured response sets status, headers, cookies and body", func(t *testing.T) {
		resp := respond(t, `{"statusCode":201,"headers":{"X-One":"1","Content-Type":"text/plain"},
			"multiValueHeaders":{"X-Many":["a","b"]},"cookies":["s=1; HttpOnly","t=2"],"body":"created"}`)
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated || string(body) != "created" {
			t.Fatalf("got %d %q, want 201 created", resp.StatusCode, body)
		}
		if resp.Header.Get("X-One") != "1" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("headers %v", resp.Header)
		}
		if got := resp.Header.Values("X-Many"); !reflect.DeepEqual(got, []string{"a", "b"}) {
			t.Fatalf("X-Many = %v, want [a b]", got)
		}
		if got := resp.Header.Values("Set-Cookie"); !reflect.DeepEqual(got, []string{"s=1; HttpOnly", "t=2"}) {
			t.Fatalf("Set-Cookie = %v", got)
		}
	})

	t.Run("a function error answers 502 Internal Server Error", func(t *testing.T) {
		resp, err := http.Get(base + "/echo?action=error")
		if err != nil {
			t.Fatal(err)
		}
		assertAPIMessage(t, resp, http.StatusBadGateway, "Internal Server Error")
	})

	t.Run("a response API Gateway cannot read answers 502", func(t *testing.T) {
		assertAPIMessage(t, respond(t, `{"statusCode":"soon"}`), http.StatusBadGateway, "Internal Server Error")
	})

	t.Run("a route whose function does not exist answers 502", func(t *testing.T) {
		resp, err := http.Get(base + "/missing")
		if err != nil {
			t.Fatal(err)
		}
		assertAPIMessage(t, resp, http.StatusBadGateway, "Internal Server Error")
	})

	t.Run("a function slower than the integration timeout answers 503, as API Gateway does", func(t *testing.T) {
		fns := functionSet{"EchoFunction": newEchoPool(t, 1, 5*time.Second)}
		g := newAPIGateway([]apiRoute{{Method: "ANY", Path: "/echo", Function: "EchoFunction"}}, fns, nil, slog.New(slog.DiscardHandler))
		g.timeout = 200 * time.Millisecond
		srv := httptest.NewServer(g)
		t.Cleanup(srv.Close)
		resp, err := http.Get(srv.URL + "/echo?action=sleep")
		if err != nil {
			t.Fatal(err)
		}
		assertAPIMessage(t, resp, http.StatusServiceUnavailable, "Service Unavailable")
	})

	t.Run("an unknown route answers 404 Not Found", func(t *testing.T) {
		resp, err := http.Get(base + "/nowhere")
		if err != nil {
			t.Fatal(err)
		}
		assertAPIMessage(t, resp, http.StatusNotFound, "Not Found")
	})
}

func TestTranslateResponse(t *testing.T) {
	tests := []struct {
		name        string
		payload     string
		wantStatus  int
		wantBody    string
		wantHeaders http.Header
		wantErr     bool
	}{
		{"a JSON object without statusCode is the body of a 200", `{"ok":true}`, 200, `{"ok":true}`, http.Header{"Content-Type": {"application/json"}}, false},
		{"a bare JSON string is the body of a 200, as sent", `"just text"`, 200, `"just text"`, http.Header{"Content-Type": {"application/json"}}, false},
		{"a bare number is the body of a 200", `42`, 200, `42`, nil, false},
		{"a base64 body is decoded", `{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}`, 200, "hi", nil, false},
		{"headers and multi-value headers both apply", `{"statusCode":204,"headers":{"a":"1"},"multiValueHeaders":{"a":["2"]}}`, 204, "", http.Header{"A": {"1", "2"}}, false},
		{"a statusCode that is not a number is refused", `{"statusCode":"200"}`, 0, "", nil, true},
		{"a statusCode outside HTTP's range is refused", `{"statusCode":42}`, 0, "", nil, true},
		{"a body that claims base64 but is not is refused", `{"statusCode":200,"isBase64Encoded":true,"body":"***"}`, 0, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := translateResponse([]byte(tt.payload))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("translated to %d %q, want an error", got.status, got.body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.status != tt.wantStatus || string(got.body) != tt.wantBody {
				t.Fatalf("got %d %q, want %d %q", got.status, got.body, tt.wantStatus, tt.wantBody)
			}
			for k, v := range tt.wantHeaders {
				if !reflect.DeepEqual(got.header[k], v) {
					t.Fatalf("header %s = %v, want %v", k, got.header[k], v)
				}
			}
		})
	}
}

// assertAPIMessage checks an answer API Gateway itself gives.
func assertAPIMessage(t *testing.T, resp *http.Response, status int, message string) {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	var got map[string]string
	if resp.StatusCode != status || json.Unmarshal(body, &got) != nil || got["message"] != message || len(got) != 1 {
		t.Fatalf("got %d %s, want %d {\"message\":%q}", resp.StatusCode, body, status, message)
	}
}
