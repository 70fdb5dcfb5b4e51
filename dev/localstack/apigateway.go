package localstack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
)

// maxAPIBody is API Gateway's payload limit for HTTP APIs.
const maxAPIBody = 10 << 20

// integrationTimeout is how long an HTTP API waits for a Lambda integration
// before it answers 503 itself.
const integrationTimeout = 30 * time.Second

// defaultRoutePath is SAM's catch-all route, taken when nothing else matches.
const defaultRoutePath = "$default"

// invoker runs a function by logical id; errFunctionNotFound when there is
// no such function, *FunctionError when the function failed.
type invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

var errFunctionNotFound = errors.New("function not found")

// apiRoute is one route of the merchant API and the function behind it.
type apiRoute struct {
	Method   string // upper case; "ANY" matches every method
	Path     string // "/operations/{tracking_key}", or "$default"
	IAMAuth  bool
	Function string
	segments []string
}

// routeKey is API Gateway's name for the route, such as "POST /inquiry".
func (r apiRoute) routeKey() string {
	if r.Path == defaultRoutePath {
		return defaultRoutePath
	}
	return r.Method + " " + r.Path
}

// match reports whether the route serves method and the escaped request
// path, and the path parameters it captures (unescaped).
func (r apiRoute) match(method, escapedPath string) (map[string]string, bool) {
	if r.Method != "ANY" && r.Method != method {
		return nil, false
	}
	if r.Path == defaultRoutePath {
		return nil, true
	}
	got := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	var params map[string]string
	for i, seg := range r.segments {
		name, isParam := strings.CutPrefix(seg, "{")
		if !isParam {
			if i >= len(got) || unescape(got[i]) != seg {
				return nil, false
			}
			continue
		}
		name = strings.TrimSuffix(name, "}")
		if i >= len(got) || got[i] == "" {
			return nil, false
		}
		value := got[i]
		if greedy, ok := strings.CutSuffix(name, "+"); ok {
			name, value = greedy, strings.Join(got[i:], "/")
			got = got[:i+1]
		}
		if params == nil {
			params = map[string]string{}
		}
		params[name] = unescape(value)
	}
	if len(got) != len(r.segments) {
		return nil, false
	}
	return params, true
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// segmentRank orders segments as API Gateway prefers them: a literal over a
// parameter over a greedy parameter.
func segmentRank(seg string) int {
	switch {
	case strings.HasSuffix(seg, "+}"):
		return 2
	case strings.HasPrefix(seg, "{"):
		return 1
	default:
		return 0
	}
}

// sortRoutes puts the most specific route first, so the first match wins the
// way API Gateway picks: literal segments before parameters, a method before
// ANY, and $default last.
func sortRoutes(routes []apiRoute) {
	for i := range routes {
		if routes[i].Path != defaultRoutePath {
			routes[i].segments = strings.Split(strings.TrimPrefix(routes[i].Path, "/"), "/")
		}
	}
	slices.SortStableFunc(routes, func(a, b apiRoute) int {
		if (a.Path == defaultRoutePath) != (b.Path == defaultRoutePath) {
			if a.Path == defaultRoutePath {
				return 1
			}
			return -1
		}
		for i := 0; i < len(a.segments) && i < len(b.segments); i++ {
			if d := segmentRank(a.segments[i]) - segmentRank(b.segments[i]); d != 0 {
				return d
			}
		}
		if d := len(b.segments) - len(a.segments); d != 0 {
			return d
		}
		if (a.Method == "ANY") != (b.Method == "ANY") {
			if a.Method == "ANY" {
				return 1
			}
			return -1
		}
		return 0
	})
}

// apiGateway serves the merchant API like `sam local start-api` does for an
// HTTP API with payload format 2.0. On IAM routes it verifies SigV4 as API
// Gateway does: a request signed with a local user's key (LocalUsers)
// carries that user's identity, a bad signature or unknown key is a 403,
// and an unsigned request gets the documented local principal (user/local),
// as sam local gives every request.
type apiGateway struct {
	routes    []apiRoute
	functions invoker
	// users are the local IAM users by access key.
	users  map[string]LocalUser
	logger *slog.Logger
	now    func() time.Time
	// timeout is the integration timeout; tests shorten it.
	timeout time.Duration
}

func newAPIGateway(routes []apiRoute, functions invoker, users map[string]LocalUser, logger *slog.Logger) *apiGateway {
	routes = slices.Clone(routes)
	sortRoutes(routes)
	return &apiGateway{routes: routes, functions: functions, users: users, logger: logger, now: time.Now, timeout: integrationTimeout}
}

func (g *apiGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	w.Header().Set("Apigw-Requestid", requestID)
	route, params, ok := g.route(r)
	if !ok {
		apiMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.ContentLength > maxAPIBody {
		apiMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			apiMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
			return
		}
		apiMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}

	var user *LocalUser
	if route.IAMAuth && r.Header.Get("Authorization") != "" {
		u, err := verifySigV4(r, body, g.users, g.now())
		switch {
		case errors.Is(err, errUnknownKey):
			apiMessage(w, http.StatusForbidden, "The security token included in the request is invalid.")
			return
		case err != nil:
			g.logger.Info("request signature refused", "route", route.routeKey(), "request_id", requestID, "error", err.Error())
			apiMessage(w, http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
			return
		}
		user = &u
	}
	event, err := json.Marshal(g.event(r, route, params, body, requestID, user))
	if err != nil {
		g.logger.Error("API event could not be encoded", "route", route.routeKey(), "error", err.Error())
		apiMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
	defer cancel()
	payload, err := g.functions.Invoke(ctx, route.Function, event)
	switch {
	case r.Context().Err() != nil:
		return // the caller left; nobody to answer
	case errors.Is(err, context.DeadlineExceeded):
		g.logger.Error("function did not answer within the integration timeout", "function", route.Function, "route", route.routeKey(), "request_id", requestID, "timeout", g.timeout.String())
		apiMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	case err != nil:
		g.logFailure(route, requestID, err)
		apiMessage(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	resp, err := translateResponse(payload)
	if err != nil {
		g.logger.Error("function answered with a response API Gateway cannot use", "function", route.Function, "route", route.routeKey(), "request_id", requestID, "error", err.Error())
		apiMessage(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	h := w.Header()
	for k, vs := range resp.header {
		h[k] = vs
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

func (g *apiGateway) logFailure(route apiRoute, requestID string, err error) {
	attrs := []any{"function", route.Function, "route", route.routeKey(), "request_id", requestID}
	g.logger.Error("function invocation failed", append(attrs, errorAttrs(err)...)...)
}

// errorAttrs are the log attributes of a failed invocation: a function's
// own error by type and message, anything else by its text.
func errorAttrs(err error) []any {
	var fnErr *FunctionError
	if errors.As(err, &fnErr) {
		return []any{"error_type", fnErr.Type, "error", fnErr.Message}
	}
	return []any{"error", err.Error()}
}

func (g *apiGateway) route(r *http.Request) (apiRoute, map[string]string, bool) {
	for _, route := range g.routes {
		if params, ok := route.match(r.Method, r.URL.EscapedPath()); ok {
			return route, params, true
		}
	}
	return apiRoute{}, nil, false
}

// event builds the payload format 2.0 event API Gateway would send.
func (g *apiGateway) event(r *http.Request, route apiRoute, params map[string]string, body []byte, requestID string, user *LocalUser) events.APIGatewayV2HTTPRequest {
	now := g.now().UTC()
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[name] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	headers["x-forwarded-for"] = sourceIP
	headers["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	}
	var query map[string]string
	if values, _ := url.ParseQuery(r.URL.RawQuery); len(values) > 0 {
		query = make(map[string]string, len(values))
		for k, vs := range values {
			query[k] = strings.Join(vs, ",")
		}
	}

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.routeKey(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.routeKey(),
			AccountID:    localAccountID,
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: strings.Split(r.Host, ".")[0],
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if route.IAMAuth {
		ev.RequestContext.Authorizer = iamIdentity(user)
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isText reports whether a body goes to the function as text rather than
// base64: textual media types, or no type at all with valid UTF-8.
func isText(contentType string, body []byte) bool {
	if contentType == "" {
		return utf8.Valid(body)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/xml",
		mt == "application/x-www-form-urlencoded",
		mt == "application/javascript", mt == "application/graphql":
		return true
	}
	return false
}

// apiResponse is what goes back to the HTTP client.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// translateResponse turns a function's answer into the HTTP response API
// Gateway would send: a JSON object with statusCode is a structured
// response; any other answer is the body of a 200 application/json.
func translateResponse(payload []byte) (apiResponse, error) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) != nil || probe["statusCode"] == nil {
		return apiResponse{
			status: http.StatusOK,
			header: http.Header{"Content-Type": {"application/json"}},
			body:   payload,
		}, nil
	}
	var fn events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &fn); err != nil {
		return apiResponse{}, fmt.Errorf("decode the structured response: %w", err)
	}
	if fn.StatusCode < 100 || fn.StatusCode > 599 {
		return apiResponse{}, fmt.Errorf("statusCode %d is not an HTTP status", fn.StatusCode)
	}
	resp := apiResponse{status: fn.StatusCode, header: http.Header{}, body: []byte(fn.Body)}
	for k, v := range fn.Headers {
		resp.header.Set(k, v)
	}
	for k, vs := range fn.MultiValueHeaders {
		for _, v := range vs {
			resp.header.Add(k, v)
		}
	}
	for _, c := range fn.Cookies {
		resp.header.Add("Set-Cookie", c)
	}
	if fn.IsBase64Encoded {
		body, err := base64.StdEncoding.DecodeString(fn.Body)
		if err != nil {
			return apiResponse{}, fmt.Errorf("isBase64Encoded is set but the body is not base64: %w", err)
		}
		resp.body = body
	}
	return resp, nil
}

// apiMessage answers the way API Gateway itself does: {"message": "..."}.
func apiMessage(w http.ResponseWriter, status int, message string) {
	b, _ := json.Marshal(map[string]string{"message": message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
