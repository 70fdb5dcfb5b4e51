package operation

import (
	"fmt"
	"time"

	"github.com/ottuops/ottu-lambda/shared/payment"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// AmountNotApplicable refuses an amount on an operation that takes none.
func AmountNotApplicable(op payment.Operation) *problem.Error {
	return problem.Invalid(problem.CodeAmountNotApplicable, "amount", fmt.Sprintf("%s does not take an amount (only capture and refund do); leave amount out.", op))
}

// inProgress answers a caller whose key another request holds.
func inProgress(key string, retryAfter time.Duration) *problem.Error {
	return &problem.Error{Code: problem.CodeInProgress, TrackingKey: key, RetryAfter: retryAfter,
		Detail: fmt.Sprintf("An operation with Tracking-Key %q is being processed right now; nothing new was sent. Ask again with the same key after the Retry-After delay to get its result.", key)}
}

// outcomePending answers a caller whose key is held after an unknown
// outcome, until Ottu must have finished the first attempt.
func outcomePending(req Request, retryAfter time.Duration) *problem.Error {
	return &problem.Error{Code: problem.CodeOutcomePending, TrackingKey: req.TrackingKey, RetryAfter: retryAfter,
		Detail: fmt.Sprintf("An earlier %s with Tracking-Key %q got no answer from Ottu, so money may already have moved. The key is held while Ottu may still be working on it: retry with the same key after %d seconds (Retry-After), and Ottu will answer with the first attempt's result instead of doing it again. Do not use a new key for the same %s.",
			req.Operation, req.TrackingKey, int(retryAfter.Seconds()), req.Operation)}
}
