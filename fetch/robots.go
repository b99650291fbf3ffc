package fetch

import (
	"bufio"
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mcp-oauth-gateway/gateway/fetch/safehttp"
)

// maxRobotsBytes is how much of a robots.txt is read (RFC 9309 asks for at
// least 500 KiB).
const maxRobotsBytes = 512 << 10

// robotsRules are the rules of the robots.txt group that applies to one
// user agent.
type robotsRules struct {
	allow    []string
	disallow []string
	// all is set for the verdicts that need no file: everything allowed
	// (no robots.txt) or everything disallowed (the server failed).
	all *bool
}

var (
	allowAll    = &robotsRules{all: ptr(true)}
	disallowAll = &robotsRules{all: ptr(false)}
)

func ptr[T any](v T) *T { return &v }

// parseRobots parses a robots.txt (RFC 9309) and returns the rules for the
// product token: those of every group naming it (case-insensitively), else
// those of the "*" groups, else none.
func parseRobots(body []byte, token string) *robotsRules {
	var mine, star robotsRules
	matchMine, matchStar := false, false
	// Agents of the group being read, and whether rules were seen since
	// the last user-agent line (which then starts a new group).
	inMine, inStar, sawRule := false, false, false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), maxRobotsBytes+1)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		switch key {
		case "user-agent", "useragent", "user agent":
			if sawRule {
				inMine, inStar, sawRule = false, false, false
			}
			agent := value
			if i := strings.IndexAny(agent, "/ "); i >= 0 {
				agent = agent[:i]
			}
			if strings.EqualFold(agent, token) {
				inMine, matchMine = true, true
			} else if agent == "*" {
				inStar, matchStar = true, true
			}
		case "allow", "disallow":
			sawRule = true
			if value == "" {
				continue // an empty rule matches nothing
			}
			pattern := normalizeRobotsPath(value)
			for _, r := range []*robotsRules{&mine, &star} {
				if (r == &mine && !inMine) || (r == &star && !inStar) {
					continue
				}
				if key == "allow" {
					r.allow = append(r.allow, pattern)
				} else {
					r.disallow = append(r.disallow, pattern)
				}
			}
		default:
			// Sitemap, crawl-delay and unknown lines neither start nor end
			// a group.
		}
	}
	switch {
	case matchMine:
		return &mine
	case matchStar:
		return &star
	}
	return allowAll
}

// allowed reports whether path (escaped path plus query) may be fetched:
// the longest matching rule wins, allow wins a tie, no match allows.
func (r *robotsRules) allowed(path string) bool {
	if r.all != nil {
		return *r.all
	}
	path = normalizeRobotsPath(path)
	if path == "/robots.txt" {
		return true
	}
	best, verdict := -1, true
	for _, p := range r.disallow {
		if len(p) > best && robotsMatch(p, path) {
			best, verdict = len(p), false
		}
	}
	for _, p := range r.allow {
		if len(p) >= best && robotsMatch(p, path) {
			best, verdict = len(p), true
		}
	}
	return verdict
}

// robotsMatch matches a robots.txt path pattern: '*' is any run of
// characters, a final '$' anchors the end, everything else is a prefix.
func robotsMatch(pattern, path string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	if anchored {
		pattern = pattern[:len(pattern)-1]
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(path, parts[0]) {
		return false
	}
	pos := len(parts[0])
	if len(parts) == 1 {
		return !anchored || pos == len(path)
	}
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(path[pos:], part)
		if i < 0 {
			return false
		}
		pos += i + len(part)
	}
	last := parts[len(parts)-1]
	if anchored {
		return len(path)-pos >= len(last) && strings.HasSuffix(path, last)
	}
	return strings.Contains(path[pos:], last)
}

// normalizeRobotsPath percent-encodes what a URL would (non-ASCII bytes,
// spaces, controls) and upper-cases existing escapes, so patterns and paths
// compare byte for byte.
func normalizeRobotsPath(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]):
			b.WriteByte('%')
			b.WriteString(strings.ToUpper(s[i+1 : i+3]))
			i += 2
		case c <= ' ' || c >= 0x7f:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// robotsCache fetches robots.txt files and keeps their rules for a while,
// up to a number of sites; the oldest entries go first.
type robotsCache struct {
	client *http.Client
	ua     string
	token  string
	ttl    time.Duration
	max    int
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element
	order   *list.List // of *robotsEntry, oldest at the back
}

type robotsEntry struct {
	site    string
	rules   *robotsRules
	err     error // why the file could not be read, for disallowAll
	expires time.Time
}

// robotsFailureTTL is how long a server failure is remembered.
const robotsFailureTTL = time.Minute

func newRobotsCache(client *http.Client, ua string, size int, ttl time.Duration, now func() time.Time) *robotsCache {
	token := ua
	if i := strings.IndexAny(token, "/ "); i >= 0 {
		token = token[:i]
	}
	return &robotsCache{
		client: client, ua: ua, token: token, ttl: ttl, max: size, now: now,
		entries: map[string]*list.Element{}, order: list.New(),
	}
}

// RobotsError says robots.txt does not allow a fetch, or could not be read.
type RobotsError struct {
	RobotsURL string
	Agent     string
	Err       error // nil when the rules disallow the URL
}

func (e *RobotsError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("fetch: robots.txt at %s could not be read (%v), so automated fetching is not allowed", e.RobotsURL, e.Err)
	}
	return fmt.Sprintf("fetch: robots.txt at %s does not allow %s to fetch this URL", e.RobotsURL, e.Agent)
}

// check returns nil when robots.txt allows fetching u, or a *RobotsError.
func (c *robotsCache) check(ctx context.Context, u *url.URL) error {
	site := u.Scheme + "://" + u.Host
	e := c.lookup(site)
	if e == nil {
		e = c.fetch(ctx, site)
		c.store(e)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	if e.rules.allowed(path) {
		return nil
	}
	return &RobotsError{RobotsURL: site + "/robots.txt", Agent: c.token, Err: e.err}
}

func (c *robotsCache) lookup(site string) *robotsEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[site]
	if !ok {
		return nil
	}
	e := el.Value.(*robotsEntry)
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.entries, site)
		return nil
	}
	return e
}

func (c *robotsCache) store(e *robotsEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.site]; ok {
		c.order.Remove(el)
	}
	c.entries[e.site] = c.order.PushFront(e)
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.entries, old.Value.(*robotsEntry).site)
	}
}

func (c *robotsCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// fetch reads site's robots.txt and turns the outcome into rules, as
// RFC 9309 says: a 2xx file is parsed, a 4xx means no rules, a 5xx or a
// network failure means everything is disallowed.
func (c *robotsCache) fetch(ctx context.Context, site string) *robotsEntry {
	e := &robotsEntry{site: site, expires: c.now().Add(c.ttl)}
	fail := func(err error) *robotsEntry {
		e.rules, e.err = disallowAll, err
		e.expires = c.now().Add(min(c.ttl, robotsFailureTTL))
		return e
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, site+"/robots.txt", nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", "text/plain, */*;q=0.5")
	resp, err := c.client.Do(req)
	if err != nil {
		var refused *safehttp.RefusedError
		if errors.As(err, &refused) {
			return fail(refused)
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // drop the repetition of the URL
		}
		return fail(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxRobotsBytes))
		if err != nil && !errors.Is(err, safehttp.ErrBodyTooLarge) {
			return fail(err)
		}
		e.rules = parseRobots(body, c.token)
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		e.rules = allowAll
	default:
		return fail(fmt.Errorf("HTTP %s", resp.Status))
	}
	return e
}
