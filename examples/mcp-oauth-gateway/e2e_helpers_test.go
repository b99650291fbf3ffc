package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// The end-to-end tests (e2e_*_test.go) drive the gateway with programs
// this project did not write: the official TypeScript SDK, MCP
// Inspector's CLI, @modelcontextprotocol/server-everything, a real
// redis-server and nginx. scripts/setup.sh installs them (the test command
// runs it); a test is skipped only where Node or nginx is absent, and
// fails when Node is there without the pinned packages.

// nodeTools are the Node programs scripts/setup.sh installs.
type nodeTools struct {
	node       string // Node 22
	clients    string // $MCP_CLIENTS: the SDK and MCP Inspector's CLI
	everything string // $MCP_SERVER_EVERYTHING
}

func cacheDir() string {
	if h := os.Getenv("MCP_TEST_HOME"); h != "" {
		return h
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "mcp-oauth-gateway")
}

// node finds Node 22 and the pinned npm packages.
func node(t *testing.T) nodeTools {
	t.Helper()
	n := nodeTools{node: os.Getenv("MCP_NODE22"), clients: os.Getenv("MCP_CLIENTS"), everything: os.Getenv("MCP_SERVER_EVERYTHING")}
	if n.node == "" {
		if p := filepath.Join(cacheDir(), "servers", "node_modules", ".bin", "node"); exists(p) {
			n.node = p
		}
	}
	if n.node == "" {
		t.Skip("Node 22 is not installed; run scripts/setup.sh (the test command does)")
	}
	if n.clients == "" {
		n.clients = filepath.Join(cacheDir(), "clients")
	}
	if n.everything == "" {
		n.everything = filepath.Join(cacheDir(), "servers", "node_modules", "@modelcontextprotocol", "server-everything")
	}
	for _, p := range []string{n.sdk(), n.inspector(), filepath.Join(n.everything, "dist", "index.js")} {
		if !exists(p) {
			t.Fatalf("%s is missing: run scripts/setup.sh", p)
		}
	}
	return n
}

func (n nodeTools) sdk() string {
	return filepath.Join(n.clients, "node_modules", "@modelcontextprotocol", "sdk")
}

func (n nodeTools) inspector() string {
	return filepath.Join(n.clients, "node_modules", "@modelcontextprotocol", "inspector-cli", "build", "cli.js")
}

// pathWithNode is PATH with Node's directory first (MCP Inspector's CLI
// starts "node" from PATH).
func (n nodeTools) pathWithNode() string {
	return filepath.Dir(n.node) + string(os.PathListSeparator) + os.Getenv("PATH")
}

// script is a file of scripts/e2e.
func script(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "e2e", name)
}

// lookPath finds a program on PATH or skips the test.
func lookPath(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (%s; scripts/setup.sh does it)", name, install)
	}
	return p
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
