package apispec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os/exec"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"

	inquiryapi "github.com/ottuops/ottu-lambda/shared/inquiry/api"
	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/operation/api"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	refundflowapi "github.com/ottuops/ottu-lambda/shared/refundflow/api"
	webhookapi "github.com/ottuops/ottu-lambda/shared/webhook/api"
)

// adapterCodes is every API adapter's code map: together they are every
// code a function can answer.
var adapterCodes = map[string]apigw.Codes{
	"operation": api.Codes, "inquiry": inquiryapi.Codes,
	"webhook": webhookapi.Codes, "refundflow": refundflowapi.Codes,
}

// failingExecutor answers every operation with one error, so that the
// handler's rendering of each problem code can be read without Ottu.
type failingExecutor struct{ err error }

func (f failingExecutor) Execute(context.Context, operation.Request) (*operation.Result, error) {
	return nil, f.err
}

// TestProblemTypes checks x-problem-types, the document's table of what
// each code looks like, against the code enum and against the handler.
func TestProblemTypes(t *testing.T) {
	doc := loadSpec(t)
	types := problemTypes(t, doc)
	codes := problemCodes(t, doc)

	t.Run("the code enum and x-problem-types name the same codes", func(t *testing.T) {
		enum := slices.Sorted(slices.Values(codes))
		if listed := sortedCodes(types); !slices.Equal(enum, listed) {
			t.Errorf("code enum %v\nx-problem-types %v", enum, listed)
		}
	})

	t.Run("every API adapter's codes are checked here", func(t *testing.T) {
		// Every api/ package that answers problems (it links apigw).
		out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "../../shared/...").Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			fields := strings.Fields(line)
			p := fields[0]
			if path.Base(p) != "api" || !slices.Contains(fields[1:], path.Join(path.Dir(path.Dir(path.Dir(p))), "shared/platform/apigw")) {
				continue
			}
			name := path.Base(path.Dir(p))
			if _, ok := adapterCodes[name]; !ok {
				t.Errorf("%s has no entry in adapterCodes: add its Codes map so its codes are checked against openapi.yaml", p)
			}
		}
	})

	t.Run("every code an adapter answers is in the code enum", func(t *testing.T) {
		for name, m := range adapterCodes {
			for _, c := range m.List() {
				if !slices.Contains(codes, string(c)) {
					t.Errorf("the %s adapter answers %s, which openapi.yaml does not list", name, c)
				}
			}
		}
	})

	for _, code := range codes {
		want := types[code]
		t.Run(fmt.Sprintf("the handler answers %s with status %d and the title and type x-problem-types give it", code, want.Status), func(t *testing.T) {
			var err error = &problem.Error{Code: problem.Code(code), Detail: "What went wrong, and what to do."}
			if code == "internal_error" {
				err = errors.New("not a domain error") // how every unexpected failure reaches the handler
			}
			if _, ok := api.Codes[problem.Code(code)]; !ok && code != "internal_error" {
				// A domain's own code: rendered by the adapter that maps it.
				var resp events.APIGatewayV2HTTPResponse
				for _, m := range adapterCodes {
					if _, ok := m[problem.Code(code)]; ok {
						resp = m.ProblemResponse(err, nil)
					}
				}
				for _, d := range checkProblemIdentity(types, problemField(t, resp, "type"), problemField(t, resp, "title"), resp.StatusCode, code) {
					t.Error(d)
				}
				return
			}
			h := &api.Operation{Op: payment.Refund, Service: failingExecutor{err}, Logger: slog.New(slog.DiscardHandler)}
			resp := h.HTTP(context.Background(), events.APIGatewayV2HTTPRequest{
				Headers: map[string]string{"tracking-key": "problem-types-1", "content-type": "application/json"},
				Body:    `{"session_id":"s-1"}`,
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					RequestID: "req-1",
					HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost},
				},
			})
			if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			var p struct {
				Type   string `json:"type"`
				Title  string `json:"title"`
				Status int    `json:"status"`
				Code   string `json:"code"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
				t.Fatalf("body is not a problem document: %v: %s", err, resp.Body)
			}
			if resp.StatusCode != p.Status {
				t.Errorf("HTTP status %d but the body says %d", resp.StatusCode, p.Status)
			}
			if p.Code != code {
				t.Errorf("code %q, want %q", p.Code, code)
			}
			for _, d := range checkProblemIdentity(types, p.Type, p.Title, resp.StatusCode, code) {
				t.Error(d)
			}
		})
	}
}

// TestProblemExamples checks that every problem example in openapi.yaml
// shows the type, title and status its code really has.
func TestProblemExamples(t *testing.T) {
	doc := loadSpec(t)
	types := problemTypes(t, doc)
	seen := map[*openapi3.Response]bool{}
	for _, path := range slices.Sorted(maps.Keys(doc.Paths.Map())) {
		ops := doc.Paths.Value(path).Operations()
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			responses := ops[method].Responses.Map()
			for _, status := range slices.Sorted(maps.Keys(responses)) {
				ref := responses[status]
				if ref.Value == nil || seen[ref.Value] {
					continue
				}
				seen[ref.Value] = true
				where := ref.Ref
				if where == "" {
					where = method + " " + path + " " + status
				}
				mt := ref.Value.Content.Get("application/problem+json")
				if mt == nil {
					continue
				}
				examples := map[string]any{}
				if mt.Example != nil {
					examples["example"] = mt.Example
				}
				for name, ex := range mt.Examples {
					if ex.Value != nil {
						examples[name] = ex.Value.Value
					}
				}
				for _, name := range slices.Sorted(maps.Keys(examples)) {
					t.Run(fmt.Sprintf("the %s example of %s has the type, title and status of its code", name, where), func(t *testing.T) {
						ex, ok := examples[name].(map[string]any)
						if !ok {
							t.Fatalf("the example is %T, not an object", examples[name])
						}
						code, _ := ex["code"].(string)
						typ, _ := ex["type"].(string)
						title, _ := ex["title"].(string)
						exStatus, _ := ex["status"].(float64)
						if want, err := strconv.Atoi(status); err != nil || int(exStatus) != want {
							t.Errorf("the example says status %v under response %s", ex["status"], status)
						}
						for _, d := range checkProblemIdentity(types, typ, title, int(exStatus), code) {
							t.Error(d)
						}
					})
				}
			}
		}
	}
}

// problemField reads one string member of a problem response's body.
func problemField(t *testing.T, resp events.APIGatewayV2HTTPResponse, name string) string {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
		t.Fatalf("body is not a problem document: %v: %q", err, resp.Body)
	}
	v, _ := p[name].(string)
	return v
}
