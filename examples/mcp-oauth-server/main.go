// Command mcp-oauth-server is the OAuth 2.1 authorization server of the MCP
// OAuth Gateway: dynamic client registration, PKCE, GitHub login, JWT
// access tokens and rotating refresh tokens. See README.md.
package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/admincmd"
	"github.com/mcp-oauth-gateway/gateway/internal/authcmd"
	"github.com/mcp-oauth-gateway/gateway/internal/cli"
)

const name = "mcp-oauth-server"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "admin" {
		os.Exit(admincmd.Main(name, os.Args[2:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(runMain(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// runMain is the binary: it returns the exit status (0 after --help or a
// shutdown, 2 for a bad setting, 1 when the server cannot run).
func runMain(args []string, env func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, env, stdout)
	if err != nil {
		return cli.Exit(stderr, name, err)
	}
	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	return cli.Exit(stderr, name, run(ctx, cfg, stderr))
}

// parseConfig reads flags (args) and environment variables (the settings
// of package authcmd); --help goes to help. Flags win.
func parseConfig(args []string, env func(string) string, help io.Writer) (*authcmd.Config, error) {
	c := cli.New(name, "The OAuth 2.1 authorization server of the MCP OAuth Gateway: dynamic client registration, "+
		"PKCE, GitHub login, JWT access tokens, rotating refresh tokens, and the /verify endpoint of the reverse proxy "+
		"in front of MCP services. See examples/mcp-oauth-server/README.md.")
	settings := authcmd.Register(c, authcmd.Binary{Name: name, Port: 8000}, env)
	c.Note("Subcommands: " + name + " admin ... (clients, grants, counts, purge, backups, connection traces; see admin --help).")
	if err := c.Parse(args, env, help); err != nil {
		return nil, err
	}
	return settings.Config()
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, cfg *authcmd.Config, logOut io.Writer) error {
	log, closeLog, err := cfg.LogFile.Logger(logOut, cfg.LogLevel)
	if err != nil {
		return err
	}
	defer closeLog()

	// Listen first: without --issuer or BASE_DOMAIN the issuer is the
	// address actually listened on, so --port 0 advertises the real port.
	ln, err := cfg.Listen.Listen(ctx)
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.Issuer == "" {
		cfg.Issuer = authcmd.ListenIssuer("http", ln.Addr())
	}
	auth, err := authcmd.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer auth.Close()
	// The admin subcommands reach an open file through this socket.
	defer admincmd.ServeStore(ctx, cfg.Store, auth.Store, log)()
	authcmd.OnHangup(ctx, auth.ReloadResources)
	return cli.Serve(ctx, ln, auth.Routes(), &cli.ServeOptions{
		Logger:       log,
		LogAttrs:     auth.LogAttrs(),
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
	})
}
