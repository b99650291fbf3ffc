// Package oauth is the OAuth 2.1 authorization server of the MCP OAuth
// Gateway, as an http.Handler, with the storage it needs.
//
// A [Server] serves, under one issuer URL:
//
//   - RFC 8414 metadata at /.well-known/oauth-authorization-server (and the
//     OpenID discovery alias), the JWKS at /jwks;
//   - dynamic client registration (RFC 7591) at /register and its
//     management (RFC 7592) at /register/{client_id};
//   - /authorize with PKCE S256 (mandatory), exact redirect URI matching,
//     resource indicators (RFC 8707) and the iss parameter (RFC 9207), a
//     consent page protected against CSRF and framing, the login at an
//     [IdentityProvider] ([GitHub], or [DevLogin] to try things out) and
//     /callback;
//   - /token for the authorization_code, refresh_token (rotated on every
//     use, with a short grace window for retries and family revocation on
//     reuse) and RFC 8628 device_code grants, with /device_authorization
//     and the /device page;
//   - /revoke (RFC 7009) and /introspect (RFC 7662).
//
// Access tokens are RFC 9068 JWTs signed with RS256 (default), ES256 or
// EdDSA; the keys are generated on first start and kept in the [Store] (or
// given by the operator), rotated on request or on a schedule, and every key
// that may still verify a live token stays in the JWKS. Refresh tokens,
// codes, client secrets and registration tokens are opaque random strings
// that the store only ever sees hashed. A [Policy] decides who may log in;
// the empty policy lets nobody in.
//
// State lives behind the [Store] interfaces: [NewMemoryStore] for tests
// and single processes, oauth/filestore (one local file, the binaries'
// default) and oauth/redisstore (several replicas).
//
// A minimal server with the development login on a loopback issuer:
//
//	store := oauth.NewMemoryStore(nil)
//	defer store.Close()
//	idp, _ := oauth.NewDevLogin(nil)
//	srv, err := oauth.NewServer(ctx, "http://127.0.0.1:8000", store, idp, &oauth.Options{
//		Policy: oauth.ParsePolicy("alice,bob"),
//	})
//	if err != nil {
//		return err
//	}
//	return http.ListenAndServe("127.0.0.1:8000", srv)
//
// With GitHub instead:
//
//	idp, err := oauth.NewGitHub(clientID, clientSecret, nil)
//
// The binary examples/mcp-oauth-server wires this up from flags and the
// environment variables of the original Python server.
package oauth
