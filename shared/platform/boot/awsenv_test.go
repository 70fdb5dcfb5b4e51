package boot

import (
	"context"
	"strings"
	"testing"
)

func TestAWSConfigFromEnv(t *testing.T) {
	lambdaEnv := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-LEAK", "AWS_SESSION_TOKEN": "token-LEAK"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range lambdaEnv {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name     string
		env      map[string]string
		wantErr  string
		endpoint string
	}{
		{"Lambda's environment is enough", lambdaEnv, "", ""},
		{"the local stack's endpoint is used", with("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"), "", "http://127.0.0.1:5000"},
		{"a missing region is named", with("AWS_REGION", ""), "AWS_REGION", ""},
		{"missing credentials are named", with("AWS_SECRET_ACCESS_KEY", ""), "AWS_SECRET_ACCESS_KEY", ""},
		{"an endpoint that is not a URL is refused", with("AWS_ENDPOINT_URL", "localhost"), "AWS_ENDPOINT_URL", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := awsConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "LEAK") {
					t.Fatalf("err = %v, want it to name %s and no secret", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil || creds.SessionToken != "token-LEAK" || cfg.Region != "eu-west-1" {
				t.Fatalf("config %+v creds %v", cfg, err)
			}
			if got := ""; cfg.BaseEndpoint != nil {
				got = *cfg.BaseEndpoint
				if got != tt.endpoint {
					t.Fatalf("endpoint %q, want %q", got, tt.endpoint)
				}
			} else if tt.endpoint != "" {
				t.Fatalf("no endpoint, want %q", tt.endpoint)
			}
		})
	}
}
