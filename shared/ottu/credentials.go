package ottu

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// Credentials authenticate one call to Ottu: an API key (superadmin), or a
// Basic user whose permissions Ottu checks per operation. BaseURL, when set,
// overrides the client's configured host (the secret may carry it).
type Credentials struct {
	BaseURL  string
	APIKey   string
	Username string
	Password string
}

// String never prints the secret parts, so a stray %v cannot leak them.
func (c Credentials) String() string {
	switch {
	case c.APIKey != "":
		return "ottu.Credentials{APIKey: [redacted]}"
	case c.Username != "":
		return "ottu.Credentials{Username: " + c.Username + ", Password: [redacted]}"
	}
	return "ottu.Credentials{}"
}

// GoString is used by %#v; it redacts too.
func (c Credentials) GoString() string { return c.String() }

// Format makes every verb (%d, %x, %+v…) print the redacted form.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// Validate says whether the credentials can authenticate anything.
func (c Credentials) Validate() error {
	if c.APIKey == "" && (c.Username == "" || c.Password == "") {
		return errors.New("ottu credentials need either api_key or both username and password")
	}
	return nil
}

// authorization is the Authorization header value. basicOnly is set for API
// v1, which accepts Basic authentication only.
func (c Credentials) authorization(basicOnly bool) (string, error) {
	if c.Username != "" && c.Password != "" {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)), nil
	}
	if basicOnly {
		return "", errors.New("ottu API v1 accepts Basic authentication only: configure username and password")
	}
	if c.APIKey != "" {
		return "Api-Key " + c.APIKey, nil
	}
	return "", c.Validate()
}

// CredentialsProvider hands the client credentials for one call. permission
// is the Ottu permission the call needs ("payment.refund",
// "payment.inquiry"), so a provider can return a user holding only that.
// refresh is true after Ottu answered 401: the provider must fetch the
// credentials again (a rotated secret) rather than return a cached copy.
type CredentialsProvider interface {
	Credentials(ctx context.Context, permission string, refresh bool) (Credentials, error)
}

// StaticCredentials is a CredentialsProvider that always returns itself.
type StaticCredentials Credentials

// Credentials returns the fixed credentials.
func (s StaticCredentials) Credentials(context.Context, string, bool) (Credentials, error) {
	return Credentials(s), nil
}

// String redacts, like Credentials.String.
func (s StaticCredentials) String() string { return Credentials(s).String() }

// GoString redacts, like Credentials.GoString.
func (s StaticCredentials) GoString() string { return Credentials(s).String() }

// Format redacts for every verb, like Credentials.Format.
func (s StaticCredentials) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, Credentials(s).String())
}
