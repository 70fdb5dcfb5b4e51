// Command floorboot is the cold-start floor of make bench (cmd/bench): a
// bootstrap that speaks the Lambda Runtime API and makes a first refund's
// round trips — the secret, the claim, Ottu, the outcome — with a bare
// net/http client, no SDK and nothing of ours, so that process start to its
// first answer is the least a cold start can take against the same servers.
// It imports the standard library only, so its init is the Go runtime's.
//
// Laptop tooling only; nothing in functions/ imports it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/ottuops/ottu-lambda/cmd/bench/floor"
)

func main() {
	// run serves invocations until the runtime API fails it.
	fmt.Fprintln(os.Stderr, "floorboot:", run())
	os.Exit(1)
}

func run() error {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	f := &floor.Requester{Client: &http.Client{}, MotoURL: os.Getenv("AWS_ENDPOINT_URL"), Table: os.Getenv("TRACKING_KEYS_TABLE")}
	ctx := context.Background()
	for {
		resp, err := http.Get(api + "next") //nolint:gosec // the Runtime API address Lambda (here the local emulator) gives the process
		if err != nil {
			return err
		}
		event, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		if f.OttuAuth == "" {
			if err := loadSecret(ctx, f, os.Getenv("OTTU_API_SECRET_ID")); err != nil {
				return err
			}
		}
		var ev struct {
			Headers map[string]string `json:"headers"`
			Body    string            `json:"body"`
		}
		_ = json.Unmarshal(event, &ev)
		var body struct {
			SessionID string `json:"session_id"`
		}
		_ = json.Unmarshal([]byte(ev.Body), &body)
		status := 200
		if err := f.First(ctx, ev.Headers["tracking-key"], body.SessionID); err != nil {
			status = 422 // an Ottu refusal still made every round trip
		}
		answer := fmt.Sprintf(`{"statusCode":%d}`, status)
		r, err := http.Post(api+id+"/response", "application/json", strings.NewReader(answer)) //nolint:gosec // as above
		if err != nil {
			return err
		}
		_ = r.Body.Close()
	}
}

// loadSecret is GetSecretValue with a bare client.
func loadSecret(ctx context.Context, f *floor.Requester, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.MotoURL, bytes.NewReader([]byte(`{"SecretId":"`+id+`"}`)))
	if err != nil {
		return err
	}
	req.Header = floor.DynamoHeader("")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/dynamodb/", "/secretsmanager/", 1))
	resp, err := f.Client.Do(req) //nolint:gosec // the local moto endpoint of the benchmark's own stack
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct{ SecretString string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	var secret struct {
		BaseURL string `json:"base_url"`
		APIKey  string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(out.SecretString), &secret); err != nil {
		return fmt.Errorf("floor: secret: %w", err)
	}
	f.OttuURL, f.OttuAuth = secret.BaseURL+"/b/pbl/v2/operation/", "Api-Key "+secret.APIKey
	return nil
}
