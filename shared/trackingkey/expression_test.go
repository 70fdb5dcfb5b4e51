package trackingkey

import (
	"reflect"
	"testing"
)

func TestExpression(t *testing.T) {
	cases := []struct {
		name       string
		build      func(e *expression)
		wantUpdate string
		wantNames  map[string]string
		wantValues []string
	}{
		{
			name:       "text is set and empty text removed in one expression",
			build:      func(e *expression) { e.setString(attrAmount, "2.500"); e.setString(attrOrderNo, "") },
			wantUpdate: "SET #amount = :amount REMOVE #orderno",
			wantNames:  map[string]string{"#amount": "amount", "#orderno": "order_no"},
			wantValues: []string{":amount"},
		},
		{
			name:       "only removals leave out SET",
			build:      func(e *expression) { e.removeAttr(attrOttuBody) },
			wantUpdate: "REMOVE #ottubody",
			wantNames:  map[string]string{"#ottubody": "ottu_body"},
		},
		{
			name: "reserved words go through placeholders",
			build: func(e *expression) {
				e.setTo(attrStatus, e.value("st", stringValue("failed")))
				e.setTo(attrAttempts, e.value("one", numberValue(1)))
			},
			wantUpdate: "SET #status = :st, #attempts = :one",
			wantNames:  map[string]string{"#status": "status", "#attempts": "attempts"},
			wantValues: []string{":st", ":one"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newExpression()
			tc.build(e)
			if got := e.update(); got != tc.wantUpdate {
				t.Errorf("update = %q, want %q", got, tc.wantUpdate)
			}
			if !reflect.DeepEqual(e.names, tc.wantNames) {
				t.Errorf("names = %v, want %v", e.names, tc.wantNames)
			}
			if len(e.values) != len(tc.wantValues) {
				t.Errorf("values = %v, want exactly %v", e.values, tc.wantValues)
			}
			for _, v := range tc.wantValues {
				if _, ok := e.values[v]; !ok {
					t.Errorf("value %s not registered", v)
				}
			}
		})
	}
}
