package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
)

// Permissions lists every Ottu permission code the sandbox checks.
var Permissions = []string{
	payment.Capture.Permission(), payment.Refund.Permission(), payment.Void.Permission(),
	payment.Cancel.Permission(), payment.Expire.Permission(), payment.Delete.Permission(),
	ottu.PermissionInquiry,
}

// PermissionAll grants every permission.
const PermissionAll = "*"

// Ottu's (DRF's) authentication messages.
const (
	msgNoCredentials   = "Authentication credentials were not provided."
	msgBadCredentials  = "Invalid username/password."
	msgBadAPIKey       = "Invalid API key."
	msgAPIKeyOnV1      = "API v1 accepts Basic authentication only; send Authorization: Basic with a user holding the operation's permission."
	msgNoPermission    = "You do not have permission to perform this action."
	msgBasicNoCreds    = "Invalid basic header. No credentials provided."
	msgBasicSpaces     = "Invalid basic header. Credentials string should not contain spaces."
	msgBasicNotBase64  = "Invalid basic header. Credentials not correctly base64 encoded."
	wwwAuthenticateVal = `Basic realm="api"`
)

// authUser is a configured user with the password kept only as a digest,
// so comparisons run in constant time whatever its length.
type authUser struct {
	passwordSum [32]byte
	all         bool
	perms       map[string]bool
}

func newAuthUser(u User) authUser {
	au := authUser{passwordSum: sha256.Sum256([]byte(u.Password)), perms: map[string]bool{}}
	for _, p := range u.Permissions {
		if p == PermissionAll {
			au.all = true
		}
		au.perms[p] = true
	}
	return au
}

// principal is who a request authenticated as.
type principal struct {
	superadmin bool
	user       authUser
}

func (p principal) can(permission string) bool {
	return p.superadmin || p.user.all || p.user.perms[permission]
}

// authenticate reads the Authorization header. On failure it has answered
// 401 and ok is false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, version int) (principal, bool) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	cred = strings.TrimSpace(cred)
	var msg string
	switch strings.ToLower(scheme) {
	case "api-key":
		if version == 1 {
			msg = msgAPIKeyOnV1
			break
		}
		if key := s.apiKey(); key != "" && equalSecret(cred, key) {
			return principal{superadmin: true}, true
		}
		msg = msgBadAPIKey
	case "basic":
		u, m := s.basicUser(cred)
		if m == "" {
			return principal{user: u}, true
		}
		msg = m
	default:
		msg = msgNoCredentials
	}
	w.Header().Set("WWW-Authenticate", wwwAuthenticateVal)
	writeJSON(w, http.StatusUnauthorized, detailBody(msg))
	return principal{}, false
}

// basicUser checks Basic credentials; a non-empty message says why not.
func (s *Server) basicUser(cred string) (authUser, string) {
	switch {
	case cred == "":
		return authUser{}, msgBasicNoCreds
	case strings.ContainsAny(cred, " \t"):
		return authUser{}, msgBasicSpaces
	}
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return authUser{}, msgBasicNotBase64
	}
	name, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return authUser{}, msgBasicNotBase64
	}
	u, known := s.users[name]
	sum := sha256.Sum256([]byte(password))
	// Compare even for unknown users so timing does not reveal names.
	match := subtle.ConstantTimeCompare(sum[:], u.passwordSum[:]) == 1
	if !known || !match {
		return authUser{}, msgBadCredentials
	}
	return u, ""
}

// equalSecret compares digests so neither content nor length leaks through
// timing.
func equalSecret(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// forbid answers 403 when p lacks permission; ok is true when allowed.
func forbid(w http.ResponseWriter, p principal, permission string) bool {
	if p.can(permission) {
		return true
	}
	writeJSON(w, http.StatusForbidden, detailBody(msgNoPermission))
	return false
}

func validPermission(p string) bool {
	return p == PermissionAll || slices.Contains(Permissions, p)
}

// SetAPIKey replaces the accepted API key at once, as rotating the key in
// Ottu's dashboard does: the old key is refused from the next request on.
func (s *Server) SetAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.APIKey = key
}

func (s *Server) apiKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.APIKey
}
