package apispec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"gopkg.in/yaml.v3"

	opapp "github.com/ottuops/ottu-lambda/shared/operation/app"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/platform/config"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
	"github.com/ottuops/ottu-lambda/shared/reconcile"
	rcapi "github.com/ottuops/ottu-lambda/shared/reconcile/api"
	"github.com/ottuops/ottu-lambda/shared/txn"
	"github.com/ottuops/ottu-lambda/shared/webhook"
	whapi "github.com/ottuops/ottu-lambda/shared/webhook/api"
)

// metricRef is one metric an alarm or the dashboard reads.
type metricRef struct {
	where, namespace, name string
	dims                   map[string]string // values of !Ref X read "ref:X"
}

func (m metricRef) key() string {
	keys := make([]string, 0, len(m.dims))
	for k, v := range m.dims {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	return m.namespace + " " + m.name + " {" + strings.Join(keys, ",") + "}"
}

// TestAlarmsAndDashboardReadMetricsTheCodeEmits reads every metric an
// alarm or the dashboard of template.yaml uses and checks it against what
// the code emits: for the functions' own namespace, the EMF lines the real
// handlers write (namespace, name and dimension set); for AWS's
// namespaces, a dimension naming a resource of the template of the right
// type. A rename on either side fails here instead of blinding an alarm.
func TestAlarmsAndDashboardReadMetricsTheCodeEmits(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	resources := child(root, "Resources")
	types := map[string]string{}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		types[resources.Content[i].Value] = scalar(child(resources.Content[i+1], "Type"))
	}
	namespace := scalar(child(child(child(child(root, "Globals"), "Function"), "Environment"), "Variables"), "METRICS_NAMESPACE")
	if namespace == "" {
		t.Fatal("template.yaml's Globals set no METRICS_NAMESPACE")
	}
	refs, alarms, dashboards := readMetricRefs(t, resources)
	if alarms < 30 || dashboards != 1 {
		t.Fatalf("%d alarms and %d dashboards read; want the alarms of every function and one dashboard", alarms, dashboards)
	}
	emitted := emittedMetrics(t, namespace)

	awsDims := map[string]map[string]string{
		"AWS/Lambda":   {"FunctionName": "AWS::Serverless::Function"},
		"AWS/States":   {"StateMachineArn": "AWS::Serverless::StateMachine"},
		"AWS/DynamoDB": {"TableName": "AWS::DynamoDB::Table"},
	}
	ours := 0
	for _, m := range refs {
		switch {
		case m.namespace == namespace:
			ours++
			if !emitted[m.key()] {
				t.Errorf("%s reads %s, which no function emits", m.where, m.key())
			}
		case awsDims[m.namespace] != nil:
			want := awsDims[m.namespace]
			if len(m.dims) != 1 {
				t.Errorf("%s reads %s: want exactly one dimension", m.where, m.key())
			}
			for k, v := range m.dims {
				id, ok := strings.CutPrefix(v, "ref:")
				if want[k] == "" || !ok || types[id] != want[k] {
					t.Errorf("%s reads %s: dimension %s must name a %s of the template", m.where, m.key(), k, want[k])
				}
			}
		default:
			t.Errorf("%s reads %s: a namespace neither the code nor this test knows", m.where, m.key())
		}
	}
	if ours < 15 {
		t.Errorf("only %d metrics of %s checked; the test reads too little", ours, namespace)
	}
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalar is a node's text; a !Ref reads "ref:X". With keys, it walks down.
func scalar(n *yaml.Node, keys ...string) string {
	for _, k := range keys {
		n = child(n, k)
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	if n.Tag == "!Ref" {
		return "ref:" + n.Value
	}
	return n.Value
}

func readMetricRefs(t *testing.T, resources *yaml.Node) (refs []metricRef, alarms, dashboards int) {
	t.Helper()
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, r := resources.Content[i].Value, resources.Content[i+1]
		props := child(r, "Properties")
		switch scalar(child(r, "Type")) {
		case "AWS::CloudWatch::Alarm":
			alarms++
			if child(props, "MetricName") != nil {
				refs = append(refs, metricRef{where: id, namespace: scalar(props, "Namespace"), name: scalar(props, "MetricName"), dims: dims(child(props, "Dimensions"))})
			}
			if ms := child(props, "Metrics"); ms != nil {
				for _, q := range ms.Content {
					if m := child(child(q, "MetricStat"), "Metric"); m != nil {
						refs = append(refs, metricRef{where: id, namespace: scalar(m, "Namespace"), name: scalar(m, "MetricName"), dims: dims(child(m, "Dimensions"))})
					}
				}
			}
			if len(refs) == 0 || refs[len(refs)-1].where != id {
				t.Errorf("alarm %s reads no metric this test understands", id)
			}
		case "AWS::CloudWatch::Dashboard":
			dashboards++
			refs = append(refs, dashboardRefs(t, id, child(props, "DashboardBody"))...)
		}
	}
	return refs, alarms, dashboards
}

func dims(list *yaml.Node) map[string]string {
	out := map[string]string{}
	if list == nil {
		return out
	}
	for _, d := range list.Content {
		out[scalar(d, "Name")] = scalar(d, "Value")
	}
	return out
}

var subPlaceholder = regexp.MustCompile(`\$\{([A-Za-z0-9:.]+)\}`)

// dashboardRefs reads the metrics of the dashboard's widgets: each metric
// an array [namespace, name, dim, value, …, {options}], spelled in full.
func dashboardRefs(t *testing.T, id string, body *yaml.Node) []metricRef {
	t.Helper()
	if body == nil || body.Tag != "!Sub" {
		t.Fatalf("dashboard %s: DashboardBody must be a !Sub string", id)
	}
	text := subPlaceholder.ReplaceAllString(body.Value, "ref:$1")
	var b struct {
		Widgets []struct {
			Properties struct {
				Title   string  `json:"title"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(text), &b); err != nil {
		t.Fatalf("dashboard %s: the body is not JSON: %v", id, err)
	}
	var refs []metricRef
	for _, w := range b.Widgets {
		for _, m := range w.Properties.Metrics {
			var parts []string
			for _, p := range m {
				if s, ok := p.(string); ok {
					parts = append(parts, s)
				}
			}
			if len(parts) < 2 || len(parts)%2 != 0 || slices.Contains(parts, ".") {
				t.Errorf("dashboard %s, widget %q: metric %v is not [namespace, name, dimension, value, …] spelled in full", id, w.Properties.Title, m)
				continue
			}
			r := metricRef{where: id + " widget " + w.Properties.Title, namespace: parts[0], name: parts[1], dims: map[string]string{}}
			for i := 2; i+1 < len(parts); i += 2 {
				r.dims[parts[i]] = parts[i+1]
			}
			refs = append(refs, r)
		}
	}
	return refs
}

// emittedMetrics runs the real handlers and metric wiring and collects
// the metrics of their EMF lines.
func emittedMetrics(t *testing.T, namespace string) map[string]bool {
	t.Helper()
	var out bytes.Buffer
	ctx := context.Background()
	cfg, err := config.Load(func(k string) string {
		if k == config.EnvMetricsNamespace {
			return namespace
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	base := func(fn string) *boot.Base { return &boot.Base{Function: fn, Config: cfg, Out: &out} }

	// The operation functions: the metrics app.Build wires, for the
	// outcomes the dashboard shows.
	for _, op := range []payment.Operation{payment.Capture, payment.Refund, payment.Void, payment.Cancel, payment.Expire, payment.Delete} {
		env := map[string]string{config.EnvAPISecretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:ottu-api-AbCdEf",
			config.EnvTrackingKeysTable: "keys", config.EnvMetricsNamespace: namespace}
		deps, err := opapp.Build(ctx, string(op), func(k string) string { return env[k] }, boot.Options{AWS: &aws.Config{Region: "us-east-1"}, Output: &out})
		if err != nil {
			t.Fatal(err)
		}
		for _, outcome := range []string{"succeeded", string(problem.CodeOutcomeUnknown), string(problem.CodeOperationRejected)} {
			deps.Service.Observe(ctx, op, outcome, time.Millisecond)
		}
	}

	// The webhook: a payment callback accepted then repeated, a forged
	// one, and an operation notification.
	key := "alarm-test-key"
	wh := &whapi.Webhook{Service: &webhook.Service{Keys: fixedKey(key), Store: &entries{}, Resumer: nil}, Metrics: base("webhook").Metrics()}
	payment := signed(key, ottu.Fields{"session_id": "s", "order_no": "o", "state": "paid", "result": "success", "amount": "1.000"})
	notification := signed(key, ottu.Fields{"operation": "refund", "amount": "1.000", "reference_number": "R", "result": "success", "txn": map[string]any{"reference_number": "C"}})
	forged := strings.Replace(payment, `"1.000"`, `"9.000"`, 1)
	for _, body := range []string{payment, payment, forged, notification} {
		ev := events.APIGatewayV2HTTPRequest{Body: body, Headers: map[string]string{"content-type": "application/json"}}
		ev.RequestContext.HTTP.Method = "POST"
		if _, err := wh.HTTP(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}

	// The reconciler: one run with every outcome.
	rep := &reconcile.Report{Open: map[string]int{"over_24h": 1}, Outcomes: map[reconcile.Outcome]int{reconcile.Settled: 1}}
	rc := &rcapi.Reconcile{Runner: runner{rep}, Out: &out, Namespace: cfg.MetricsNamespace, Function: "reconcile"}
	if _, err := rc.Invoke(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := (&rcapi.Reconcile{Runner: runner{nil}, Out: &out, Namespace: cfg.MetricsNamespace, Function: "reconcile"}).Invoke(ctx, nil); err == nil {
		t.Fatal("a failed run did not fail")
	}

	emitted := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		var emf struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Namespace  string     `json:"Namespace"`
					Dimensions [][]string `json:"Dimensions"`
					Metrics    []struct {
						Name string `json:"Name"`
					} `json:"Metrics"`
				} `json:"CloudWatchMetrics"`
			} `json:"_aws"`
		}
		var values map[string]any
		if json.Unmarshal([]byte(line), &emf) != nil || json.Unmarshal([]byte(line), &values) != nil {
			continue
		}
		for _, d := range emf.AWS.CloudWatchMetrics {
			for _, set := range d.Dimensions {
				for _, m := range d.Metrics {
					r := metricRef{namespace: d.Namespace, name: m.Name, dims: map[string]string{}}
					for _, k := range set {
						r.dims[k] = fmt.Sprint(values[k])
					}
					emitted[r.key()] = true
				}
			}
		}
	}
	if len(emitted) < 20 {
		t.Fatalf("only %d metrics emitted: %v", len(emitted), emitted)
	}
	return emitted
}

type fixedKey string

func (k fixedKey) WebhookKey(context.Context, bool) (string, error) { return string(k), nil }

// entries stores deliveries by digest (enough for accepted and duplicate).
type entries struct{ seen map[string]bool }

func (e *entries) Put(_ context.Context, x txn.Entry) (bool, error) {
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	dup := e.seen[x.Digest]
	e.seen[x.Digest] = true
	return !dup, nil
}
func (e *entries) Waiters(context.Context, string) ([]txn.Waiter, error) { return nil, nil }

// Bind binds nothing: every callback is its own first.
func (e *entries) Bind(_ context.Context, _ string, id txn.Identity, _ bool) (txn.Identity, error) {
	return id, nil
}

func (e *entries) FirstReceived(_ context.Context, x txn.Entry) (time.Time, error) {
	return x.ReceivedAt, nil
}
func (e *entries) ClaimWaiter(context.Context, txn.Waiter, time.Time) error { return txn.ErrClaimed }
func (e *entries) FinishWaiter(context.Context, txn.Waiter, txn.WaiterStatus, time.Time) error {
	return nil
}

func signed(key string, f ottu.Fields) string {
	f["signature"] = ottu.Sign(f, key)
	b, _ := json.Marshal(f)
	return string(b)
}

type runner struct{ rep *reconcile.Report }

func (r runner) Run(context.Context) (*reconcile.Report, error) {
	if r.rep == nil {
		return nil, fmt.Errorf("moto down")
	}
	return r.rep, nil
}
