package streamable

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Reply says how Serve answers.
type Reply struct {
	// JSON: the client takes application/json, so a response that comes
	// first, with nothing before it, goes out as a plain JSON answer.
	JSON bool
	// SSE: the client takes text/event-stream. Without it, what comes
	// before the response is dropped.
	SSE bool
	// Modern: a plain JSON error response gets the HTTP status 2026-07-28
	// gives its code.
	Modern bool
	// Stream starts the SSE stream at once (a GET stream) rather than when
	// the first message comes.
	Stream bool
	// Priming starts the SSE stream with a priming event that carries the
	// id of event After (2025-11-25 resumability); resumable streams only.
	Priming bool
	// After is the seq of the last event the client has: Serve writes those
	// after it.
	After uint64
	// KeepAlive is the interval of comments on an idle SSE stream; zero or
	// negative: none.
	KeepAlive time.Duration
	// WriteTimeout bounds each write of the SSE stream (and of a large JSON
	// answer); zero or negative: none.
	WriteTimeout time.Duration
	// BeforeFinal, when set, is called before the response is written.
	BeforeFinal func()
	// Attachment is the caller's attachment to the stream (Stream.Attach);
	// zero: Serve attaches. Serve releases it.
	Attachment uint64
	// Keep, when set, keeps the stream for resumption (Streams.Keep) as
	// soon as its event ids go out, so that a client whose connection
	// breaks finds it when it comes back, however soon.
	Keep *Streams
}

// Outcome is how Serve ended.
type Outcome struct {
	// Complete: every event up to the response was written.
	Complete bool
	// SSE: the answer was an SSE stream, whose event ids (of a resumable
	// stream) the client may resume from.
	SSE bool
}

// Serve writes st to w as Reply says, until the response is written, or
// the client goes away (ctx), the stream ends without a response, a newer
// connection takes the stream over, or a write does not complete within
// WriteTimeout.
func Serve(ctx context.Context, w http.ResponseWriter, st *Stream, o *Reply) Outcome {
	a := o.Attachment
	if a == 0 {
		a = st.Attach()
	}
	defer st.Release(a)
	var out Outcome
	var sw *sseWriter
	defer func() {
		if sw != nil {
			sw.disarm()
		}
	}()
	after := o.After
	startSSE := func() bool {
		out.SSE = true
		if o.Keep != nil {
			o.Keep.Keep(st)
		}
		sw = newSSEWriter(w, o.WriteTimeout)
		sw.arm()
		sw.start()
		if o.Priming && st.ID() > 0 && sw.priming(st.ID(), after) != nil {
			return false
		}
		return sw.flush() == nil
	}
	if o.Stream && !startSSE() {
		return out
	}
	var tick <-chan time.Time
	fresh := true // the next event starts a batch of writes
	for {
		step := st.Next(after)
		if step.Ready {
			ev := step.Event
			if ev.Final && o.BeforeFinal != nil {
				o.BeforeFinal()
			}
			if sw == nil && ev.Final && o.JSON {
				writeResponse(w, ev.Data, o)
				st.MarkSent(ev.Seq)
				out.Complete = true
				return out
			}
			if sw == nil && !o.SSE {
				// The client cannot read a stream: what comes before the
				// response has nowhere to go.
				after = ev.Seq
				st.MarkSent(ev.Seq)
				continue
			}
			if sw == nil {
				if !startSSE() {
					return out
				}
				fresh = false // armed by startSSE
			}
			if fresh {
				sw.arm()
				fresh = false
			}
			if step.Lost && sw.comment("events before this one were dropped: the stream keeps its newest "+strconv.Itoa(st.win.Events)+" events") != nil {
				return out
			}
			if err := sw.event(st.ID(), ev.Seq, ev.Data); err != nil {
				return out
			}
			after = ev.Seq
			if step.More && !ev.Final {
				continue
			}
			if sw.flush() != nil {
				return out
			}
			st.MarkSent(after)
			if ev.Final {
				out.Complete = true
				return out
			}
			fresh = true
			continue
		}
		// What is ready goes out first: a reader let go of (LetGo) ends its
		// response with what the stream had; one taken over stops here.
		if step.Ended || st.Retired(a) {
			return out
		}
		if sw != nil && tick == nil && o.KeepAlive > 0 {
			t := time.NewTicker(o.KeepAlive)
			defer t.Stop()
			tick = t.C
		}
		select {
		case <-st.WakeFor(a):
		case <-ctx.Done():
			return out
		case <-tick:
			sw.arm()
			if sw.comment("keep-alive") != nil || sw.flush() != nil {
				return out
			}
		}
	}
}

// writeResponse writes a lone response as application/json.
func writeResponse(w http.ResponseWriter, data []byte, o *Reply) {
	status := http.StatusOK
	if o.Modern {
		status = StatusOf(data)
	}
	if len(data) >= largeBody && o.WriteTimeout > 0 {
		rc := http.NewResponseController(w)
		if rc.SetWriteDeadline(time.Now().Add(o.WriteTimeout)) == nil {
			defer rc.SetWriteDeadline(time.Time{})
		}
	}
	WriteJSON(w, status, data)
}
