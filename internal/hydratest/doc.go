// Package hydratest runs a real OpenID provider for tests: ory/hydra
// v2.3.0, in memory, on free loopback ports.
//
// Start finds the hydra binary ($MCP_HYDRA, else the one scripts/hydra.sh
// built into $MCP_TEST_HOME, default ~/.cache/mcp-oauth-gateway, else it
// runs scripts/hydra.sh to build it), starts it with DSN=memory and waits
// until it answers; a missing or broken hydra fails the test, it is never
// skipped. Hydra sits behind a front on its own loopback port, which is the
// issuer: a test can take the provider down (SetDown) or rewrite what its
// token endpoint answers (SetTokenFilter), to show what a client does with
// a forged or replayed ID token.
//
// Hydra has no login or consent pages of its own; Login plays the browser
// and accepts both through hydra's admin API, as a chosen subject with
// chosen ID token claims:
//
//	h := hydratest.Start(t)
//	c := h.CreateClient(t, "http://127.0.0.1:8000/callback", nil)
//	// ... configure the client with h.Issuer, c.ID, c.Secret; start a login ...
//	cb := h.Login(t, hydratest.Browser(t), authURL, hydratest.User{
//		Subject: "alice",
//		Claims:  map[string]any{"email": "alice@example.com", "email_verified": true, "groups": []string{"staff"}},
//	})
//	// cb is the redirect URI with code and state.
package hydratest
