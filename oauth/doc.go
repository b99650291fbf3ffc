// Package oauth is the OAuth 2.1 side of the MCP OAuth Gateway: the
// authorization server, as an http.Handler, with the storage it needs, and
// the resource-server side that checks its tokens in front of MCP servers.
//
// # Authorization server
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
//     [IdentityProvider] ([GitHub], any OpenID Connect provider with
//     [OIDC], or [DevLogin] to try things out; several at once with
//     Options.IdentityProviders, one button each on the consent page) and
//     /callback;
//   - /token for the authorization_code, refresh_token (rotated on every
//     use, with a short grace window for retries and family revocation on
//     reuse) and RFC 8628 device_code grants, with /device_authorization
//     and the /device page;
//   - /revoke (RFC 7009) and /introspect (RFC 7662).
//
// # Who may hold tokens
//
// A [Policy] (GitHub logins, subjects as "id:SUBJECT", GitHub
// organizations, verified emails and email domains, OpenID groups, or
// everyone) decides who may log in; the empty policy lets nobody in. Who
// logged in is an [Identity]: its subject is unique across the server's
// providers ("oidc:corp:SUB", "dev:alice"; GitHub's numeric account ids stay
// bare, as in every record and token from before), and an email counts for
// email rules only when the provider verified it.
// The server asks it, and the policy of each resource the grant names
// ([ResourcePolicies], set with Server.SetResourcePolicies: a ForwardAuth
// or a ProtectedResource), at login and again at every refresh, on the
// identity as currently known: the one recorded at login, or, once that is
// older than Options.IdentityCheckInterval (1 hour), what the identity
// provider says now ([IdentityRefresher]; GitHub with FetchOrgs re-reads
// the user's login and organization memberships with the user's GitHub
// token, an OIDC provider renews its token and reads the new ID token's
// claims). A refresh the policies refuse fails with invalid_grant and
// revokes the whole token family, its access tokens included. When the
// provider cannot confirm the user (the token was revoked at GitHub or the
// session ended at the OpenID provider, the family has none, or the
// provider is unreachable) organizations, groups and the email's
// verification count as none: org:, group:, email: and domain: rules refuse
// (fail closed), login and id rules still admit;
// an unreachable provider refuses without revoking, so the refresh works
// again once it answers. Every rotation restarts the refresh lifetime
// (Options.RefreshTokenLifetime, 30 days) but never past the family's
// absolute lifetime (Options.RefreshFamilyLifetime, 90 days from the
// login); then the user logs in again.
//
// The provider's credential for the user (GitHub's or the OpenID
// provider's token) is kept only sealed: AES-256-GCM under a key derived
// (HKDF-SHA256) from the secret the store sees only hashed, the
// authorization code and then each refresh token, re-sealed at every
// rotation; for a device flow, sealed to an X25519 key derived from the
// device code. A copy of the store alone (a backup, a Redis dump) holds no
// usable GitHub token, and no server key has to be configured or rotated.
// GitHub logins can be registered again by someone else after a rename or
// an account deletion: prefer id: entries.
//
// # The user's own upstream token for services
//
// A service may act as the signed-in user with the user's own token at
// the identity provider (a GitHub MCP server with the user's GitHub token).
// With Options.UpstreamKeys ([ParseUpstreamKeys]: server keys that are not
// in the store, the first sealing, all opening, each blob naming its key),
// the server keeps each authorization's upstream credential in the store
// sealed under those keys ([UpstreamStore]), renews its access token when
// it expires (once across replicas: a lease in the record), and deletes it
// with the authorization (RevokeFamily, RevokeClient, a refresh token
// reuse). [Server.UpstreamToken] gives it to code in the same process;
// [Server.Upstream] is the step before a service, behind the bearer check,
// that puts it into the request's context ([UpstreamTokenFromContext]) or
// answers 401 with a challenge telling the user to sign in again when there
// is none or the provider stopped renewing it (and ends the authorization,
// so that the client signs in anew). The scopes a service needs are asked
// for at login (GitHubOptions.Scopes, OIDCOptions.Scopes). The client's own
// bearer token is never handed to a service.
//
// # Authorization errors
//
// /authorize never sends an error to a client without the user (RFC 9700
// §4.11.2: with open registration anyone can register a redirect URI that
// leads to a phishing site, so "registered" proves nothing):
//
//   - an unknown client_id, a missing or unregistered redirect_uri, a
//     repeated parameter, and a malformed request (response_type missing or
//     not code, response_mode not query, request or request_uri, PKCE
//     missing, not S256 or not a valid challenge, state over 2048
//     characters) get an HTML error page and nothing else;
//   - a well-formed request the server refuses (invalid_scope,
//     invalid_target, unauthorized_client) gets an error page with a link
//     that takes the error, with state and iss, to the redirect URI when the
//     user chooses to; a loopback redirect URI (a native app on the user's
//     own machine, RFC 8252) gets the redirect directly;
//   - after the consent page, which names the client and the host it
//     redirects to, a denial, a failed login and a policy refusal go to the
//     client as access_denied.
//
// Unknown parameters are ignored (RFC 6749 §3.1). The consent page of a
// device flow (RFC 8628) leads, for every client, with the §5.4 warning
// against remote phishing: approve only a code shown on a device you hold.
//
// # Keys and storage
//
// Access tokens are RFC 9068 JWTs signed with RS256 (default), ES256 or
// EdDSA; the keys are generated on first start and kept in the [Store] (or
// given by the operator), rotated on request or on a schedule, and every key
// that may still verify a live token stays in the JWKS. Refresh tokens,
// codes, client secrets and registration tokens are opaque random strings
// that the store only ever sees hashed.
//
// State lives behind the [Store] interfaces: [NewMemoryStore] for tests
// and single processes, oauth/filestore (one local file, the binaries'
// default) and oauth/redisstore (several replicas).
//
// What requests without credentials make the server store is bounded
// ([Limits]): pending authorizations (GET /authorize), device
// authorizations, registrations and fetches of client metadata documents
// each have a quota per client address (IPv4 by address, IPv6 by /64) and
// a global cap that holds across replicas, counted with one store round
// trip (QuotaStore.AllowAll). Past a quota the answer is 429, past a cap
// 503, both with Retry-After: a page at the browser endpoints, the OAuth
// error JSON at the others. The client address is the TCP peer's unless
// the peer is a trusted proxy (Options.TrustedProxies,
// Options.TrustProxyHeaders); a client's own X-Forwarded-For is never
// believed.
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
// A client_id that is an https URL names a Client ID Metadata Document: the
// server fetches it through the fetch package's SSRF guard (5 KiB, 5 s, no
// redirects), caches it per its caching headers and uses it as the client's
// registration (Options.DisableClientMetadataDocuments turns this off). A
// failed fetch is remembered for a minute; fetches of URLs not in the
// cache are limited per address and in all.
//
// # Resource server
//
// A [Verifier] checks access tokens locally: the compact JWS form, typ
// at+jwt, the signature by kid with the key's own algorithm (keys from a
// [KeySource]: the [Server] in the same process, or a [JWKS] fetched from
// its jwks_uri, refreshed on an unknown kid at most every few seconds),
// iss, the RFC 9068 claims, exp, nbf and iat with a leeway, and
// revocation. A [ProtectedResource] adds the audience (equal to the
// resource in the canonical form of [CanonicalResource]), required scopes
// and a per-resource user [Policy], answers refusals with the RFC 6750 /
// RFC 9728 / MCP 2025-11-25 challenges (401 with resource_metadata and
// scope, invalid_token, 403 insufficient_scope, 400 invalid_request; a
// token in the query string is refused) and serves the resource's RFC 9728
// metadata. It plugs into mcpserver (Options.Authenticate) or wraps any
// handler; the caller it admits is a caller.Identity in the request's
// context (the type mcpserver.Identity names), so this package links no MCP
// server, and verifying a token needs neither mcp-go nor an HTML parser. [ForwardAuth] is the /verify endpoint of Traefik forwardAuth,
// nginx auth_request and Caddy forward_auth, with identity headers for the
// service behind the proxy; it decides on exactly the host and path the
// proxy routed on, and refuses (400 invalid_request) any request the proxy
// and it could read differently, such as a fragment or %2F in the path.
//
// Verification costs no store round trip in steady state. A token seen for
// the first time is verified in full and asked about once at the store;
// the result is cached under the token's SHA-256 until it expires. Every
// request, cached or not, is checked against a local revocation set that
// the verifier fills from the store's revocation feed
// (RevocationStore.SubscribeRevocations: Redis pub/sub across replicas,
// in-process for the memory and file stores), so a revoked token, a revoked
// family (a revoked or replayed refresh token) or a deleted client's tokens
// are refused on every replica within the feed's delivery time: a few
// milliseconds measured, one second documented. A replica that may have
// missed events (a reconnection to Redis, a subscriber that fell behind)
// gets a reset event from the store; the verifier then distrusts every
// cached answer and asks the store again at each token's next use. While
// the feed is down it asks the store on every request, and even with a
// healthy feed a cached answer is trusted for at most
// VerifierOptions.RevocationRecheck (one minute). A store that cannot
// answer fails the request (503), never open.
//
// Protecting an MCP server in the same process as the authorization server:
//
//	v, err := oauth.NewVerifier(srv.Issuer(), srv, &oauth.VerifierOptions{Revocations: store})
//	defer v.Close()
//	pr, err := oauth.NewProtectedResource(v, oauth.Resource{URL: "https://mcp.example.com/mcp", Name: "Weather"})
//	mcp, err := mcpserver.New("weather", "1.0.0", &mcpserver.Options{Authenticate: pr.AuthFunc()})
//	mux.Handle(pr.MetadataPath(), pr.MetadataHandler())
//	mux.Handle("/mcp", mcp.Handler())
//
// In another process, with the keys from the JWKS and the revocations from
// the shared Redis:
//
//	keys, err := oauth.NewJWKS("https://auth.example.com/jwks", nil) // https, or http on loopback
//	v, err := oauth.NewVerifier("https://auth.example.com", keys, &oauth.VerifierOptions{Revocations: redisStore})
//
// Several services on one mux, each its own resource with its metadata
// at its path-inserted well-known URL ([ProtectedResource.Mount]; by host
// with MountOptions.MatchHost):
//
//	pr, err := oauth.NewProtectedResource(v, oauth.Resource{URL: "https://gw.example.com/notes/mcp"})
//	err = pr.Mount(mux, notes.Handler(), &oauth.MountOptions{Guard: guard.Wrap})
//
// oauth/identityproxy forwards what a ProtectedResource let through to an
// upstream MCP server with the verified identity in headers.
//
// # Observing and operating
//
// An [Observer] (Options.Observe, VerifierOptions.Observe) hears every step
// of a client's way, from the metadata fetches to the MCP requests, with
// its outcome and refusal reason and never a secret: a binary counts them
// for metrics, and a [Tracer] keeps each client's connection trace in a
// [TraceStore]. [AdminStore] lists, purges and restores what a store
// holds, for operator tools and backups. The memory, file and Redis stores
// implement both.
//
// The binary examples/mcp-oauth-server wires both sides up from flags and
// the environment variables of the original Python server, with /verify
// for the reverse proxy; deploy/ has Traefik, nginx and Caddy
// configurations. examples/mcp-oauth-gateway runs the server and MCP
// services behind it in one process.
package oauth
