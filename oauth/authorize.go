package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The authorization endpoint, the consent page and the callback from the
// identity provider.
//
// GET /authorize validates the request and never sends an error to the
// client without the user (RFC 9700 §4.11.2: with open registration anyone
// can register a redirect URI, so a registered one proves nothing):
//   - an unknown client, a missing or unregistered redirect URI, a
//     repeated parameter, and a malformed request (response_type missing or
//     not code, response_mode other than query, request objects, PKCE
//     missing, not S256 or malformed, an oversized state) get an HTML error
//     page and nothing else;
//   - a well-formed request the server refuses (invalid_scope,
//     invalid_target, unauthorized_client) gets an error page with a link
//     that takes the error (with state and iss, RFC 9207) to the redirect
//     URI when the user chooses to; to a loopback redirect URI (a native
//     app on the user's own machine, RFC 8252) it is redirected directly;
//   - after the consent page, which shows the client and where it
//     redirects, a denial and a failed or refused login go to the client as
//     access_denied.
//
// Unknown parameters are ignored (RFC 6749 §3.1). A valid
// request becomes a pending authorization (keyed by a random id that is
// also the state sent upstream) and the consent page. Approving sends the
// browser to the identity provider; its callback takes the pending
// authorization (single use), checks that the same browser consented (a
// cookie holding the consent token), asks the policy, and sends the client
// a code bound to it, its redirect URI, the PKCE challenge, the resources
// and the user.

// maxStateLen bounds the client's state parameter.
const maxStateLen = 2048

// flowCookiePrefix names the cookie that binds an authorization to the
// browser that consented.
const flowCookiePrefix = "mcp_oauth_flow_"

// authRequest is a validated authorization request.
type authRequest struct {
	client      *Client
	redirectURI string // where to send the answer
	explicit    bool   // redirect_uri was in the request
	state       string
	challenge   string
	scope       string
	resources   []string
}

// serveAuthorize handles GET /authorize.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	req, redirectErr, pageErr := s.parseAuthRequest(ctx, q)
	e := Event{Step: StepAuthorize}
	if req != nil {
		e.ClientID = req.client.ID
	}
	if pageErr != nil {
		s.emit(r, e, pageErr)
		s.errorPage(w, r, pageErr)
		return
	}
	if redirectErr != nil {
		s.emit(r, e, redirectErr)
		s.refuseAuthorization(w, r, req, redirectErr)
		return
	}
	now := s.now()
	if s.auto != nil {
		// Automatic approval (loopback issuer only): no consent, no login.
		err := s.issueCode(w, r, &PendingAuthorization{
			ClientID: req.client.ID, RedirectURI: redirectForGrant(req), CodeChallenge: req.challenge,
			Scope: req.scope, Resources: req.resources, State: req.state,
		}, req.redirectURI, s.auto, nil, now)
		e.Subject, e.Status = s.auto.Subject, http.StatusFound
		s.emit(r, e, err)
		return
	}
	if err := s.admit(ctx, s.quotas.pending); err != nil {
		s.emit(r, e, err)
		s.errorPage(w, r, err)
		return
	}
	id := randomString("", 32)
	p := &PendingAuthorization{
		ClientID:         req.client.ID,
		RedirectURI:      redirectForGrant(req),
		CodeChallenge:    req.challenge,
		Scope:            req.scope,
		Resources:        req.resources,
		State:            req.state,
		CSRFToken:        randomString("", 24),
		UpstreamState:    id,
		UpstreamVerifier: randomString("", 32),
		CreatedAt:        now,
		ExpiresAt:        now.Add(s.loginTTL),
	}
	if err := s.store.PutPending(ctx, id, p); err != nil {
		err = fmt.Errorf("store pending authorization: %w", err)
		s.emit(r, e, err)
		s.errorPage(w, r, err)
		return
	}
	s.emit(r, e, nil)
	s.setFlowCookie(w, id, p.CSRFToken)
	s.renderConsent(w, r, id, p, req.client, req.redirectURI)
}

// redirectForGrant is the redirect URI recorded with the code: the one
// the request named, or "" when it named none (then /token must not
// require one).
func redirectForGrant(req *authRequest) string {
	if req.explicit {
		return req.redirectURI
	}
	return ""
}

// parseAuthRequest validates an authorization request. pageErr: the
// client, its redirect URI or the request cannot be trusted; show a page
// (req is then nil, or has only the client, for the observer).
// redirectErr: a well-formed request refused; the client may learn of it
// at req.redirectURI (see refuseAuthorization).
func (s *Server) parseAuthRequest(ctx context.Context, q url.Values) (req *authRequest, redirectErr, pageErr error) {
	if err := noRepeats(q, "resource"); err != nil {
		return nil, nil, err
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return nil, nil, newError(ErrorInvalidRequest, "The request has no client_id.")
	}
	client, err := s.client(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, newError(ErrorInvalidClient, "The application is not registered here (unknown client_id). It may have expired; the application should register again.")
	}
	if err != nil {
		return nil, nil, err
	}
	req = &authRequest{client: client, state: q.Get("state")}
	ru, explicit := q.Get("redirect_uri"), q.Has("redirect_uri")
	switch {
	case explicit:
		match := false
		for _, reg := range client.Metadata.RedirectURIs {
			if matchRedirectURI(reg, ru) {
				match = true
				break
			}
		}
		if !match {
			return req, nil, newError(ErrorInvalidRequest, "The redirect URI is not registered for this application.")
		}
	case len(client.Metadata.RedirectURIs) == 1:
		ru = client.Metadata.RedirectURIs[0]
	default:
		return req, nil, newError(ErrorInvalidRequest, "The request has no redirect_uri and the application registered several.")
	}
	req.redirectURI, req.explicit = ru, explicit

	// A malformed request did not come from a working client: a page.
	if len(req.state) > maxStateLen {
		return req, nil, newError(ErrorInvalidRequest, "The request's state is longer than %d characters.", maxStateLen)
	}
	if q.Has("request") || q.Has("request_uri") {
		return req, nil, newError("request_not_supported", "Request objects are not supported.")
	}
	switch rt := q.Get("response_type"); {
	case rt == "":
		return req, nil, newError(ErrorInvalidRequest, "The request has no response_type.")
	case rt != "code":
		return req, nil, newError(ErrorUnsupportedResponseType, "Only response_type=code is supported.")
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return req, nil, newError(ErrorInvalidRequest, "Only response_mode=query is supported.")
	}
	req.challenge = q.Get("code_challenge")
	method := q.Get("code_challenge_method")
	switch {
	case req.challenge == "":
		return req, nil, newError(ErrorInvalidRequest, "PKCE is required: the request has no code_challenge.")
	case method == "":
		return req, nil, newError(ErrorInvalidRequest, "The request has no code_challenge_method; only S256 is supported.")
	case method != pkceMethodS256:
		return req, nil, newError(ErrorInvalidRequest, "code_challenge_method %q is not supported; only S256.", truncate(method, 20))
	case !validChallenge(req.challenge):
		return req, nil, newError(ErrorInvalidRequest, "The code_challenge is not an S256 challenge (43 base64url characters).")
	}

	// A well-formed request the server refuses: the client may hear of it.
	if !allowsGrant(client, "authorization_code") {
		return req, newError(ErrorUnauthorizedClient, "the client did not register the authorization_code grant"), nil
	}
	if req.scope, err = s.grantScope(q.Get("scope"), client); err != nil {
		return req, err, nil
	}
	if req.resources, err = s.checkResources(q["resource"]); err != nil {
		return req, err, nil
	}
	return req, nil, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// refuseAuthorization answers a well-formed authorization request the
// server refuses before the user saw it: a page with a link that takes the
// error to the client, or, for a loopback redirect URI, the redirect.
func (s *Server) refuseAuthorization(w http.ResponseWriter, r *http.Request, req *authRequest, err error) {
	if isLoopbackRedirect(req.redirectURI) {
		s.redirectError(w, r, req.redirectURI, req.state, err)
		return
	}
	oe := asOAuthError(err)
	s.log.DebugContext(r.Context(), "oauth: authorization refused", "code", oe.Code, "error", err)
	page := errorPageData{Message: "The application's request was refused: " + oe.Description + ".", Code: oe.Code}
	if validateRedirectURI(req.redirectURI, s.schemes) == nil {
		if back, berr := s.redirectURL(req.redirectURI, req.state, errorParams(oe)); berr == nil {
			// Checked like a registration (no javascript:, data:, ...), so
			// a private-use scheme may stand in the link.
			page.Return, page.ReturnHost = template.URL(back), redirectHost(req.redirectURI)
		}
	}
	s.renderPage(w, r, pageStatus(oe), "error", "Sign-in failed", page)
}

// isLoopbackRedirect reports whether a redirect URI is a loopback http
// one: a native app on the user's own machine (RFC 8252 §7.3).
func isLoopbackRedirect(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "http" && isLoopbackHost(u.Host)
}

// errorParams are the RFC 6749 §4.1.2.1 error parameters of oe.
func errorParams(oe *Error) url.Values {
	v := url.Values{"error": {oe.Code}}
	if oe.Description != "" {
		v.Set("error_description", oe.Description)
	}
	return v
}

// redirectError sends an OAuth error to a validated redirect URI, with
// state and iss.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state string, err error) {
	oe := asOAuthError(err)
	if oe.Code == ErrorServerError {
		s.log.ErrorContext(r.Context(), "oauth: authorization failed", "error", err)
	} else {
		s.log.DebugContext(r.Context(), "oauth: authorization refused", "code", oe.Code, "error", err)
	}
	s.redirect(w, r, redirectURI, state, errorParams(oe))
}

// redirectURL is the client's redirect URI with params, state and iss
// added to its query.
func (s *Server) redirectURL(redirectURI, state string, params url.Values) (string, error) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", s.issuer)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// redirect sends the browser to the client's redirect URI with params,
// state and iss added to its query.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, redirectURI, state string, params url.Values) {
	target, err := s.redirectURL(redirectURI, state, params)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// setFlowCookie binds a pending authorization to this browser.
func (s *Server) setFlowCookie(w http.ResponseWriter, id, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     flowCookiePrefix + id[:12],
		Value:    token,
		Path:     s.prefix + "/",
		MaxAge:   int(s.loginTTL.Seconds()),
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// checkFlowCookie reports whether the browser holds the consent token of
// the pending authorization id.
func checkFlowCookie(r *http.Request, id, token string) bool {
	if len(id) < 12 || token == "" {
		return false
	}
	c, err := r.Cookie(flowCookiePrefix + id[:12])
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(token)) == 1
}

func (s *Server) clearFlowCookie(w http.ResponseWriter, id string) {
	if len(id) < 12 {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookiePrefix + id[:12], Value: "", Path: s.prefix + "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// consentData is what the consent page shows.
type consentData struct {
	ClientName, ClientID, RedirectHost string
	Scopes, Resources                  []string
	SelfRegistered                     bool
	// MetadataHost is the host that published the client's metadata
	// document (a client_id URL), "" for a registered client.
	MetadataHost string
	Device       string
	// Providers are the identity providers the user may sign in with, in
	// order: one approve button each.
	Providers        []providerChoice
	Action, ID, CSRF string
}

// providerChoice is one identity provider on the consent page.
type providerChoice struct{ ID, Name string }

func (s *Server) renderConsent(w http.ResponseWriter, r *http.Request, id string, p *PendingAuthorization, c *Client, redirectURI string) {
	name := c.Metadata.ClientName
	if name == "" {
		name = "An unnamed application"
	}
	scopes, _ := parseScope(p.Scope)
	d := consentData{
		ClientName: name, ClientID: c.ID, Scopes: scopes, Resources: p.Resources,
		SelfRegistered: true, Device: displayUserCode(p.UserCode),
		Action: s.url("/consent"), ID: id, CSRF: p.CSRFToken,
	}
	for _, idp := range s.providers {
		d.Providers = append(d.Providers, providerChoice{ID: idp.ID(), Name: idp.Name()})
	}
	if s.documents != nil && isClientIDURL(c.ID) {
		d.SelfRegistered = false
		d.MetadataHost = redirectHost(c.ID)
	}
	if redirectURI != "" {
		d.RedirectHost = redirectHost(redirectURI)
	} else {
		d.RedirectHost = "a device (no redirect)"
	}
	s.renderPage(w, r, http.StatusOK, "consent", "Authorize access", d)
}

// serveConsent handles the consent form: approve continues at the identity
// provider, deny ends at the client with access_denied.
func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, err := parseForm(r)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	id, csrf := form.Get("id"), form.Get("csrf")
	p, err := s.store.GetPending(ctx, id)
	if err != nil {
		s.errorPage(w, r, newError(ErrorInvalidRequest, "This sign-in has expired or was already used. Start again from the application."))
		return
	}
	if subtle.ConstantTimeCompare([]byte(csrf), []byte(p.CSRFToken)) != 1 || !checkFlowCookie(r, id, p.CSRFToken) {
		s.errorPage(w, r, &Error{Code: ErrorAccessDenied, Description: "The consent form did not come from this browser's sign-in (cookies must be enabled). Start again from the application.", Status: http.StatusForbidden})
		return
	}
	// Each provider's approve button sends its ID as provider; a form
	// from before providers had buttons of their own sends
	// decision=approve.
	e := Event{Step: StepConsent, ClientID: p.ClientID, Status: http.StatusSeeOther}
	decision, choice := form.Get("decision"), form.Get("provider")
	var idp IdentityProvider
	switch {
	case decision == "deny":
		if _, err := s.store.TakePending(ctx, id); err != nil {
			s.errorPage(w, r, newError(ErrorInvalidRequest, "This sign-in has expired or was already used."))
			return
		}
		s.emit(r, e, newError(ErrorAccessDenied, "the user denied access on the consent page"))
		s.clearFlowCookie(w, id)
		s.finishDenied(w, r, p, "the user denied access")
		return
	case choice != "":
		if idp = s.byID[choice]; idp == nil {
			s.errorPage(w, r, newError(ErrorInvalidRequest, "The consent form named a sign-in provider this server does not offer."))
			return
		}
	case decision == "approve" && len(s.providers) == 1:
		idp = s.providers[0]
	default:
		s.errorPage(w, r, newError(ErrorInvalidRequest, "The consent form was incomplete."))
		return
	}
	target, err := idp.AuthURL(ctx, s.url("/callback"), id, p.UpstreamVerifier)
	if err != nil {
		if _, terr := s.store.TakePending(ctx, id); terr != nil {
			s.errorPage(w, r, newError(ErrorInvalidRequest, "This sign-in has expired or was already used."))
			return
		}
		s.clearFlowCookie(w, id)
		s.finishUnavailable(w, r, p, idp, err)
		return
	}
	p.Provider = idp.ID() // marks the consent, and the choice
	if err := s.store.PutPending(ctx, id, p); err != nil {
		err = fmt.Errorf("store pending authorization: %w", err)
		s.emit(r, e, err)
		s.errorPage(w, r, err)
		return
	}
	s.emit(r, e, nil)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// finishUnavailable ends an authorization whose identity provider could
// not be reached, or failed otherwise before the user logged in: a page
// saying so, with a link that takes temporarily_unavailable to the client
// (a device flow gets the page alone; the device may be approved later).
func (s *Server) finishUnavailable(w http.ResponseWriter, r *http.Request, p *PendingAuthorization, idp IdentityProvider, cause error) {
	s.log.WarnContext(r.Context(), "oauth: the identity provider cannot be used now", "provider", idp.ID(), "client_id", p.ClientID, "error", cause)
	oe := &Error{Code: ErrorTemporarilyUnavailable, Description: "the identity provider cannot be reached", Err: cause}
	page := errorPageData{Message: idp.Name() + " cannot be reached right now, so the sign-in did not complete. Try again in a few minutes.", Code: oe.Code}
	if p.UserCode == "" {
		if ru, err := s.pendingRedirect(r.Context(), p); err == nil && validateRedirectURI(ru, s.schemes) == nil {
			if back, err := s.redirectURL(ru, p.State, errorParams(oe)); err == nil {
				// Checked like a registration (no javascript:, data:, ...),
				// so a private-use scheme may stand in the link.
				page.Return, page.ReturnHost = template.URL(back), redirectHost(ru)
			}
		}
	}
	s.renderPage(w, r, http.StatusServiceUnavailable, "error", "Sign-in failed", page)
}

// finishDenied ends a refused authorization: access_denied at the client,
// or a page for a device flow.
func (s *Server) finishDenied(w http.ResponseWriter, r *http.Request, p *PendingAuthorization, why string) {
	if p.UserCode != "" {
		if err := s.store.DenyDevice(r.Context(), p.UserCode); err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
			s.log.ErrorContext(r.Context(), "oauth: deny device", "error", err)
		}
		s.renderPage(w, r, http.StatusForbidden, "message", "Access denied", struct{ Message string }{"The device was not connected. You can close this window."})
		return
	}
	ru, err := s.pendingRedirect(r.Context(), p)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.redirectError(w, r, ru, p.State, newError(ErrorAccessDenied, "%s", why))
}

// pendingRedirect is where the answer to a pending authorization goes.
func (s *Server) pendingRedirect(ctx context.Context, p *PendingAuthorization) (string, error) {
	if p.RedirectURI != "" {
		return p.RedirectURI, nil
	}
	c, err := s.client(ctx, p.ClientID)
	if err != nil {
		return "", newError(ErrorInvalidClient, "The application is no longer registered.")
	}
	if len(c.Metadata.RedirectURIs) != 1 {
		return "", newError(ErrorInvalidRequest, "The application changed its redirect URIs during sign-in.")
	}
	return c.Metadata.RedirectURIs[0], nil
}

// serveCallback handles the identity provider's return.
func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("state")
	if id == "" {
		s.errorPage(w, r, newError(ErrorInvalidRequest, "The sign-in answer has no state."))
		return
	}
	expired := newError(ErrorInvalidRequest, "This sign-in has expired or was already used. Start again from the application.")
	// Check the browser binding before consuming the state, so a stranger
	// who learned the state cannot spoil the user's sign-in.
	p, err := s.store.GetPending(ctx, id)
	if err != nil {
		s.errorPage(w, r, expired)
		return
	}
	idp := s.chosen(p)
	if idp == nil || !checkFlowCookie(r, id, p.CSRFToken) {
		s.errorPage(w, r, &Error{Code: ErrorAccessDenied, Description: "This sign-in was not started in this browser. Start again from the application.", Status: http.StatusForbidden})
		return
	}
	if p, err = s.store.TakePending(ctx, id); err != nil {
		s.errorPage(w, r, expired)
		return
	}
	s.clearFlowCookie(w, id)
	e := Event{Step: StepLogin, ClientID: p.ClientID, Status: http.StatusFound}
	ident, credential, err := idp.Identify(ctx, r, s.url("/callback"), p.UpstreamVerifier)
	if err == nil {
		err = qualify(idp, ident)
	}
	if errors.Is(err, ErrUpstreamUnavailable) {
		s.emit(r, e, newError(ErrorTemporarilyUnavailable, "the identity provider cannot be reached"))
		s.finishUnavailable(w, r, p, idp, err)
		return
	}
	if err != nil {
		s.log.WarnContext(ctx, "oauth: login at the identity provider failed", "provider", idp.ID(), "client_id", p.ClientID, "error", err)
		s.emit(r, e, newError(ErrorAccessDenied, "the login at the identity provider failed"))
		s.finishDenied(w, r, p, "the login at the identity provider failed")
		return
	}
	now := s.now()
	ident.CheckedAt = now
	e.Subject = ident.Subject
	if !s.admits(*ident, p.Resources) {
		s.log.WarnContext(ctx, "oauth: user refused by the allow policy", "provider", ident.Provider, "login", ident.Login, "sub", ident.Subject,
			"email_verified", ident.EmailVerified, "groups", len(ident.Groups), "client_id", p.ClientID)
		s.emit(r, e, newError(ErrorAccessDenied, "the allow policy does not admit this user"))
		s.finishDenied(w, r, p, "this user is not allowed to use this service")
		return
	}
	if p.UserCode != "" {
		s.emit(r, e, nil)
		s.approveDevice(w, r, p, ident, credential, now)
		return
	}
	ru, err := s.pendingRedirect(ctx, p)
	if err != nil {
		s.emit(r, e, err)
		s.errorPage(w, r, err)
		return
	}
	s.emit(r, e, s.issueCode(w, r, p, ru, ident, credential, now))
}

// issueCode mints an authorization code for a consented, logged-in
// request and sends it to the client. It returns the refusal it sent
// instead, if any.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, p *PendingAuthorization, redirectURI string, ident *Identity, credential []byte, now time.Time) error {
	ctx := r.Context()
	if !s.admits(*ident, p.Resources) {
		err := newError(ErrorAccessDenied, "this user is not allowed to use this service")
		s.redirectError(w, r, redirectURI, p.State, err)
		return err
	}
	code := randomString(prefixCode, 32)
	var upstream []byte
	if credential != nil {
		var err error
		if upstream, err = sealWith(code, labelUpstream, credential); err != nil {
			s.redirectError(w, r, redirectURI, p.State, err)
			return err
		}
	}
	g := &Grant{
		ClientID:      p.ClientID,
		RedirectURI:   p.RedirectURI,
		CodeChallenge: p.CodeChallenge,
		Scope:         p.Scope,
		Resources:     p.Resources,
		User:          ident.Clone(),
		AuthTime:      now,
		FamilyID:      randomString("", 16),
		Upstream:      upstream,
		IssuedAt:      now,
		ExpiresAt:     now.Add(s.codeTTL),
	}
	if err := s.store.PutCode(ctx, hashSecret(code), g); err != nil {
		err = fmt.Errorf("store code: %w", err)
		s.redirectError(w, r, redirectURI, p.State, err)
		return err
	}
	s.log.InfoContext(ctx, "oauth: authorization granted", "client_id", p.ClientID, "login", ident.Login,
		"sub", ident.Subject, "scope", p.Scope, "resources", strings.Join(p.Resources, " "), "code", fingerprint(code))
	s.redirect(w, r, redirectURI, p.State, url.Values{"code": {code}})
	return nil
}
