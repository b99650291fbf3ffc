package streamable

import (
	"errors"
	"net/http"
)

// ServeGet serves a client's GET on its session: with Last-Event-ID, the
// stream that names, after that event; without, the session's GET stream,
// from what no connection has received yet. o gives the keep-alive, the
// write timeout and whether to prime the stream; Serve's other fields are
// set here. It answers 406 to a client that does not take
// text/event-stream.
func ServeGet(w http.ResponseWriter, r *http.Request, sess *Session, o Reply) {
	if _, sseOK := Accepts(r.Header); !sseOK {
		WriteError(w, http.StatusNotAcceptable, nil, CodeInvalidRequest, "GET needs Accept: text/event-stream")
		return
	}
	var st *Stream
	if last := r.Header.Get(HeaderLastEventID); last != "" {
		var err error
		if st, o.After, err = sess.Streams.Resume(last); err != nil {
			WriteResumeError(w, err)
			return
		}
	} else if st = sess.Streams.Standalone(true); st != nil {
		o.After = st.Sent()
	} else {
		WriteError(w, http.StatusNotFound, nil, CodeInvalidRequest, "session not found; it ended: initialize a new one")
		return
	}
	o.Stream, o.SSE, o.JSON = true, true, false
	sess.Begin()
	defer sess.Done()
	Serve(r.Context(), w, st, &o)
}

// WriteResumeError answers a Last-Event-ID that Streams.Resume refused: 410
// Gone for a stream no longer kept, 400 for an id that is not one of the
// session's.
func WriteResumeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrStreamGone):
		WriteError(w, http.StatusGone, nil, CodeInvalidRequest,
			"the stream of that Last-Event-ID is no longer kept (a session keeps a finished stream for 5 minutes, and at most 32 streams): what it carried cannot be sent again; retry the request")
	default:
		WriteError(w, http.StatusBadRequest, nil, CodeInvalidRequest, err.Error())
	}
}
