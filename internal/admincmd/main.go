package admincmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/authcmd"
	"github.com/mcp-oauth-gateway/gateway/internal/cli"
)

// defaultRevokeFor is how long a revocation is recorded by default: longer
// than an access token lives unless ACCESS_TOKEN_LIFETIME says more.
const defaultRevokeFor = 24 * time.Hour

// Main runs "NAME admin ARGS..." (args without "admin") and returns the
// exit status: 0, 2 for a usage error, 1 when the command failed.
func Main(name string, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := cli.New(name+" admin", "The operator's tools on the store of "+name+": clients, grants, counts, purge, "+
		"backup and restore, connection traces. The store is chosen as the server chooses it (--store, REDIS_URL, "+
		"else the embedded file). While a server runs on the embedded file, commands go through its admin socket "+
		"(FILE.admin.sock).")
	c.AcceptArgs("COMMAND [ARGS...]")
	storeFlag := c.String("store", "", "the store: a file `PATH`, redis://... (default: --redis-url, else "+authcmd.DefaultStorePath(name, getenv)+")")
	redisURL := c.URL("redis-url", "", []string{"redis", "rediss", "unix"}, "the store in Redis", "REDIS_URL")
	redisPass := c.Secret("", "Redis password; overrides the URL's", "REDIS_PASSWORD")
	asJSON := c.Bool("json", false, "write JSON instead of tables")
	revokeFor := c.Duration("revoke-for", defaultRevokeFor, "how long revocations are kept: longer than access tokens live", "ACCESS_TOKEN_LIFETIME")
	var b strings.Builder
	for _, cmd := range commands {
		fmt.Fprintf(&b, "%s %s: %s. ", cmd.name, cmd.args, cmd.help)
	}
	c.Note("Commands: " + b.String())
	if err := c.Parse(args, getenv, stdout); err != nil {
		return cli.Exit(stderr, c.Name(), err)
	}
	spec := *storeFlag
	if spec == "" {
		spec = *redisURL
	}
	if spec == "" {
		spec = authcmd.DefaultStorePath(name, getenv)
	}
	rf := max(*revokeFor, defaultRevokeFor)
	ctx, stop := cli.SignalContext(context.Background())
	defer stop()
	err := run(ctx, spec, *redisPass, c.Args(), *asJSON, rf, stdin, stdout)
	return cli.Exit(stderr, c.Name(), err)
}

// run runs the command on spec's store: through the server's admin socket
// when one answers for a file store, else on the store opened here.
func run(ctx context.Context, spec, redisPass string, args []string, asJSON bool, revokeFor time.Duration, stdin io.Reader, stdout io.Writer) error {
	cmd, err := parse(args)
	if err != nil {
		return err
	}
	if spec == "memory" {
		return cli.Usagef("the memory store lives inside the server process: there is nothing to open (use --store FILE or REDIS_URL)")
	}
	if !authcmd.IsRedisURL(spec) {
		if _, err := os.Stat(spec); errors.Is(err, os.ErrNotExist) && args[0] != "restore" {
			return fmt.Errorf("no store file %s (start the server once, or name it with --store)", spec)
		}
		err := runRemote(ctx, SocketPath(spec), args, asJSON, revokeFor, stdin, stdout)
		if !errors.Is(err, errNoServer) {
			return err
		}
	}
	quiet := slog.New(slog.DiscardHandler)
	st, closeStore, err := authcmd.OpenStore(ctx, spec, redisPass, quiet)
	if err != nil {
		if strings.Contains(err.Error(), "locked by another process") {
			return fmt.Errorf("%v; its server does not answer on %s: stop it, or wait for it to start", err, SocketPath(spec))
		}
		return err
	}
	defer closeStore()
	as, ok := st.(store)
	if !ok {
		return fmt.Errorf("the store %T has no admin interface", st)
	}
	r := &runner{s: as, stdin: stdin, stdout: stdout, json: asJSON, now: time.Now, revokeFor: revokeFor}
	return cmd(ctx, r)
}

// runRemote runs the command on the server behind the socket. Backups are
// read and written here, so that a relative FILE means the same as without
// a server.
func runRemote(ctx context.Context, sock string, args []string, asJSON bool, revokeFor time.Duration, stdin io.Reader, stdout io.Writer) error {
	req := &request{Args: append([]string(nil), args...), JSON: asJSON, RevokeFor: revokeFor}
	var backupTo string
	switch {
	case len(args) == 2 && args[0] == "backup" && args[1] != "-":
		backupTo, req.Args[1] = args[1], "-"
	case len(args) == 2 && args[0] == "restore":
		var err error
		if args[1] == "-" {
			req.Stdin, err = io.ReadAll(io.LimitReader(stdin, 1<<30))
		} else {
			req.Stdin, err = os.ReadFile(args[1])
		}
		if err != nil {
			return err
		}
		req.Args[1] = "-"
	}
	resp, err := remote(ctx, sock, req)
	if err != nil {
		return err
	}
	if resp.Status != 0 {
		if resp.Status == 2 {
			return cli.Usagef("%s", resp.Error)
		}
		return errors.New(resp.Error)
	}
	if backupTo != "" {
		if err := writePrivate(backupTo, resp.Stdout); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup %s written by the running server\n", backupTo)
		return nil
	}
	_, err = stdout.Write(resp.Stdout)
	return err
}
