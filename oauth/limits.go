package oauth

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Quotas on what requests without credentials make the server keep. Four
// endpoints store something for anyone who asks: GET /authorize (and a
// user code entered at /device) a pending authorization for LoginLifetime,
// POST /device_authorization a device authorization, POST /register a
// client, and any client_id that is an https URL a fetch of its metadata
// document. Each is counted twice, in one store round trip
// (QuotaStore.AllowAll, all or nothing):
//
//   - per client address (see clientaddr.go: IPv4 by address, IPv6 by
//     /64): one address cannot take the server's whole capacity. Past it:
//     429 Too Many Requests.
//   - globally, across replicas: the state cannot outgrow the memory or
//     disk it is given, however many addresses a flood comes from. Past
//     it: 503 Service Unavailable.
//
// Both answers carry Retry-After: when the window that refused ends. The
// browser endpoints show it on a page; the JSON endpoints send the OAuth
// error JSON. Neither RFC 7591 nor RFC 8628 defines an error code for this
// (slow_down is only for polling the token endpoint, RFC 8628 §3.5), so the
// codes are too_many_requests for 429 and temporarily_unavailable (RFC
// 6749 §4.1.2.1) for 503; clients act on the status and Retry-After.
//
// A global cap on state that lives for a time T (pending and device
// authorizations) is a counter of creations in fixed windows of length T
// that allows half the cap per window: whatever is alive at any moment was
// created in the current window or the one before, so at most the cap is
// alive, and a refused client waits at most T. It costs no count of the
// live records (which Redis cannot give without an index that would itself
// grow) and no extra round trip. Registrations live long, so their cap is a
// rate: MaxRegistrations per RegistrationWindow; metadata fetches are
// limited per minute.

// Defaults of the Limits fields.
const (
	DefaultPendingPerAddress         = 30
	DefaultMaxPending                = 5000
	DefaultDevicesPerAddress         = 10
	DefaultMaxDevices                = 2000
	DefaultMaxRegistrations          = 1000
	DefaultMetadataFetchesPerAddress = 10
	DefaultMaxMetadataFetches        = 60
	DefaultMaxMetadataDocuments      = 1000
	DefaultMetadataFailureCache      = time.Minute
)

// User codes entered at /device: per address (a guessing defence) and in
// all (so that many addresses together cannot guess faster either).
// deviceEntryLimit (device.go) is the first.
const deviceEntryGlobalLimit = 1000 // per minute

// Limits bound the state that requests without credentials make the
// server keep (see the comment at the top of limits.go). A zero field
// means its default; a negative one turns that limit off. The per-address
// limit on registrations is Options.RegistrationLimit.
type Limits struct {
	// PendingPerAddress is how many authorizations one client address may
	// start per LoginLifetime (GET /authorize, and a user code entered at
	// /device). Zero: 30.
	PendingPerAddress int
	// MaxPending caps the pending authorizations alive at once, all
	// addresses and replicas together: half of it may start per
	// LoginLifetime (at least one). Zero: 5,000 (each is at most about
	// 25 KB: a long state, ten long resources; typically under 1 KB).
	MaxPending int
	// DevicesPerAddress is how many device authorizations (POST
	// /device_authorization) one address may start per DeviceCodeLifetime.
	// Zero: 10.
	DevicesPerAddress int
	// MaxDevices caps the device authorizations kept at once (each is kept
	// DeviceCodeLifetime plus UsedCodeRetention, to answer late polls):
	// half of it may start per such period (at least one). Zero: 2,000.
	MaxDevices int
	// MaxRegistrations caps dynamic registrations per RegistrationWindow,
	// all addresses and replicas together. Zero: 1,000.
	MaxRegistrations int
	// MetadataFetchesPerAddress is how many Client ID Metadata Documents
	// that are not in the cache one address may make the server fetch per
	// minute. Zero: 10.
	MetadataFetchesPerAddress int
	// MaxMetadataFetches caps those fetches per minute, all addresses and
	// replicas together. Zero: 60.
	MaxMetadataFetches int
	// MaxMetadataDocuments is how many fetched documents, and how many
	// failed fetches, each replica caches. Zero: 1,000 of each.
	MaxMetadataDocuments int
	// MetadataFailureCache is how long a failed fetch is remembered: the
	// URL is not fetched again meanwhile, and the same error is shown.
	// Zero: 1 minute.
	MetadataFailureCache time.Duration
}

// quotaRule is one kind of state and its two quotas.
type quotaRule struct {
	name       string // key prefix
	what       string // what users are told there are too many of
	perAddress int    // < 1: no per-address quota
	addrWindow time.Duration
	global     int // < 1: no global cap
	window     time.Duration

	lastWarn atomic.Int64 // Unix seconds of the last "cap reached" log
}

// limit resolves a Limits field: zero is def, negative is off (0).
func limit(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// halfCap is the per-window allowance that keeps at most c alive (see the
// comment at the top): half of it, at least one.
func halfCap(c int) int {
	if c <= 0 {
		return 0
	}
	return max(1, c/2)
}

// quotaRules are the server's quotas.
type quotaRules struct {
	pending, device, register, metadata, entry *quotaRule
}

func newQuotaRules(l Limits, s *Server) quotaRules {
	return quotaRules{
		pending: &quotaRule{name: "authorize", what: "sign-ins",
			perAddress: limit(l.PendingPerAddress, DefaultPendingPerAddress), addrWindow: s.loginTTL,
			global: halfCap(limit(l.MaxPending, DefaultMaxPending)), window: s.loginTTL},
		device: &quotaRule{name: "device", what: "device authorizations",
			perAddress: limit(l.DevicesPerAddress, DefaultDevicesPerAddress), addrWindow: s.deviceTTL,
			global: halfCap(limit(l.MaxDevices, DefaultMaxDevices)), window: s.deviceTTL + UsedCodeRetention},
		register: &quotaRule{name: "register", what: "registrations",
			perAddress: max(0, s.regLimit), addrWindow: s.regWindow,
			global: limit(l.MaxRegistrations, DefaultMaxRegistrations), window: s.regWindow},
		metadata: &quotaRule{name: "cimd", what: "new applications (client metadata documents to fetch)",
			perAddress: limit(l.MetadataFetchesPerAddress, DefaultMetadataFetchesPerAddress), addrWindow: time.Minute,
			global: limit(l.MaxMetadataFetches, DefaultMaxMetadataFetches), window: time.Minute},
		entry: &quotaRule{name: "usercode", what: "attempts",
			perAddress: deviceEntryLimit, addrWindow: time.Minute,
			global: deviceEntryGlobalLimit, window: time.Minute},
	}
}

// admit counts one more of q's state for the client address noted in ctx.
// No room: an *Error with status 429 (this address) or 503 (everyone) and
// RetryAfter. A store failure refuses too (a server_error).
func (s *Server) admit(ctx context.Context, q *quotaRule) error {
	qs := make([]Quota, 0, 2)
	addr := clientAddrOf(ctx)
	if q.perAddress > 0 {
		qs = append(qs, Quota{Key: q.name + ":" + addr.group, Limit: q.perAddress, Window: q.addrWindow})
	}
	if q.global > 0 {
		qs = append(qs, Quota{Key: q.name + ":*", Limit: q.global, Window: q.window})
	}
	if len(qs) == 0 {
		return nil
	}
	res, err := s.store.AllowAll(ctx, qs)
	if err != nil {
		return fmt.Errorf("quota %s: %w", q.name, err)
	}
	if res.Allowed {
		return nil
	}
	retry := max(time.Second, (res.RetryAfter + time.Second - 1).Truncate(time.Second))
	if res.Refused < len(qs) && qs[res.Refused].Key == q.name+":*" {
		now := s.now().Unix()
		if last := q.lastWarn.Load(); now-last >= 60 && q.lastWarn.CompareAndSwap(last, now) {
			s.log.WarnContext(ctx, "oauth: global cap reached: new "+q.what+" are refused for now", "quota", q.name,
				"limit", q.global, "window", q.window.String(), "retry_after", retry.String())
		}
		return &Error{Code: ErrorTemporarilyUnavailable, Status: http.StatusServiceUnavailable, RetryAfter: retry,
			Description: fmt.Sprintf("The server is busy: too many %s are in progress. Try again in %s.", q.what, humanDuration(retry))}
	}
	s.log.DebugContext(ctx, "oauth: per-address quota reached", "quota", q.name, "remote", addr.String())
	return &Error{Code: ErrorTooManyRequests, Status: http.StatusTooManyRequests, RetryAfter: retry,
		Description: fmt.Sprintf("Too many %s from your network address. Try again in %s.", q.what, humanDuration(retry))}
}

// humanDuration says d in whole seconds or minutes, rounded up.
func humanDuration(d time.Duration) string {
	if d <= 90*time.Second {
		n := int((d + time.Second - 1) / time.Second)
		if n == 1 {
			return "1 second"
		}
		return strconv.Itoa(n) + " seconds"
	}
	return strconv.Itoa(int((d+time.Minute-1)/time.Minute)) + " minutes"
}

// setRetryAfter sets the Retry-After header of a refusal (RFC 9110
// §10.2.3: whole seconds).
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
}
