package api

import (
	"net/http"

	"github.com/ottuops/ottu-lambda/shared/platform/apigw"
	"github.com/ottuops/ottu-lambda/shared/refundflow"
)

// Codes is what every problem code this adapter answers means on the
// wire: the platform's codes and the refundflow domain's own.
var Codes = apigw.Platform.With(apigw.Codes{
	refundflow.CodeRefundIDReused:      {HTTP: http.StatusUnprocessableEntity, Title: "The refund_id was used for a different refund"},
	refundflow.CodeApprovalNotPending:  {HTTP: http.StatusConflict, Title: "The workflow is not waiting for an approval"},
	refundflow.CodeApprovalDecided:     {HTTP: http.StatusConflict, Title: "The approval was already decided"},
	refundflow.CodeApprovalExpired:     {HTTP: http.StatusConflict, Title: "The approval timed out"},
	refundflow.CodeWorkflowUnavailable: {HTTP: http.StatusServiceUnavailable, Title: "The workflow service is unavailable"},
})
