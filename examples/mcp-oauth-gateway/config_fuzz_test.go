package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfig: any file gives a configuration or an error naming the file,
// never a panic.
func FuzzConfig(f *testing.F) {
	example, err := os.ReadFile("gateway.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(example))
	f.Add("services:\n  - {name: a, builtin: fetch}\n")
	f.Add("services:\n  - name: a\n    stdio: {command: x, env: {A_KEY: {env: X}}}\n")
	f.Add("routing: {mode: host, domain: example.com}\ntls: {acme: {accept_tos: true, http_port: 0}}\n")
	f.Add("a: &x [*x]\n")
	f.Add("services: !!map {}\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, doc string) {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		fc, err := loadConfig(path, func(string) string { return "v" }, "sso")
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		if fc.Services == nil {
			t.Fatal("no services after a successful load")
		}
	})
}
