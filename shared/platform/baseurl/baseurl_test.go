package baseurl_test

import (
	"strings"
	"testing"

	"github.com/ottuops/ottu-lambda/shared/platform/baseurl"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    string
		problem string
	}{
		{"an https host is accepted as it is", "https://merchant.ottu.net", "https://merchant.ottu.net", ""},
		{"a trailing slash is trimmed", "https://merchant.ottu.net/", "https://merchant.ottu.net", ""},
		{"an https host with a port and path is accepted", "https://ottu.example:8443/prefix", "https://ottu.example:8443/prefix", ""},
		{"plain http to 127.0.0.1 is accepted for the local sandbox", "http://127.0.0.1:8081", "http://127.0.0.1:8081", ""},
		{"plain http to localhost is accepted", "http://localhost:8081/", "http://localhost:8081", ""},
		{"plain http to ::1 is accepted", "http://[::1]:8081", "http://[::1]:8081", ""},
		{"plain http to a public host is refused", "http://merchant.ottu.net", "", "must use https"},
		{"a host without a scheme is refused", "pay.example.com", "", "must be an absolute URL"},
		{"another scheme is refused", "ftp://merchant.ottu.net", "", "must be an https URL"},
		{"a user and password in the URL are refused", "https://bot:pw@merchant.ottu.net", "", "must not carry a user or password"},
		{"a query is refused", "https://merchant.ottu.net/?x=1", "", "must not have a query"},
		{"a fragment is refused", "https://merchant.ottu.net/#x", "", "must not have a query or fragment"},
		{"text that is no URL at all is refused", "https://%zz", "", "must be an absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := baseurl.Check(tt.raw)
			problem := ""
			if err != nil {
				problem = err.Error()
			}
			if got != tt.want {
				t.Errorf("url = %q, want %q", got, tt.want)
			}
			if (tt.problem == "" && problem != "") || !strings.Contains(problem, tt.problem) {
				t.Errorf("problem = %q, want one containing %q", problem, tt.problem)
			}
			if tt.problem != "" && strings.Contains(problem, tt.raw) {
				t.Errorf("problem %q quotes the URL", problem)
			}
		})
	}
}
