// Package baseurl holds the rule for the base URLs the project is
// configured with (Ottu's host, the stack's own public address). It is a
// leaf apart from the Ottu client so that checking the configuration does
// not link the client into functions that never call Ottu.
package baseurl

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// Check applies the rule for every Ottu (or own API) host the project is
// configured with: https, or plain http only for a loopback host
// (the local sandbox); no user, query or fragment. It trims a trailing
// slash. Its errors never quote the URL, which may carry a password.
func Check(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", errors.New("must be an absolute URL such as https://merchant.ottu.net")
	}
	if u.User != nil {
		return "", errors.New("must not carry a user or password")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", errors.New("must not have a query or fragment")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", errors.New("must use https (plain http is accepted only for localhost)")
		}
	default:
		return "", errors.New("must be an https URL such as https://merchant.ottu.net")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
