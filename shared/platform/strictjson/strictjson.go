// Package strictjson reads the members of a JSON object strictly, for every
// adapter and domain that takes JSON from a caller: unknown members are
// named and refused, a member named twice is refused (decoders disagree on
// which one wins), strings must be strings and not empty. Its failures are
// problem errors with a sentence a person can act on.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ottuops/ottu-lambda/shared/platform/problem"
)

// UnknownFields refuses members outside allowed, naming them all.
func UnknownFields(fields map[string]json.RawMessage, allowed []string) error {
	var unknown []string
	for k := range fields {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	e := &problem.Error{Code: problem.CodeUnknownField,
		Detail: fmt.Sprintf("Unknown field %s; the accepted fields are %s.", quoteList(unknown), quoteList(allowed))}
	for _, f := range unknown {
		e.Fields = append(e.Fields, problem.FieldError{Field: f, Detail: "This field is not accepted."})
	}
	return e
}

// StringField reads a JSON string member; null or absent is "", an empty
// string is refused.
func StringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok || IsNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", problem.Invalid(problem.CodeInvalidRequest, name, name+" must be a string.")
	}
	if s == "" {
		return "", problem.Invalid(problem.CodeInvalidRequest, name, name+" is empty; leave it out or send a value.")
	}
	return s, nil
}

// BoolField reads a JSON boolean; null or absent is false.
func BoolField(fields map[string]json.RawMessage, name string) (bool, error) {
	raw, ok := fields[name]
	if !ok || IsNull(raw) {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, problem.Invalid(problem.CodeInvalidRequest, name, name+" must be true or false (a JSON boolean, not a string).")
	}
	return b, nil
}

// IsNull reports whether a member is JSON null.
func IsNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = `"` + n + `"`
	}
	return strings.Join(q, ", ")
}

// CheckMembers refuses a member named twice in any object of valid JSON:
// decoders disagree on which one wins, so {"amount": "1", "amount": "100"}
// must not be read as either.
func CheckMembers(body []byte) error {
	type frame struct {
		object    bool
		expectKey bool
		keys      map[string]bool
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return nil // syntax errors are reported by the caller's decode
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.object {
					top.expectKey = true
				}
				stack = append(stack, &frame{object: d == '{', expectKey: true, keys: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if top == nil || !top.object {
			continue
		}
		if !top.expectKey {
			top.expectKey = true
			continue
		}
		name, _ := tok.(string)
		if top.keys[name] {
			return problem.Invalid(problem.CodeInvalidRequest, name,
				fmt.Sprintf("The member %q appears twice in one object; send each member once.", name))
		}
		top.keys[name] = true
		top.expectKey = false
	}
}
