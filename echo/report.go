package echo

import (
	"fmt"
	"strings"
)

// report builds a tool's text: a title underlined with "=", then sections
// of indented "Key: value" lines, as the original echo servers print them.
type report struct {
	b strings.Builder
}

func newReport(title string, underline int) *report {
	r := &report{}
	r.b.WriteString(title)
	r.b.WriteByte('\n')
	r.b.WriteString(strings.Repeat("=", underline))
	r.b.WriteString("\n\n")
	return r
}

// section starts a section: a blank line after what came before, then
// "name:".
func (r *report) section(name string) { r.heading(name + ":") }

// heading starts a section with a heading line of its own.
func (r *report) heading(line string) {
	if !strings.HasSuffix(r.b.String(), "\n\n") {
		r.b.WriteByte('\n')
	}
	r.b.WriteString(line)
	r.b.WriteByte('\n')
}

// kv writes an indented "key: value" line.
func (r *report) kv(key string, value any) {
	fmt.Fprintf(&r.b, "  %s: %v\n", key, value)
}

// item writes an indented line.
func (r *report) item(format string, args ...any) {
	r.b.WriteString("  ")
	fmt.Fprintf(&r.b, format, args...)
	r.b.WriteByte('\n')
}

// linef writes an unindented line.
func (r *report) linef(format string, args ...any) {
	fmt.Fprintf(&r.b, format, args...)
	r.b.WriteByte('\n')
}

func (r *report) blank() { r.b.WriteByte('\n') }

func (r *report) String() string { return r.b.String() }
