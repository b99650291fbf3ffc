// Package fakegithub is an in-process fake of GitHub for tests: the OAuth
// web flow (/login/oauth/authorize, /login/oauth/access_token, with PKCE)
// and the REST endpoints a login needs (/user, /user/emails, /user/orgs,
// /user/memberships/orgs), served by httptest on loopback. GitHub itself is
// never contacted.
//
//	gh := fakegithub.New("client-id", "client-secret")
//	defer gh.Close()
//	gh.AddUser(fakegithub.User{ID: 1, Login: "octocat", Email: "octo@example.com"})
//	gh.SetLogin("octocat") // who "logs in" at the authorize endpoint
//	// point the GitHub identity provider at gh.URL (web and API base)
//
// Tests change the accounts as GitHub would between a login and a later
// check: SetOrgs (removed from an organization), Rename (the old login is
// free to register again), RevokeTokens (the user revoked the app),
// SetTokenLifetime (expiring tokens with refresh tokens, as GitHub Apps
// issue) and SetAPIDown (GitHub unreachable).
package fakegithub
