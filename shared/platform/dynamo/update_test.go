package dynamo

import (
	"reflect"
	"testing"
)

func TestUpdate(t *testing.T) {
	cases := []struct {
		name       string
		build      func(u *Update)
		wantUpdate string
		wantNames  map[string]string
		wantValues []string
	}{
		{
			name:       "text is set and empty text removed in one expression",
			build:      func(u *Update) { u.SetString("amount", "2.500"); u.SetString("order_no", "") },
			wantUpdate: "SET #amount = :amount REMOVE #orderno",
			wantNames:  map[string]string{"#amount": "amount", "#orderno": "order_no"},
			wantValues: []string{":amount"},
		},
		{
			name:       "only removals leave out SET",
			build:      func(u *Update) { u.Remove("ottu_body") },
			wantUpdate: "REMOVE #ottubody",
			wantNames:  map[string]string{"#ottubody": "ottu_body"},
		},
		{
			name: "reserved words go through placeholders",
			build: func(u *Update) {
				u.SetExpr("status", u.Value("st", String("failed")))
				u.SetExpr("attempts", u.Value("one", Number(1)))
			},
			wantUpdate: "SET #status = :st, #attempts = :one",
			wantNames:  map[string]string{"#status": "status", "#attempts": "attempts"},
			wantValues: []string{":st", ":one"},
		},
		{
			name:       "a value set directly is named after its attribute",
			build:      func(u *Update) { u.SetValue("claimed_until", Number(5)) },
			wantUpdate: "SET #claimeduntil = :claimeduntil",
			wantNames:  map[string]string{"#claimeduntil": "claimed_until"},
			wantValues: []string{":claimeduntil"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := NewUpdate()
			tc.build(u)
			if got := u.Expression(); got != tc.wantUpdate {
				t.Errorf("update = %q, want %q", got, tc.wantUpdate)
			}
			if !reflect.DeepEqual(u.names, tc.wantNames) {
				t.Errorf("names = %v, want %v", u.names, tc.wantNames)
			}
			if len(u.values) != len(tc.wantValues) {
				t.Errorf("values = %v, want exactly %v", u.values, tc.wantValues)
			}
			for _, v := range tc.wantValues {
				if _, ok := u.values[v]; !ok {
					t.Errorf("value %s not registered", v)
				}
			}
			// DynamoDB rejects an empty map of values.
			if in := u.Input("table", nil, "cond"); (in.ExpressionAttributeValues == nil) != (len(tc.wantValues) == 0) {
				t.Errorf("input values = %v, want them sent only when there are some", in.ExpressionAttributeValues)
			}
		})
	}
}
