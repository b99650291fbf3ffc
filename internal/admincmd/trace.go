package admincmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// traceOrder is the order of a client's steps on its way to a working
// connection.
var traceOrder = []string{"register", "authorize", "consent", "login", "token/authorization_code",
	"token/" + oauth.GrantTypeDeviceCode, "token/refresh_token", "resource", "resource_refused"}

// traceLabels say what each step is, for people.
var traceLabels = map[string]string{
	"register": "registration (RFC 7591)", "authorize": "authorization request", "consent": "consent page answered",
	"login": "login at the identity provider", "token/authorization_code": "code exchanged for tokens",
	"token/" + oauth.GrantTypeDeviceCode: "device code exchanged", "token/refresh_token": "refresh",
	"resource": "first MCP request with a good token", "resource_refused": "latest MCP request refused",
}

// traceView is what trace shows.
type traceView struct {
	Client       *clientInfo   `json:"client,omitempty"`
	Steps        []traceStep   `json:"steps"`
	Unattributed []oauth.Event `json:"recent_unattributed"`
	// Matched: Unattributed are the events from the client's addresses
	// and user agents; else they are the most recent ones.
	Matched bool `json:"matched"`
}

type traceStep struct {
	Key   string      `json:"step"`
	Event oauth.Event `json:"event"`
}

func (r *runner) trace(ctx context.Context, clientID string) error {
	ts, ok := r.s.(oauth.TraceStore)
	if !ok {
		return errors.New("this store keeps no traces")
	}
	v := traceView{Steps: []traceStep{}, Unattributed: []oauth.Event{}}
	seenFrom := map[string]bool{}
	if clientID != "" {
		c, err := r.s.GetClient(ctx, clientID)
		switch {
		case err == nil:
			info := infoOf(c)
			v.Client = &info
		case !errors.Is(err, oauth.ErrNotFound):
			return err
		}
		steps, err := ts.TraceSteps(ctx, clientID)
		if err != nil {
			return err
		}
		if v.Client == nil && len(steps) == 0 {
			return fmt.Errorf("no client %q and no trace of it (traces last %s)", clientID, "their retention")
		}
		for _, k := range traceOrder {
			if e, ok := steps[k]; ok {
				v.Steps = append(v.Steps, traceStep{k, e})
				seenFrom[e.Address+"\x00"+e.UserAgent] = true
				delete(steps, k)
			}
		}
		for k, e := range steps { // steps of a newer server, in time order
			v.Steps = append(v.Steps, traceStep{k, e})
		}
	}
	un, err := ts.TraceSteps(ctx, "")
	if err != nil {
		return err
	}
	all := make([]oauth.Event, 0, len(un))
	for i := range len(un) {
		if e, ok := un[strconv.Itoa(i)]; ok {
			all = append(all, e)
		}
	}
	for _, e := range all {
		if seenFrom[e.Address+"\x00"+e.UserAgent] {
			v.Unattributed = append(v.Unattributed, e)
			v.Matched = true
		}
	}
	if !v.Matched {
		v.Unattributed = all[:min(len(all), 10)]
	}
	sort.SliceStable(v.Unattributed, func(i, j int) bool { return v.Unattributed[i].Time.Before(v.Unattributed[j].Time) })
	return r.out(v, func(w io.Writer) { writeTrace(w, clientID, &v) })
}

func writeTrace(w io.Writer, clientID string, v *traceView) {
	if clientID != "" {
		if c := v.Client; c != nil {
			fmt.Fprintf(w, "client\t%s (%s), registered %s, redirects to %s\n", c.ID, orDash(c.Name), stamp(c.IssuedAt), redirectHosts(c.RedirectURIs))
		} else {
			fmt.Fprintf(w, "client\t%s: no longer registered (expired or deleted)\n", clientID)
		}
		if len(v.Steps) == 0 {
			fmt.Fprintln(w, "\tno step recorded for this client")
		}
		for _, s := range v.Steps {
			label := traceLabels[s.Key]
			if label == "" {
				label = s.Key
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", stamp(s.Event.Time), label, outcome(s.Event), from(s.Event))
		}
		if next := nextStep(v.Steps); next != "" {
			fmt.Fprintf(w, "\t=> %s\n", next)
		}
	}
	switch {
	case len(v.Unattributed) == 0:
		fmt.Fprintln(w, "no recent unattributed discovery")
	case v.Matched:
		fmt.Fprintln(w, "recent unattributed discovery from the same address and user agent:")
	default:
		fmt.Fprintln(w, "recent unattributed discovery (from any client):")
	}
	for _, e := range v.Unattributed {
		what := string(e.Step)
		if e.Resource != "" {
			what += " " + e.Resource
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", stamp(e.Time), what, outcome(e), from(e))
	}
}

// outcome is "ok" or the refusal with its reason.
func outcome(e oauth.Event) string {
	if e.OK() {
		if e.Subject != "" {
			return "ok (user " + printable(e.Subject) + ")"
		}
		return "ok"
	}
	s := "REFUSED " + printable(e.Error)
	if e.Description != "" {
		s += ": " + printable(e.Description)
	}
	return s
}

func from(e oauth.Event) string {
	if e.Address == "" && e.UserAgent == "" {
		return ""
	}
	return "from " + orDash(e.Address) + " " + printable(e.UserAgent)
}

// printable drops what a terminal would interpret: the values come from
// clients (a User-Agent).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
}

// nextStep says what the trace suggests, for the most common stops.
func nextStep(steps []traceStep) string {
	has := map[string]oauth.Event{}
	for _, s := range steps {
		has[s.Key] = s.Event
	}
	if e, ok := has["resource_refused"]; ok && e.Error != "" {
		if r, ok := has["resource"]; !ok || r.Time.Before(e.Time) {
			return "the client's latest MCP request was refused (" + e.Error + "); a wrong_audience means its token is for another service's URL"
		}
	}
	switch {
	case len(has) == 0:
		return ""
	case has["resource"].Time.IsZero() && !has["token/authorization_code"].Time.IsZero() && has["token/authorization_code"].OK():
		return "the client has a token but made no MCP request with it yet"
	case !has["authorize"].Time.IsZero() && has["consent"].Time.IsZero() && has["token/authorization_code"].Time.IsZero():
		return "the user never answered the consent page (or the browser never opened)"
	case !has["consent"].Time.IsZero() && has["login"].Time.IsZero():
		return "the login at the identity provider never came back (check its callback URL)"
	}
	return ""
}
