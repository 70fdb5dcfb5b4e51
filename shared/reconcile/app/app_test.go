package app

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ottuops/ottu-lambda/shared/operation"
	"github.com/ottuops/ottu-lambda/shared/platform/boot"
	"github.com/ottuops/ottu-lambda/shared/reconcile"
)

func env(extra map[string]string) func(string) string {
	m := map[string]string{
		"OTTU_API_SECRET_ID":  "arn:aws:secretsmanager:us-east-1:123456789012:secret:ottu-api-AbCdEf",
		"TRACKING_KEYS_TABLE": "keys", "INQUIRIES_TABLE": "txns",
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func TestBuild(t *testing.T) {
	opts := boot.Options{AWS: &aws.Config{Region: "us-east-1"}, Output: &strings.Builder{}}
	t.Run("the reconciler's operation service cannot send an operation", func(t *testing.T) {
		h, err := Build(context.Background(), env(nil), opts)
		if err != nil {
			t.Fatal(err)
		}
		svc := h.Runner.(*reconcile.Service)
		op, ok := svc.Refresher.(*operation.Service)
		if !ok || op.Ottu != nil || op.Inquiry == nil {
			t.Fatalf("refresher %T with Ottu %v: want an operation service that inquires and has no operation client", svc.Refresher, op.Ottu)
		}
		if svc.PerTransaction != reconcile.DefaultPerTransaction || svc.PerRun != reconcile.DefaultPerRun {
			t.Errorf("budgets %d/%d, want the defaults", svc.PerTransaction, svc.PerRun)
		}
	})
	for _, tc := range []struct{ name, key, value string }{
		{"a per-transaction budget of 3 would take Ottu's last inquiry", EnvPerTransaction, "3"},
		{"a per-run budget that is not a number is refused", EnvPerRun, "many"},
		{"a transactions table is required", "INQUIRIES_TABLE", " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Build(context.Background(), env(map[string]string{tc.key: tc.value}), opts); err == nil {
				t.Fatal("built anyway")
			}
		})
	}
}
