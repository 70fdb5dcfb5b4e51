package main

import (
	"strings"
	"testing"
)

func TestSecretScan(t *testing.T) {
	cases := []struct {
		name    string
		writes  []string
		lines   int
		leaks   int
		notJSON int
	}{
		{"a clean JSON line is no leak", []string{"RefundFunction | {\"msg\":\"operation done\"}\n"}, 1, 0, 0},
		{"a line with the API key is a leak", []string{"RefundFunction | {\"auth\":\"Api-Key sk-123\"}\n"}, 1, 1, 0},
		{"a secret split across writes is still found", []string{"CaptureFunction | {\"pw\":\"pa", "ss-456\"}\n"}, 1, 1, 0},
		{"a function line that is not JSON is counted", []string{"VoidFunction | panic: boom\n"}, 1, 0, 1},
		{"aws-lambda-rie's platform lines are not counted as the function's", []string{"VoidFunction | START RequestId: r Version: $LATEST\n", "VoidFunction | REPORT RequestId: r\tDuration: 1.00 ms\n", "VoidFunction | 07 Dec 2026 04:14:06,508 [WARNING] (rapid) Reset initiated: ReleaseFail\n"}, 3, 0, 0},
		{"several lines in one write are each scanned", []string{"a | {}\nb | {\"x\":\"sk-123\"}\nc | {}\n"}, 3, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &secretScan{secrets: []secret{{"API key", "sk-123"}, {"password", "pass-456"}}}
			w := s.functionWriter()
			for _, chunk := range c.writes {
				_, _ = w.Write([]byte(chunk))
			}
			lines, notJSON, leaks, first := s.counts()
			if lines != c.lines || leaks != c.leaks || notJSON != c.notJSON {
				t.Fatalf("lines %d, leaks %d, not JSON %d; want %d, %d, %d", lines, leaks, notJSON, c.lines, c.leaks, c.notJSON)
			}
			for _, l := range first {
				if strings.Contains(l, "sk-123") || strings.Contains(l, "pass-456") {
					t.Fatalf("the report repeats the secret: %s", l)
				}
			}
		})
	}
}

func TestSecretScanOfJSONLogs(t *testing.T) {
	t.Run("a stack log line is scanned for secrets but never taken for function output", func(t *testing.T) {
		s := &secretScan{secrets: []secret{{"API key", "sk-123"}}}
		_, _ = s.writer().Write([]byte(`{"msg":"a | b","key":"sk-123"}` + "\n"))
		lines, notJSON, leaks, _ := s.counts()
		if lines != 1 || notJSON != 0 || leaks != 1 {
			t.Fatalf("lines %d, not JSON %d, leaks %d; want 1, 0, 1", lines, notJSON, leaks)
		}
	})
}

func TestSandboxLog(t *testing.T) {
	t.Run("operation requests are kept per Tracking-Key with replays and drops", func(t *testing.T) {
		l := newSandboxLog()
		w := l.writer()
		_, _ = w.Write([]byte(`{"msg":"request","path":"/b/pbl/v2/operation/","status":200,"tracking_key":"k1"}` + "\n" +
			`{"msg":"request","path":"/b/pbl/v2/operation/","status":200,"tracking_key":"k1","replayed":true}` + "\n" +
			`{"msg":"request","path":"/b/pbl/v1/operation/o1","status":0,"tracking_key":"k2","dropped":true}` + "\n" +
			`{"msg":"request","path":"/sandbox/transactions","status":201}` + "\n"))
		k1, k2 := l.requests("k1"), l.requests("k2")
		if len(k1) != 2 || k1[0].Replayed || !k1[1].Replayed || len(k2) != 1 || !k2[0].Dropped {
			t.Fatalf("k1 %+v, k2 %+v", k1, k2)
		}
	})
}
