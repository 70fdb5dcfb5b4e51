package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/baseurl"
)

const apiSecretExample = `{"api_key": "…"} or {"username": "…", "password": "…"}`

// operationNames are the keys "operations" may hold: Ottu's six operations
// and inquiry, each matching the permission "payment.<name>".
var operationNames = func() []string {
	names := make([]string, 0, len(payment.Operations)+1)
	for _, op := range payment.Operations {
		names = append(names, string(op))
	}
	return append(names, strings.TrimPrefix(ottu.PermissionInquiry, "payment."))
}()

// Provider is an ottu.CredentialsProvider reading the API secret
// {"base_url"?, "api_key"} or {"base_url"?, "username", "password"}, with
// optional per-operation Basic users under "operations".
type Provider struct {
	secretID string
	cache    *cache[*apiSecret]
}

var _ ottu.CredentialsProvider = (*Provider)(nil)

// NewProvider reads secretID (a name or ARN) through client on first use.
func NewProvider(client GetSecretValueAPI, secretID string, opts ...Option) *Provider {
	return &Provider{
		secretID: secretID,
		cache: newCache(opts, func(ctx context.Context) (*apiSecret, error) {
			text, err := fetchText(ctx, client, secretID)
			if err != nil {
				return nil, err
			}
			return parseAPISecret(secretID, text)
		}),
	}
}

// Credentials returns the user for permission ("payment.refund" uses
// operations.refund) or, when the secret names none for it, the top-level
// credentials. refresh reads the secret again (Ottu answered 401), unless it
// was read within the minimum refresh interval.
func (p *Provider) Credentials(ctx context.Context, permission string, refresh bool) (ottu.Credentials, error) {
	s, err := p.cache.get(ctx, refresh)
	if err != nil {
		return ottu.Credentials{}, err
	}
	return s.credentials(p.secretID, permission)
}

// Format prints the secret id only, whatever the verb, so a stray %v or %#v
// of a provider cannot print cached credentials.
func (p *Provider) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "secrets.Provider{SecretID: %s}", p.secretID)
}

// basicUser is one Basic-authentication user.
type basicUser struct {
	username string
	password string
}

// apiSecret is the parsed API secret; it never leaves this package, only
// the ottu.Credentials built from it (whose String redacts).
type apiSecret struct {
	baseURL      string
	apiKey       string
	user         basicUser
	perOperation map[string]basicUser
}

func (s *apiSecret) hasTopLevel() bool {
	return s.apiKey != "" || s.user.username != ""
}

func (s *apiSecret) credentials(id, permission string) (ottu.Credentials, error) {
	op := strings.TrimPrefix(permission, "payment.")
	if u, ok := s.perOperation[op]; ok {
		return ottu.Credentials{BaseURL: s.baseURL, Username: u.username, Password: u.password}, nil
	}
	if !s.hasTopLevel() {
		return ottu.Credentials{}, invalid(id, "has no credentials for %s: add operations.%s with username and password, or a top-level api_key or username and password", permission, op)
	}
	return ottu.Credentials{BaseURL: s.baseURL, APIKey: s.apiKey, Username: s.user.username, Password: s.user.password}, nil
}

func parseAPISecret(id, text string) (*apiSecret, error) {
	fields, err := parseObject(id, text, apiSecretExample)
	if err != nil {
		return nil, err
	}
	s := &apiSecret{}
	if s.baseURL, err = stringField(id, fields, "base_url", "base_url"); err != nil {
		return nil, err
	}
	if s.baseURL != "" {
		clean, err := baseurl.Check(s.baseURL)
		if err != nil {
			return nil, invalid(id, "field base_url %s", err)
		}
		s.baseURL = clean
	}
	if s.apiKey, err = stringField(id, fields, "api_key", "api_key"); err != nil {
		return nil, err
	}
	if s.user, err = parseUser(id, fields, ""); err != nil {
		return nil, err
	}
	if s.perOperation, err = parseOperations(id, fields); err != nil {
		return nil, err
	}
	if !s.hasTopLevel() && len(s.perOperation) == 0 {
		return nil, invalid(id, "has neither api_key nor username and password: store %s", apiSecretExample)
	}
	return s, nil
}

// parseUser reads username and password from fields; prefix names the place
// in messages ("" at the top, "operations.refund." below).
func parseUser(id string, fields map[string]json.RawMessage, prefix string) (basicUser, error) {
	var u basicUser
	var err error
	if u.username, err = stringField(id, fields, "username", prefix+"username"); err != nil {
		return basicUser{}, err
	}
	if u.password, err = stringField(id, fields, "password", prefix+"password"); err != nil {
		return basicUser{}, err
	}
	switch {
	case u.username != "" && u.password == "":
		return basicUser{}, invalid(id, "has %susername but no %spassword: add the password", prefix, prefix)
	case u.username == "" && u.password != "":
		return basicUser{}, invalid(id, "has %spassword but no %susername: add the username", prefix, prefix)
	}
	return u, nil
}

func parseOperations(id string, fields map[string]json.RawMessage) (map[string]basicUser, error) {
	raw, ok := fields["operations"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var ops map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ops); err != nil {
		return nil, invalid(id, `field operations must be an object such as {"refund": {"username": "…", "password": "…"}}`)
	}
	users := make(map[string]basicUser, len(ops))
	for name, rawUser := range ops {
		if !slices.Contains(operationNames, name) {
			return nil, invalid(id, "field operations has an unknown operation %q: use %s", name, strings.Join(operationNames, ", "))
		}
		var userFields map[string]json.RawMessage
		if err := json.Unmarshal(rawUser, &userFields); err != nil {
			return nil, invalid(id, `field operations.%s must be an object such as {"username": "…", "password": "…"}`, name)
		}
		prefix := "operations." + name + "."
		u, err := parseUser(id, userFields, prefix)
		if err != nil {
			return nil, err
		}
		if u.username == "" {
			return nil, invalid(id, "has no %susername and %spassword: add both, or remove operations.%s", prefix, prefix, name)
		}
		users[name] = u
	}
	return users, nil
}
