package main

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/shopspring/decimal"
)

func TestNewPlan(t *testing.T) {
	cases := []struct {
		name      string
		version   int
		txns      int
		requests  int
		wantError bool
	}{
		{"a full run plans at least its requests on v2", 2, 200, 1200, false},
		{"a full run plans at least its requests on v1", 1, 200, 1200, false},
		{"a short run plans at least its requests", 2, 10, 50, false},
		{"too many requests for the transactions are refused", 2, 2, 100, true},
		{"no transactions are refused", 2, 0, 10, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := newPlan(rand.New(rand.NewPCG(7, 7)), "test", c.version, c.txns, c.requests)
			if c.wantError {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Requests() < c.requests || len(p.Txns) != c.txns {
				t.Fatalf("%d requests over %d transactions, want at least %d over %d", p.Requests(), len(p.Txns), c.requests, c.txns)
			}
			seen := map[string]bool{}
			for _, k := range p.Keys {
				if seen[k.Key] {
					t.Fatalf("key %s planned twice", k.Key)
				}
				seen[k.Key] = true
				tx := p.Txns[k.Txn]
				if c.version == 1 && !k.ByOrderNo {
					t.Fatalf("key %s names the transaction by session_id on v1", k.Key)
				}
				var body map[string]string
				if err := json.Unmarshal(k.Body(tx), &body); err != nil {
					t.Fatal(err)
				}
				if k.Amount != "" {
					a := decimal.RequireFromString(k.Amount)
					if !a.IsPositive() || !a.Equal(a.Truncate(tx.Places)) || body["amount"] != k.Amount {
						t.Fatalf("key %s amount %q does not fit %s", k.Key, k.Amount, tx.Currency)
					}
				}
				if k.Copies < 1 || k.Copies > 3 {
					t.Fatalf("key %s has %d copies", k.Key, k.Copies)
				}
			}
			s := summarize(p)
			if s.OverRefundTxns == 0 {
				t.Fatal("no transaction is planned past its refundable amount: over-refunds are not attempted")
			}
		})
	}
}

func TestNewPlanIsReproducible(t *testing.T) {
	t.Run("the same seed makes the same plan", func(t *testing.T) {
		a, err := newPlan(rand.New(rand.NewPCG(3, 4)), "x", 2, 20, 100)
		if err != nil {
			t.Fatal(err)
		}
		b, err := newPlan(rand.New(rand.NewPCG(3, 4)), "x", 2, 20, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatal("two plans from one seed differ")
		}
	})
}
