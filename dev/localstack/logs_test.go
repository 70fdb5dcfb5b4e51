package localstack

import (
	"bytes"
	"testing"
)

func TestLinePrefixer(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		flush  bool
		want   string
	}{
		{"each whole line gets the prefix", []string{"one\ntwo\n"}, false, "Fn | one\nFn | two\n"},
		{"a line split across writes is written once whole", []string{"par", "tial\n"}, false, "Fn | partial\n"},
		{"an unfinished line waits for its newline", []string{"done\nwaiting"}, false, "Fn | done\n"},
		{"flush writes an unfinished last line with a newline", []string{"last words"}, true, "Fn | last words\n"},
		{"flush with nothing pending writes nothing", []string{"done\n"}, true, "Fn | done\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			w := newLineSink(&out).prefixer("Fn")
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			if tt.flush {
				w.flush()
			}
			if out.String() != tt.want {
				t.Fatalf("got %q, want %q", out.String(), tt.want)
			}
		})
	}

	t.Run("two processes writing at once never split each other's lines", func(t *testing.T) {
		var out bytes.Buffer
		sink := newLineSink(&out)
		a, b := sink.prefixer("A"), sink.prefixer("B")
		_, _ = a.Write([]byte("first "))
		_, _ = b.Write([]byte("other\n"))
		_, _ = a.Write([]byte("half\n"))
		if want := "B | other\nA | first half\n"; out.String() != want {
			t.Fatalf("got %q, want %q", out.String(), want)
		}
	})
}
