package oauth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of TracerOptions fields.
const (
	DefaultTraceRetention        = 24 * time.Hour
	DefaultTraceUnattributedRate = 10 // per second
)

// TracerOptions configure a Tracer. A nil *TracerOptions means all
// defaults; each field documents its zero value.
type TracerOptions struct {
	// Retention is how long a trace is kept after its last event. Zero:
	// 24 hours.
	Retention time.Duration
	// UnattributedRate caps the unattributed events (metadata fetches,
	// requests without a good token) recorded per second, so that a flood
	// of anonymous requests costs no more store writes than that. Zero:
	// 10.
	UnattributedRate int
	// Queue is how many events may wait for the store; beyond it events are
	// dropped (and counted, see Dropped). Zero: 1024.
	Queue int
	// Logger receives store failures. Zero: slog.Default().
	Logger *slog.Logger
}

// Tracer keeps a connection trace per client: the answer to "where did
// claude.ai stop?". Its Observe method is an Observer (Options.Observe,
// VerifierOptions.Observe) that records, in a TraceStore shared by the
// replicas, the latest event of each step of each client: registration,
// authorization request, consent, login, each grant at /token, the first
// request at a resource that a token let through (once per client and
// process), and the latest refusal there. Events no client can be named
// for (metadata fetches, requests without a good token) go to one list of
// recent unattributed events, at most UnattributedRate a second.
//
// Recording is asynchronous: Observe queues the event and returns; one
// goroutine writes to the store. Events hold no secret (see Event). Close
// stops the writer after the queued events are written.
type Tracer struct {
	store   TraceStore
	keep    time.Duration
	log     *slog.Logger
	queue   chan queuedEvent
	done    chan struct{}
	dropped atomic.Int64

	// seen are the clients whose first resource request was recorded: read
	// on every request a token let through, so without a lock.
	seen     atomic.Pointer[sync.Map]
	seenLen  atomic.Int64
	mu       sync.Mutex
	tokens   float64 // unattributed budget (token bucket)
	lastFill time.Time
	rate     float64
	closed   bool
}

type queuedEvent struct {
	client, key string
	e           Event
}

// maxSeen bounds the clients a Tracer remembers as having made their first
// resource request; past it the memory starts over (a client's first call
// is then recorded again, which is harmless).
const maxSeen = 100_000

// NewTracer returns a Tracer recording into store.
func NewTracer(store TraceStore, opts *TracerOptions) *Tracer {
	var o TracerOptions
	if opts != nil {
		o = *opts
	}
	t := &Tracer{
		store: store,
		keep:  cmpOr(o.Retention, DefaultTraceRetention),
		log:   o.Logger,
		queue: make(chan queuedEvent, cmpOr(o.Queue, 1024)),
		done:  make(chan struct{}),
		rate:  float64(cmpOr(o.UnattributedRate, DefaultTraceUnattributedRate)),
	}
	t.tokens = t.rate
	t.seen.Store(new(sync.Map))
	if t.log == nil {
		t.log = slog.Default()
	}
	go t.write()
	return t
}

// Observe records e (an Observer).
func (t *Tracer) Observe(e Event) {
	key, ok := t.keyFor(e)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	select {
	case t.queue <- queuedEvent{client: e.ClientID, key: key, e: e}:
	default:
		t.dropped.Add(1)
	}
}

// keyFor is the trace key of e, or false when e is not recorded.
func (t *Tracer) keyFor(e Event) (string, bool) {
	if e.ClientID == "" {
		return "", t.allowUnattributed(e.Time)
	}
	switch e.Step {
	case StepToken:
		return string(StepToken) + "/" + e.GrantType, true
	case StepResource:
		if !e.OK() {
			return "resource_refused", true
		}
		seen := t.seen.Load()
		if _, dup := seen.LoadOrStore(e.ClientID, struct{}{}); dup {
			return "", false
		}
		if t.seenLen.Add(1) >= maxSeen {
			t.seen.Store(new(sync.Map))
			t.seenLen.Store(0)
		}
		return string(StepResource), true
	}
	return string(e.Step), true
}

// allowUnattributed takes one unit of the unattributed budget.
func (t *Tracer) allowUnattributed(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.lastFill.IsZero() {
		t.tokens = min(t.rate, t.tokens+now.Sub(t.lastFill).Seconds()*t.rate)
	}
	t.lastFill = now
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}

// write records the queued events until Close.
func (t *Tracer) write() {
	defer close(t.done)
	for q := range t.queue {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := t.store.PutTraceStep(ctx, q.client, q.key, q.e, t.keep); err != nil {
			t.log.Warn("oauth: the connection trace was not recorded", "client_id", q.client, "step", q.key, "error", err)
		}
		cancel()
	}
}

// Dropped is how many events were not recorded because the queue was
// full.
func (t *Tracer) Dropped() int64 { return t.dropped.Load() }

// Close writes the queued events and stops. Later events are ignored.
func (t *Tracer) Close() error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.queue)
	}
	t.mu.Unlock()
	<-t.done
	return nil
}
