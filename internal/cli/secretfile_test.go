package cli_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
)

// secretValue is in every secret these tests write: no message may hold it.
const secretValue = "s3cr3t-value"

// writeSecret writes content to a file of mode perm and returns its path.
func writeSecret(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// secretCommand has an environment-only secret (GITHUB_CLIENT_SECRET), one
// with a flag (--client-secret / MCP_CLIENT_SECRET), one with a file flag
// of its own (--upstream-keys-file), and a string that is no secret.
func secretCommand() (c *cli.Command, github, client, keys, plain *string) {
	c = cli.New("t", "")
	github = c.Secret("", "the client secret", "GITHUB_CLIENT_SECRET")
	client = c.Secret("client-secret", "the client's secret", "MCP_CLIENT_SECRET")
	keys = c.Secret("", "server keys", "UPSTREAM_KEYS")
	c.FileFlag("upstream-keys-file", "UPSTREAM_KEYS")
	plain = c.String("", "", "the client id", "GITHUB_CLIENT_ID")
	return
}

// A secret's NAME_FILE (or --FLAG-file) names a file holding its value:
// echo's trailing newline and surrounding space are dropped, the lines
// inside kept, the file's mode not held against it; the command line
// wins over the environment, as for any setting.
func TestSecretFromFile(t *testing.T) {
	echoed := writeSecret(t, "  "+secretValue+"\n", 0o444) // Docker mounts secrets 0444
	lines := writeSecret(t, "k1:"+secretValue+"\r\nk2:other\n\n", 0o600)
	for _, tc := range []struct {
		name                 string
		args, env            []string
		github, client, keys string
		source               map[string]string // setting -> Source
	}{
		{"variable's file", nil, []string{"GITHUB_CLIENT_SECRET_FILE", echoed}, secretValue, "", "",
			map[string]string{"GITHUB_CLIENT_SECRET": "GITHUB_CLIENT_SECRET_FILE"}},
		{"lines kept", nil, []string{"UPSTREAM_KEYS_FILE", lines}, "", "", "k1:" + secretValue + "\r\nk2:other",
			map[string]string{"UPSTREAM_KEYS": "UPSTREAM_KEYS_FILE"}},
		{"flag's file", []string{"--client-secret-file", echoed}, nil, "", secretValue, "",
			map[string]string{"client-secret": "--client-secret-file"}},
		{"file flag of an environment-only secret", []string{"--upstream-keys-file=" + lines}, nil, "", "", "k1:" + secretValue + "\r\nk2:other",
			map[string]string{"UPSTREAM_KEYS": "--upstream-keys-file"}},
		{"the flag's file over the variable", []string{"--client-secret-file", echoed}, []string{"MCP_CLIENT_SECRET", "from-env"}, "", secretValue, "",
			map[string]string{"client-secret": "--client-secret-file"}},
		{"the flag over the variable's file", []string{"--client-secret", "from-flag"}, []string{"MCP_CLIENT_SECRET_FILE", echoed}, "", "from-flag", "",
			map[string]string{"client-secret": "--client-secret"}},
		{"the variable, no file", nil, []string{"GITHUB_CLIENT_SECRET", "from-env"}, "from-env", "", "",
			map[string]string{"GITHUB_CLIENT_SECRET": "GITHUB_CLIENT_SECRET"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, github, client, keys, _ := secretCommand()
			if err := c.Parse(tc.args, envOf(tc.env...), nil); err != nil {
				t.Fatal(err)
			}
			if *github != tc.github || *client != tc.client || *keys != tc.keys {
				t.Errorf("github %q client %q keys %q, want %q %q %q", *github, *client, *keys, tc.github, tc.client, tc.keys)
			}
			for name, source := range tc.source {
				if c.Source(name) != source || !c.Given(name) {
					t.Errorf("%s from %q, want %q", name, c.Source(name), source)
				}
			}
		})
	}

	// A setting that is not a secret has no NAME_FILE.
	c, _, _, _, plain := secretCommand()
	if err := c.Parse(nil, envOf("GITHUB_CLIENT_ID_FILE", echoed), nil); err != nil || *plain != "" || c.Given("GITHUB_CLIENT_ID") {
		t.Errorf("GITHUB_CLIENT_ID_FILE: %q %v", *plain, err)
	}
}

// Each way a secret's file can be wrong exits 2 with a message naming the
// setting, where the path came from and the path, never the value.
func TestSecretFileErrors(t *testing.T) {
	good := writeSecret(t, secretValue+"\n", 0o600)
	blank := writeSecret(t, " \n\t\r\n", 0o600)
	big := writeSecret(t, strings.Repeat(secretValue, cli.MaxSecretFile/len(secretValue)+1), 0o600)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct {
		name      string
		args, env []string
		usage     bool // a UsageError rather than a SettingError
		want      string
	}{
		{"variable and its file", nil, []string{"GITHUB_CLIENT_SECRET", secretValue, "GITHUB_CLIENT_SECRET_FILE", good}, true,
			"GITHUB_CLIENT_SECRET and GITHUB_CLIENT_SECRET_FILE are both set: use one"},
		{"flag and its file", []string{"--client-secret", secretValue, "--client-secret-file", good}, nil, true,
			"--client-secret and --client-secret-file are both given: use one"},
		{"missing file", nil, []string{"GITHUB_CLIENT_SECRET_FILE", missing}, false,
			"bad value for GITHUB_CLIENT_SECRET (from GITHUB_CLIENT_SECRET_FILE): cannot read " + missing + ": no such file or directory"},
		{"missing file of a flag", []string{"--client-secret-file", missing}, nil, false,
			"bad value for --client-secret / MCP_CLIENT_SECRET (from --client-secret-file): cannot read " + missing + ": no such file or directory"},
		{"missing file of a variable of a flag", nil, []string{"MCP_CLIENT_SECRET_FILE", missing}, false,
			"bad value for --client-secret / MCP_CLIENT_SECRET (from MCP_CLIENT_SECRET_FILE): cannot read " + missing},
		{"missing file of a file flag", []string{"--upstream-keys-file", missing}, nil, false,
			"bad value for UPSTREAM_KEYS (from --upstream-keys-file): cannot read " + missing},
		{"a directory", nil, []string{"UPSTREAM_KEYS_FILE", dir}, false,
			"bad value for UPSTREAM_KEYS (from UPSTREAM_KEYS_FILE): " + dir + " is a directory, not a file"},
		{"empty file", nil, []string{"GITHUB_CLIENT_SECRET_FILE", "/dev/null"}, false,
			"(from GITHUB_CLIENT_SECRET_FILE): the file /dev/null is empty"},
		{"blank file", nil, []string{"GITHUB_CLIENT_SECRET_FILE", blank}, false,
			"(from GITHUB_CLIENT_SECRET_FILE): the file " + blank + " is empty"},
		{"file too large", nil, []string{"GITHUB_CLIENT_SECRET_FILE", big}, false,
			"(from GITHUB_CLIENT_SECRET_FILE): " + big + " is larger than 1MiB: not a secret"},
		{"file flag without a path", []string{"--client-secret-file="}, nil, false,
			"bad value for --client-secret / MCP_CLIENT_SECRET (from --client-secret-file): want the path of a file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _, _, _ := secretCommand()
			err := c.Parse(tc.args, envOf(tc.env...), nil)
			var se *cli.SettingError
			var ue *cli.UsageError
			if cli.Status(err) != 2 || (tc.usage && !errors.As(err, &ue)) || (!tc.usage && !errors.As(err, &se)) {
				t.Fatalf("%v (%T), want status 2 (usage error: %v)", err, err, tc.usage)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the message shows the secret: %v", err)
			}
		})
	}

	// A bad value read from a file names the file variable and hides the
	// value, as one from the variable does.
	c, _, _, _, _ := secretCommand()
	if err := c.Parse(nil, envOf("UPSTREAM_KEYS_FILE", good), nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Bad("UPSTREAM_KEYS", errors.New("not KEYID:BASE64")); err.Error() != "bad value for UPSTREAM_KEYS (from UPSTREAM_KEYS_FILE): not KEYID:BASE64" {
		t.Errorf("Bad: %v", err)
	}
}

// --help lists each secret's file variable next to its variable, the file
// flags with theirs, and the rule once.
func TestSecretFileHelp(t *testing.T) {
	c, _, _, _, _ := secretCommand()
	var help bytes.Buffer
	c.WriteHelp(&help)
	for _, want := range []string{
		"  GITHUB_CLIENT_SECRET (or GITHUB_CLIENT_SECRET_FILE: a file holding it)\n        the client secret\n",
		"  --client-secret SECRET\n        the client's secret [MCP_CLIENT_SECRET]\n" +
			"  --client-secret-file FILE\n        a FILE holding the value of --client-secret [MCP_CLIENT_SECRET_FILE]\n",
		"  --upstream-keys-file FILE\n        a FILE holding the value of UPSTREAM_KEYS [UPSTREAM_KEYS_FILE]\n",
		"  UPSTREAM_KEYS (or UPSTREAM_KEYS_FILE, --upstream-keys-file: a file holding it)\n",
		"A secret's variable NAME has NAME_FILE (and its flag --FLAG-file) naming a file",
	} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, help.String())
		}
	}
	if strings.Contains(help.String(), "GITHUB_CLIENT_ID_FILE") {
		t.Errorf("help offers a file for a setting that is not a secret:\n%s", help.String())
	}
	// Without secrets, no word of files.
	c = cli.New("t", "")
	c.String("name", "", "a name", "NAME")
	help.Reset()
	c.WriteHelp(&help)
	if strings.Contains(help.String(), "_FILE") {
		t.Errorf("help without secrets:\n%s", help.String())
	}
}

// A name that would make a secret's file variable or flag ambiguous is a
// programming error, found by the first run.
func TestSecretFileNameClash(t *testing.T) {
	for name, register := range map[string]func(c *cli.Command){
		"variable after":  func(c *cli.Command) { c.Secret("", "", "X"); c.String("", "", "", "X_FILE") },
		"variable before": func(c *cli.Command) { c.String("", "", "", "X_FILE"); c.Secret("", "", "X") },
		"flag after":      func(c *cli.Command) { c.Secret("key", "", "X"); c.String("key-file", "", "") },
		"flag before":     func(c *cli.Command) { c.String("key-file", "", ""); c.Secret("key", "", "X") },
		"not a secret":    func(c *cli.Command) { c.String("", "", "", "X"); c.FileFlag("x-file", "X") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			register(cli.New("t", ""))
		})
	}
}
