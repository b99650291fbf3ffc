package oauth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
)

// DevLoginOptions configure the development login. A nil *DevLoginOptions
// means all defaults.
type DevLoginOptions struct {
	// User, when set, approves every authorization request as this user
	// with no page at all: no login form, no consent. It is for automated
	// clients (tests, the conformance runner), and the server accepts it
	// only on a loopback issuer. Zero: the login form asks for a name.
	User string
	// AllowPublicIssuer lets the login form run on a non-loopback issuer,
	// where anyone who reaches it can log in under any name: only for a
	// throwaway deployment. Zero: NewServer refuses a non-loopback issuer.
	AllowPublicIssuer bool
}

// DevLogin is an identity provider for trying the gateway without a GitHub
// app: a form asks for a user name and believes it. The allow policy still
// applies to the name.
type DevLogin struct {
	opts DevLoginOptions
}

var (
	_ IdentityProvider  = (*DevLogin)(nil)
	_ loginPageProvider = (*DevLogin)(nil)
	_ autoApprover      = (*DevLogin)(nil)
)

// NewDevLogin returns the development login. It fails when opts.User is
// not a valid login (letters, digits and inner hyphens, at most 39).
func NewDevLogin(opts *DevLoginOptions) (*DevLogin, error) {
	d := &DevLogin{}
	if opts != nil {
		d.opts = *opts
	}
	if d.opts.User != "" && !validLogin(d.opts.User) {
		return nil, fmt.Errorf("oauth: dev user %q is not a valid login (letters, digits and hyphens, at most 39)", d.opts.User)
	}
	return d, nil
}

// ID implements IdentityProvider: "dev", so its subjects are "dev:NAME".
func (d *DevLogin) ID() string { return ProviderDev }

// Name implements IdentityProvider.
func (d *DevLogin) Name() string { return "the development login" }

// AuthURL implements IdentityProvider: the login form, next to the
// callback.
func (d *DevLogin) AuthURL(_ context.Context, callbackURL, state, _ string) (string, error) {
	u, err := url.Parse(callbackURL)
	if err != nil {
		return "", err
	}
	u.Path = path.Join(path.Dir(u.Path), "login")
	u.RawQuery = url.Values{"state": {state}}.Encode()
	return u.String(), nil
}

// Identify implements IdentityProvider: the login form sends the name
// along with the state.
func (d *DevLogin) Identify(_ context.Context, r *http.Request, _, _ string) (*Identity, []byte, error) {
	login := r.URL.Query().Get("login")
	if !validLogin(login) {
		return nil, nil, fmt.Errorf("%w: development login without a valid name", ErrUpstreamDenied)
	}
	return devIdentity(login), nil, nil
}

func devIdentity(login string) *Identity {
	return &Identity{Subject: login, Provider: ProviderDev, Login: login, Name: login}
}

func (d *DevLogin) autoUser() (*Identity, bool) {
	if d.opts.User == "" {
		return nil, false
	}
	return devIdentity(d.opts.User), true
}

// validLogin accepts GitHub-style logins.
func validLogin(s string) bool {
	if s == "" || len(s) > 39 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// serveLogin serves the form (GET) and takes the name (POST) for a pending
// authorization the user already approved, then continues at the callback.
func (d *DevLogin) serveLogin(s *Server, w http.ResponseWriter, r *http.Request) {
	var state, login string
	if r.Method == http.MethodPost {
		form, err := parseForm(r)
		if err != nil {
			s.errorPage(w, r, err)
			return
		}
		state, login = form.Get("state"), form.Get("login")
	} else {
		state = r.URL.Query().Get("state")
	}
	p, err := s.store.GetPending(r.Context(), state)
	if err == nil && s.chosen(p) != IdentityProvider(d) {
		// The user chose another provider: its login must not be skipped.
		err = ErrNotFound
	}
	if err != nil || p.Provider == "" {
		s.errorPage(w, r, newError(ErrorInvalidRequest, "This sign-in has expired or is unknown."))
		return
	}
	data := struct{ Action, State, Login, Error string }{Action: s.url("/login"), State: state, Login: login}
	if r.Method == http.MethodPost {
		if validLogin(login) {
			q := url.Values{"state": {state}, "login": {login}}
			http.Redirect(w, r, s.url("/callback")+"?"+q.Encode(), http.StatusSeeOther)
			return
		}
		data.Error = "A user name has letters, digits and inner hyphens, at most 39 characters."
		s.renderPage(w, r, http.StatusBadRequest, "login", "Sign in", data)
		return
	}
	s.renderPage(w, r, http.StatusOK, "login", "Sign in", data)
}
