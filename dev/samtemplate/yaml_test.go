package samtemplate

import (
	"reflect"
	"strings"
	"testing"
)

// plain turns normalized values into maps and slices that are easy to compare.
func plain(v any) any {
	switch t := v.(type) {
	case *object:
		m := map[string]any{}
		for _, k := range t.keys {
			m[k] = plain(t.vals[k])
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

func TestDecodeYAML(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       any
	}{
		{"a short !Ref becomes the long form", "!Ref Table", map[string]any{"Ref": "Table"}},
		{"!Condition keeps its own key", "!Condition IsProd", map[string]any{"Condition": "IsProd"}},
		{"a short tag on a list becomes Fn::", "!If [C, a, b]", map[string]any{"Fn::If": []any{"C", "a", "b"}}},
		{"nested short tags are rewritten too", "!Equals [!Ref Stage, prod]", map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Stage"}, "prod"}}},
		{"numbers stay as written, never through a float", "{a: 2.500, b: 1e3, c: 0x10}", map[string]any{"a": "2.500", "b": "1e3", "c": "0x10"}},
		{"null becomes nothing", "{a: null, b: ~, c: }", map[string]any{"a": nil, "b": nil, "c": nil}},
		{"a tag with no value is an empty string", "!Sub", map[string]any{"Fn::Sub": ""}},
		{"standard tags are plain values", "!!str 29", "29"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeYAML([]byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plain(got), tc.want) {
				t.Errorf("got %#v, want %#v", plain(got), tc.want)
			}
		})
	}
}

func TestDecodeYAMLKeepsKeyOrder(t *testing.T) {
	t.Run("mapping keys come out in document order", func(t *testing.T) {
		v, err := decodeYAML([]byte("z: 1\na: 2\nm: 3\n"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := v.(*object).keys, []string{"z", "a", "m"}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestDecodeYAMLRejects(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"deep nesting is refused", strings.Repeat("[", 300) + strings.Repeat("]", 300), "nests deeper"},
		{"a key that is a list is refused", "? [a, b]\n: c\n", "plain strings"},
		{"a merge key with a scalar is refused", "a: &x 1\nb:\n  <<: *x\n", "<< merge"},
		{"an undefined alias is refused", "a: *nope\n", "not valid YAML"},
		{"a custom tag is refused", "a: !Custom x\n", "unknown tag !Custom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeYAML([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("decodeYAML = %#v; want an error", plain(got))
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	o := newObject()
	o.set("Fn::If", []any{})
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"nothing", nil, "nothing"},
		{"a string is quoted", "x", `"x"`},
		{"an intrinsic is named", o, "Fn::If"},
		{"a plain mapping is a mapping", newObject(), "a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(tc.v); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
