package stdiobridge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/streamable"
)

// CallerEnv says who is calling and what the server processes that serve
// them get in their environment (KEY=VALUE entries, such as the user's own
// upstream token). ok false refuses the request (the function has answered
// it on w, e.g. with the 401 that makes an MCP client sign in again).
type CallerEnv func(w http.ResponseWriter, r *http.Request) (caller string, env []string, ok bool)

// UsersOptions configure a Users. A nil *UsersOptions means all defaults.
type UsersOptions struct {
	// Proxy configures each caller's Proxy. Shared is refused: a shared
	// process would serve every caller with one environment. Its
	// MaxChildren and MaxSessions are per caller.
	Proxy ProxyOptions
	// MaxCallers caps the callers served at once; one more gets 503. Zero:
	// 1000.
	MaxCallers int
	// RetireAfter is how long a caller's Proxy may go without requests
	// before it is closed (with its processes), and how long one replaced
	// by a new environment is kept for its requests in flight. Zero: the
	// Proxy's IdleTimeout (5 min).
	RetireAfter time.Duration
}

// Users serves every caller with a Proxy of its own, whose server
// processes get that caller's environment: a stdio server that acts as
// the user with the user's own credential (a GitHub MCP server with the
// user's GitHub token). Processes are never shared between callers, nor
// between two environments of one caller: when a caller's environment
// changes (a renewed token), its next requests go to a new Proxy, whose
// processes start with the new environment; a session of the old one is
// unknown there (404), so the client starts a new session, and the old
// Proxy is closed once its requests in flight are done.
type Users struct {
	cmd    Command
	opts   ProxyOptions
	env    CallerEnv
	max    int
	retire time.Duration
	log    *slog.Logger

	mu      sync.Mutex
	closed  bool
	current map[string]*userProxy // by caller
	retired []*userProxy
	stop    chan struct{}
	done    chan struct{}
}

// userProxy is one caller's Proxy for one environment.
type userProxy struct {
	px       *Proxy
	envKey   string
	inFlight int
	lastUsed time.Time
	retired  time.Time
}

// NewUsers returns the per-caller proxy of cmd; env is asked on every
// request. Close stops every caller's processes.
func NewUsers(cmd Command, env CallerEnv, opts *UsersOptions) (*Users, error) {
	if opts == nil {
		opts = &UsersOptions{}
	}
	if env == nil {
		return nil, errors.New("stdiobridge: NewUsers needs the callers' environments")
	}
	if opts.Proxy.Shared {
		return nil, errors.New("stdiobridge: a shared process cannot give each caller their own environment")
	}
	if _, err := resolve(cmd, &opts.Proxy); err != nil {
		return nil, err
	}
	u := &Users{cmd: cmd, opts: opts.Proxy, env: env, max: opts.MaxCallers, retire: opts.RetireAfter, log: opts.Proxy.Logger,
		current: map[string]*userProxy{}, stop: make(chan struct{}), done: make(chan struct{})}
	if u.max == 0 {
		u.max = 1000
	}
	if u.retire <= 0 {
		u.retire = opts.Proxy.IdleTimeout
		if u.retire <= 0 {
			u.retire = DefaultIdleTimeout
		}
	}
	if u.log == nil {
		u.log = slog.Default()
	}
	go u.sweepLoop()
	return u, nil
}

// ServeHTTP serves the request with its caller's Proxy.
func (u *Users) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	caller, env, ok := u.env(w, r)
	if !ok {
		return
	}
	up, err := u.proxy(caller, env)
	if err != nil {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, nil, streamable.CodeInternalError, err.Error())
		return
	}
	defer u.done1(up)
	up.px.ServeHTTP(w, r)
}

// envKey is the fingerprint of an environment.
func envKey(env []string) string {
	h := sha256.New()
	for _, e := range env {
		h.Write([]byte(e))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// proxy returns the caller's Proxy for env, counting a request in flight.
func (u *Users) proxy(caller string, env []string) (*userProxy, error) {
	key := envKey(env)
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil, errClosed
	}
	now := time.Now()
	up := u.current[caller]
	if up != nil && up.envKey != key {
		// A new environment: the old Proxy takes no new requests.
		up.retired = now
		u.retired = append(u.retired, up)
		delete(u.current, caller)
		u.log.Info("stdiobridge: a caller's environment changed; new server processes serve them", "caller", callerLabel(caller))
		up = nil
	}
	if up == nil {
		if len(u.current) >= u.max {
			return nil, fmt.Errorf("too many callers at once (%d)", u.max)
		}
		cmd := u.cmd
		cmd.Env = append(append([]string(nil), u.cmd.Env...), env...)
		px, err := NewProxy(cmd, &u.opts)
		if err != nil {
			return nil, err
		}
		up = &userProxy{px: px, envKey: key}
		u.current[caller] = up
	}
	up.inFlight++
	up.lastUsed = now
	return up, nil
}

func (u *Users) done1(up *userProxy) {
	u.mu.Lock()
	up.inFlight--
	up.lastUsed = time.Now()
	u.mu.Unlock()
}

// callerLabel is what logs show of a caller: a short hash.
func callerLabel(caller string) string {
	sum := sha256.Sum256([]byte(caller))
	return hex.EncodeToString(sum[:4])
}

// Callers is the number of callers with a live Proxy.
func (u *Users) Callers() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.current)
}

// Sessions is the number of live sessions of every caller.
func (u *Users) Sessions() int { return u.sum((*Proxy).Sessions) }

// Children is the number of server processes of every caller.
func (u *Users) Children() int { return u.sum((*Proxy).Children) }

// sum adds count over every caller's proxies, retired ones included.
func (u *Users) sum(count func(*Proxy) int) int {
	u.mu.Lock()
	all := u.proxiesLocked()
	u.mu.Unlock()
	n := 0
	for _, up := range all {
		n += count(up.px)
	}
	return n
}

func (u *Users) proxiesLocked() []*userProxy {
	all := append([]*userProxy(nil), u.retired...)
	for _, up := range u.current {
		all = append(all, up)
	}
	return all
}

// sweepLoop closes idle and retired proxies.
func (u *Users) sweepLoop() {
	defer close(u.done)
	t := time.NewTicker(max(time.Second, u.retire/10))
	defer t.Stop()
	for {
		select {
		case <-u.stop:
			return
		case <-t.C:
			u.sweep(time.Now())
		}
	}
}

// sweep closes the proxies nobody used for RetireAfter, and the retired
// ones without requests in flight.
func (u *Users) sweep(now time.Time) {
	var closing []*userProxy
	u.mu.Lock()
	for caller, up := range u.current {
		if up.inFlight == 0 && now.Sub(up.lastUsed) >= u.retire {
			closing = append(closing, up)
			delete(u.current, caller)
		}
	}
	kept := u.retired[:0]
	for _, up := range u.retired {
		if up.inFlight == 0 || now.Sub(up.retired) >= u.retire {
			closing = append(closing, up)
			continue
		}
		kept = append(kept, up)
	}
	u.retired = kept
	u.mu.Unlock()
	for _, up := range closing {
		_ = up.px.Close()
	}
}

// Close stops every caller's Proxy and its processes. Later requests get
// 503.
func (u *Users) Close() error {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil
	}
	u.closed = true
	all := u.proxiesLocked()
	u.current, u.retired = map[string]*userProxy{}, nil
	u.mu.Unlock()
	close(u.stop)
	<-u.done
	var errs []error
	for _, up := range all {
		errs = append(errs, up.px.Close())
	}
	return errors.Join(errs...)
}
