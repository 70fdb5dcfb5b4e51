package localstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// LocalUser is an IAM user the local stack creates in moto, with a fixed,
// local-only access key: requests signed with it (SigV4, service
// execute-api) reach IAM-authorized routes as that user, as they would in
// AWS. The keys are printed in the banner and documented in the README;
// they open nothing but this laptop's stack.
type LocalUser struct {
	Name            string
	AccessKeyID     string
	SecretAccessKey string
	// ARN and UserID are moto's, once the stack created the user.
	ARN    string
	UserID string
}

// LocalUsers are the stack's IAM users: one to start refund workflows and
// one to approve them, so separation of duties can be tried on a laptop.
var LocalUsers = []LocalUser{
	{Name: "requester", AccessKeyID: "AKIALOCALREQUESTER01", SecretAccessKey: "local-requester-secret"},
	{Name: "approver", AccessKeyID: "AKIALOCALAPPROVER001", SecretAccessKey: "local-approver-secret"},
}

// The identity of an unsigned request to an IAM route: the documented
// local principal, so that curl walks without keys keep working.
const (
	unsignedAccessKey = "AKIALOCALSTACK000000"
	unsignedUserID    = "AIDALOCALSTACK000000"
	unsignedUserARN   = "arn:aws:iam::" + localAccountID + ":user/local"
)

// sigv4Service is the service a request to API Gateway is signed for.
const sigv4Service = "execute-api"

// maxClockSkew is how far a request's X-Amz-Date may be from now, as AWS
// allows.
const maxClockSkew = 15 * time.Minute

// errSignature is a request whose signature does not verify; API Gateway
// answers it 403.
var errSignature = errors.New("the request signature does not match")

// errUnknownKey is a request signed with a key the stack does not know.
var errUnknownKey = errors.New("the security token included in the request is invalid")

// verifySigV4 checks a signed request's Authorization header with the
// SDK's own v4 signer: the request's signed parts are signed again with
// the secret of the access key it names, and the two signatures compared
// in constant time. It returns the user the key belongs to. body is the
// request's body, already read.
func verifySigV4(r *http.Request, body []byte, users map[string]LocalUser, now time.Time) (LocalUser, error) {
	auth := r.Header.Get("Authorization")
	const algorithm = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algorithm) {
		return LocalUser{}, fmt.Errorf("%w: the Authorization header is not AWS4-HMAC-SHA256", errSignature)
	}
	parts := map[string]string{}
	for p := range strings.SplitSeq(strings.TrimPrefix(auth, algorithm), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok {
			parts[k] = v
		}
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || parts["SignedHeaders"] == "" || parts["Signature"] == "" {
		return LocalUser{}, fmt.Errorf("%w: the Authorization header lacks Credential, SignedHeaders or Signature", errSignature)
	}
	akid, date, region, service := scope[0], scope[1], scope[2], scope[3]
	user, ok := users[akid]
	if !ok {
		return LocalUser{}, errUnknownKey
	}
	if service != sigv4Service || region != localRegion {
		return LocalUser{}, fmt.Errorf("%w: signed for %s in %s, want %s in %s", errSignature, service, region, sigv4Service, localRegion)
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || signedAt.Format("20060102") != date {
		return LocalUser{}, fmt.Errorf("%w: X-Amz-Date is missing or disagrees with the credential's date", errSignature)
	}
	if d := now.Sub(signedAt); d > maxClockSkew || d < -maxClockSkew {
		return LocalUser{}, fmt.Errorf("%w: signed at %s, more than 15 minutes from now", errSignature, signedAt.Format(time.RFC3339))
	}
	signed := strings.Split(parts["SignedHeaders"], ";")
	if !slices.Contains(signed, "host") {
		return LocalUser{}, fmt.Errorf("%w: the host header is not signed", errSignature)
	}
	// The request as the client signed it: the same method, path, query and
	// signed headers, nothing else.
	// It is only signed, never sent.
	again := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:   r.Host,
		Header: http.Header{},
		Body:   io.NopCloser(bytes.NewReader(body)),
	}
	for _, h := range signed {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = int64(len(body))
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: user.AccessKeyID, SecretAccessKey: user.SecretAccessKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), service, region, signedAt); err != nil {
		return LocalUser{}, fmt.Errorf("%w: %w", errSignature, err)
	}
	want := again.Header.Get("Authorization")
	_, wantSig, _ := strings.Cut(want, "Signature=")
	if subtle.ConstantTimeCompare([]byte(wantSig), []byte(parts["Signature"])) != 1 {
		return LocalUser{}, errSignature
	}
	return user, nil
}

// iamIdentity is the authorizer context of an IAM route: the verified
// user's, or for an unsigned request the documented local principal.
func iamIdentity(u *LocalUser) *events.APIGatewayV2HTTPRequestContextAuthorizerDescription {
	iam := &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
		AccessKey: unsignedAccessKey,
		AccountID: localAccountID,
		CallerID:  unsignedUserID,
		UserARN:   unsignedUserARN,
		UserID:    unsignedUserID,
	}
	if u != nil {
		iam.AccessKey, iam.CallerID, iam.UserARN, iam.UserID = u.AccessKeyID, u.UserID, u.ARN, u.UserID
	}
	return &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{IAM: iam}
}

// createLocalUsers creates LocalUsers in moto's IAM (through its query
// API, signed as any client would) and returns them keyed by access key,
// with the ARN and user id moto gave them.
func createLocalUsers(ctx context.Context, cfg aws.Config) (map[string]LocalUser, error) {
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("create the local IAM users: %w", err)
	}
	users := map[string]LocalUser{}
	for _, u := range LocalUsers {
		form := url.Values{"Action": {"CreateUser"}, "UserName": {u.Name}, "Version": {"2010-05-08"}}.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, aws.ToString(cfg.BaseEndpoint)+"/", strings.NewReader(form))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		sum := sha256.Sum256([]byte(form))
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "iam", localRegion, time.Now()); err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("create IAM user %s in moto: %w", u.Name, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		var out struct {
			User struct {
				UserID string `xml:"UserId"`
				ARN    string `xml:"Arn"`
			} `xml:"CreateUserResult>User"`
		}
		if resp.StatusCode != http.StatusOK || xml.Unmarshal(body, &out) != nil || out.User.ARN == "" {
			return nil, fmt.Errorf("create IAM user %s in moto: HTTP %d %s", u.Name, resp.StatusCode, body)
		}
		u.ARN, u.UserID = out.User.ARN, out.User.UserID
		users[u.AccessKeyID] = u
	}
	return users, nil
}
