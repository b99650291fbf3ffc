package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The value syntaxes, one per kind, shared by every binary. Each parser
// gets the value with surrounding space removed.

// errBool is the one message of every bad boolean.
var errBool = errors.New("want true or false (also 1/0, yes/no, on/off)")

// ParseBool reads a boolean: true, 1, yes, on or false, 0, no, off, in any
// case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, errBool
}

func parseInt(s string, min, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		if max == math.MaxInt {
			return 0, fmt.Errorf("want a whole number, %d or more", min)
		}
		return 0, fmt.Errorf("want a whole number from %d to %d", min, max)
	}
	return n, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return 0, errors.New("want a port number from 0 to 65535")
	}
	return n, nil
}

// ParseDuration reads seconds (30, 2.5), as the Python originals take
// them, or a Go duration (500ms, 45s, 2m, 1h30m). zero tells whether 0 is
// allowed; negative values never are.
func ParseDuration(s string, zero bool) (time.Duration, error) {
	want := "want seconds (30) or a duration (45s, 2m, 1h)"
	if !zero {
		want = "want seconds above 0 (30) or a duration (45s, 2m, 1h)"
	}
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpPnNiI_") {
		if f*float64(time.Second) > math.MaxInt64 {
			return 0, errors.New("too long: want at most 290 years")
		}
		d = time.Duration(f * float64(time.Second))
		if f > 0 && d == 0 {
			return 0, errors.New(want)
		}
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, errors.New(want)
	}
	if d < 0 || (d == 0 && !zero) {
		return 0, errors.New(want)
	}
	return d, nil
}

// sizeUnits are the suffixes of a size, longest first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}

// ParseSize reads a positive byte count: 1048576, 512KB, 512KiB, 10MB,
// 10 MiB, 1GiB (at most 1 TiB).
func ParseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range sizeUnits {
		if len(num) > len(u.suffix) && strings.EqualFold(num[len(num)-len(u.suffix):], u.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<40)/mult {
		return 0, errors.New("want a positive size in bytes, such as 10485760 or 10MiB")
	}
	return n * mult, nil
}

// ParseList reads a list: comma-separated or, as the Python originals'
// settings accepted, a JSON array of strings. Entries are trimmed; empty
// ones are dropped.
func ParseList(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var raw []string
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return nil, errors.New("want a comma-separated list or a JSON array of strings")
		}
		var out []string
		for _, v := range raw {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out, nil
	}
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out, nil
}

func parseEnum(s string, choices []string) (string, error) {
	for _, c := range choices {
		if strings.EqualFold(s, c) {
			return c, nil
		}
	}
	return "", fmt.Errorf("want %s", orList(choices))
}

// parseURL accepts an absolute URL with one of schemes and a host (a
// unix:// URL needs a path instead).
func parseURL(s string, schemes []string) (string, error) {
	want := fmt.Errorf("want a %s URL", orList(schemesWithSlashes(schemes)))
	u, err := url.Parse(s)
	if err != nil {
		return "", want
	}
	for _, sc := range schemes {
		if strings.EqualFold(u.Scheme, sc) {
			if u.Host == "" && !(sc == "unix" && u.Path != "") {
				return "", want
			}
			return s, nil
		}
	}
	return "", want
}

func schemesWithSlashes(schemes []string) []string {
	out := make([]string, len(schemes))
	for i, s := range schemes {
		out[i] = s + "://"
	}
	return out
}

// ParseLogLevel reads a log level: debug (or trace), info, warn or
// warning, error (or critical), in any case.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug", "trace":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "critical":
		return slog.LevelError, nil
	}
	return 0, errors.New("want debug, info, warning or error")
}

// parseHost accepts an IP address (an IPv6 one with or without brackets)
// or a syntactically valid host name; it does not resolve it.
func parseHost(s string) (string, error) {
	bad := errors.New("want an IP address or a host name, such as 127.0.0.1, ::1, 0.0.0.0 or localhost")
	if h, ok := strings.CutPrefix(s, "["); ok {
		if h, ok = strings.CutSuffix(h, "]"); !ok || net.ParseIP(h) == nil || !strings.Contains(h, ":") {
			return "", bad
		}
		return h, nil
	}
	if net.ParseIP(s) != nil {
		return s, nil
	}
	name := strings.TrimSuffix(s, ".")
	if name == "" || len(name) > 253 {
		return "", bad
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", bad
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return "", bad
			}
		}
	}
	return s, nil
}

// orList is "a, b or c".
func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// formatDuration shows a default the way a user would write it.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// formatSize shows a default size with the largest binary unit that
// divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func formatLevel(l slog.Level) string {
	switch l {
	case slog.LevelDebug:
		return "debug"
	case slog.LevelInfo:
		return "info"
	case slog.LevelWarn:
		return "warning"
	case slog.LevelError:
		return "error"
	}
	return strings.ToLower(l.String())
}
