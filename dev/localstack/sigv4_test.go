package localstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ottuops/ottu-lambda/dev/testkit"
)

// testUsers are LocalUsers as moto would name them.
func testUsers() map[string]LocalUser {
	users := map[string]LocalUser{}
	for _, u := range LocalUsers {
		u.ARN = "arn:aws:iam::" + localAccountID + ":user/" + u.Name
		u.UserID = "AIDA" + strings.ToUpper(u.Name)
		users[u.AccessKeyID] = u
	}
	return users
}

// sdkSigned is a request signed by the AWS SDK's v4 signer, as an SDK
// client (or botocore) signs a call to API Gateway.
func sdkSigned(t *testing.T, method, url, body, akid, secret, service string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, req,
		hex.EncodeToString(sum[:]), service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestAPIGatewayVerifiesSigV4OnIAMRoutes(t *testing.T) {
	base := echoAPI(t)
	requester, approver := LocalUsers[0], LocalUsers[1]
	body := `{"approved":true}`
	tests := []struct {
		name    string
		req     func() *http.Request
		status  int
		wantARN string
	}{
		{"a request the SDK signed with the requester's key carries the requester's identity", func() *http.Request {
			return sdkSigned(t, "POST", base+"/items/a?x=1", body, requester.AccessKeyID, requester.SecretAccessKey, "execute-api", time.Now())
		}, http.StatusOK, "arn:aws:iam::123456789012:user/requester"},
		{"a request the SDK signed with the approver's key carries the approver's identity", func() *http.Request {
			return sdkSigned(t, "POST", base+"/items/a", body, approver.AccessKeyID, approver.SecretAccessKey, "execute-api", time.Now())
		}, http.StatusOK, "arn:aws:iam::123456789012:user/approver"},
		{"an unsigned request is the documented local principal", func() *http.Request {
			r, _ := http.NewRequest("POST", base+"/items/a", strings.NewReader(body))
			return r
		}, http.StatusOK, "arn:aws:iam::123456789012:user/local"},
		{"a body changed after signing is a 403", func() *http.Request {
			r := sdkSigned(t, "POST", base+"/items/a", body, approver.AccessKeyID, approver.SecretAccessKey, "execute-api", time.Now())
			r.Body, r.ContentLength = nopCloser(`{"approved":false}`), int64(len(`{"approved":false}`))
			return r
		}, http.StatusForbidden, ""},
		{"a path changed after signing is a 403", func() *http.Request {
			r := sdkSigned(t, "POST", base+"/items/a", body, approver.AccessKeyID, approver.SecretAccessKey, "execute-api", time.Now())
			r.URL.Path = "/items/b"
			return r
		}, http.StatusForbidden, ""},
		{"a request signed with a wrong secret is a 403", func() *http.Request {
			return sdkSigned(t, "POST", base+"/items/a", body, approver.AccessKeyID, "not-the-secret", "execute-api", time.Now())
		}, http.StatusForbidden, ""},
		{"a request signed with an unknown key is a 403", func() *http.Request {
			return sdkSigned(t, "POST", base+"/items/a", body, "AKIAUNKNOWN000000000", "whatever", "execute-api", time.Now())
		}, http.StatusForbidden, ""},
		{"a request signed for another service is a 403", func() *http.Request {
			return sdkSigned(t, "POST", base+"/items/a", body, approver.AccessKeyID, approver.SecretAccessKey, "lambda", time.Now())
		}, http.StatusForbidden, ""},
		{"a request signed 20 minutes ago is a 403", func() *http.Request {
			return sdkSigned(t, "POST", base+"/items/a", body, approver.AccessKeyID, approver.SecretAccessKey, "execute-api", time.Now().Add(-20*time.Minute))
		}, http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tt.req())
			if err != nil {
				t.Fatal(err)
			}
			if tt.status != http.StatusOK {
				_ = resp.Body.Close()
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
				}
				return
			}
			ev := eventFrom(t, resp)
			if got := userARN(ev); got != tt.wantARN {
				t.Fatalf("the event's principal is %q, want %q", got, tt.wantARN)
			}
		})
	}
	t.Run("a route without IAM authorization ignores a signature and carries no identity", func(t *testing.T) {
		r := sdkSigned(t, "POST", base+"/echo", body, approver.AccessKeyID, "not-the-secret", "execute-api", time.Now())
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		if ev := eventFrom(t, resp); ev.RequestContext.Authorizer != nil {
			t.Fatalf("authorizer %+v on a route without IAM", ev.RequestContext.Authorizer)
		}
	})
}

// TestAPIGatewayAcceptsCurlSigV4 signs with curl --aws-sigv4, as the
// README's walks do.
func TestAPIGatewayAcceptsCurlSigV4(t *testing.T) {
	if out, err := exec.Command("curl", "--help", "all").Output(); err != nil || !bytes.Contains(out, []byte("--aws-sigv4")) {
		t.Fatalf("curl with --aws-sigv4 (7.75 or later) is required: %v", err)
	}
	base := echoAPI(t)
	approver := LocalUsers[1]
	curl := func(t *testing.T, user string) (string, []byte) {
		t.Helper()
		out, err := exec.Command("curl", "-sS", "-w", "\n%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", user,
			"-H", "Content-Type: application/json", "-d", `{"approved":true,"note":"ok"}`, base+"/items/wf-1?x=y").Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		i := bytes.LastIndexByte(out, '\n')
		return string(out[i+1:]), out[:i]
	}
	t.Run("a request curl signed with the approver's key carries the approver's identity", func(t *testing.T) {
		status, body := curl(t, approver.AccessKeyID+":"+approver.SecretAccessKey)
		var ans struct {
			Event events.APIGatewayV2HTTPRequest `json:"event"`
		}
		if status != "200" || json.Unmarshal(body, &ans) != nil {
			t.Fatalf("status %s: %s", status, body)
		}
		if got := userARN(ans.Event); got != "arn:aws:iam::123456789012:user/approver" {
			t.Fatalf("principal %q, want the approver", got)
		}
	})
	t.Run("a request curl signed with a wrong secret is a 403", func(t *testing.T) {
		if status, body := curl(t, approver.AccessKeyID+":wrong"); status != "403" {
			t.Fatalf("status %s: %s, want 403", status, body)
		}
	})
}

// TestLocalUsersAreCreatedInMoto: the users exist in moto's IAM with the
// ARNs the gateway puts in the event.
func TestLocalUsersAreCreatedInMoto(t *testing.T) {
	m := testkit.SharedMoto(t)
	users, err := createLocalUsers(context.Background(), m.AWSConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range LocalUsers {
		got, ok := users[u.AccessKeyID]
		if !ok || got.ARN != "arn:aws:iam::123456789012:user/"+u.Name || got.UserID == "" || got.SecretAccessKey != u.SecretAccessKey {
			t.Fatalf("user %s: %+v", u.Name, got)
		}
	}
}

func userARN(ev events.APIGatewayV2HTTPRequest) string {
	if ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.IAM == nil {
		return ""
	}
	return ev.RequestContext.Authorizer.IAM.UserARN
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func nopCloser(s string) readCloser { return readCloser{strings.NewReader(s)} }
