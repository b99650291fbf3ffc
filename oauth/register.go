package oauth

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Dynamic client registration (RFC 7591) and its management protocol
// (RFC 7592).

// Registration limits.
const (
	maxRedirectURIs  = 20
	maxContacts      = 10
	maxTextField     = 200
	maxURLField      = 2000
	maxExtraFields   = 50
	clientIDBytes    = 16
	clientSecretSize = 32
)

// registrationResponse is the RFC 7591 §3.2.1 response: the metadata as
// registered plus the credentials, in one JSON object.
type registrationResponse struct {
	meta  ClientMetadata
	creds credentials
}

type credentials struct {
	ClientID                string `json:"client_id"`
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri"`
}

// MarshalJSON writes the credentials' members, then the metadata's.
func (r registrationResponse) MarshalJSON() ([]byte, error) {
	meta, err := json.Marshal(r.meta)
	if err != nil {
		return nil, err
	}
	c, err := json.Marshal(r.creds)
	if err != nil {
		return nil, err
	}
	if len(meta) == 2 { // "{}"
		return c, nil
	}
	var b bytes.Buffer
	b.Write(c[:len(c)-1])
	b.WriteByte(',')
	b.Write(meta[1:])
	return b.Bytes(), nil
}

// response is what registration and RFC 7592 reads return; secret and
// regToken are sent only when just issued.
func (s *Server) response(c *Client, secret, regToken string) registrationResponse {
	resp := registrationResponse{meta: c.Metadata, creds: credentials{
		ClientID:                c.ID,
		ClientSecret:            secret,
		ClientIDIssuedAt:        c.IssuedAt.Unix(),
		RegistrationAccessToken: regToken,
		RegistrationClientURI:   s.url("/register/" + url.PathEscape(c.ID)),
	}}
	if c.SecretHash != "" {
		var exp int64
		if !c.SecretExpiresAt.IsZero() {
			exp = c.SecretExpiresAt.Unix()
		}
		resp.creds.ClientSecretExpiresAt = &exp
	}
	return resp
}

// serveRegister handles POST /register.
func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	e := Event{Step: StepRegister, Status: http.StatusCreated}
	var refused error
	defer func() { s.emit(r, e, refused) }()
	refuse := func(err error) {
		refused = err
		s.writeError(w, r, err)
	}
	if s.initialTok != "" {
		tok, ok := bearer(r)
		if !ok || subtle.ConstantTimeCompare([]byte(hashSecret(tok)), []byte(hashSecret(s.initialTok))) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			refuse(&Error{Code: ErrorInvalidToken, Description: "registration needs a valid initial access token"})
			return
		}
	}
	meta, err := readMetadata(r)
	if err != nil {
		refuse(err)
		return
	}
	if err := s.validateMetadata(meta); err != nil {
		refuse(err)
		return
	}
	// Only what would be stored counts against the quota (see limits.go).
	if err := s.admit(ctx, s.quotas.register); err != nil {
		refuse(err)
		return
	}
	now := s.now()
	c := &Client{
		ID:       randomString("", clientIDBytes),
		Metadata: *meta,
		IssuedAt: now.Truncate(time.Second),
	}
	if s.clientTTL > 0 {
		c.ExpiresAt = now.Add(s.clientTTL)
		c.SecretExpiresAt = c.ExpiresAt
	}
	var secret string
	if meta.TokenEndpointAuthMethod != "none" {
		secret = randomString(prefixClientSecret, clientSecretSize)
		c.SecretHash = hashSecret(secret)
	}
	regToken := randomString(prefixRegToken, 32)
	c.RegistrationTokenHash = hashSecret(regToken)
	if err := s.store.CreateClient(ctx, c); err != nil {
		refuse(fmt.Errorf("register client: %w", err))
		return
	}
	e.ClientID = c.ID
	s.log.InfoContext(ctx, "oauth: client registered", "client_id", c.ID, "client_name", meta.ClientName,
		"auth_method", meta.TokenEndpointAuthMethod, "redirect_uris", len(meta.RedirectURIs), "remote", clientAddrOf(ctx).String())
	writeJSON(w, http.StatusCreated, s.response(c, secret, regToken))
}

// readMetadata decodes a JSON client metadata document.
func readMetadata(r *http.Request) (*ClientMetadata, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, newError(ErrorInvalidClientMetadata, "the body must be application/json")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if isTooLarge(err) {
			return nil, &Error{Code: ErrorInvalidClientMetadata, Description: "request body too large", Status: http.StatusRequestEntityTooLarge, Err: err}
		}
		return nil, &Error{Code: ErrorInvalidRequest, Description: "cannot read the body", Err: err}
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, newError(ErrorInvalidClientMetadata, "the body must be a JSON object")
	}
	var m ClientMetadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, &Error{Code: ErrorInvalidClientMetadata, Description: "malformed client metadata: " + jsonErrorText(err), Err: err}
	}
	return &m, nil
}

// jsonErrorText is a short, safe description of a JSON decoding error.
func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "invalid JSON"
	}
	return "invalid JSON"
}

// validateMetadata checks client metadata strictly and fills in defaults.
func (s *Server) validateMetadata(m *ClientMetadata) error {
	bad := func(format string, args ...any) error {
		return newError(ErrorInvalidClientMetadata, format, args...)
	}
	if len(m.Extra) > maxExtraFields {
		return bad("too many metadata fields")
	}
	for _, name := range []string{"client_id", "client_secret", "registration_access_token", "registration_client_uri", "client_id_issued_at", "client_secret_expires_at"} {
		delete(m.Extra, name) // server-assigned; a client cannot choose them
	}

	// Grant and response types.
	if len(m.GrantTypes) == 0 {
		// RFC 7591's default is authorization_code alone; MCP clients that
		// omit grant_types still expect refresh tokens.
		m.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	for _, g := range m.GrantTypes {
		switch g {
		case "authorization_code", "refresh_token", GrantTypeDeviceCode:
		default:
			return bad("grant type %q is not supported (authorization_code, refresh_token, %s)", g, GrantTypeDeviceCode)
		}
	}
	m.GrantTypes = dedupe(m.GrantTypes)
	usesCode := slices.Contains(m.GrantTypes, "authorization_code")
	if len(m.ResponseTypes) == 0 && usesCode {
		m.ResponseTypes = []string{"code"}
	}
	for _, rt := range m.ResponseTypes {
		if rt != "code" {
			return bad("response type %q is not supported (code)", rt)
		}
	}
	m.ResponseTypes = dedupe(m.ResponseTypes)
	if usesCode != slices.Contains(m.ResponseTypes, "code") {
		return bad("grant type authorization_code and response type code go together")
	}
	if !usesCode && !slices.Contains(m.GrantTypes, GrantTypeDeviceCode) {
		return bad("grant types must include authorization_code or %s", GrantTypeDeviceCode)
	}

	// Redirect URIs.
	if usesCode && len(m.RedirectURIs) == 0 {
		return newError(ErrorInvalidRedirectURI, "redirect_uris is required for the authorization_code grant")
	}
	if len(m.RedirectURIs) > maxRedirectURIs {
		return newError(ErrorInvalidRedirectURI, "at most %d redirect URIs", maxRedirectURIs)
	}
	for _, u := range m.RedirectURIs {
		if err := validateRedirectURI(u, s.schemes); err != nil {
			return newError(ErrorInvalidRedirectURI, "%v", err)
		}
	}
	m.RedirectURIs = dedupe(m.RedirectURIs)

	// Client authentication.
	switch m.TokenEndpointAuthMethod {
	case "":
		m.TokenEndpointAuthMethod = "client_secret_basic" // RFC 7591 §2
	case "none", "client_secret_basic", "client_secret_post":
	default:
		return bad("token_endpoint_auth_method %q is not supported (none, client_secret_basic, client_secret_post)", m.TokenEndpointAuthMethod)
	}
	if m.JWKSURI != "" || len(m.JWKS) > 0 {
		return bad("jwks and jwks_uri are not supported: no method here uses client keys")
	}

	switch m.ApplicationType {
	case "":
		m.ApplicationType = "web"
	case "web", "native":
	default:
		return bad("application_type must be web or native")
	}

	// Scope.
	if m.Scope != "" {
		sc, err := parseScope(m.Scope)
		if err != nil {
			return bad("malformed scope")
		}
		for _, t := range sc {
			if !slices.Contains(s.scopes, t) {
				return bad("scope %q is not supported (supported: %s)", t, strings.Join(s.scopes, " "))
			}
		}
		m.Scope = strings.Join(sc, " ")
	}

	// Human-readable fields and URLs.
	for name, v := range map[string]string{"client_name": m.ClientName, "software_id": m.SoftwareID, "software_version": m.SoftwareVersion} {
		if len(v) > maxTextField || !printable(v) {
			return bad("%s must be printable text of at most %d characters", name, maxTextField)
		}
	}
	for name, v := range map[string]string{"client_uri": m.ClientURI, "logo_uri": m.LogoURI, "tos_uri": m.TOSURI, "policy_uri": m.PolicyURI} {
		if v != "" {
			if err := validateWebURL(v); err != nil {
				return bad("%s: %v", name, err)
			}
		}
	}
	if len(m.Contacts) > maxContacts {
		return bad("at most %d contacts", maxContacts)
	}
	for _, c := range m.Contacts {
		if c == "" || len(c) > maxTextField || !printable(c) {
			return bad("contacts must be printable text of at most %d characters", maxTextField)
		}
	}
	return nil
}

// validateWebURL accepts an https URL, or http on loopback.
func validateWebURL(v string) error {
	if len(v) > maxURLField {
		return errors.New("URL too long")
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil {
		return errors.New("must be an absolute https URL")
	}
	if u.Scheme == "https" || u.Scheme == "http" && isLoopbackHost(u.Host) {
		return nil
	}
	return errors.New("must be an absolute https URL")
}

// printable rejects control characters (and so HTML line tricks in logs).
func printable(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029' || c == 0xfffd {
			return false
		}
	}
	return true
}

func dedupe(list []string) []string {
	var out []string
	for _, v := range list {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// bearer returns the bearer token of the Authorization header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// managedClient authenticates an RFC 7592 request: the registration
// access token of the client in the path, compared in constant time. An
// unknown client and a wrong token get the same answer (RFC 7592 §3).
func (s *Server) managedClient(w http.ResponseWriter, r *http.Request) (*Client, bool) {
	id := r.PathValue("client_id")
	tok, ok := bearer(r)
	c, err := s.store.GetClient(r.Context(), id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.writeError(w, r, err)
		return nil, false
	}
	// Hash and compare even without a client, so both failures cost the
	// same.
	want := hashSecret(randomString("", 16))
	if c != nil && c.RegistrationTokenHash != "" {
		want = c.RegistrationTokenHash
	}
	match := subtle.ConstantTimeCompare([]byte(hashSecret(tok)), []byte(want)) == 1
	if !ok || c == nil || !match {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		s.writeError(w, r, &Error{Code: ErrorInvalidToken, Description: "unknown client or invalid registration access token"})
		return nil, false
	}
	return c, true
}

// serveClientRead handles GET /register/{client_id} (RFC 7592 §2.1).
func (s *Server) serveClientRead(w http.ResponseWriter, r *http.Request) {
	c, ok := s.managedClient(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.response(c, "", ""))
}

// serveClientUpdate handles PUT /register/{client_id} (RFC 7592 §2.2): the
// body replaces the metadata, validated like a registration.
func (s *Server) serveClientUpdate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.managedClient(w, r)
	if !ok {
		return
	}
	meta, err := readMetadata(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if id, present := meta.Extra["client_id"]; present {
		var got string
		if json.Unmarshal(id, &got) != nil || got != c.ID {
			s.writeError(w, r, newError(ErrorInvalidRequest, "client_id in the body does not match"))
			return
		}
	} else {
		s.writeError(w, r, newError(ErrorInvalidRequest, "the body must contain the client_id (RFC 7592 §2.2)"))
		return
	}
	if sec, present := meta.Extra["client_secret"]; present {
		var got string
		if json.Unmarshal(sec, &got) != nil || c.SecretHash == "" ||
			subtle.ConstantTimeCompare([]byte(hashSecret(got)), []byte(c.SecretHash)) != 1 {
			s.writeError(w, r, newError(ErrorInvalidRequest, "client_secret in the body does not match"))
			return
		}
	}
	if err := s.validateMetadata(meta); err != nil {
		s.writeError(w, r, err)
		return
	}
	updated := c.Clone()
	updated.Metadata = *meta
	var secret string
	switch {
	case meta.TokenEndpointAuthMethod == "none":
		updated.SecretHash = ""
		updated.SecretExpiresAt = time.Time{}
	case c.SecretHash == "":
		// A public client becomes confidential: it gets its first secret.
		secret = randomString(prefixClientSecret, clientSecretSize)
		updated.SecretHash = hashSecret(secret)
		updated.SecretExpiresAt = c.ExpiresAt
	}
	if err := s.store.UpdateClient(r.Context(), updated); err != nil {
		s.writeError(w, r, fmt.Errorf("update client: %w", err))
		return
	}
	s.log.InfoContext(r.Context(), "oauth: client updated", "client_id", c.ID)
	writeJSON(w, http.StatusOK, s.response(updated, secret, ""))
}

// serveClientDelete handles DELETE /register/{client_id} (RFC 7592 §2.3):
// the client's tokens are revoked, then the client is removed.
func (s *Server) serveClientDelete(w http.ResponseWriter, r *http.Request) {
	c, ok := s.managedClient(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := s.store.RevokeClient(ctx, c.ID, s.now().Add(s.accessTTL+clockSkew)); err != nil {
		s.writeError(w, r, fmt.Errorf("revoke client: %w", err))
		return
	}
	if err := s.store.DeleteClient(ctx, c.ID); err != nil && !errors.Is(err, ErrNotFound) {
		s.writeError(w, r, fmt.Errorf("delete client: %w", err))
		return
	}
	s.log.InfoContext(ctx, "oauth: client deleted", "client_id", c.ID)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
