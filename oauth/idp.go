package oauth

import (
	"context"
	"errors"
	"net/http"
)

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
	// callback (its state already checked) and returns who logged in, and
	// the credential an IdentityRefresher needs to ask about the user again
	// later, without the user (GitHub: the user's access token; nil when
	// the provider cannot, or need not, be asked again). The server keeps
	// the credential only sealed (see RefreshToken.Upstream) and never logs
	// it. An error ends the authorization with access_denied at the client;
	// it is logged, never shown.
	Identify(ctx context.Context, r *http.Request, callbackURL, verifier string) (id *Identity, credential []byte, err error)
}

// IdentityRefresher is an IdentityProvider that can say who a user is now,
// without the user: the server asks it at a refresh when the identity it
// recorded (login, organizations) is older than
// Options.IdentityCheckInterval, and decides the refresh on the answer.
// GitHub is one when it fetches organizations.
type IdentityRefresher interface {
	IdentityProvider
	// RefreshIdentity returns the user's identity as the provider knows it
	// now, from the credential an earlier Identify or RefreshIdentity
	// returned; id is the identity recorded. A non-nil next credential
	// replaces the old one (nil: keep it). An error matching
	// ErrUpstreamRevoked means the credential will never work again
	// (revoked, expired, another account); any other error is taken as
	// temporary (the provider is unreachable).
	RefreshIdentity(ctx context.Context, id Identity, credential []byte) (current *Identity, next []byte, err error)
}

// ErrUpstreamRevoked is returned by RefreshIdentity when the stored
// credential no longer works and never will: the user revoked the app at
// the provider, the account is gone, or the credential is for another
// account.
var ErrUpstreamRevoked = errors.New("oauth: the identity provider no longer accepts the stored credential")

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
	autoUser() (*Identity, bool)
}
