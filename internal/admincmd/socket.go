package admincmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/authcmd"
	"github.com/mcp-oauth-gateway/gateway/internal/cli"
	"github.com/mcp-oauth-gateway/gateway/oauth"
)

// SocketPath is the admin socket of the file store at storePath.
func SocketPath(storePath string) string { return storePath + ".admin.sock" }

// maxSocketPath is the longest Unix socket path every platform takes.
const maxSocketPath = 100

// request is one command sent over the socket.
type request struct {
	Args      []string      `json:"args"`
	Stdin     []byte        `json:"stdin,omitempty"`
	JSON      bool          `json:"json,omitempty"`
	RevokeFor time.Duration `json:"revoke_for"`
}

// response is its result.
type response struct {
	Stdout []byte `json:"stdout"`
	Error  string `json:"error,omitempty"`
	Status int    `json:"status"`
}

// Serve answers admin commands on the admin socket of the file store at
// storePath with st, the store the server has open, until ctx ends. It
// replaces a socket file nobody answers on (left by a server that was
// killed). The socket is 0600. stop closes it and removes the file.
func Serve(ctx context.Context, storePath string, st oauth.Store, log *slog.Logger) (stop func(), err error) {
	as, ok := st.(store)
	if !ok {
		return nil, fmt.Errorf("admin socket: the store %T has no admin interface", st)
	}
	path := SocketPath(storePath)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("admin socket: the path %s is too long for a Unix socket; run admin commands while the server is stopped", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("admin socket %s: another server answers there", path)
	}
	_ = os.Remove(path)
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<30)).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var out bytes.Buffer
		run := &runner{s: as, stdin: bytes.NewReader(req.Stdin), stdout: &out, json: req.JSON, now: time.Now, revokeFor: req.RevokeFor}
		if run.revokeFor <= 0 {
			run.revokeFor = defaultRevokeFor
		}
		err := run.run(r.Context(), req.Args)
		resp := response{Stdout: out.Bytes(), Status: cli.Status(err)}
		if err != nil {
			resp.Error = err.Error()
		}
		log.Info("admin command", "command", firstArg(req.Args), "status", resp.Status)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&resp)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		_ = os.Remove(path)
	}, nil
}

// ServeStore serves the admin socket of the store named spec (the
// --store value) when it is the embedded file, and logs why not when it
// cannot; stop closes it. Other stores need no socket (Redis is shared;
// nothing outside reaches a memory store).
func ServeStore(ctx context.Context, spec string, st oauth.Store, log *slog.Logger) (stop func()) {
	if authcmd.IsRedisURL(spec) || spec == "memory" {
		return func() {}
	}
	stop, err := Serve(ctx, spec, st, log)
	if err != nil {
		log.Warn("no admin socket: admin commands need the server stopped", "error", err)
		return func() {}
	}
	return stop
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// errNoServer: nobody answers on the socket.
var errNoServer = errors.New("admincmd: no server on the admin socket")

// remote runs req on the server behind the socket at path.
func remote(ctx context.Context, path string, req *request) (*response, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, errNoServer
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hr, _ := http.NewRequestWithContext(ctx, "POST", "http://admin/run", bytes.NewReader(body))
	resp, err := client.Do(hr)
	if err != nil {
		var ne *net.OpError
		if errors.As(err, &ne) && ne.Op == "dial" {
			return nil, errNoServer
		}
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("admin socket %s: %s", path, resp.Status)
	}
	var out response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	return &out, nil
}
