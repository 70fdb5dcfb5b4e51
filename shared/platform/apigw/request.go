package apigw

import (
	"context"
	"log/slog"
	"net"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/uuid"
)

// RequestID is the id a response's X-Request-Id and its log lines carry:
// API Gateway's, else Lambda's, else a new one.
func RequestID(ctx context.Context, ev events.APIGatewayV2HTTPRequest) string {
	if ev.RequestContext.RequestID != "" {
		return ev.RequestContext.RequestID
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	return uuid.NewString()
}

// LookupHeader finds a header whatever its case: API Gateway lower-cases
// names, callers and tests may not.
func LookupHeader(headers map[string]string, name string) (string, bool) {
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// APIBaseURL is the base URL the request reached the API through: API
// Gateway's domain (always https, but on a laptop), and the part of the
// path before route (a stage or a custom domain's mapping). Empty when the
// event does not say.
func APIBaseURL(ev events.APIGatewayV2HTTPRequest, route string) string {
	domain := ev.RequestContext.DomainName
	if domain == "" || strings.ContainsAny(domain, "/?#@ ") {
		return ""
	}
	prefix, ok := strings.CutSuffix(ev.RawPath, route)
	if !ok || strings.ContainsAny(prefix, "?#") {
		prefix = ""
	}
	scheme := "https"
	host := domain
	if h, _, err := net.SplitHostPort(domain); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		scheme = "http"
	}
	return scheme + "://" + domain + strings.TrimRight(prefix, "/")
}

// Nullable writes "" as JSON null: the contract's views always have the
// member.
func Nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// LoggerOrDefault is l, or slog's default when a handler was built without
// one (tests).
func LoggerOrDefault(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.Default()
}

// Principal is the IAM principal API Gateway verified for an
// IAM-authorized route (requestContext.authorizer.iam): its userArn (an IAM
// user, or an assumed role's session such as
// arn:aws:sts::123456789012:assumed-role/Approver/alice), else the caller
// id with the account. "" when the event carries none (a route without IAM
// authorization, or a direct invocation).
func Principal(ev events.APIGatewayV2HTTPRequest) string {
	if ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.IAM == nil {
		return ""
	}
	iam := ev.RequestContext.Authorizer.IAM
	switch {
	case iam.UserARN != "":
		return iam.UserARN
	case iam.CallerID != "" && iam.AccountID != "":
		return "iam:" + iam.AccountID + ":" + iam.CallerID
	}
	return ""
}
