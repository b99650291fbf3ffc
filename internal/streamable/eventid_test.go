package streamable

import "testing"

func TestEventIDs(t *testing.T) {
	id := string(AppendEventID(nil, 12, 345))
	if id != "12-345" {
		t.Fatalf("id %q", id)
	}
	if st, seq, ok := ParseEventID(id); !ok || st != 12 || seq != 345 {
		t.Fatalf("ParseEventID(%q) = %d, %d, %v", id, st, seq, ok)
	}
	for _, bad := range []string{"", "-", "12", "12-", "-3", "0-1", "+1-2", "1-+2", "1--2", "a-1", "1-b", "1_2", "99999999999999999999-1"} {
		if _, _, ok := ParseEventID(bad); ok {
			t.Errorf("ParseEventID(%q) accepted it", bad)
		}
	}
}

// FuzzParseEventID: what ParseEventID accepts, AppendEventID writes back
// the same way, and no input panics.
func FuzzParseEventID(f *testing.F) {
	for _, s := range []string{"1-0", "7-42", "0-0", "x", "1-18446744073709551615", "9223372036854775807-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, seq, ok := ParseEventID(s)
		if !ok {
			return
		}
		back := string(AppendEventID(nil, st, seq))
		st2, seq2, ok2 := ParseEventID(back)
		if !ok2 || st2 != st || seq2 != seq {
			t.Fatalf("%q read as %d-%d, written as %q, read back as %d-%d %v", s, st, seq, back, st2, seq2, ok2)
		}
	})
}
