package streamable

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// drain reads every ready event after after.
func drain(st *Stream, after uint64) (evs []Event, lost bool) {
	for {
		step := st.Next(after)
		if !step.Ready {
			return evs, lost || step.Lost
		}
		lost = lost || step.Lost
		evs = append(evs, step.Event)
		after = step.Seq
	}
}

func seqs(evs []Event) []uint64 {
	var out []uint64
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func TestWindowKeepsTheNewest(t *testing.T) {
	st := NewStream(1, Window{Events: 3, Bytes: 1 << 20})
	for i := range 10 {
		st.Push([]byte(fmt.Sprint(i)), i == 9)
	}
	evs, lost := drain(st, 0)
	if fmt.Sprint(seqs(evs)) != "[8 9 10]" || !lost || !evs[2].Final {
		t.Fatalf("kept %v (lost %v), want the newest three, the response last", seqs(evs), lost)
	}
}

func TestWindowBytesKeepTheNewestEvenIfLarge(t *testing.T) {
	st := NewStream(1, Window{Events: 100, Bytes: 250})
	for range 5 {
		st.Push(bytes.Repeat([]byte("x"), 100), false)
	}
	if evs, _ := drain(st, 0); fmt.Sprint(seqs(evs)) != "[4 5]" {
		t.Fatalf("kept %v, want the two newest that fit 250 bytes", seqs(evs))
	}
	st.Push(bytes.Repeat([]byte("y"), 1000), true)
	if evs, _ := drain(st, 0); fmt.Sprint(seqs(evs)) != "[6]" || len(evs[0].Data) != 1000 {
		t.Fatalf("kept %v, want the large response alone", seqs(evs))
	}
}

func TestAttachedReaderIsNotCutShort(t *testing.T) {
	st := NewStream(1, Window{Events: 3, Bytes: 1 << 20})
	a := st.Attach()
	for i := range 50 {
		st.Push([]byte(fmt.Sprint(i)), false)
	}
	evs, lost := drain(st, 0)
	if len(evs) != 50 || lost {
		t.Fatalf("an attached reader found %d of 50 events (lost %v)", len(evs), lost)
	}
	st.MarkSent(50)
	st.Release(a)
	if evs, _ := drain(st, 0); fmt.Sprint(seqs(evs)) != "[48 49 50]" {
		t.Fatalf("after the reader left, kept %v, want the window", seqs(evs))
	}
}

func TestAttachedReaderFarBehindLosesTheOldest(t *testing.T) {
	st := NewStream(1, Window{Events: 3, Bytes: 1 << 20})
	st.Attach()
	for range behindEvents + 10 {
		st.Push([]byte("x"), false)
	}
	if step := st.Next(0); !step.Lost || step.Seq <= 10 {
		t.Fatalf("step %+v: a reader 4096 events behind keeps everything", step)
	}
}

func TestTakeover(t *testing.T) {
	st := NewStream(1, Window{})
	a := st.Attach()
	b := st.Attach()
	if !st.Retired(a) || st.Retired(b) {
		t.Fatal("the newer attachment did not take over")
	}
	st.Release(a) // the retired one leaving does not detach the newer
	if !st.Attached() {
		t.Fatal("a retired reader's release detached the current one")
	}
	if !st.LetGo() || st.Attached() || !st.Retired(b) {
		t.Fatal("LetGo did not retire the reader")
	}
}

// TestRetiredReaderWakes: a reader that is about to wait when a newer one
// takes the stream over (or LetGo lets it go) wakes, even when the newer
// reader waited first and took the signal of the change: else its response
// stayed open until the next keep-alive.
func TestRetiredReaderWakes(t *testing.T) {
	for _, how := range []string{"takeover", "LetGo"} {
		t.Run(how, func(t *testing.T) {
			st := NewStream(1, Window{})
			a := st.Attach()
			wake := st.WakeFor(a) // a found nothing to write and waits
			var b uint64
			if how == "takeover" {
				b = st.Attach()
			} else {
				st.LetGo()
			}
			select { // the newer reader (or an unattached one) waits first
			case <-st.WakeFor(b):
			default:
			}
			select {
			case <-wake:
			default:
				t.Fatal("the retired reader was not woken")
			}
			select {
			case <-st.WakeFor(a):
			default:
				t.Fatal("the retired reader, waiting again, was not woken")
			}
		})
	}
}

func TestLaterEntries(t *testing.T) {
	st := NewStream(0, Window{})
	ch := make(chan []byte, 1)
	st.PushLater(func(wait bool) ([]byte, bool) {
		select {
		case d := <-ch:
			return d, true
		default:
			return nil, false
		}
	})
	st.PushLater(func(bool) ([]byte, bool) { return nil, false }) // never sent
	st.Push([]byte("final"), true)
	ch <- []byte("late")
	evs, _ := drain(st, 0)
	if len(evs) != 2 || string(evs[0].Data) != "late" || string(evs[1].Data) != "final" || !evs[1].Final {
		t.Fatalf("got %+v", evs)
	}
}

func TestNotResumableForgetsWhatWasSent(t *testing.T) {
	st := NewStream(0, Window{})
	st.Push([]byte("a"), false)
	st.Push([]byte("b"), false)
	st.MarkSent(1)
	if evs, _ := drain(st, 0); fmt.Sprint(seqs(evs)) != "[2]" || st.Bytes() != 1 {
		t.Fatalf("kept %v (%d bytes)", seqs(evs), st.Bytes())
	}
}

func TestPushAfterTheEnd(t *testing.T) {
	st := NewStream(1, Window{})
	if !st.Push([]byte("r"), true) || st.Push([]byte("x"), false) {
		t.Fatal("a push after the response was taken")
	}
	st2 := NewStream(1, Window{})
	st2.End()
	if st2.Push([]byte("x"), false) || !st2.Finished(timeZero) {
		t.Fatal("a push after End was taken")
	}
	st3 := NewStream(1, Window{})
	st3.Abandon()
	if !st3.Push([]byte("x"), true) || st3.Bytes() != 0 || !st3.Ended() {
		t.Fatal("an abandoned stream kept data or missed its end")
	}
}

var timeZero time.Time
