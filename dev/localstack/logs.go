package localstack

import (
	"bytes"
	"io"
	"sync"
)

// lineSink is the stack's shared output for function logs: whole lines from
// many processes, never interleaved mid-line.
type lineSink struct {
	mu sync.Mutex
	w  io.Writer
}

func newLineSink(w io.Writer) *lineSink { return &lineSink{w: w} }

// prefixer returns a writer for one process that puts "name | " before each
// line it writes.
func (s *lineSink) prefixer(name string) *linePrefixer {
	return &linePrefixer{sink: s, prefix: []byte(name + " | ")}
}

// linePrefixer buffers a partial line until its newline arrives.
type linePrefixer struct {
	sink   *lineSink
	prefix []byte
	// onLine, when set, sees each complete line (without its newline)
	// first and says whether to write it; the pool reads RIE's own lines
	// with it.
	onLine func(line []byte) bool
	mu     sync.Mutex
	buf    []byte
}

func (l *linePrefixer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	end := bytes.LastIndexByte(l.buf, '\n')
	if end < 0 {
		return len(p), nil
	}
	complete := l.buf[:end+1]
	l.writeLines(complete)
	l.buf = append(l.buf[:0], l.buf[end+1:]...)
	return len(p), nil
}

// flush writes a last line that ended without a newline.
func (l *linePrefixer) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.writeLines(append(l.buf, '\n'))
		l.buf = l.buf[:0]
	}
}

func (l *linePrefixer) writeLines(lines []byte) {
	var out bytes.Buffer
	for line := range bytes.Lines(lines) {
		if l.onLine != nil && !l.onLine(bytes.TrimRight(line, "\r\n")) {
			continue
		}
		out.Write(l.prefix)
		out.Write(line)
	}
	l.sink.mu.Lock()
	defer l.sink.mu.Unlock()
	// A log line that cannot be written must not stop the function.
	_, _ = l.sink.w.Write(out.Bytes())
}
