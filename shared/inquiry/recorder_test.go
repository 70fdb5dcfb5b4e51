package inquiry_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ottuops/ottu-lambda/shared/inquiry"
	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

type answering struct {
	resp *ottu.InquiryResponse
	err  error
}

func (a answering) Inquiry(context.Context, ottu.InquiryRequest) (*ottu.InquiryResponse, error) {
	return a.resp, a.err
}

type putStore struct {
	got []txn.Entry
	err error
}

func (p *putStore) Put(_ context.Context, e txn.Entry) (bool, error) {
	p.got = append(p.got, e)
	return p.err == nil, p.err
}

func TestRecorder(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	raw := json.RawMessage(`{"session_id":"s1","order_no":"o1","state":"paid","result":"success","reference_number":"R1","timestamp_utc":"2026-12-01 11:59:00"}`)
	paid := &ottu.InquiryResponse{Raw: raw, StatusCode: 200, SessionID: "s1", OrderNo: "o1", State: "paid", Result: "success"}
	t.Run("Ottu's answer is kept as an inquiry entry of the transaction and returned", func(t *testing.T) {
		st := &putStore{}
		r := &inquiry.Recorder{Ottu: answering{resp: paid}, Store: st, Now: func() time.Time { return at }}
		resp, err := r.Inquiry(context.Background(), ottu.InquiryRequest{SessionID: "s1"})
		if err != nil || resp != paid {
			t.Fatalf("Inquiry = %v, %v", resp, err)
		}
		if len(st.got) != 1 || st.got[0].Source != txn.SourceInquiry || st.got[0].SessionID != "s1" || st.got[0].State != "paid" || txn.ReferenceOf(st.got[0]) != "R1" || !st.got[0].ReceivedAt.Equal(at) {
			t.Fatalf("kept %+v", st.got)
		}
	})
	t.Run("a store failure still answers", func(t *testing.T) {
		st := &putStore{err: errors.New("DynamoDB down")}
		r := &inquiry.Recorder{Ottu: answering{resp: paid}, Store: st}
		if resp, err := r.Inquiry(context.Background(), ottu.InquiryRequest{SessionID: "s1"}); err != nil || resp != paid {
			t.Fatalf("Inquiry = %v, %v", resp, err)
		}
	})
	t.Run("a refused inquiry keeps nothing", func(t *testing.T) {
		st := &putStore{}
		r := &inquiry.Recorder{Ottu: answering{err: errors.New("429")}, Store: st}
		if _, err := r.Inquiry(context.Background(), ottu.InquiryRequest{SessionID: "s1"}); err == nil || len(st.got) != 0 {
			t.Fatalf("err %v, kept %d", err, len(st.got))
		}
	})
}
