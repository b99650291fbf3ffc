package admincmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// store is what the commands work on.
type store interface {
	oauth.Store
	oauth.AdminStore
}

// runner runs one command on an open store.
type runner struct {
	s      store
	stdin  io.Reader
	stdout io.Writer
	json   bool
	now    func() time.Time
	// revokeFor is how long a revocation is recorded: longer than any
	// access token lives.
	revokeFor time.Duration
}

// commands are the subcommands with their one-line help.
var commands = []struct{ name, args, help string }{
	{"clients", "", "list the registered clients"},
	{"client", "ID", "show a client and its grants"},
	{"delete-client", "ID", "revoke every token of a client and delete it"},
	{"grants", "[--client ID] [--user SUB|LOGIN]", "list grants (token families)"},
	{"revoke", "--client ID | --user SUB|LOGIN | --client ID --family FAMILY", "revoke grants and their access tokens"},
	{"counts", "", "count the records of each kind"},
	{"purge", "", "remove expired records now"},
	{"backup", "FILE|-", "write clients, grants, revocations and signing keys to a JSON file (0600; it holds private keys)"},
	{"restore", "FILE|-", "read a backup into the store (of any kind)"},
	{"trace", "[CLIENT]", "show where a client's connection stopped; without CLIENT, the recent unattributed events"},
}

// run runs args (the command and its arguments).
func (r *runner) run(ctx context.Context, args []string) error {
	cmd, err := parse(args)
	if err != nil {
		return err
	}
	return cmd(ctx, r)
}

// command is a parsed command, to run on a store.
type command func(ctx context.Context, r *runner) error

// parse checks the command line of a command before any store is opened.
func parse(args []string) (command, error) {
	if len(args) == 0 {
		return nil, cli.Usagef("no command; one of: %s (see admin --help)", commandNames())
	}
	name, rest := args[0], args[1:]
	noArgs := func(fn func(*runner, context.Context) error) (command, error) {
		if len(rest) > 0 {
			return nil, cli.Usagef("%s takes no arguments", name)
		}
		return func(ctx context.Context, r *runner) error { return fn(r, ctx) }, nil
	}
	oneArg := func(fn func(*runner, context.Context, string) error) (command, error) {
		if len(rest) != 1 || rest[0] == "" {
			return nil, cli.Usagef("%s takes one argument", name)
		}
		return func(ctx context.Context, r *runner) error { return fn(r, ctx, rest[0]) }, nil
	}
	switch name {
	case "clients":
		return noArgs((*runner).clients)
	case "client":
		return oneArg((*runner).client)
	case "delete-client":
		return oneArg((*runner).deleteClient)
	case "grants":
		fs, client, user := grantFlags(name)
		if err := parseFlags(fs, rest); err != nil {
			return nil, err
		}
		return func(ctx context.Context, r *runner) error { return r.grants(ctx, *client, *user) }, nil
	case "revoke":
		fs, client, user := grantFlags(name)
		family := fs.String("family", "", "the grant (token family) to revoke, with --client")
		if err := parseFlags(fs, rest); err != nil {
			return nil, err
		}
		switch {
		case *family != "" && (*client == "" || *user != ""):
			return nil, cli.Usagef("revoke --family needs --client (and no --user)")
		case *client == "" && *user == "":
			return nil, cli.Usagef("revoke needs --client, --user, or --client and --family")
		}
		return func(ctx context.Context, r *runner) error { return r.revoke(ctx, *client, *user, *family) }, nil
	case "counts":
		return noArgs((*runner).counts)
	case "purge":
		return noArgs((*runner).purge)
	case "backup":
		return oneArg((*runner).backup)
	case "restore":
		return oneArg((*runner).restore)
	case "trace":
		if len(rest) > 1 {
			return nil, cli.Usagef("trace takes one client id at most")
		}
		id := ""
		if len(rest) == 1 {
			id = rest[0]
		}
		return func(ctx context.Context, r *runner) error { return r.trace(ctx, id) }, nil
	}
	return nil, cli.Usagef("unknown command %q; one of: %s", name, commandNames())
}

func commandNames() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

func grantFlags(cmd string) (*flag.FlagSet, *string, *string) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, fs.String("client", "", "the client's grants"), fs.String("user", "", "the grants of a user: subject or login")
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return cli.Usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return cli.Usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// out writes v as JSON with --json, else calls text.
func (r *runner) out(v any, text func(w io.Writer)) error {
	if r.json {
		enc := json.NewEncoder(r.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(r.stdout, 2, 4, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// clientInfo is what the commands show of a client: never its secret's
// hash or registration token's hash.
type clientInfo struct {
	ID           string    `json:"client_id"`
	Name         string    `json:"client_name,omitempty"`
	AuthMethod   string    `json:"token_endpoint_auth_method"`
	RedirectURIs []string  `json:"redirect_uris"`
	Scope        string    `json:"scope,omitempty"`
	IssuedAt     time.Time `json:"issued_at"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
}

func infoOf(c *oauth.Client) clientInfo {
	return clientInfo{ID: c.ID, Name: c.Metadata.ClientName, AuthMethod: c.Metadata.TokenEndpointAuthMethod,
		RedirectURIs: c.Metadata.RedirectURIs, Scope: c.Metadata.Scope, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt}
}

func (r *runner) allClients(ctx context.Context) ([]clientInfo, error) {
	var out []clientInfo
	err := r.s.Clients(ctx, func(c *oauth.Client) error { out = append(out, infoOf(c)); return nil })
	sort.Slice(out, func(i, j int) bool {
		return out[i].IssuedAt.Before(out[j].IssuedAt) || out[i].IssuedAt.Equal(out[j].IssuedAt) && out[i].ID < out[j].ID
	})
	return out, err
}

func (r *runner) clients(ctx context.Context) error {
	all, err := r.allClients(ctx)
	if err != nil {
		return err
	}
	return r.out(all, func(w io.Writer) {
		fmt.Fprintln(w, "CLIENT ID\tNAME\tAUTH\tREGISTERED\tEXPIRES\tREDIRECTS TO")
		for _, c := range all {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, orDash(c.Name), c.AuthMethod, day(c.IssuedAt), day(c.ExpiresAt), redirectHosts(c.RedirectURIs))
		}
		fmt.Fprintf(w, "%d clients\n", len(all))
	})
}

func (r *runner) client(ctx context.Context, id string) error {
	c, err := r.s.GetClient(ctx, id)
	if errors.Is(err, oauth.ErrNotFound) {
		return fmt.Errorf("no client %q", id)
	}
	if err != nil {
		return err
	}
	gs, err := r.grantList(ctx, id, "")
	if err != nil {
		return err
	}
	info := infoOf(c)
	return r.out(struct {
		clientInfo
		Grants []grant `json:"grants"`
	}{info, gs}, func(w io.Writer) {
		fmt.Fprintf(w, "client_id\t%s\nname\t%s\nauth method\t%s\nscope\t%s\nregistered\t%s\nexpires\t%s\n",
			info.ID, orDash(info.Name), info.AuthMethod, orDash(info.Scope), stamp(info.IssuedAt), stamp(info.ExpiresAt))
		for _, u := range info.RedirectURIs {
			fmt.Fprintf(w, "redirect_uri\t%s\n", u)
		}
		fmt.Fprintf(w, "grants\t%d\n", len(gs))
		writeGrants(w, gs)
	})
}

func (r *runner) deleteClient(ctx context.Context, id string) error {
	if _, err := r.s.GetClient(ctx, id); errors.Is(err, oauth.ErrNotFound) {
		return fmt.Errorf("no client %q", id)
	}
	if err := r.s.RevokeClient(ctx, id, r.now().Add(r.revokeFor)); err != nil {
		return err
	}
	if err := r.s.DeleteClient(ctx, id); err != nil && !errors.Is(err, oauth.ErrNotFound) {
		return err
	}
	fmt.Fprintf(r.stdout, "client %s deleted; its tokens are revoked\n", id)
	return nil
}

// grant is one token family: what a user allowed a client.
type grant struct {
	ClientID    string    `json:"client_id"`
	Family      string    `json:"family"`
	Subject     string    `json:"sub"`
	Login       string    `json:"login,omitempty"`
	Scope       string    `json:"scope,omitempty"`
	Resources   []string  `json:"resources,omitempty"`
	AuthTime    time.Time `json:"auth_time,omitzero"`
	LastRefresh time.Time `json:"last_refresh"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// grantList collects the families (their newest token) of client and/or
// user ("" for any).
func (r *runner) grantList(ctx context.Context, client, user string) ([]grant, error) {
	byFamily := map[[2]string]*grant{}
	err := r.s.RefreshTokens(ctx, func(_ string, t *oauth.RefreshToken) error {
		if client != "" && t.ClientID != client || user != "" && t.User.Subject != user && !strings.EqualFold(t.User.Login, user) {
			return nil
		}
		k := [2]string{t.ClientID, t.FamilyID}
		g := byFamily[k]
		if g == nil || t.IssuedAt.After(g.LastRefresh) {
			byFamily[k] = &grant{ClientID: t.ClientID, Family: t.FamilyID, Subject: t.User.Subject, Login: t.User.Login,
				Scope: t.Scope, Resources: t.Resources, AuthTime: t.AuthTime, LastRefresh: t.IssuedAt, ExpiresAt: t.ExpiresAt}
		}
		return nil
	})
	out := make([]grant, 0, len(byFamily))
	for _, g := range byFamily {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastRefresh.After(out[j].LastRefresh) })
	return out, err
}

func writeGrants(w io.Writer, gs []grant) {
	if len(gs) == 0 {
		return
	}
	fmt.Fprintln(w, "CLIENT ID\tFAMILY\tUSER\tSCOPE\tRESOURCES\tSIGNED IN\tLAST REFRESH\tEXPIRES")
	for _, g := range gs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.ClientID, g.Family, userLabel(g.Subject, g.Login), orDash(g.Scope),
			orDash(strings.Join(g.Resources, " ")), stamp(g.AuthTime), stamp(g.LastRefresh), stamp(g.ExpiresAt))
	}
}

func (r *runner) grants(ctx context.Context, client, user string) error {
	gs, err := r.grantList(ctx, client, user)
	if err != nil {
		return err
	}
	return r.out(gs, func(w io.Writer) {
		writeGrants(w, gs)
		fmt.Fprintf(w, "%d grants\n", len(gs))
	})
}

func (r *runner) revoke(ctx context.Context, client, user, family string) error {
	until := r.now().Add(r.revokeFor)
	switch {
	case family != "":
		if client == "" || user != "" {
			return cli.Usagef("revoke --family needs --client (and no --user)")
		}
		if err := r.s.RevokeFamily(ctx, client, family, until); err != nil {
			return err
		}
		fmt.Fprintf(r.stdout, "grant %s of client %s revoked\n", family, client)
		return nil
	case client != "" && user == "":
		if err := r.s.RevokeClient(ctx, client, until); err != nil {
			return err
		}
		fmt.Fprintf(r.stdout, "every grant and access token of client %s revoked\n", client)
		return nil
	case user != "":
		gs, err := r.grantList(ctx, client, user)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if err := r.s.RevokeFamily(ctx, g.ClientID, g.Family, until); err != nil {
				return err
			}
		}
		fmt.Fprintf(r.stdout, "%d grants of user %s revoked\n", len(gs), user)
		return nil
	}
	return cli.Usagef("revoke needs --client, --user, or --client and --family")
}

// counts are the records of each kind.
type counts struct {
	Clients       int `json:"clients"`
	Grants        int `json:"grants"`
	RefreshTokens int `json:"refresh_tokens"`
	Rotated       int `json:"rotated_refresh_tokens"`
	Revocations   int `json:"revocations"`
	SigningKeys   int `json:"signing_keys"`
}

func (r *runner) counts(ctx context.Context) error {
	var c counts
	if err := r.s.Clients(ctx, func(*oauth.Client) error { c.Clients++; return nil }); err != nil {
		return err
	}
	families := map[[2]string]bool{}
	err := r.s.RefreshTokens(ctx, func(_ string, t *oauth.RefreshToken) error {
		c.RefreshTokens++
		if t.Successor != "" {
			c.Rotated++
		}
		families[[2]string{t.ClientID, t.FamilyID}] = true
		return nil
	})
	if err != nil {
		return err
	}
	c.Grants = len(families)
	if err := r.s.Revocations(ctx, func(oauth.Revocation) error { c.Revocations++; return nil }); err != nil {
		return err
	}
	keys, err := r.s.ListKeys(ctx)
	if err != nil {
		return err
	}
	c.SigningKeys = len(keys)
	return r.out(c, func(w io.Writer) {
		fmt.Fprintf(w, "clients\t%d\ngrants\t%d\nrefresh tokens\t%d (%d rotated, kept for retries and reuse detection)\nrevocations\t%d\nsigning keys\t%d\n",
			c.Clients, c.Grants, c.RefreshTokens, c.Rotated, c.Revocations, c.SigningKeys)
	})
}

func (r *runner) purge(ctx context.Context) error {
	n, err := r.s.Purge(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "%d expired records removed\n", n)
	return nil
}

// ---- formatting ----

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func day(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func userLabel(sub, login string) string {
	if login == "" || login == sub {
		return sub
	}
	return login + " (" + sub + ")"
}

func redirectHosts(uris []string) string {
	var hosts []string
	for _, u := range uris {
		if p, err := url.Parse(u); err == nil {
			h := p.Host
			if h == "" {
				h = p.Scheme + ":"
			}
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	return orDash(strings.Join(hosts, " "))
}
