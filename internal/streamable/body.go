package streamable

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ReadBody reads the body of a POST within limit bytes, in one allocation
// when the client sent its length. It answers the request itself and
// returns ok false when the body is larger (413) or cannot be read (400).
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	tooLarge := func() ([]byte, bool) {
		WriteError(w, http.StatusRequestEntityTooLarge, nil, CodeInvalidRequest,
			fmt.Sprintf("request body exceeds the limit of %d bytes", limit))
		return nil, false
	}
	if r.ContentLength > limit {
		return tooLarge()
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	var b []byte
	var err error
	if n := r.ContentLength; n > 0 {
		b = make([]byte, n)
		_, err = io.ReadFull(body, b)
	} else {
		b, err = io.ReadAll(body)
	}
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return tooLarge()
		}
		WriteError(w, http.StatusBadRequest, nil, CodeParseError, "could not read the request body: "+err.Error())
		return nil, false
	}
	return b, true
}

// CheckPost checks the headers of a POST before its body is read: the body
// must be application/json (415) and the client must take a JSON or an SSE
// answer (406). It answers the request itself when they fail.
func CheckPost(w http.ResponseWriter, r *http.Request) (jsonOK, sseOK, ok bool) {
	if !IsJSON(r.Header.Get("Content-Type")) {
		WriteError(w, http.StatusUnsupportedMediaType, nil, CodeInvalidRequest, "Content-Type must be application/json")
		return false, false, false
	}
	jsonOK, sseOK = Accepts(r.Header)
	if !jsonOK && !sseOK {
		WriteError(w, http.StatusNotAcceptable, nil, CodeInvalidRequest, "Accept must allow application/json or text/event-stream")
		return false, false, false
	}
	return jsonOK, sseOK, true
}
