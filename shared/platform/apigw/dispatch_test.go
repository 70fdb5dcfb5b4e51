package apigw

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// sides records which side of a Handler answered.
type sides struct{ got string }

func (s *sides) HTTP(context.Context, events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	s.got = "http"
	return events.APIGatewayV2HTTPResponse{StatusCode: 200}
}

func (s *sides) Direct(context.Context, json.RawMessage) (*string, error) {
	s.got = "direct"
	return nil, nil
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name, payload, want string
	}{
		{"an API Gateway event goes to HTTP", `{"version":"2.0","requestContext":{"http":{"method":"POST"}},"body":"{}"}`, "http"},
		{"a direct event goes to Direct", `{"tracking_key":"k-1","session_id":"s-1"}`, "direct"},
		{"a direct event that happens to have a requestContext without a method goes to Direct", `{"requestContext":{}}`, "direct"},
		{"a payload that is not an object goes to Direct, which refuses it", `"hello"`, "direct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sides{}
			if _, err := Dispatch[*string](context.Background(), s, json.RawMessage(tt.payload)); err != nil {
				t.Fatal(err)
			}
			if s.got != tt.want {
				t.Fatalf("answered by %s, want %s", s.got, tt.want)
			}
		})
	}
}

func TestDecodeDirect(t *testing.T) {
	var in struct {
		ID string `json:"id"`
	}
	for _, bad := range []string{`{"id":"a","extra":1}`, `{"id":"a"} {"id":"b"}`, `[]`, ``} {
		t.Run("the event "+bad+" is refused with the example", func(t *testing.T) {
			err := DecodeDirect(json.RawMessage(bad), &in, `{"id": "…"}`)
			if problem.CodeOf(err) != problem.CodeInvalidRequest {
				t.Fatalf("error %v", err)
			}
		})
	}
	t.Run("a well-formed event is read", func(t *testing.T) {
		if err := DecodeDirect(json.RawMessage(`{"id":"a"}`), &in, ""); err != nil || in.ID != "a" {
			t.Fatalf("%v %+v", err, in)
		}
	})
}
