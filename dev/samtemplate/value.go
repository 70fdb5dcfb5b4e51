package samtemplate

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Value is a template value the project reads: exactly one of the fields is
// set (a zero Value is the empty literal). Sub keeps the ${…} references;
// GetAtt is "LogicalID.Attribute".
type Value struct {
	Literal string
	Ref     string
	Sub     string
	GetAtt  string
}

// String renders v the way a template author would write it.
func (v Value) String() string {
	switch {
	case v.Ref != "":
		return "!Ref " + v.Ref
	case v.Sub != "":
		return "!Sub " + v.Sub
	case v.GetAtt != "":
		return "!GetAtt " + v.GetAtt
	}
	return v.Literal
}

// toValue reads a normalized node as a Value. Other intrinsics (!If,
// !Join, …) are refused: their result depends on a deployment, and a local
// run that guessed would differ from AWS without saying so.
func toValue(v any) (Value, error) {
	switch t := v.(type) {
	case nil:
		return Value{}, nil
	case string:
		return Value{Literal: t}, nil
	case *object:
		if len(t.keys) != 1 {
			return Value{}, errors.New("expected a single value, got a mapping")
		}
		key := t.keys[0]
		arg := t.vals[key]
		switch key {
		case "Ref":
			name, ok := arg.(string)
			if !ok || name == "" {
				return Value{}, fmt.Errorf("!Ref needs a logical id or parameter name, got %s", describe(arg))
			}
			return Value{Ref: name}, nil
		case "Fn::GetAtt":
			ref, err := getAtt(arg)
			if err != nil {
				return Value{}, err
			}
			return Value{GetAtt: ref}, nil
		case "Fn::Sub":
			s, err := subString(arg)
			if err != nil {
				return Value{}, err
			}
			if s == "" {
				return Value{}, nil
			}
			return Value{Sub: s}, nil
		}
		return Value{}, fmt.Errorf("%s is not supported here; use a literal, !Ref, !Sub or !GetAtt", key)
	}
	return Value{}, fmt.Errorf("expected a single value, got %s", describe(v))
}

// getAtt accepts both "Resource.Attribute" and [Resource, Attribute].
func getAtt(arg any) (string, error) {
	switch t := arg.(type) {
	case string:
		res, attr, ok := strings.Cut(t, ".")
		if ok && res != "" && attr != "" {
			return t, nil
		}
	case []any:
		if len(t) == 2 {
			res, ok1 := t[0].(string)
			attr, ok2 := t[1].(string)
			if ok1 && ok2 && res != "" && attr != "" {
				return res + "." + attr, nil
			}
		}
	}
	return "", fmt.Errorf("Fn::GetAtt needs Resource.Attribute or [Resource, Attribute], got %s", describe(arg))
}

// subString reads Fn::Sub's string form, or its [string, {vars}] form with
// the variables written into the string, so Value.Sub only ever refers to
// parameters, resources and pseudo parameters.
func subString(arg any) (string, error) {
	switch t := arg.(type) {
	case string:
		return t, nil
	case []any:
		if len(t) != 2 {
			break
		}
		s, ok := t[0].(string)
		vars, ok2 := t[1].(*object)
		if !ok || !ok2 {
			break
		}
		var varErr error
		out, err := expandSub(s, func(name string) (string, bool) {
			raw, ok := vars.vals[name]
			if !ok {
				return "${" + name + "}", true
			}
			val, err := toValue(raw)
			if err != nil {
				varErr = fmt.Errorf("Fn::Sub variable %s: %w", name, err)
				return "", true
			}
			switch {
			case val.Ref != "":
				return "${" + val.Ref + "}", true
			case val.GetAtt != "":
				return "${" + val.GetAtt + "}", true
			case val.Sub != "":
				return val.Sub, true
			}
			return strings.ReplaceAll(val.Literal, "${", "${!"), true
		})
		if varErr != nil {
			return "", varErr
		}
		return out, err
	}
	return "", fmt.Errorf("Fn::Sub needs a string or [string, {variables}], got %s", describe(arg))
}

// expandSub replaces each ${Name} with lookup(Name) and keeps the ${!Text}
// escape as written; resolve turns it into "${Text}" at the very end, so an
// escape survives being expanded twice.
func expandSub(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	var missing []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i+2:]
		if strings.HasPrefix(s, "!") {
			// ${!Literal} is an escape: kept as written until final rendering.
			b.WriteString("${!")
			s = s[1:]
			continue
		}
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return "", errors.New("Fn::Sub has a ${ with no closing }")
		}
		name := s[:j]
		s = s[j+1:]
		val, ok := lookup(name)
		if !ok {
			missing = append(missing, name)
			continue
		}
		b.WriteString(val)
	}
	if len(missing) > 0 {
		return "", unresolved(missing)
	}
	return b.String(), nil
}

// resolve renders v with refs holding the value of every Ref target,
// pseudo parameter (AWS::Region) and GetAtt ("Resource.Attribute").
func (v Value) resolve(refs map[string]string) (string, error) {
	switch {
	case v.Ref != "":
		if s, ok := refs[v.Ref]; ok {
			return s, nil
		}
		return "", unresolved([]string{v.Ref})
	case v.GetAtt != "":
		if s, ok := refs[v.GetAtt]; ok {
			return s, nil
		}
		return "", unresolved([]string{v.GetAtt})
	case v.Sub != "":
		out, err := expandSub(v.Sub, func(name string) (string, bool) {
			s, ok := refs[name]
			return s, ok
		})
		if err != nil {
			return "", err
		}
		return strings.ReplaceAll(out, "${!", "${"), nil
	}
	return v.Literal, nil
}

func unresolved(names []string) error {
	seen := map[string]bool{}
	var uniq []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	sort.Strings(uniq)
	return fmt.Errorf("unresolved reference %s: pass a value for it", strings.Join(quoteAll(uniq), ", "))
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
