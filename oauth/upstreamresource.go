package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"golang.org/x/oauth2"
)

// UpstreamOptions configure Server.Upstream. A nil *UpstreamOptions means
// all defaults.
type UpstreamOptions struct {
	// Provider is the ID of the identity provider whose token the service
	// needs ("github", "oidc:google"); a user who signed in with another
	// is asked to sign in again (with this one). Zero: the one the user
	// signed in with.
	Provider string
}

type upstreamTokenKey struct{}

// UpstreamTokenFromContext returns the caller's upstream token that
// Server.Upstream put into the request's context.
func UpstreamTokenFromContext(ctx context.Context) (*oauth2.Token, bool) {
	t, ok := ctx.Value(upstreamTokenKey{}).(*oauth2.Token)
	return t, ok
}

// Upstream returns next behind a step that gets the caller's own upstream
// token (UpstreamToken) for the access token p's Middleware checked, and
// puts it into the request's context (UpstreamTokenFromContext) for next
// to hand to the service: as a header of the request to an HTTP service,
// or in the environment of a stdio server of the user's own. Wrap it in
// p.Middleware.
//
// When there is no such token (the user signed in before the service
// needed one, with another provider, or the server keeps none) or the
// provider no longer renews it (revoked, the session ended), the request
// gets 401 with an invalid_token challenge whose description tells the
// user to sign in again, and the authorization (its token family) is
// revoked, so that the client's refresh fails and it starts a new
// sign-in, which asks the provider anew. A provider that cannot be reached
// gets 503 with Retry-After; nothing is revoked.
func (s *Server) Upstream(p *ProtectedResource, next http.Handler, opts *UpstreamOptions) http.Handler {
	if opts == nil {
		opts = &UpstreamOptions{}
	}
	want := opts.Provider
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isPreflight(r.Method, r.Header) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		claims, ok := ClaimsFromContext(ctx)
		if !ok {
			s.log.ErrorContext(ctx, "oauth: Server.Upstream needs ProtectedResource.Middleware around it")
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		provider := claims.Provider
		if provider == "" {
			if idp := s.providerOf(*claims.identity()); idp != nil {
				provider = idp.ID()
			}
		}
		name := "the identity provider"
		if idp := s.byID[cmpOr(want, provider)]; idp != nil {
			name = idp.Name()
		}
		var tok *oauth2.Token
		err := ErrUpstreamMissing
		if want == "" || want == provider {
			tok, err = s.UpstreamToken(ctx, claims)
		}
		if err == nil {
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, upstreamTokenKey{}, tok)))
			return
		}
		res := p.res.Load()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		if errors.Is(err, ErrUpstreamUnavailable) {
			h.Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(errorBody{Error: ErrorTemporarilyUnavailable, Description: name + " cannot be reached right now; try again in a moment"})
			return
		}
		desc := "this service acts as you with your " + name + " account, and the authorization holds no usable " + name + " token; sign in again"
		if want != "" && want != provider {
			desc = "this service acts as you with your " + name + " account: sign in again with " + name
		} else if errors.Is(err, ErrUpstreamRevoked) {
			desc = name + " no longer accepts the token this authorization holds (revoked, or the session ended); sign in again"
		}
		if rerr := s.store.RevokeFamily(ctx, claims.ClientID, claims.FamilyID, s.now().Add(s.accessTTL+clockSkew)); rerr != nil {
			s.log.ErrorContext(ctx, "oauth: revoke the family of a missing upstream token", "family", short(claims.FamilyID), "error", rerr)
		}
		s.log.WarnContext(ctx, "oauth: a service needs the user's upstream token and there is none; the authorization is revoked so that the user signs in again",
			"resource", res.url, "sub", claims.Subject, "provider", provider, "needs", cmpOr(want, provider), "family", short(claims.FamilyID), "error", err)
		h.Set("WWW-Authenticate", challenge(ErrorInvalidToken, desc, res.metadataURL, nil))
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(errorBody{Error: ErrorInvalidToken, Description: desc})
	})
}
