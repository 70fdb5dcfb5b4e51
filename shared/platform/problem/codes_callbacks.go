package problem

// Codes of the trust boundaries of callbacks and inquiries (issue 12).
const (
	// CodeAmbiguousSignature: a callback whose signed values can be split
	// into another body with the same signature (Ottu's standard scheme
	// writes name+value with no separator); refused, nothing stored.
	CodeAmbiguousSignature Code = "ambiguous_signature"
	// CodeDisclosureURLNotAllowed: POST /inquiry named a disclosure_url
	// that is neither this stack's own webhook nor on the allow-list.
	CodeDisclosureURLNotAllowed Code = "disclosure_url_not_allowed"
)
