package oauth

import (
	"context"
	"errors"
	"net/http"
)

// User is a person as an identity provider reports them. It is what the
// access token's sub, login and name claims carry.
type User struct {
	// Subject is the provider's stable, never reused identifier of the user
	// (GitHub: the numeric account id). It becomes the token's sub.
	Subject string `json:"sub"`
	// Login is the user's handle (GitHub login); the allow policy matches it.
	Login string `json:"login"`
	// Name is the display name, when the provider knows one.
	Name string `json:"name,omitempty"`
	// Email is the primary verified address, when the provider knows one.
	Email string `json:"email,omitempty"`
	// Orgs are the organizations the user belongs to, filled in only when
	// the policy needs them (Policy.Orgs).
	Orgs []string `json:"orgs,omitempty"`
}

// IdentityProvider authenticates users for the authorization server: the
// server sends the browser to AuthURL and, when the browser comes back to
// the server's /callback, asks Identify who logged in. GitHub and DevLogin
// are the providers of this package.
type IdentityProvider interface {
	// Name is the provider's name as pages show it ("GitHub").
	Name() string
	// AuthURL is where the browser goes to log in. The provider must bring
	// it back to callbackURL with the state parameter unchanged. verifier is
	// a fresh PKCE code verifier for providers that support PKCE.
	AuthURL(callbackURL, state, verifier string) string
	// Identify completes a login from the request that arrived at the
	// callback (its state already checked) and returns the user. An error
	// ends the authorization with access_denied at the client; it is
	// logged, never shown.
	Identify(ctx context.Context, r *http.Request, callbackURL, verifier string) (*User, error)
}

// ErrUpstreamDenied is returned by Identify when the user declined at the
// identity provider or the provider reported an error.
var ErrUpstreamDenied = errors.New("oauth: identity provider refused the login")

// loginPageProvider is an identity provider that serves its own login page
// under the server at /login (DevLogin). It is unexported: the pages it
// serves live inside the server's security model (state, CSP, escaping).
type loginPageProvider interface {
	IdentityProvider
	serveLogin(s *Server, w http.ResponseWriter, r *http.Request)
}

// autoApprover is an identity provider that approves every request as one
// user, without a login page and without consent (DevLogin with a
// configured user). The server allows it only on a loopback issuer.
type autoApprover interface {
	autoUser() (*User, bool)
}
