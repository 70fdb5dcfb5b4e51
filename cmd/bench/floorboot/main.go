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
	"strconv"
	"strings"
	"time"
)

func main() {
	// run serves invocations until the runtime API fails it.
	fmt.Fprintln(os.Stderr, "floorboot:", run())
	os.Exit(1)
}

func run() error {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	f := &floorRequester{client: &http.Client{}, motoURL: os.Getenv("AWS_ENDPOINT_URL"), table: os.Getenv("TRACKING_KEYS_TABLE")}
	ctx := context.Background()
	for {
		resp, err := http.Get(api + "next") //nolint:gosec // the Runtime API address Lambda (here the local emulator) gives the process
		if err != nil {
			return err
		}
		event, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		if f.ottuAuth == "" {
			if err := f.loadSecret(ctx, os.Getenv("OTTU_API_SECRET_ID")); err != nil {
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
		if err := f.first(ctx, ev.Headers["tracking-key"], body.SessionID); err != nil {
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
func (f *floorRequester) loadSecret(ctx context.Context, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.motoURL, bytes.NewReader([]byte(`{"SecretId":"`+id+`"}`)))
	if err != nil {
		return err
	}
	req.Header = dynamoHeader("")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/dynamodb/", "/secretsmanager/", 1))
	resp, err := f.client.Do(req) //nolint:gosec // the local moto endpoint of the benchmark's own stack
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
	f.ottuURL, f.ottuAuth = secret.BaseURL+"/b/pbl/v2/operation/", "Api-Key "+secret.APIKey
	return nil
}

// floorRequester is the floor: the same HTTP round trips with a bare
// net/http client and bodies written out by hand, no SDK, no JSON work.
type floorRequester struct {
	client            *http.Client
	ottuURL, ottuAuth string
	motoURL, table    string
}

func (f *floorRequester) post(ctx context.Context, url string, body []byte, header http.Header, want ...int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = header
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return err
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return nil
		}
	}
	return fmt.Errorf("floor: %s answered %d", url, resp.StatusCode)
}

// dynamoHeader is what the SDK sends, minus what only the SDK computes.
func dynamoHeader(target string) http.Header {
	return http.Header{
		"Content-Type":  {"application/x-amz-json-1.0"},
		"X-Amz-Target":  {"DynamoDB_20120810." + target},
		"X-Amz-Date":    {"20260101T000000Z"},
		"Authorization": {"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000"},
	}
}

// claimBody is the claim's conditional UpdateItem as trackingkey sends it.
func (f *floorRequester) claimBody(key, session string) []byte {
	now := time.Now()
	ms, s := strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(now.Unix(), 10)
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z")
	return []byte(`{"ConditionExpression":"attribute_not_exists(#trackingkey) OR ((attribute_not_exists(#expiresat) OR #expiresat >= :nows) AND #fingerprint = :fingerprint AND #status <> :succeeded AND #leaseexpiresat <= :nowms)",` +
		`"ExpressionAttributeNames":{"#amount":"amount","#attempts":"attempts","#createdat":"created_at","#expiresat":"expires_at","#fingerprint":"fingerprint","#leaseexpiresat":"lease_expires_at","#leaseid":"lease_id","#operation":"operation","#orderno":"order_no","#sessionid":"session_id","#status":"status","#trackingkey":"tracking_key","#updatedat":"updated_at"},` +
		`"ExpressionAttributeValues":{":amount":{"S":"0.001"},":expiresat":{"N":"` + s + `"},":fingerprint":{"S":"6f1c2a0b9d8e7f60a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcdef01"},":inprogress":{"S":"in_progress"},":leaseid":{"S":"0b7c4e1a-3f2d-4c5b-9a8e-7d6f5e4c3b2a"},":leaseuntil":{"N":"` + ms + `"},":now":{"S":"` + ts + `"},":nows":{"N":"` + s + `"},":nowms":{"N":"` + ms + `"},":one":{"N":"1"},":operation":{"S":"refund"},":sessionid":{"S":"` + session + `"},":succeeded":{"S":"succeeded"},":zero":{"N":"0"}},` +
		`"Key":{"tracking_key":{"S":"` + key + `"}},"ReturnValuesOnConditionCheckFailure":"ALL_OLD","TableName":"` + f.table + `",` +
		`"UpdateExpression":"SET #operation = :operation, #sessionid = :sessionid, #amount = :amount, #fingerprint = :fingerprint, #status = :inprogress, #leaseid = :leaseid, #leaseexpiresat = :leaseuntil, #updatedat = :now, #expiresat = :expiresat, #attempts = if_not_exists(#attempts, :zero) + :one, #createdat = if_not_exists(#createdat, :now) REMOVE #orderno"}`)
}

// completeBody is the outcome write, fenced on the lease.
func (f *floorRequester) completeBody(key string, ottuBody []byte) []byte {
	now := time.Now()
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z")
	quoted, _ := json.Marshal(string(ottuBody))
	return []byte(`{"ConditionExpression":"#leaseid = :lease","ExpressionAttributeNames":{"#errorcode":"error_code","#expiresat":"expires_at","#leaseexpiresat":"lease_expires_at","#leaseid":"lease_id","#ottubody":"ottu_body","#ottustatus":"ottu_status","#status":"status","#updatedat":"updated_at"},` +
		`"ExpressionAttributeValues":{":expiresat":{"N":"` + strconv.FormatInt(now.Unix()+2592000, 10) + `"},":lease":{"S":"0b7c4e1a-3f2d-4c5b-9a8e-7d6f5e4c3b2a"},":leaseuntil":{"N":"` + strconv.FormatInt(now.UnixMilli(), 10) + `"},":now":{"S":"` + ts + `"},":ottubody":{"S":` + string(quoted) + `},":ottustatus":{"N":"200"},":status":{"S":"succeeded"}},` +
		`"Key":{"tracking_key":{"S":"` + key + `"}},"TableName":"` + f.table + `",` +
		`"UpdateExpression":"SET #status = :status, #ottustatus = :ottustatus, #ottubody = :ottubody, #updatedat = :now, #leaseexpiresat = :leaseuntil, #expiresat = :expiresat REMOVE #errorcode"}`)
}

func (f *floorRequester) first(ctx context.Context, key, session string) error {
	if err := f.post(ctx, f.motoURL, f.claimBody(key, session), dynamoHeader("UpdateItem"), 200); err != nil {
		return err
	}
	body, err := f.ottu(ctx, key, session)
	if err != nil {
		return err
	}
	return f.post(ctx, f.motoURL, f.completeBody(key, body), dynamoHeader("UpdateItem"), 200)
}

// ottu is the refund at the sandbox; it returns Ottu's body.
func (f *floorRequester) ottu(ctx context.Context, key, session string) ([]byte, error) {
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}, "Authorization": {f.ottuAuth}, "Tracking-Key": {key}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.ottuURL,
		bytes.NewReader([]byte(`{"operation":"refund","session_id":"`+session+`","amount":"0.001"}`)))
	if err != nil {
		return nil, err
	}
	req.Header = h
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("floor: Ottu answered %d %s: %w", resp.StatusCode, body, err)
	}
	return body, nil
}
