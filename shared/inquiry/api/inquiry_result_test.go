package api

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/dev/testkit/apigwtest"
	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// recordingReader stands in for inquiry.Results.
type recordingReader struct {
	ids     []string
	history []bool
	st      *inquiry.Stored
	err     error
}

func (r *recordingReader) Read(_ context.Context, id string, withHistory bool) (*inquiry.Stored, error) {
	r.ids = append(r.ids, id)
	r.history = append(r.history, withHistory)
	return r.st, r.err
}

func storedResults(t testing.TB) *inquiry.Stored {
	inq := answered(t).Entry
	disc := inq
	disc.Source, disc.Digest, disc.ReceivedAt = txn.SourceDisclosure, "d2", inq.ReceivedAt.Add(300*time.Millisecond)
	return &inquiry.Stored{Current: disc, History: []txn.Entry{disc, inq}}
}

func TestInquiryResultFromFixture(t *testing.T) {
	r := &recordingReader{st: storedResults(t)}
	out, err := (&InquiryResult{Service: r}).Invoke(context.Background(), readFixture(t, "apigw-inquiry-result.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp := out.(events.APIGatewayV2HTTPResponse)
	var v struct {
		Source     string          `json:"source"`
		SessionID  string          `json:"session_id"`
		OrderNo    string          `json:"order_no"`
		State      string          `json:"state"`
		ReceivedAt string          `json:"received_at"`
		Ottu       json.RawMessage `json:"ottu"`
		History    []struct {
			Source     string `json:"source"`
			ReceivedAt string `json:"received_at"`
		} `json:"history"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &v) != nil {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	t.Run("the path's id and history=true reach the reader", func(t *testing.T) {
		if !reflect.DeepEqual(r.ids, []string{"ORDER-1001"}) || !r.history[0] {
			t.Fatalf("ids %v history %v", r.ids, r.history)
		}
	})
	t.Run("the current view names its source, when it came and Ottu's body", func(t *testing.T) {
		if v.Source != "disclosure" || v.OrderNo != "ORDER-1001" || v.State != "attempted" || v.ReceivedAt != "2026-11-22T10:00:00.300Z" || len(v.Ottu) == 0 {
			t.Fatalf("view %s", resp.Body)
		}
	})
	t.Run("the history lists the entries newest first", func(t *testing.T) {
		if len(v.History) != 2 || v.History[0].Source != "disclosure" || v.History[1].Source != "inquiry" {
			t.Fatalf("history %+v", v.History)
		}
	})
}

func TestInquiryResultAnswers(t *testing.T) {
	get := func(r ResultReader, id string, query map[string]string, method string) events.APIGatewayV2HTTPResponse {
		ev := events.APIGatewayV2HTTPRequest{PathParameters: map[string]string{"id": id}, QueryStringParameters: query}
		ev.RequestContext.HTTP.Method = method
		ev.RequestContext.RequestID = "req-result"
		return (&InquiryResult{Service: r}).HTTP(context.Background(), ev)
	}
	t.Run("without history=true the answer has no history member", func(t *testing.T) {
		resp := get(&recordingReader{st: storedResults(t)}, "s", nil, http.MethodGet)
		var v map[string]json.RawMessage
		if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, resp.Body)
		}
		if _, ok := v["history"]; ok {
			t.Fatalf("view %s", resp.Body)
		}
		if resp.Headers["X-Request-Id"] != "req-result" || resp.Headers["Content-Type"] != "application/json" {
			t.Fatalf("headers %v", resp.Headers)
		}
	})
	t.Run("nothing stored is a 404 not_found", func(t *testing.T) {
		resp := get(&recordingReader{err: &problem.Error{Code: problem.CodeNotFound, Detail: "Nothing is stored."}}, "s", nil, http.MethodGet)
		if p := apigwtest.DecodeProblem(t, resp); resp.StatusCode != 404 || p.Code != problem.CodeNotFound {
			t.Fatalf("%d %+v", resp.StatusCode, p)
		}
	})
	t.Run("history=maybe is a 400 and nothing is read", func(t *testing.T) {
		r := &recordingReader{st: storedResults(t)}
		resp := get(r, "s", map[string]string{"history": "maybe"}, http.MethodGet)
		if p := apigwtest.DecodeProblem(t, resp); resp.StatusCode != 400 || p.Code != problem.CodeInvalidRequest || len(r.ids) != 0 {
			t.Fatalf("%d %+v", resp.StatusCode, p)
		}
	})
	t.Run("a POST is a 405 naming GET", func(t *testing.T) {
		resp := get(&recordingReader{st: storedResults(t)}, "s", nil, http.MethodPost)
		if p := apigwtest.DecodeProblem(t, resp); resp.StatusCode != 405 || p.Code != problem.CodeMethodNotAllowed || resp.Headers["Allow"] != "GET" {
			t.Fatalf("%d %v %+v", resp.StatusCode, resp.Headers, p)
		}
	})
}

func TestInquiryResultDirect(t *testing.T) {
	t.Run("a direct read answers the view", func(t *testing.T) {
		r := &recordingReader{st: storedResults(t)}
		out, err := (&InquiryResult{Service: r}).Invoke(context.Background(), json.RawMessage(`{"id":"ORDER-1001","history":true}`))
		if err != nil {
			t.Fatal(err)
		}
		if v := out.(*InquiryView); v.Source != txn.SourceDisclosure || v.History == nil || len(*v.History) != 2 {
			t.Fatalf("view %+v", v)
		}
	})
	t.Run("a malformed event is an InvalidRequest", func(t *testing.T) {
		_, err := (&InquiryResult{Service: &recordingReader{}}).Direct(context.Background(), json.RawMessage(`{"id":"x","extra":1}`))
		if got := reflect.TypeOf(err).Elem().Name(); got != "InvalidRequest" {
			t.Fatalf("type %s", got)
		}
	})
	t.Run("nothing stored is an OperationRejected", func(t *testing.T) {
		_, err := (&InquiryResult{Service: &recordingReader{err: &problem.Error{Code: problem.CodeNotFound, Detail: "No."}}}).Direct(context.Background(), json.RawMessage(`{"id":"x"}`))
		if got := reflect.TypeOf(err).Elem().Name(); got != "OperationRejected" {
			t.Fatalf("type %s", got)
		}
	})
}
