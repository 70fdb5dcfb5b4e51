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
