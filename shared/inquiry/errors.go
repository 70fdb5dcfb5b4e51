package inquiry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ottuops/ottu-lambda/shared/ottu"
	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// The inquiry domain's own problem codes, for Ottu's inquiry messages
// (reference/ottu.md, Inquiry) that the operations' codes do not name.
const (
	// CodeNotAllowed: Ottu's inquiry does not answer for the transaction
	// now ("Operation is not allowed", or no payment attempt yet).
	CodeNotAllowed problem.Code = "inquiry_not_allowed"
	// CodeDisclosureURLMissing: disclosure was asked for and there is no
	// URL to send it to ("No disclosure url found for order …", or neither
	// disclosure_url nor this stack's own webhook URL).
	CodeDisclosureURLMissing problem.Code = "disclosure_url_missing"
	// CodeThrottled: Ottu's inquiry throttle refused the inquiry and no
	// stored answer could stand in (or ?fresh=true asked Ottu anyway).
	CodeThrottled problem.Code = "inquiry_throttled"
	// CodeDisclosureURLNotAllowed: disclosure_url is neither this stack's
	// own webhook nor on the allow-list (DISCLOSURE_URL_ALLOWLIST), so Ottu
	// is not asked to post a customer's data there.
	CodeDisclosureURLNotAllowed problem.Code = "disclosure_url_not_allowed"
)

// Ottu's inquiry messages, lower-cased (seed 002).
const (
	msgNotAllowed      = "operation is not allowed"
	msgNoAttempts      = "payment attempts for order"
	msgNoDisclosureURL = "no disclosure url found"
)

// errNoDisclosureURL is the refusal before Ottu is called when disclosure
// is asked for with no URL and this stack knows none of its own.
func errNoDisclosureURL() *problem.Error {
	return problem.Invalid(CodeDisclosureURLMissing, "disclosure_url",
		"disclose_to_merchant needs a URL for Ottu to post the transaction to: send disclosure_url, or have the operator set PUBLIC_BASE_URL so this stack's own /webhooks/ottu is used. Nothing was asked of Ottu.")
}

// fromOttu turns a failed inquiry into the contract's problem. An inquiry
// changes nothing at Ottu, so every detail can say that asking again is
// safe; none repeats a credential or a URL.
func fromOttu(req Request, err error) *problem.Error {
	var oe *ottu.Error
	if !errors.As(err, &oe) {
		return &problem.Error{Code: problem.CodeInternal, Err: err,
			Detail: "The inquiry failed inside this function; nothing was changed at Ottu. Ask again, and quote X-Request-Id if it persists."}
	}
	e := &problem.Error{Ottu: oe.Body, Err: err}
	switch oe.Kind {
	case ottu.KindInvalid:
		e.Code = problem.CodeInvalidRequest
		e.Detail = "The inquiry cannot be sent to Ottu: " + sentence(oe.Detail)
	case ottu.KindNotFound:
		e.Code = problem.CodeNotFound
		e.Detail = fmt.Sprintf("Ottu knows no payment transaction with %s (Ottu: %s) Check the identifier.", describe(req), sentence(oe.Detail))
	case ottu.KindRejected:
		e.Code, e.Detail = rejection(req, oe)
	case ottu.KindAuth:
		e.Code = problem.CodeOttuAuth
		e.Detail = "Ottu refused this stack's credentials or the payment.inquiry permission, so nothing was asked: " + sentence(oe.Detail) + " The operator should check the Ottu API secret."
	case ottu.KindUnavailable, ottu.KindOutcomeUnknown:
		if oe.Throttled() {
			return throttled(req, oe)
		}
		e.Code = problem.CodeOttuUnavailable
		e.RetryAfter = roundUp(oe.RetryAfter)
		e.Detail = "Ottu could not answer the inquiry: " + sentence(oe.Detail) + " An inquiry changes nothing at Ottu, so asking again later is safe."
		if oe.Kind == ottu.KindOutcomeUnknown && req.Disclose {
			e.Detail += " Ottu may still post the disclosure it was asked for."
		}
	default:
		e.Code = problem.CodeOttuUnavailable
		e.Detail = "Ottu's answer to the inquiry could not be understood; asking again later is safe."
	}
	return e
}

// rejection reads which of Ottu's refusals an inquiry got.
func rejection(req Request, oe *ottu.Error) (problem.Code, string) {
	d := strings.ToLower(oe.Detail)
	switch {
	case strings.Contains(d, msgNoDisclosureURL):
		return CodeDisclosureURLMissing, "Ottu has no URL to disclose this transaction to (" + sentence(oe.Detail) + "): send disclosure_url, or set PUBLIC_BASE_URL so this stack's own webhook is sent."
	case strings.Contains(d, msgNoAttempts):
		return CodeNotAllowed, fmt.Sprintf("The customer has made no payment attempt on %s yet, so Ottu's inquiry has nothing to report; ask again once they have tried to pay.", describe(req))
	case strings.Contains(d, msgNotAllowed):
		return CodeNotAllowed, fmt.Sprintf("Ottu's inquiry does not answer for %s in its present state (it answers pending, attempted, failed and expired payments, and paid or authorized ones); the state is settled, so read what is stored with GET /transactions/{id}/inquiry.", describe(req))
	case len(oe.FieldErrors) > 0:
		return problem.CodeInvalidRequest, "Ottu refused the inquiry request: " + ottu.FormatFieldErrors(oe.FieldErrors) + "."
	case oe.Detail != "":
		return CodeNotAllowed, "Ottu refused the inquiry: " + sentence(oe.Detail)
	}
	return CodeNotAllowed, fmt.Sprintf("Ottu refused the inquiry of %s (HTTP %d) without a reason.", describe(req), oe.StatusCode)
}

// throttled is Ottu's throttle passed on: nothing was asked.
func throttled(req Request, oe *ottu.Error) *problem.Error {
	e := &problem.Error{Code: CodeThrottled, Ottu: oe.Body, Err: oe, RetryAfter: roundUp(oe.RetryAfter)}
	when := "Ottu named no time for the next one: it allows at most 3 inquiries per transaction, so this one may have had them all"
	if e.RetryAfter > 0 {
		when = fmt.Sprintf("ask again after %d seconds (Retry-After)", problem.RetryAfterSeconds(e.RetryAfter))
	}
	e.Detail = fmt.Sprintf("Ottu's inquiry throttle refused the inquiry of %s (none in a transaction's first 10 minutes, then one per 30 minutes, at most 3), and nothing was asked; %s.", describe(req), when)
	if !req.Fresh && req.TaskToken == "" {
		e.Detail += " No earlier answer is stored to stand in for it."
	}
	return e
}

// roundUp rounds a wait up to whole seconds, as Retry-After says it.
func roundUp(d time.Duration) time.Duration {
	return time.Duration(problem.RetryAfterSeconds(d)) * time.Second
}

// sentence ends Ottu's (or the client's) text with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "no reason was given."
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// describe names the transaction as the request did.
func describe(req Request) string { return problem.TransactionName(req.SessionID, req.OrderNo) }
