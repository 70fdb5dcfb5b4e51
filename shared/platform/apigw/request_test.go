package apigw

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestAPIBaseURL(t *testing.T) {
	tests := []struct {
		name, domain, rawPath, want string
	}{
		{"the default stage has no prefix", "abc.execute-api.me-south-1.amazonaws.com", "/inquiry", "https://abc.execute-api.me-south-1.amazonaws.com"},
		{"a named stage is kept", "abc.execute-api.me-south-1.amazonaws.com", "/prod/inquiry", "https://abc.execute-api.me-south-1.amazonaws.com/prod"},
		{"a custom domain's mapping is kept", "pay.example.com", "/ottu/inquiry", "https://pay.example.com/ottu"},
		{"a loopback host is plain http", "127.0.0.1:3000", "/inquiry", "http://127.0.0.1:3000"},
		{"no domain gives nothing", "", "/inquiry", ""},
		{"a domain with a path separator gives nothing", "evil.example.com/x", "/inquiry", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := events.APIGatewayV2HTTPRequest{RawPath: tc.rawPath}
			ev.RequestContext.DomainName = tc.domain
			if got := APIBaseURL(ev, "/inquiry"); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPrincipal(t *testing.T) {
	iam := func(d events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription) events.APIGatewayV2HTTPRequest {
		var ev events.APIGatewayV2HTTPRequest
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: &d}
		return ev
	}
	tests := []struct {
		name string
		ev   events.APIGatewayV2HTTPRequest
		want string
	}{
		{"an IAM user is its user ARN", iam(events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
			UserARN: "arn:aws:iam::123456789012:user/approver", CallerID: "AIDAX", AccountID: "123456789012"}), "arn:aws:iam::123456789012:user/approver"},
		{"an assumed role is its session's ARN", iam(events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
			UserARN: "arn:aws:sts::123456789012:assumed-role/Approver/alice"}), "arn:aws:sts::123456789012:assumed-role/Approver/alice"},
		{"without a user ARN the caller id and account name it", iam(events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
			CallerID: "AROAX:alice", AccountID: "123456789012"}), "iam:123456789012:AROAX:alice"},
		{"an event without an IAM authorizer has none", events.APIGatewayV2HTTPRequest{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Principal(tc.ev); got != tc.want {
				t.Fatalf("Principal = %q, want %q", got, tc.want)
			}
		})
	}
}
