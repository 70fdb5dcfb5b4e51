// Package api adapts Ottu's callbacks (POST /webhooks/ottu) to the
// callback service and answers what Ottu reads.
package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/webhook"
)

// CallbackReceiver takes one delivery of an Ottu callback
// (webhook.Service).
type CallbackReceiver interface {
	Receive(ctx context.Context, body []byte, contentType string) (*webhook.Result, error)
}

// Webhook handles POST /webhooks/ottu: Ottu's disclosure callbacks, not
// IAM-authorized (Ottu cannot sign SigV4), so the body's signature is the
// gate. Each delivery gets one log line and one EMF metric line naming its
// outcome.
type Webhook struct {
	Service CallbackReceiver
	Logger  *slog.Logger
	// Metrics receives Callback_<outcome> and CallbackDuration per
	// delivery; nil records none.
	Metrics *obs.Metrics
	// Now is the clock of the duration measured; default time.Now.
	Now func() time.Time
}

// webhookAnswer is the body of a 200: what became of the delivery.
type webhookAnswer struct {
	Status webhook.Outcome `json:"status"`
}

// HTTP is the Lambda entry point (API Gateway HTTP API, payload 2.0). It
// never returns an error: every failure is an answer Ottu reads (a 4xx for
// what Ottu should not send again, a 5xx for our own failures).
func (h *Webhook) HTTP(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := h.now()
	requestID := apigw.RequestID(ctx, ev)
	headers := map[string]string{"X-Request-Id": requestID}
	log := h.logger().With(obs.RequestID(requestID))
	ctx = obs.With(ctx, log)

	res, err := h.receive(ctx, ev, headers)
	elapsed := h.now().Sub(start)
	outcome := webhook.OutcomeOf(err)
	if err == nil {
		outcome = res.Outcome
	}
	if h.Metrics != nil {
		h.Metrics.Count("Callback_"+string(outcome), 1)
		if err == nil && res.Kind == webhook.KindOperation {
			h.Metrics.Count("Notification_"+string(outcome), 1)
		}
		h.Metrics.Duration("CallbackDuration", elapsed)
		h.Metrics.Flush()
	}
	attrs := []slog.Attr{
		slog.String("outcome", string(outcome)),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	if err != nil {
		resp := Codes.ProblemResponse(err, headers)
		level := slog.LevelWarn
		if resp.StatusCode >= 500 {
			level = slog.LevelError
		}
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("code", string(problem.CodeOf(err))), slog.String("error", err.Error()))
		if outcome == webhook.Ambiguous {
			// A genuine signature over values that re-split into another
			// callback: someone is building a forgery.
			level = slog.LevelError
			attrs = append(attrs, slog.Bool("attack", true))
		}
		log.LogAttrs(ctx, level, "callback refused", attrs...)
		return resp, nil
	}
	attrs = append(attrs, slog.Int("status", http.StatusOK),
		slog.String("kind", string(res.Kind)),
		slog.String("scheme", string(res.Scheme)),
		slog.String("session_id", res.Entry.SessionID), slog.String("order_no", res.Entry.OrderNo),
		slog.String("state", res.Entry.State), slog.String("digest", res.Entry.Digest),
		slog.Int("waiters_resumed", res.Resumed), slog.Int("waiters_gone", res.Gone), slog.Int("waiters_retry", res.Retry))
	if op := res.Operation; op != nil {
		attrs = append(attrs, slog.String("operation", op.Operation), slog.String("amount", op.Amount),
			slog.String("operation_source", op.Source), slog.String("child_reference_number", op.ChildReferenceNumber))
	}
	log.LogAttrs(ctx, slog.LevelInfo, "callback "+string(res.Outcome), attrs...)
	body, _ := json.Marshal(webhookAnswer{Status: res.Outcome})
	return apigw.JSONResponse(http.StatusOK, body, headers), nil
}

func (h *Webhook) receive(ctx context.Context, ev events.APIGatewayV2HTTPRequest, headers map[string]string) (*webhook.Result, error) {
	if m := ev.RequestContext.HTTP.Method; m != "" && m != http.MethodPost {
		headers["Allow"] = http.MethodPost
		return nil, &problem.Error{Code: problem.CodeMethodNotAllowed, Detail: "Use POST for /webhooks/ottu."}
	}
	body, err := webhookBody(ev.Body, ev.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	contentType, _ := apigw.LookupHeader(ev.Headers, "content-type")
	return h.Service.Receive(ctx, body, contentType)
}

// webhookBody decodes the event's body, refusing one over the limit before
// decoding it.
func webhookBody(body string, isBase64 bool) ([]byte, error) {
	tooLarge := &problem.Error{Code: problem.CodeBodyTooLarge, Detail: "The callback body is larger than 256 KiB."}
	if !isBase64 {
		if len(body) > webhook.MaxBodyBytes {
			return nil, tooLarge
		}
		return []byte(body), nil
	}
	if base64.StdEncoding.DecodedLen(len(body)) > webhook.MaxBodyBytes+3 {
		return nil, tooLarge
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, &problem.Error{Code: webhook.CodeInvalidCallback, Detail: "The body is marked base64 but is not valid base64."}
	}
	if len(b) > webhook.MaxBodyBytes {
		return nil, tooLarge
	}
	return b, nil
}

func (h *Webhook) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Webhook) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
