package inquiry

import (
	"context"
	"log/slog"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/obs"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// Recorder is an Ottu inquiry client that also keeps every answer in the
// transaction store, as POST /inquiry does: the read-only refreshes of
// GET /operations/{key}?refresh=true, the refund workflow's polls and the
// reconciler's inquiries then count where Ottu's throttle is reckoned (the
// reconciler never takes a transaction's last inquiry) and show on the
// transaction's timeline. Keeping the answer is best effort: a store
// failure is logged, and the answer is returned all the same.
type Recorder struct {
	Ottu  Ottu
	Store interface {
		Put(ctx context.Context, e txn.Entry) (bool, error)
	}
	Retention time.Duration
	Now       func() time.Time
}

// Inquiry asks Ottu and keeps the answer.
func (r *Recorder) Inquiry(ctx context.Context, req ottu.InquiryRequest) (*ottu.InquiryResponse, error) {
	resp, err := r.Ottu.Inquiry(ctx, req)
	if err != nil || resp == nil || len(resp.Raw) == 0 {
		return resp, err
	}
	svc := &Service{Retention: r.Retention, Now: r.Now}
	e := svc.entryOf(Request{SessionID: req.SessionID, OrderNo: req.OrderNo}, resp)
	if e.SessionID == "" && e.OrderNo == "" {
		return resp, nil
	}
	sctx, cancel := context.WithTimeout(ctx, DefaultStoreTimeout)
	defer cancel()
	if _, perr := r.Store.Put(sctx, e); perr != nil {
		obs.Logger(ctx).LogAttrs(ctx, slog.LevelWarn, "Ottu's inquiry answer could not be kept in the transaction store", slog.String("error", perr.Error()))
	}
	return resp, nil
}
