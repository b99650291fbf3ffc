// Package authcmd is the authorization server's part of the command line,
// shared by examples/mcp-oauth-server and examples/mcp-oauth-gateway so
// that their flags and environment variables mean the same and cannot
// drift apart:
//
//   - Register adds the settings table (--issuer, --store, --dev-login,
//     --dev-user, --host, --port, --resource-config, REDIS_URL,
//     GITHUB_CLIENT_ID, ALLOWED_GITHUB_USERS, the token lifetimes, ...) to
//     a cli.Command;
//   - Settings.Config checks the values against each other once the
//     command line is parsed and applies the defaults; a binary may add
//     OpenID providers configured elsewhere (the gateway's --config
//     providers:) after OIDC_ISSUER's;
//   - Open builds the server from a Config: the store (the embedded file,
//     Redis or memory), the identity providers (GitHub and the OpenID
//     providers, or the development login), the oauth.Server, and its
//     resource-server side in the same
//     process (an oauth.Verifier following the store's revocations and the
//     /verify endpoint of --resource-config);
//   - OpenStore opens a store alone, for the admin subcommands.
//
// A binary:
//
//	c := cli.New("mcp-oauth-server", "...")
//	settings := authcmd.Register(c, authcmd.Binary{Name: "mcp-oauth-server", Port: 8000}, getenv)
//	if err := c.Parse(args, getenv, stdout); err != nil {
//		return cli.Exit(stderr, c.Name(), err)
//	}
//	cfg, err := settings.Config() // or Config(moreProviders...)
//	...
//	auth, err := authcmd.Open(ctx, cfg, log)
//	defer auth.Close()
//	return cli.Serve(ctx, ln, auth.Routes(), ...)
package authcmd
