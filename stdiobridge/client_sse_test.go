package stdiobridge

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSSEReader(t *testing.T) {
	in := ": comment\n" +
		"id: 1\nretry: 1500\ndata: {\"a\":1}\n\n" +
		"event: message\r\ndata: line1\r\ndata: line2\r\n\r\n" +
		"id: 3\rdata:nospace\r\r" +
		"id: 4\nretry: 10\n\n" + // no data: id and retry only
		"data: last"
	r := newStreamReader(strings.NewReader(in), 1<<20)
	type want struct {
		data, id string
		hasID    bool
		retry    time.Duration
	}
	for i, w := range []want{
		{`{"a":1}`, "1", true, 1500 * time.Millisecond},
		{"line1\nline2", "", false, 0},
		{"nospace", "3", true, 0},
		{"", "4", true, 10 * time.Millisecond},
	} {
		ev, err := r.next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if string(ev.data) != w.data || ev.id != w.id || ev.hasID != w.hasID || ev.retry != w.retry {
			t.Fatalf("event %d: %+v, want %+v", i, ev, w)
		}
	}
	if _, err := r.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("unterminated last event: %v", err)
	}
}

func TestSSEReaderLimit(t *testing.T) {
	r := newStreamReader(strings.NewReader("data: "+strings.Repeat("x", 2000)+"\n\n"), 1000)
	if _, err := r.next(); !errors.Is(err, errEventTooLarge) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzSSEReader(f *testing.F) {
	f.Add("id: 1\ndata: x\n\n")
	f.Add("data: a\r\ndata: b\r\rretry: x\n\n:c\n")
	f.Fuzz(func(t *testing.T, s string) {
		r := newStreamReader(strings.NewReader(s), 4096)
		for range 1000 {
			if _, err := r.next(); err != nil {
				return
			}
		}
	})
}
