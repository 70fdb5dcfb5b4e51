package ottu

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func TestCredentialsRedact(t *testing.T) {
	tests := []struct {
		name  string
		creds Credentials
		want  string
	}{
		{name: "an API key is redacted", creds: Credentials{APIKey: "key-SECRET"}, want: "ottu.Credentials{APIKey: [redacted]}"},
		{name: "a password is redacted but the user name shown", creds: Credentials{Username: "refunder", Password: "pw-SECRET"},
			want: "ottu.Credentials{Username: refunder, Password: [redacted]}"},
		{name: "empty credentials say so", creds: Credentials{}, want: "ottu.Credentials{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range []any{tt.creds, &tt.creds, StaticCredentials(tt.creds)} {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
					got := fmt.Sprintf(verb, v)
					if got != tt.want {
						t.Errorf("%s of %T = %q, want %q", verb, v, got, tt.want)
					}
					if strings.Contains(got, "SECRET") {
						t.Errorf("%s of %T leaks: %q", verb, v, got)
					}
				}
			}
		})
	}
}

func TestCredentialsValidate(t *testing.T) {
	tests := []struct {
		name  string
		creds Credentials
		ok    bool
	}{
		{name: "an API key alone is enough", creds: Credentials{APIKey: "k"}, ok: true},
		{name: "a user with a password is enough", creds: Credentials{Username: "u", Password: "p"}, ok: true},
		{name: "a user without a password is not", creds: Credentials{Username: "u"}},
		{name: "a password without a user is not", creds: Credentials{Password: "p"}},
		{name: "a base URL alone is not", creds: Credentials{BaseURL: "https://m.ottu.net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.creds.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestCredentialsAuthorization(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("u:p"))
	tests := []struct {
		name      string
		creds     Credentials
		basicOnly bool
		want      string
		wantErr   string
	}{
		{name: "an API key becomes Api-Key", creds: Credentials{APIKey: "k"}, want: "Api-Key k"},
		{name: "a user becomes Basic", creds: Credentials{Username: "u", Password: "p"}, want: basic},
		{name: "a user wins over an API key", creds: Credentials{APIKey: "k", Username: "u", Password: "p"}, want: basic},
		{name: "v1 with a user is Basic", creds: Credentials{Username: "u", Password: "p"}, basicOnly: true, want: basic},
		{name: "v1 with only an API key is refused", creds: Credentials{APIKey: "k"}, basicOnly: true, wantErr: "Basic authentication only"},
		{name: "nothing usable is refused", creds: Credentials{Username: "u"}, wantErr: "need either api_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.creds.authorization(tt.basicOnly)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if got != "" {
					t.Errorf("header %q returned with an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestStaticCredentialsReturnsItself(t *testing.T) {
	s := StaticCredentials{BaseURL: "https://m.ottu.net", Username: "u", Password: "p"}
	for _, refresh := range []bool{false, true} {
		got, err := s.Credentials(context.Background(), "payment.refund", refresh)
		if err != nil || got != Credentials(s) {
			t.Errorf("refresh=%v: got %v, %v", refresh, got, err)
		}
	}
}
