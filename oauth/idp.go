package oauth

import (
	"context"
	"errors"
	"net/http"
)

// IdentityProvider authenticates users for the authorization server: the
// server sends the browser to AuthURL and, when the browser comes back to
// the server's /callback, asks Identify who logged in. GitHub, OIDC and
// DevLogin are the providers of this package; a server may offer several
// (Options.IdentityProviders), and the consent page then lets the user
// choose.
//
// The subject a provider reports is its own; the server namespaces it by
// the provider's ID, "ID:SUBJECT" ("oidc:corp:248289761001",
// "dev:alice"), so that users of two providers never share a subject. The
// one exception is the provider "github", whose numeric account ids stay
// bare, as every token and record before namespacing had them: GitHub ids
// are digits only and every other subject has a colon, so they cannot
// collide.
type IdentityProvider interface {
	// ID names the provider among the server's providers, stably: it is
	// recorded with each login (Identity.Provider) and namespaces its
	// subjects. Lowercase letters, digits and hyphens, in parts separated
	// by colons ("github", "oidc:corp").
	ID() string
	// Name is the provider's name as pages show it ("GitHub").
	Name() string
	// AuthURL is where the browser goes to log in. The provider must bring
	// it back to callbackURL with the state parameter unchanged. verifier is
	// a fresh PKCE code verifier for providers that support PKCE, and a
	// secret of this login. An error (matching ErrUpstreamUnavailable when
	// the provider cannot be reached) ends the login with a page saying so.
	AuthURL(ctx context.Context, callbackURL, state, verifier string) (string, error)
	// Identify completes a login from the request that arrived at the
	// callback (its state already checked) and returns who logged in, and
	// the credential an IdentityRefresher needs to ask about the user again
	// later, without the user (GitHub: the user's access token; nil when
	// the provider cannot, or need not, be asked again). The server keeps
	// the credential only sealed (see RefreshToken.Upstream) and never logs
	// it. An error ends the authorization with access_denied at the client
	// (a page saying the provider cannot be reached when it matches
	// ErrUpstreamUnavailable); it is logged, never shown.
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
	// returned; id is the identity recorded (its Subject as the server
	// namespaced it). An answer about another subject than id's is taken as
	// ErrUpstreamRevoked. A non-nil next credential
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
