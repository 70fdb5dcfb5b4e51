package ottu

import (
	"regexp"
	"slices"
	"strings"
)

// Ottu's standard scheme writes the signed fields name+value with no
// separator, so one message can be read as more than one body: a value
// that holds another signed field's name can be split there (and a value
// can swallow the fields after it). Every message can be re-read in some
// harmless way (the last value swallowing "statepaid", say); what matters is
// whether a re-reading gives a field this project acts on a different value
// that looks genuine. AmbiguousStandard answers exactly that.

// actedOn are the signed fields whose value decides what a callback
// changes: its identity, its state and its money.
var actedOn = []string{"amount", "currency_code", "order_no", "reference_number", "result", "state"}

var (
	wordValue     = regexp.MustCompile(`^[a-z_]+$`)
	decimalValue  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	currencyValue = regexp.MustCompile(`^[A-Z]{3}$`)
)

// plausible reports whether v could be a genuine value of field: not empty,
// holding no signed field's name (a value that swallowed the fields after
// it holds their names), and of the field's form (a state or result is a
// lowercase word, an amount a decimal, a currency three capitals).
func plausible(field, v string) bool {
	if v == "" || containsSignedName(v) {
		return false
	}
	switch field {
	case "state", "result":
		return wordValue.MatchString(v)
	case "amount":
		return decimalValue.MatchString(v)
	case "currency_code":
		return currencyValue.MatchString(v)
	}
	return true
}

func containsSignedName(v string) bool {
	for _, n := range standardFields {
		if strings.Contains(v, n) {
			return true
		}
	}
	return false
}

// maxNameOccurrences bounds the work on a hostile body: a message holding
// more signed field names than this is called ambiguous (Ottu's own holds
// one per field present, at most 18).
const maxNameOccurrences = 256

type occurrence struct {
	pos   int // where the name starts in the message
	field int // its index in standardFields (sorted)
}

// AmbiguousStandard reports whether the standard-scheme message of f can be
// split into another body (signed fields in ascending order, each with a
// non-empty value) that gives one of the fields acted on (order_no,
// reference_number, state, result, amount, currency_code) another plausible
// value than f gives it. Such a body verifies with f's signature, so f (or
// the body it can be turned into) is refused. field names the field that
// could be changed.
//
// Ordinary genuine callbacks are not ambiguous: a customer's address with
// "estate" in it can be split before "state", but only into a state that
// swallows the rest of the message, which is not a plausible state.
func AmbiguousStandard(f Fields) (field string, ambiguous bool) {
	msg := CanonicalStandard(f)
	var occ []occurrence
	for i, name := range standardFields {
		for from := 0; ; {
			j := strings.Index(msg[from:], name)
			if j < 0 {
				break
			}
			occ = append(occ, occurrence{pos: from + j, field: i})
			from += j + 1
		}
	}
	if len(occ) > maxNameOccurrences {
		return "the message", true
	}
	slices.SortFunc(occ, func(a, b occurrence) int {
		if a.pos != b.pos {
			return a.pos - b.pos
		}
		return a.field - b.field
	})
	n := len(occ)
	// next(i, k): may the value started by occurrence i end at occurrence k?
	next := func(i, k int) bool {
		return occ[k].field > occ[i].field && occ[k].pos > occ[i].pos+len(standardFields[occ[i].field])
	}
	valueStart := func(i int) int { return occ[i].pos + len(standardFields[occ[i].field]) }
	// reach[i]: some split reaches name occurrence i from the message's start.
	reach := make([]bool, n)
	for i := range n {
		if occ[i].pos == 0 {
			reach[i] = true
			continue
		}
		for k := range i {
			if reach[k] && next(k, i) {
				reach[i] = true
				break
			}
		}
	}
	// From any occurrence a split reaches the message's end: its value may
	// swallow the rest, when that is not empty.
	finish := func(i int) bool { return valueStart(i) < len(msg) }
	for i := range n {
		name := standardFields[occ[i].field]
		if !reach[i] || !slices.Contains(actedOn, name) {
			continue
		}
		own, _ := text(f[name])
		ends := []int{len(msg)}
		for k := i + 1; k < n; k++ {
			if finish(k) && next(i, k) {
				ends = append(ends, occ[k].pos)
			}
		}
		for _, end := range ends {
			v := msg[valueStart(i):end]
			if v != own && plausible(name, v) {
				return name, true
			}
		}
	}
	return "", false
}
