package stdiobridge

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"time"
)

// streamEvent is one event of a text/event-stream: its data (the lines
// joined by newlines), and the id and retry fields when it had them.
type streamEvent struct {
	data     []byte
	id       string
	hasID    bool
	retry    time.Duration
	hasRetry bool
}

// streamReader reads the events of a text/event-stream (the WHATWG event
// stream format): lines end in LF, CRLF or CR; "data", "id" and "retry"
// fields count, comments and other fields are skipped.
type streamReader struct {
	br  *bufio.Reader
	max int // bytes of one event's data
	cr  bool
}

var errEventTooLarge = errors.New("SSE event too large")

func newStreamReader(r io.Reader, max int) *streamReader {
	return &streamReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// line returns the next line without its terminator.
func (s *streamReader) line(buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		b, err := s.br.ReadByte()
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				return buf, io.ErrUnexpectedEOF
			}
			return buf, err
		}
		if s.cr {
			s.cr = false
			if b == '\n' {
				continue
			}
		}
		if b == '\n' {
			return buf, nil
		}
		if b == '\r' {
			s.cr = true
			return buf, nil
		}
		// Read the run up to the next line end in one go.
		chunk := []byte{b}
		if n := s.br.Buffered(); n > 0 {
			peek, _ := s.br.Peek(n)
			if i := bytes.IndexAny(peek, "\r\n"); i >= 0 {
				chunk = append(chunk, peek[:i]...)
				_, _ = s.br.Discard(i)
			} else {
				chunk = append(chunk, peek...)
				_, _ = s.br.Discard(n)
			}
		}
		buf = append(buf, chunk...)
		if len(buf) > s.max+64 {
			return nil, errEventTooLarge
		}
	}
}

// next returns the next event. An event without data may still carry an
// id or retry.
func (s *streamReader) next() (streamEvent, error) {
	var ev streamEvent
	var data bytes.Buffer
	var lb []byte
	seen := false
	for {
		l, err := s.line(lb)
		if err != nil {
			return ev, err
		}
		lb = l
		if len(l) == 0 {
			if !seen {
				continue
			}
			ev.data = bytes.TrimSuffix(data.Bytes(), []byte("\n"))
			return ev, nil
		}
		if l[0] == ':' {
			continue
		}
		seen = true
		field, value := l, []byte(nil)
		if i := bytes.IndexByte(l, ':'); i >= 0 {
			field, value = l[:i], l[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if data.Len()+len(value) > s.max {
				return ev, errEventTooLarge
			}
			data.Write(value)
			data.WriteByte('\n')
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				ev.id, ev.hasID = string(value), true
			}
		case "retry":
			if n, err := strconv.Atoi(string(value)); err == nil && n >= 0 {
				ev.retry, ev.hasRetry = time.Duration(n)*time.Millisecond, true
			}
		}
	}
}
