package oauth

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// The JWT claim types of AccessTokenClaims, so that the claims of a token
// are read without a JWT library's types.

// NumericDate is a JWT time (RFC 7519 §2): whole seconds since the Unix
// epoch. In JSON it is a number; a fractional one is truncated.
type NumericDate int64

// NewNumericDate returns t as a NumericDate, truncated to the second; nil
// for the zero time.
func NewNumericDate(t time.Time) *NumericDate {
	if t.IsZero() {
		return nil
	}
	n := NumericDate(t.Unix())
	return &n
}

// Time returns the date as a time.Time; the zero time for nil.
func (n *NumericDate) Time() time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(int64(*n), 0)
}

// MarshalJSON writes the seconds as a JSON number.
func (n NumericDate) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(n), 10), nil
}

// maxNumericDate bounds the dates read: far beyond any real one, and far
// enough below the int64 limit that time.Unix and comparisons cannot wrap
// (a wrapped nbf would make a token valid early).
const maxNumericDate = 1 << 40

var errNumericDate = errors.New("oauth: a JWT date must be a number of seconds")

// UnmarshalJSON reads a JSON number of seconds.
func (n *NumericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return errNumericDate // a string, null inside an array, true, ...
	}
	if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		if i >= maxNumericDate || i <= -maxNumericDate {
			return errNumericDate
		}
		*n = NumericDate(i)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f >= maxNumericDate || f <= -maxNumericDate {
		return errNumericDate
	}
	*n = NumericDate(f)
	return nil
}

// Audience is a JWT aud claim (RFC 7519 §4.1.3): the resources a token is
// for. In JSON it is one string or an array of strings; one audience is
// written as a string.
type Audience []string

// MarshalJSON writes one audience as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

var errAudience = errors.New("oauth: a JWT aud must be a string or an array of strings")

// UnmarshalJSON reads a string or an array of strings; null leaves a
// unchanged.
func (a *Audience) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return errAudience
		}
		*a = Audience{s}
		return nil
	}
	if len(b) == 0 || b[0] != '[' {
		return errAudience
	}
	var list []*string
	if err := json.Unmarshal(b, &list); err != nil {
		return errAudience
	}
	out := make(Audience, len(list))
	for i, s := range list {
		if s == nil {
			return errAudience
		}
		out[i] = *s
	}
	*a = out
	return nil
}
