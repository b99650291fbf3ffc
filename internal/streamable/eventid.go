package streamable

import (
	"strconv"
	"strings"
)

// Event ids are "<stream>-<seq>": the stream's number within its session
// and the event's number within its stream, both decimal. Seq 0 is the
// priming event a 2025-11-25 stream starts with, so a client has an id to
// resume from before any message came. An id only means something together
// with the session (the Mcp-Session-Id of the GET that resumes).

// AppendEventID appends the id of event seq of stream to b.
func AppendEventID(b []byte, stream int64, seq uint64) []byte {
	b = strconv.AppendInt(b, stream, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, seq, 10)
}

// ParseEventID reads an id written by AppendEventID.
func ParseEventID(s string) (stream int64, seq uint64, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found || !digitFirst(a) || !digitFirst(b) {
		return 0, 0, false
	}
	st, err1 := strconv.ParseInt(a, 10, 64)
	sq, err2 := strconv.ParseUint(b, 10, 64)
	if err1 != nil || err2 != nil || st <= 0 {
		return 0, 0, false
	}
	return st, sq, true
}

func digitFirst(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }
