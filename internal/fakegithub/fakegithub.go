package fakegithub

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// User is an account of the fake.
type User struct {
	ID    int64
	Login string
	Name  string
	// Email is the primary address, verified unless EmailUnverified.
	// PublicEmail says whether /user shows it (GitHub hides private
	// addresses there; /user/emails always lists them).
	Email           string
	PublicEmail     bool
	EmailUnverified bool
	// Orgs are organizations the user is an active member of.
	Orgs []string
}

// AuthorizeRequest is what the fake saw at its authorize endpoint.
type AuthorizeRequest struct {
	ClientID, RedirectURI, State, Scope, CodeChallenge, CodeChallengeMethod string
}

// Server is a running fake GitHub.
type Server struct {
	// URL is the base of both the web flow and the API, e.g.
	// http://127.0.0.1:PORT.
	URL string

	clientID, clientSecret string
	srv                    *httptest.Server

	mu         sync.Mutex
	users      map[string]*User // by login
	login      string           // who logs in at authorize; "" = user denies
	codes      map[string]grant // code -> grant
	tokens     map[string]token // access token -> its account
	refresh    map[string]int64 // refresh token -> account id (single use)
	lifetime   time.Duration    // of access tokens; 0: they never expire
	apiDown    bool
	checks     int // membership listings answered
	authorizes []AuthorizeRequest
}

// token is an issued access token.
type token struct {
	user    int64
	expires time.Time // zero: never
}

type grant struct {
	login, redirectURI, challenge, scope string
}

// New starts a fake GitHub that knows one OAuth app.
func New(clientID, clientSecret string) *Server {
	s := &Server{
		clientID: clientID, clientSecret: clientSecret,
		users:   map[string]*User{},
		codes:   map[string]grant{},
		tokens:  map[string]token{},
		refresh: map[string]int64{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", s.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", s.accessToken)
	mux.HandleFunc("GET /user", s.user)
	mux.HandleFunc("GET /user/emails", s.emails)
	mux.HandleFunc("GET /user/orgs", s.orgs)
	mux.HandleFunc("GET /user/memberships/orgs", s.memberships)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// AddUser adds or replaces an account.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := u
	s.users[u.Login] = &c
}

// SetLogin chooses the account that logs in (and authorizes the app) at the
// authorize endpoint; "" makes the user decline (error=access_denied).
func (s *Server) SetLogin(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.login = login
}

// Authorizes returns the authorize requests seen so far.
func (s *Server) Authorizes() []AuthorizeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AuthorizeRequest(nil), s.authorizes...)
}

// SetOrgs replaces the organizations login is an active member of (none:
// the user left, or was removed from, every organization).
func (s *Server) SetOrgs(login string, orgs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[login]; u != nil {
		u.Orgs = append([]string(nil), orgs...)
	}
}

// Rename gives the account of login a new login; the old one is free for
// anyone to register again (AddUser), as on GitHub.
func (s *Server) Rename(login, newLogin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[login]; u != nil {
		delete(s.users, login)
		u.Login = newLogin
		s.users[newLogin] = u
	}
}

// RevokeTokens revokes every access and refresh token of login, as when
// the user revokes the app's authorization in their GitHub settings.
func (s *Server) RevokeTokens(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[login]
	if u == nil {
		return
	}
	for t, tok := range s.tokens {
		if tok.user == u.ID {
			delete(s.tokens, t)
		}
	}
	for t, id := range s.refresh {
		if id == u.ID {
			delete(s.refresh, t)
		}
	}
}

// SetTokenLifetime makes the access tokens issued from now on expire after
// d, with a single-use refresh token, as a GitHub App's user tokens do
// (0: tokens that never expire, an OAuth App's).
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetAPIDown makes the REST API answer 503 (true) or serve again.
func (s *Server) SetAPIDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiDown = down
}

// MembershipChecks is how many organization membership listings the API
// answered.
func (s *Server) MembershipChecks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checks
}

func (s *Server) userByID(id int64) *User {
	for _, u := range s.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := AuthorizeRequest{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"),
		Scope: q.Get("scope"), CodeChallenge: q.Get("code_challenge"), CodeChallengeMethod: q.Get("code_challenge_method"),
	}
	s.mu.Lock()
	s.authorizes = append(s.authorizes, req)
	login := s.login
	_, known := s.users[login]
	s.mu.Unlock()
	if req.ClientID != s.clientID {
		http.Error(w, "unknown client_id", http.StatusNotFound)
		return
	}
	target, err := url.Parse(req.RedirectURI)
	if err != nil || req.RedirectURI == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := target.Query()
	if login == "" || !known {
		v.Set("error", "access_denied")
		v.Set("error_description", "The user has denied your application access.")
	} else {
		code := random()
		s.mu.Lock()
		s.codes[code] = grant{login: login, redirectURI: req.RedirectURI, challenge: req.CodeChallenge, scope: req.Scope}
		s.mu.Unlock()
		v.Set("code", code)
	}
	if req.State != "" {
		v.Set("state", req.State)
	}
	target.RawQuery = v.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	reply := func(v url.Values) {
		// GitHub answers JSON when asked, form encoding otherwise; both are
		// sent with status 200, errors included.
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			m := map[string]string{}
			for k := range v {
				m[k] = v.Get(k)
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(m)
			return
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = w.Write([]byte(v.Encode()))
	}
	fail := func(code, desc string) { reply(url.Values{"error": {code}, "error_description": {desc}}) }
	if id != s.clientID || secret != s.clientSecret {
		fail("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	if r.PostForm.Get("grant_type") == "refresh_token" {
		s.mu.Lock()
		id, ok := s.refresh[r.PostForm.Get("refresh_token")]
		delete(s.refresh, r.PostForm.Get("refresh_token"))
		s.mu.Unlock()
		if !ok {
			fail("bad_refresh_token", "The refresh token passed is incorrect or expired.")
			return
		}
		reply(s.issue(id, ""))
		return
	}
	code := r.PostForm.Get("code")
	s.mu.Lock()
	g, ok := s.codes[code]
	delete(s.codes, code)
	s.mu.Unlock()
	if !ok {
		fail("bad_verification_code", "The code passed is incorrect or expired.")
		return
	}
	if ru := r.PostForm.Get("redirect_uri"); ru != "" && ru != g.redirectURI {
		fail("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		return
	}
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			fail("bad_verification_code", "The code_verifier does not match the code_challenge.")
			return
		}
	}
	s.mu.Lock()
	u := s.users[g.login]
	s.mu.Unlock()
	if u == nil {
		fail("bad_verification_code", "The account is gone.")
		return
	}
	reply(s.issue(u.ID, g.scope))
}

// issue mints an access token (and, with a lifetime, a refresh token) for
// the account id.
func (s *Server) issue(id int64, scope string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	access := "gho_" + random()
	v := url.Values{"access_token": {access}, "token_type": {"bearer"}, "scope": {scope}}
	tok := token{user: id}
	if s.lifetime > 0 {
		tok.expires = time.Now().Add(s.lifetime)
		rt := "ghr_" + random()
		s.refresh[rt] = id
		v.Set("expires_in", strconv.Itoa(int(s.lifetime/time.Second)))
		v.Set("refresh_token", rt)
		v.Set("refresh_token_expires_in", "15897600")
	}
	s.tokens[access] = tok
	return v
}

// authUser finds the account of the request's token, or answers 401.
func (s *Server) authUser(w http.ResponseWriter, r *http.Request) (*User, bool) {
	h := r.Header.Get("Authorization")
	var token string
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		token = t
	} else if t, ok := strings.CutPrefix(h, "token "); ok {
		token = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apiDown {
		http.Error(w, `{"message":"Service Unavailable"}`, http.StatusServiceUnavailable)
		return nil, false
	}
	tok, ok := s.tokens[token]
	u := s.userByID(tok.user)
	if !ok || u == nil || !tok.expires.IsZero() && time.Now().After(tok.expires) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`))
		return nil, false
	}
	c := *u
	c.Orgs = append([]string(nil), u.Orgs...)
	return &c, true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	u, ok := s.authUser(w, r)
	if !ok {
		return
	}
	var email any
	if u.PublicEmail && u.Email != "" {
		email = u.Email
	}
	var name any
	if u.Name != "" {
		name = u.Name
	}
	writeJSON(w, map[string]any{
		"id": u.ID, "login": u.Login, "name": name, "email": email,
		"node_id": fmt.Sprintf("U_%d", u.ID), "type": "User", "site_admin": false,
	})
}

func (s *Server) emails(w http.ResponseWriter, r *http.Request) {
	u, ok := s.authUser(w, r)
	if !ok {
		return
	}
	list := []map[string]any{
		{"email": u.Login + "@users.noreply.github.com", "primary": false, "verified": true, "visibility": nil},
	}
	if u.Email != "" {
		list = append(list, map[string]any{"email": u.Email, "primary": true, "verified": !u.EmailUnverified, "visibility": "private"})
	}
	writeJSON(w, list)
}

func (s *Server) orgs(w http.ResponseWriter, r *http.Request) {
	u, ok := s.authUser(w, r)
	if !ok {
		return
	}
	list := []map[string]any{}
	for i, o := range u.Orgs {
		list = append(list, map[string]any{"login": o, "id": 1000 + i})
	}
	writeJSON(w, list)
}

func (s *Server) memberships(w http.ResponseWriter, r *http.Request) {
	u, ok := s.authUser(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	s.checks++
	s.mu.Unlock()
	if st := r.URL.Query().Get("state"); st != "" && st != "active" {
		writeJSON(w, []any{})
		return
	}
	list := []map[string]any{}
	for i, o := range u.Orgs {
		list = append(list, map[string]any{
			"state": "active", "role": "member",
			"organization": map[string]any{"login": o, "id": 1000 + i},
		})
	}
	writeJSON(w, list)
}
