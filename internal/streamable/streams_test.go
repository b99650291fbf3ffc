package streamable

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRetentionCount(t *testing.T) {
	var ss Streams
	ss.Init(0)
	var all []*Stream
	for range MaxKeptStreams + 5 {
		st := ss.New()
		st.Push([]byte("{}"), true)
		ss.Keep(st)
		all = append(all, st)
	}
	if ss.Kept() != MaxKeptStreams {
		t.Fatalf("kept %d streams, want %d", ss.Kept(), MaxKeptStreams)
	}
	if _, _, err := ss.Resume("1-0"); !errors.Is(err, ErrStreamGone) {
		t.Errorf("the oldest stream: %v, want ErrStreamGone", err)
	}
	if st, after, err := ss.Resume("37-0"); err != nil || st != all[36] || after != 0 {
		t.Errorf("the newest stream: %v %v", st, err)
	}
}

func TestRetentionFinishedGoFirst(t *testing.T) {
	var ss Streams
	ss.Init(0)
	running := ss.New() // oldest, still running
	ss.Keep(running)
	var finished []*Stream
	for range MaxKeptStreams {
		st := ss.New()
		st.Push([]byte("{}"), true)
		ss.Keep(st)
		finished = append(finished, st)
	}
	if _, _, err := ss.Resume("1-0"); err != nil {
		t.Fatalf("the running stream was forgotten before finished ones: %v", err)
	}
	if _, _, err := ss.Resume("2-0"); !errors.Is(err, ErrStreamGone) {
		t.Fatalf("the oldest finished stream is still kept: %v", err)
	}
	if running.Ended() {
		t.Error("the running stream was ended")
	}
}

func TestRetentionAttachedStaysEvenOverTheBound(t *testing.T) {
	var ss Streams
	ss.Init(0)
	first := ss.New()
	first.Push([]byte("{}"), true)
	ss.Keep(first)
	first.Attach()
	for range MaxKeptStreams {
		st := ss.New()
		st.Push([]byte("{}"), true)
		ss.Keep(st)
	}
	if _, _, err := ss.Resume("1-0"); err != nil {
		t.Fatalf("a stream being read was forgotten: %v", err)
	}
}

func TestRetentionBytes(t *testing.T) {
	var ss Streams
	ss.Init(0)
	big := []byte(`"` + strings.Repeat("x", 3<<20) + `"`)
	for range 8 {
		st := ss.New()
		st.Push(big, true)
		ss.Keep(st)
	}
	if n := ss.Kept(); n*len(big) > SessionBytes || n < 1 {
		t.Fatalf("kept %d streams of %d bytes: over %d", n, len(big), SessionBytes)
	}
}

func TestRetentionTime(t *testing.T) {
	var ss Streams
	ss.Init(0)
	st := ss.New()
	st.Push([]byte("{}"), true)
	ss.Keep(st)
	open := ss.New()
	ss.Keep(open)
	ss.Sweep(time.Now())
	if ss.Kept() != 2 {
		t.Fatal("a stream that just finished was swept")
	}
	ss.Sweep(time.Now().Add(KeepFinished + time.Second))
	if _, _, err := ss.Resume("1-0"); !errors.Is(err, ErrStreamGone) {
		t.Fatalf("a finished stream outlived KeepFinished: %v", err)
	}
	if _, _, err := ss.Resume("2-0"); err != nil {
		t.Fatalf("an unfinished stream was swept: %v", err)
	}
}

func TestResumeErrors(t *testing.T) {
	var ss Streams
	ss.Init(0)
	get := ss.Standalone(true)
	if st, after, err := ss.Resume("1-7"); err != nil || st != get || after != 7 {
		t.Fatalf("the GET stream: %v %d %v", st, after, err)
	}
	for _, bad := range []string{"junk", "9-1", "0-0"} {
		if _, _, err := ss.Resume(bad); !errors.Is(err, ErrBadEventID) {
			t.Errorf("%q: %v, want ErrBadEventID", bad, err)
		}
	}
	var off Streams
	off.Init(-1)
	if _, _, err := off.Resume("1-1"); !errors.Is(err, ErrNotResumable) {
		t.Errorf("no resumption: %v", err)
	}
	for err, status := range map[error]int{ErrStreamGone: 410, ErrBadEventID: 400, ErrNotResumable: 400} {
		rec := httptest.NewRecorder()
		WriteResumeError(rec, err)
		if rec.Code != status || !strings.Contains(rec.Body.String(), `"code":-32600`) {
			t.Errorf("%v: %d %s", err, rec.Code, rec.Body)
		}
	}
}

func TestTableLookup(t *testing.T) {
	tab := NewTable[string](2)
	var a, b Session
	a.Init("A", OwnerKey("alice", "desktop"), 0, nil)
	b.Init("B", OwnerKey("alice", "web"), 0, nil)
	if !tab.Add(&a, "a") || !tab.Add(&b, "b") || !tab.Full() {
		t.Fatal("Add")
	}
	var c Session
	c.Init("C", "", 0, nil)
	if tab.Add(&c, "c") {
		t.Fatal("Add over the cap")
	}
	lookup := func(sid, owner string) int {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if sid != "" {
			r.Header.Set(HeaderSessionID, sid)
		}
		rec := httptest.NewRecorder()
		if s, core, ok := tab.Lookup(rec, r, owner, []byte("7")); ok {
			if core.ID != sid || s != strings.ToLower(sid) {
				t.Errorf("Lookup(%s) = %v %v", sid, s, core.ID)
			}
			return 200
		}
		return rec.Code
	}
	for _, tc := range []struct {
		sid, owner string
		want       int
	}{
		{"A", OwnerKey("alice", "desktop"), 200},
		{"A", OwnerKey("alice", "web"), 404},
		{"A", OwnerKey("bob", "desktop"), 404},
		{"A", "", 404},
		{"nope", "", 404},
		{"", "", 400},
	} {
		if got := lookup(tc.sid, tc.owner); got != tc.want {
			t.Errorf("session %q, owner %q: %d, want %d", tc.sid, tc.owner, got, tc.want)
		}
	}
	a.End()
	if lookup("A", OwnerKey("alice", "desktop")) != 404 {
		t.Error("an ended session was found")
	}
	if !tab.Remove(&a) || tab.Remove(&a) || tab.Len() != 1 {
		t.Error("Remove")
	}
}

func TestSessionIdle(t *testing.T) {
	now := time.Unix(1000, 0)
	var s Session
	s.Init("S", "", 0, func() time.Time { return now })
	if s.Idle(now.Add(time.Minute-1), time.Minute) || !s.Idle(now.Add(time.Minute), time.Minute) {
		t.Fatal("idle timing")
	}
	s.Begin()
	if s.Idle(now.Add(time.Hour), time.Minute) {
		t.Fatal("a busy session is idle")
	}
	now = now.Add(time.Hour)
	s.Done()
	if s.Idle(now.Add(time.Second), time.Minute) {
		t.Fatal("Done did not count as activity")
	}
}

func TestOwnerKey(t *testing.T) {
	if OwnerKey("", "") != "" || OwnerKey("a", "b") == OwnerKey("a", "c") || OwnerKey("a", "") == OwnerKey("", "a") {
		t.Fatal("OwnerKey")
	}
	if OwnerKey("ab", "c") == OwnerKey("a", "bc") || OwnerKey("a\x00b", "") == OwnerKey("a", "b\x00") {
		t.Fatal("subject and client id run together")
	}
}
