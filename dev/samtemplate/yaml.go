package samtemplate

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// object is a YAML mapping that keeps its keys in document order, so
// functions, events and routes come out in the order the template lists them.
type object struct {
	keys []string
	vals map[string]any
}

func newObject() *object { return &object{vals: map[string]any{}} }

func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// get is nil-safe so lookups can be chained through absent sections.
func (o *object) get(k string) any {
	if o == nil {
		return nil
	}
	return o.vals[k]
}

func (o *object) has(k string) bool {
	if o == nil {
		return false
	}
	_, ok := o.vals[k]
	return ok
}

// obj returns the mapping under k, or nil when k is absent or not a mapping.
func (o *object) obj(k string) *object {
	m, _ := o.get(k).(*object)
	return m
}

// str returns the plain string under k ("" when absent or not a string).
func (o *object) str(k string) string {
	s, _ := o.get(k).(string)
	return s
}

// shortTags maps CloudFormation's YAML short forms to their long-form keys.
var shortTags = map[string]string{
	"!Ref":          "Ref",
	"!Condition":    "Condition",
	"!Sub":          "Fn::Sub",
	"!GetAtt":       "Fn::GetAtt",
	"!If":           "Fn::If",
	"!Equals":       "Fn::Equals",
	"!Not":          "Fn::Not",
	"!And":          "Fn::And",
	"!Or":           "Fn::Or",
	"!FindInMap":    "Fn::FindInMap",
	"!Join":         "Fn::Join",
	"!Select":       "Fn::Select",
	"!Split":        "Fn::Split",
	"!Base64":       "Fn::Base64",
	"!Cidr":         "Fn::Cidr",
	"!GetAZs":       "Fn::GetAZs",
	"!ImportValue":  "Fn::ImportValue",
	"!Transform":    "Fn::Transform",
	"!ToJsonString": "Fn::ToJsonString",
	"!Length":       "Fn::Length",
}

// Limits that keep hostile input (alias bombs, deep nesting) cheap to reject.
const (
	maxNodes = 1 << 20
	maxDepth = 256
)

// normalizer turns a yaml.v3 node tree into nil, string, []any and *object,
// rewriting short tags into their long forms ({"Ref": …}, {"Fn::Sub": …}).
// Scalars stay text, so numbers are never read through a float.
type normalizer struct {
	budget int
}

func decodeYAML(data []byte) (v any, err error) {
	var doc yaml.Node
	// yaml.v3 has panicked on some malformed inputs; a template is user
	// input, so a panic becomes an error.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("template is not valid YAML: %v", r)
		}
	}()
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("template is not valid YAML: %w", err)
	}
	n := &normalizer{budget: maxNodes}
	return n.node(&doc, 0)
}

func (n *normalizer) node(y *yaml.Node, depth int) (any, error) {
	n.budget--
	if n.budget < 0 {
		return nil, errors.New("template is too large or expands too many YAML aliases")
	}
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: template nests deeper than %d levels", y.Line, maxDepth)
	}
	var v any
	var err error
	switch y.Kind {
	case 0:
		return nil, nil
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return nil, nil
		}
		return n.node(y.Content[0], depth+1)
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, fmt.Errorf("line %d: alias *%s has no anchor", y.Line, y.Value)
		}
		return n.node(y.Alias, depth+1)
	case yaml.ScalarNode:
		if y.Tag == "!!null" {
			v = nil
		} else {
			v = y.Value
		}
	case yaml.SequenceNode:
		list := make([]any, 0, len(y.Content))
		for _, c := range y.Content {
			cv, err := n.node(c, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, cv)
		}
		v = list
	case yaml.MappingNode:
		v, err = n.mapping(y, depth)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("line %d: unsupported YAML node", y.Line)
	}
	return n.tagged(y, v)
}

// tagged wraps v in the long form its short tag stands for.
func (n *normalizer) tagged(y *yaml.Node, v any) (any, error) {
	tag := y.Tag
	if tag == "" || tag == "!" || strings.HasPrefix(tag, "!!") || strings.HasPrefix(tag, "tag:yaml.org,2002:") {
		return v, nil
	}
	long, ok := shortTags[tag]
	if !ok {
		return nil, fmt.Errorf("line %d: unknown tag %s (CloudFormation knows !Ref, !Sub, !GetAtt, !If and the other Fn:: short forms)", y.Line, tag)
	}
	if v == nil {
		v = ""
	}
	o := newObject()
	o.set(long, v)
	return o, nil
}

func (n *normalizer) mapping(y *yaml.Node, depth int) (*object, error) {
	o := newObject()
	var merges []*yaml.Node
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, val := y.Content[i], y.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: mapping keys must be plain strings", k.Line)
		}
		if o.has(k.Value) {
			return nil, fmt.Errorf("line %d: key %q appears twice in the same mapping", k.Line, k.Value)
		}
		cv, err := n.node(val, depth+1)
		if err != nil {
			return nil, err
		}
		o.set(k.Value, cv)
	}
	// YAML merge keys (<<: *base) fill in what the mapping does not set itself.
	for _, m := range merges {
		mv, err := n.node(m, depth+1)
		if err != nil {
			return nil, err
		}
		sources := []any{mv}
		if list, ok := mv.([]any); ok {
			sources = list
		}
		for _, s := range sources {
			so, ok := s.(*object)
			if !ok {
				return nil, fmt.Errorf("line %d: a << merge key needs a mapping or a list of mappings", m.Line)
			}
			for _, k := range so.keys {
				if !o.has(k) {
					o.set(k, so.vals[k])
				}
			}
		}
	}
	return o, nil
}

// describe names the shape of a normalized value for error messages.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("%q", t)
	case []any:
		return "a list"
	case *object:
		if len(t.keys) == 1 && isIntrinsic(t.keys[0]) {
			return t.keys[0]
		}
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func isIntrinsic(key string) bool {
	return key == "Ref" || key == "Condition" || strings.HasPrefix(key, "Fn::")
}
