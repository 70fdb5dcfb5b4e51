// Package floor is the benchmarks' floor: a refund's round trips made with
// the standard library alone. cmd/bench measures it in-process and
// cmd/bench/floorboot runs it as a bootstrap, so it imports nothing but the
// standard library.
package floor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Requester is the floor: the same HTTP round trips as a refund (claim,
// Ottu, outcome; or the replay's one claim) with a bare net/http client
// and bodies written out by hand, no SDK, no JSON work.
type Requester struct {
	Client *http.Client
	// OttuURL is the operation endpoint; OttuAuth its Authorization value.
	OttuURL, OttuAuth string
	MotoURL, Table    string
}

func (f *Requester) Post(ctx context.Context, url string, body []byte, header http.Header, want ...int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = header
	resp, err := f.Client.Do(req)
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

// DynamoHeader is what the SDK sends, minus what only the SDK computes.
func DynamoHeader(target string) http.Header {
	return http.Header{
		"Content-Type":  {"application/x-amz-json-1.0"},
		"X-Amz-Target":  {"DynamoDB_20120810." + target},
		"X-Amz-Date":    {"20260101T000000Z"},
		"Authorization": {"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000"},
	}
}

// claimBody is the claim's conditional UpdateItem as trackingkey sends it.
func (f *Requester) claimBody(key, session string) []byte {
	now := time.Now()
	ms, s := strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(now.Unix(), 10)
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z")
	return []byte(`{"ConditionExpression":"attribute_not_exists(#trackingkey) OR ((attribute_not_exists(#expiresat) OR #expiresat >= :nows) AND #fingerprint = :fingerprint AND #status <> :succeeded AND #leaseexpiresat <= :nowms)",` +
		`"ExpressionAttributeNames":{"#amount":"amount","#attempts":"attempts","#createdat":"created_at","#expiresat":"expires_at","#fingerprint":"fingerprint","#leaseexpiresat":"lease_expires_at","#leaseid":"lease_id","#operation":"operation","#orderno":"order_no","#sessionid":"session_id","#status":"status","#trackingkey":"tracking_key","#updatedat":"updated_at"},` +
		`"ExpressionAttributeValues":{":amount":{"S":"0.001"},":expiresat":{"N":"` + s + `"},":fingerprint":{"S":"6f1c2a0b9d8e7f60a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcdef01"},":inprogress":{"S":"in_progress"},":leaseid":{"S":"0b7c4e1a-3f2d-4c5b-9a8e-7d6f5e4c3b2a"},":leaseuntil":{"N":"` + ms + `"},":now":{"S":"` + ts + `"},":nows":{"N":"` + s + `"},":nowms":{"N":"` + ms + `"},":one":{"N":"1"},":operation":{"S":"refund"},":sessionid":{"S":"` + session + `"},":succeeded":{"S":"succeeded"},":zero":{"N":"0"}},` +
		`"Key":{"tracking_key":{"S":"` + key + `"}},"ReturnValuesOnConditionCheckFailure":"ALL_OLD","TableName":"` + f.Table + `",` +
		`"UpdateExpression":"SET #operation = :operation, #sessionid = :sessionid, #amount = :amount, #fingerprint = :fingerprint, #status = :inprogress, #leaseid = :leaseid, #leaseexpiresat = :leaseuntil, #updatedat = :now, #expiresat = :expiresat, #attempts = if_not_exists(#attempts, :zero) + :one, #createdat = if_not_exists(#createdat, :now) REMOVE #orderno"}`)
}

// completeBody is the outcome write, fenced on the lease.
func (f *Requester) completeBody(key string, ottuBody []byte) []byte {
	now := time.Now()
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z")
	quoted, _ := json.Marshal(string(ottuBody))
	return []byte(`{"ConditionExpression":"#leaseid = :lease","ExpressionAttributeNames":{"#errorcode":"error_code","#expiresat":"expires_at","#leaseexpiresat":"lease_expires_at","#leaseid":"lease_id","#ottubody":"ottu_body","#ottustatus":"ottu_status","#status":"status","#updatedat":"updated_at"},` +
		`"ExpressionAttributeValues":{":expiresat":{"N":"` + strconv.FormatInt(now.Unix()+2592000, 10) + `"},":lease":{"S":"0b7c4e1a-3f2d-4c5b-9a8e-7d6f5e4c3b2a"},":leaseuntil":{"N":"` + strconv.FormatInt(now.UnixMilli(), 10) + `"},":now":{"S":"` + ts + `"},":ottubody":{"S":` + string(quoted) + `},":ottustatus":{"N":"200"},":status":{"S":"succeeded"}},` +
		`"Key":{"tracking_key":{"S":"` + key + `"}},"TableName":"` + f.Table + `",` +
		`"UpdateExpression":"SET #status = :status, #ottustatus = :ottustatus, #ottubody = :ottubody, #updatedat = :now, #leaseexpiresat = :leaseuntil, #expiresat = :expiresat REMOVE #errorcode"}`)
}

// First is a first refund: claim, Ottu, outcome.
func (f *Requester) First(ctx context.Context, key, session string) error {
	if err := f.Post(ctx, f.MotoURL, f.claimBody(key, session), DynamoHeader("UpdateItem"), 200); err != nil {
		return err
	}
	body, err := f.Ottu(ctx, key, session)
	if err != nil {
		return err
	}
	return f.Post(ctx, f.MotoURL, f.completeBody(key, body), DynamoHeader("UpdateItem"), 200)
}

// Ottu is the refund at the sandbox; it returns Ottu's body.
func (f *Requester) Ottu(ctx context.Context, key, session string) ([]byte, error) {
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}, "Authorization": {f.OttuAuth}, "Tracking-Key": {key}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.OttuURL,
		bytes.NewReader([]byte(`{"operation":"refund","session_id":"`+session+`","amount":"0.001"}`)))
	if err != nil {
		return nil, err
	}
	req.Header = h
	resp, err := f.Client.Do(req)
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

// Replay is a replay: one claim that fails its condition.
func (f *Requester) Replay(ctx context.Context, key, session string) error {
	// The claim fails its condition and DynamoDB returns the record (400).
	return f.Post(ctx, f.MotoURL, f.claimBody(key, session), DynamoHeader("UpdateItem"), 400)
}
