package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcp-oauth-gateway/gateway/oauth/mcpauth"
	"github.com/mcp-oauth-gateway/gateway/stdiobridge"
)

// app runs one action.
type app struct {
	cfg    *config
	tr     *mcpauth.Transport
	bridge *stdiobridge.Client
	out    io.Writer
	errw   io.Writer
	log    *slog.Logger
}

func (a *app) run(ctx context.Context) error {
	switch a.cfg.action {
	case "token":
		return a.token(ctx)
	case "test-auth":
		return a.testAuth(ctx)
	case "reset-auth":
		if err := a.tr.Reset(ctx); err != nil {
			return err
		}
		return a.print(map[string]any{"reset": true, "server": a.tr.Server()}, "Forgot the tokens and registration for %s.\n", a.tr.Server())
	case "command":
		return a.command(ctx)
	case "raw":
		return a.raw(ctx)
	case "list-tools":
		return a.list(ctx, "tools/list", "tools", []string{"name", "description"})
	case "list-resources":
		return a.list(ctx, "resources/list", "resources", []string{"uri", "name", "mimeType"})
	case "list-prompts":
		return a.list(ctx, "prompts/list", "prompts", []string{"name", "description"})
	case "get-client-info":
		reg, meta, err := a.tr.Registration(ctx)
		if err != nil && !errors.Is(err, mcpauth.ErrNoManagement) {
			return err
		}
		if errors.Is(err, mcpauth.ErrNoManagement) {
			fmt.Fprintln(a.errw, "(the server gave no registration access token: this is the stored copy)")
		}
		return a.printRegistration(reg, meta)
	case "update-client":
		meta, err := a.tr.UpdateRegistration(ctx, a.cfg.updates)
		if err != nil {
			return err
		}
		return a.printRegistration(nil, meta)
	case "delete-client":
		if err := a.tr.DeleteRegistration(ctx); err != nil {
			return err
		}
		return a.print(map[string]any{"deleted": true}, "Deleted the client registration and forgot its tokens.\n")
	}
	return fmt.Errorf("unknown action %q", a.cfg.action)
}

// reported is an action's failure that its output already shows (a tool
// error, a JSON-RPC error): --json adds no error object for it.
type reported struct{ error }

func (r reported) Unwrap() error { return r.error }

// print writes v as JSON with --json, else the text.
func (a *app) print(v any, format string, args ...any) error {
	if a.cfg.json {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(a.out, format, args...)
	return err
}

func tokenStatus(t *mcpauth.Tokens, now time.Time) map[string]any {
	st := map[string]any{"server": t.Server, "issuer": t.Issuer, "resource": t.Resource, "client_id": t.ClientID,
		"scope": t.Scope, "refreshable": t.RefreshToken != "", "token_fingerprint": fingerprint(t.AccessToken)}
	if !t.Expiry.IsZero() {
		st["expires_at"] = t.Expiry.Format(time.RFC3339)
		st["expires_in_seconds"] = int(t.Expiry.Sub(now).Seconds())
	}
	return st
}

func fingerprint(s string) string {
	if len(s) <= 8 {
		return "…"
	}
	return "…" + s[len(s)-4:]
}

func (a *app) printStatus(t *mcpauth.Tokens, label string) {
	if a.cfg.json {
		return
	}
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\n", label)
	fmt.Fprintf(tw, "  server\t%s\n  issuer\t%s\n  resource\t%s\n  client id\t%s\n  scope\t%s\n  token\t%s\n", t.Server, t.Issuer, t.Resource, t.ClientID, t.Scope, fingerprint(t.AccessToken))
	if t.Expiry.IsZero() {
		fmt.Fprintf(tw, "  expires\tnot said\n")
	} else {
		fmt.Fprintf(tw, "  expires\t%s (in %s)\n", t.Expiry.Local().Format(time.DateTime), time.Until(t.Expiry).Round(time.Second))
	}
	fmt.Fprintf(tw, "  refresh token\t%v\n", t.RefreshToken != "")
	tw.Flush()
}

// token: the token's status; refresh it when it expires within a minute,
// log in when there is none or the refresh fails; then a test call.
func (a *app) token(ctx context.Context) error {
	t, err := a.tr.Tokens(ctx)
	switch {
	case errors.Is(err, mcpauth.ErrNoToken):
		fmt.Fprintln(a.errw, "No stored token for this server; logging in.")
		if t, err = a.tr.EnsureToken(ctx); err != nil {
			return err
		}
		a.printStatus(t, "Logged in:")
	case err != nil:
		return err
	default:
		a.printStatus(t, "Stored token:")
		if !t.Expiry.IsZero() && time.Until(t.Expiry) < time.Minute {
			nt, err := a.tr.Refresh(ctx)
			if err != nil {
				fmt.Fprintf(a.errw, "Refresh failed (%v); logging in.\n", err)
				nt, err = a.tr.Login(ctx)
				if err != nil {
					return err
				}
			}
			t = nt
			a.printStatus(t, "Renewed:")
		}
	}
	s, err := a.openSession(ctx)
	if err != nil {
		return fmt.Errorf("test call: %w", err)
	}
	defer s.close()
	if cur, err := a.tr.Tokens(ctx); err == nil {
		t = cur
	}
	st := tokenStatus(t, time.Now())
	st["test_call"] = "ok"
	st["server_name"], st["server_version"], st["protocol_version"] = s.server.Name, s.server.Version, s.version
	return a.print(st, "Test call: OK (%s %s, protocol %s)\n", s.server.Name, s.server.Version, s.version)
}

func (a *app) testAuth(ctx context.Context) error {
	s, err := a.openSession(ctx)
	if err != nil {
		return fmt.Errorf("authentication test failed: %w", err)
	}
	defer s.close()
	if a.tr == nil {
		st := map[string]any{"authenticated": true, "static_authorization": true, "server_name": s.server.Name, "protocol_version": s.version}
		return a.print(st, "Authentication works: %s %s accepted the Authorization header.\n", s.server.Name, s.server.Version)
	}
	t, err := a.tr.Tokens(ctx)
	st := map[string]any{"authenticated": err == nil, "server_name": s.server.Name, "protocol_version": s.version}
	if err == nil {
		for k, v := range tokenStatus(t, time.Now()) {
			st[k] = v
		}
		return a.print(st, "Authentication works: %s %s accepted the token %s (scope %q).\n", s.server.Name, s.server.Version, fingerprint(t.AccessToken), t.Scope)
	}
	return a.print(st, "The server answered without authentication (%s %s).\n", s.server.Name, s.server.Version)
}

// list prints a list result as a table (all pages).
func (a *app) list(ctx context.Context, method, member string, cols []string) error {
	s, err := a.openSession(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	var items []map[string]any
	cursor := ""
	for range 100 {
		var params any
		if cursor != "" {
			params = map[string]any{"cursor": cursor}
		}
		res, err := s.call(ctx, method, params)
		if err != nil {
			return err
		}
		var page map[string]any
		if err := json.Unmarshal(res, &page); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		list, _ := page[member].([]any)
		for _, it := range list {
			if m, ok := it.(map[string]any); ok {
				items = append(items, m)
			}
		}
		if cursor, _ = page["nextCursor"].(string); cursor == "" {
			break
		}
	}
	if a.cfg.json {
		return a.print(map[string]any{member: items}, "")
	}
	if len(items) == 0 {
		fmt.Fprintf(a.out, "No %s.\n", member)
		return nil
	}
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(cols, "\t")))
	for _, it := range items {
		var row []string
		for _, c := range cols {
			v, _ := it[c].(string)
			v, _, _ = strings.Cut(strings.TrimSpace(v), "\n")
			if len([]rune(v)) > 80 {
				v = string([]rune(v)[:79]) + "…"
			}
			row = append(row, v)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// command calls a tool: "NAME ARGS".
func (a *app) command(ctx context.Context) error {
	toolName, rest, _ := strings.Cut(strings.TrimSpace(a.cfg.command), " ")
	rest = strings.TrimSpace(rest)
	s, err := a.openSession(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	args, err := parseToolArgs(rest, func() (map[string]any, error) { return findTool(ctx, s, toolName) })
	if err != nil {
		return fmt.Errorf("-c %s: %w", toolName, err)
	}
	res, err := s.call(ctx, "tools/call", map[string]any{"name": toolName, "arguments": args})
	if err != nil {
		return err
	}
	var r struct {
		Content []map[string]any `json:"content"`
		IsError bool             `json:"isError"`
	}
	_ = json.Unmarshal(res, &r)
	if a.cfg.json {
		_, err := fmt.Fprintf(a.out, "%s\n", res)
		if err == nil && r.IsError {
			return reported{errors.New("the tool reported an error")}
		}
		return err
	}
	w := a.out
	if r.IsError {
		w = a.errw
	}
	for _, c := range r.Content {
		if c["type"] == "text" {
			fmt.Fprintln(w, c["text"])
			continue
		}
		b, _ := json.MarshalIndent(c, "", "  ")
		fmt.Fprintln(w, string(b))
	}
	if r.IsError {
		return errors.New("the tool reported an error")
	}
	return nil
}

// findTool returns the tool's input schema.
func findTool(ctx context.Context, s *session, name string) (map[string]any, error) {
	cursor := ""
	for range 100 {
		var params any
		if cursor != "" {
			params = map[string]any{"cursor": cursor}
		}
		res, err := s.call(ctx, "tools/list", params)
		if err != nil {
			return nil, err
		}
		var page struct {
			Tools []struct {
				Name        string         `json:"name"`
				InputSchema map[string]any `json:"inputSchema"`
			} `json:"tools"`
			NextCursor string `json:"nextCursor"`
		}
		if err := json.Unmarshal(res, &page); err != nil {
			return nil, err
		}
		for _, t := range page.Tools {
			if t.Name == name {
				return t.InputSchema, nil
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	return nil, fmt.Errorf("the server has no tool %q", name)
}

// parseToolArgs reads a tool's arguments: a JSON object, k=v pairs (a
// value that is JSON is taken as such), or one bare value for the tool's
// single required argument (schema gives it).
func parseToolArgs(s string, schema func() (map[string]any, error)) (map[string]any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	if strings.HasPrefix(s, "{") {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, fmt.Errorf("arguments are not a JSON object: %w", err)
		}
		return m, nil
	}
	words, err := splitWords(s)
	if err != nil {
		return nil, err
	}
	pairs := map[string]any{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			pairs = nil
			break
		}
		pairs[k] = jsonOrString(v)
	}
	if pairs != nil {
		return pairs, nil
	}
	sc, err := schema()
	if err != nil {
		return nil, err
	}
	req, _ := sc["required"].([]any)
	if len(req) != 1 {
		return nil, fmt.Errorf("a bare value needs a tool with exactly one required argument (it has %d); use k=v or JSON", len(req))
	}
	arg, _ := req[0].(string)
	props, _ := sc["properties"].(map[string]any)
	prop, _ := props[arg].(map[string]any)
	value := strings.Join(words, " ")
	if t, _ := prop["type"].(string); t != "" && t != "string" {
		return map[string]any{arg: jsonOrString(value)}, nil
	}
	return map[string]any{arg: value}, nil
}

func jsonOrString(v string) any {
	var x any
	if json.Unmarshal([]byte(v), &x) == nil {
		return x
	}
	return v
}

// splitWords splits on blanks, keeping "double" or 'single' quoted parts
// together.
func splitWords(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// raw sends one JSON-RPC request.
func (a *app) raw(ctx context.Context) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(a.cfg.raw), &m); err != nil {
		return fmt.Errorf("--raw: not a JSON object: %w", err)
	}
	method, _ := m["method"].(string)
	if method == "" {
		return errors.New(`--raw: the request has no "method"`)
	}
	s, err := a.openSession(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	res, err := s.call(ctx, method, m["params"])
	var re *rpcError
	if errors.As(err, &re) {
		b, _ := json.MarshalIndent(map[string]any{"error": re}, "", "  ")
		fmt.Fprintf(a.out, "%s\n", b)
		return reported{errors.New("the server answered with an error")}
	}
	if err != nil {
		return err
	}
	var v any
	_ = json.Unmarshal(res, &v)
	b, _ := json.MarshalIndent(map[string]any{"result": v}, "", "  ")
	_, err = fmt.Fprintf(a.out, "%s\n", b)
	return err
}

// parseUpdates reads k=v,... (a value that is JSON is taken as such, a
// list value may also be given as a|b).
func parseUpdates(s string) (map[string]any, error) {
	out := map[string]any{}
	for _, part := range splitTopLevel(s) {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not k=v", part)
		}
		v = strings.TrimSpace(v)
		switch {
		case strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{"):
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = x
		case slices.Contains([]string{"redirect_uris", "grant_types", "response_types", "contacts"}, k):
			out[k] = strings.Split(v, "|")
		default:
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil, errors.New("nothing to change")
	}
	return out, nil
}

// splitTopLevel splits on commas outside brackets.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

func (a *app) printRegistration(reg *mcpauth.Registration, meta json.RawMessage) error {
	var m map[string]any
	if len(meta) > 0 {
		_ = json.Unmarshal(meta, &m)
	}
	if m == nil {
		m = map[string]any{}
	}
	for _, k := range []string{"client_secret", "registration_access_token"} {
		if v, ok := m[k].(string); ok {
			m[k] = fingerprint(v)
		}
	}
	if reg != nil {
		m["issuer"] = reg.Issuer
	}
	if a.cfg.json {
		return a.print(m, "")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	for _, k := range keys {
		v := m[k]
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, s)
	}
	return tw.Flush()
}
