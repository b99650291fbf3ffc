package cli_test

import (
	"bytes"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcp-oauth-gateway/gateway/internal/cli"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// The flag wins over every variable; the first variable set (and not
// blank) wins over the later ones; the default comes last.
func TestPrecedence(t *testing.T) {
	cases := []struct {
		args       []string
		env        []string
		want       string
		wantSource string
	}{
		{nil, nil, "default", ""},
		{nil, []string{"SECOND", "two"}, "two", "SECOND"},
		{nil, []string{"FIRST", "one", "SECOND", "two"}, "one", "FIRST"},
		{nil, []string{"FIRST", "  ", "SECOND", " two "}, "two", "SECOND"},
		{[]string{"--name", "flag"}, []string{"FIRST", "one"}, "flag", "--name"},
		{[]string{"-name=flag"}, []string{"FIRST", "one"}, "flag", "--name"},
	}
	for _, tc := range cases {
		c := cli.New("t", "")
		v := c.String("name", "default", "a name", "FIRST", "SECOND")
		if err := c.Parse(tc.args, envOf(tc.env...), nil); err != nil {
			t.Fatalf("%v %v: %v", tc.args, tc.env, err)
		}
		if *v != tc.want || c.Source("name") != tc.wantSource || c.Given("name") != (tc.wantSource != "") {
			t.Errorf("%v %v: %q from %q, want %q from %q", tc.args, tc.env, *v, c.Source("name"), tc.want, tc.wantSource)
		}
	}
	// A bad variable does not matter when the flag is given.
	c := cli.New("t", "")
	port := c.Port("port", 3000, "port", "PORT")
	if err := c.Parse([]string{"--port", "8080"}, envOf("PORT", "bad"), nil); err != nil || *port != 8080 {
		t.Errorf("flag over a bad variable: %d %v", *port, err)
	}
}

// Each kind of value accepts one syntax, the same in every binary, and
// refuses the rest with a SettingError.
func TestValueSyntaxes(t *testing.T) {
	type kind struct {
		register func(c *cli.Command) func() any
		good     map[string]any
		bad      []string
	}
	kinds := map[string]kind{
		"bool": {
			func(c *cli.Command) func() any { p := c.Bool("v", false, "", "V"); return func() any { return *p } },
			map[string]any{"true": true, "TRUE": true, "1": true, "yes": true, "On": true, "false": false, "0": false, "NO": false, "off": false},
			[]string{"maybe", "2", "y", "tru", "enable"},
		},
		"int": {
			func(c *cli.Command) func() any { p := c.Int("v", 0, -1, 10, "", "V"); return func() any { return *p } },
			map[string]any{"-1": -1, "0": 0, "10": 10, "+3": 3},
			[]string{"11", "-2", "1.5", "ten"},
		},
		"port": {
			func(c *cli.Command) func() any { p := c.Port("v", 1, "", "V"); return func() any { return *p } },
			map[string]any{"0": 0, "8080": 8080, "65535": 65535},
			[]string{"65536", "-1", "http", "80.0"},
		},
		"duration": {
			func(c *cli.Command) func() any {
				p := c.Duration("v", time.Second, "", "V")
				return func() any { return *p }
			},
			map[string]any{"30": 30 * time.Second, "2.5": 2500 * time.Millisecond, "45s": 45 * time.Second, "2m": 2 * time.Minute, "1h30m": 90 * time.Minute, "500ms": 500 * time.Millisecond},
			[]string{"0", "0s", "-5", "soon", "NaN", "inf", "1e300", "0x10"},
		},
		"duration or zero": {
			func(c *cli.Command) func() any {
				p := c.DurationOrZero("v", time.Second, "", "V")
				return func() any { return *p }
			},
			map[string]any{"0": time.Duration(0), "0s": time.Duration(0), "300": 300 * time.Second},
			[]string{"-1", "never"},
		},
		"size": {
			func(c *cli.Command) func() any { p := c.Size("v", 1, "", "V"); return func() any { return *p } },
			map[string]any{"1048576": int64(1 << 20), "512KiB": int64(512 << 10), "10MB": int64(10e6), "10 MiB": int64(10 << 20), "1GiB": int64(1 << 30), "100B": int64(100), "2kib": int64(2048)},
			[]string{"0", "-1", "big", "2TiB", "1.5MiB"},
		},
		"list": {
			func(c *cli.Command) func() any { p := c.List("v", nil, "", "V"); return func() any { return *p } },
			map[string]any{"a,b": []string{"a", "b"}, " a , ,b ": []string{"a", "b"}, `["a", " b"]`: []string{"a", "b"}, "a b": []string{"a b"}},
			[]string{`["a"`, `[1,2]`},
		},
		"enum": {
			func(c *cli.Command) func() any {
				p := c.Enum("v", "auto", []string{"auto", "translate", "off"}, "", "V")
				return func() any { return *p }
			},
			map[string]any{"auto": "auto", "TRANSLATE": "translate", "Off": "off"},
			[]string{"on", "automatic"},
		},
		"url": {
			func(c *cli.Command) func() any {
				p := c.URL("v", "", []string{"redis", "rediss", "unix"}, "", "V")
				return func() any { return *p }
			},
			map[string]any{"redis://127.0.0.1:6379/0": "redis://127.0.0.1:6379/0", "rediss://:pw@h:6380": "rediss://:pw@h:6380", "unix:///run/redis.sock": "unix:///run/redis.sock"},
			[]string{"notaurl", "http://h", "redis://", "redis:/path", "/tmp/file", "unix://"},
		},
		"log level": {
			func(c *cli.Command) func() any {
				p := c.LogLevel("v", slog.LevelInfo, "", "V")
				return func() any { return *p }
			},
			map[string]any{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warning": slog.LevelWarn, "Warn": slog.LevelWarn, "ERROR": slog.LevelError, "critical": slog.LevelError},
			[]string{"loud", "5"},
		},
	}
	for name, k := range kinds {
		for in, want := range k.good {
			for _, how := range []string{"flag", "env"} {
				c := cli.New("t", "")
				get := k.register(c)
				args, env := []string{"--v=" + in}, envOf()
				if how == "env" {
					args, env = nil, envOf("V", in)
				}
				if err := c.Parse(args, env, nil); err != nil {
					t.Errorf("%s %q by %s: %v", name, in, how, err)
					continue
				}
				if got := get(); !equal(got, want) {
					t.Errorf("%s %q by %s = %v, want %v", name, in, how, got, want)
				}
			}
		}
		for _, in := range k.bad {
			c := cli.New("t", "")
			k.register(c)
			err := c.Parse(nil, envOf("V", in), nil)
			var se *cli.SettingError
			if !errors.As(err, &se) || cli.Status(err) != 2 {
				t.Errorf("%s %q: %v, want a SettingError", name, in, err)
				continue
			}
			if !strings.Contains(err.Error(), "--v / V") || !strings.Contains(err.Error(), "want") {
				t.Errorf("%s %q: message %q does not name the setting and what it wants", name, in, err)
			}
		}
	}
}

func equal(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, _ := b.([]string)
		return slices.Equal(as, bs)
	}
	return a == b
}

// A bad value names the flag, every variable, the value and, when it came
// from a variable, which one.
func TestSettingErrorMessage(t *testing.T) {
	c := cli.New("t", "")
	c.Bool("trust-gateway-headers", false, "", "MCP_ECHO_TRUST_GATEWAY_HEADERS", "MCP_TRUST_GATEWAY_HEADERS")
	err := c.Parse(nil, envOf("MCP_TRUST_GATEWAY_HEADERS", "TRUEISH"), nil)
	want := `bad value "TRUEISH" for --trust-gateway-headers / MCP_ECHO_TRUST_GATEWAY_HEADERS / MCP_TRUST_GATEWAY_HEADERS (from MCP_TRUST_GATEWAY_HEADERS): want true or false (also 1/0, yes/no, on/off)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	c = cli.New("t", "")
	c.Bool("debug", false, "", "MCP_ECHO_DEBUG")
	if err := c.Parse([]string{"--debug=maybe"}, envOf(), nil); err == nil ||
		err.Error() != `bad value "maybe" for --debug / MCP_ECHO_DEBUG: want true or false (also 1/0, yes/no, on/off)` {
		t.Errorf("flag: %v", err)
	}
	// Bad on a checked combination, from the default.
	c = cli.New("t", "")
	c.Duration("max-timeout", 10*time.Second, "", "FETCH_MAX_TIMEOUT")
	_ = c.Parse(nil, envOf(), nil)
	if err := c.Bad("max-timeout", errors.New("below the timeout")); err.Error() != `bad value "10s" for --max-timeout / FETCH_MAX_TIMEOUT (its default): below the timeout` {
		t.Errorf("Bad: %v", err)
	}
}

// A secret is never shown, in --help or in an error.
func TestSecretNeverShown(t *testing.T) {
	c := cli.New("t", "")
	c.Secret("", "the client secret", "GITHUB_CLIENT_SECRET")
	if err := c.Parse(nil, envOf("GITHUB_CLIENT_SECRET", "s3cr3t-value"), nil); err != nil {
		t.Fatal(err)
	}
	err := c.Bad("GITHUB_CLIENT_SECRET", errors.New("refused by GitHub"))
	var help bytes.Buffer
	c.WriteHelp(&help)
	if strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "GITHUB_CLIENT_SECRET") {
		t.Errorf("error %q", err)
	}
	if !strings.Contains(help.String(), "GITHUB_CLIENT_SECRET") || strings.Contains(help.String(), "s3cr3t") {
		t.Errorf("help:\n%s", help.String())
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		c := cli.New("mcp-test", "A test binary.")
		c.Listen(3000, "MCP_TEST_HOST", "")
		c.Bool("debug", false, "log more", "MCP_TEST_DEBUG")
		c.List("allowed-origins", []string{"https://a.example"}, "origins", "MCP_A", "MCP_B")
		c.Duration("timeout", 90*time.Second, "how long", "MCP_TIMEOUT")
		c.String("", "", "the app id", "APP_ID")
		c.String("config", "", "a config `FILE`")
		var out bytes.Buffer
		err := c.Parse([]string{arg}, envOf(), &out)
		if !errors.Is(err, cli.ErrHelp) || cli.Status(err) != 0 {
			t.Fatalf("%s: %v", arg, err)
		}
		help := out.String()
		for _, want := range []string{
			"Usage: mcp-test [flags]", "A test binary.",
			"--host HOST", "[MCP_TEST_HOST] (default 127.0.0.1)",
			"--port PORT", "(default 3000)",
			"--debug\n", "log more [MCP_TEST_DEBUG] (default false)",
			"--allowed-origins LIST", "[MCP_A, MCP_B] (default https://a.example)",
			"--timeout DURATION", "(default 90s)",
			"--config FILE", "a config FILE\n",
			"Read only from the environment:\n  APP_ID",
			"true or false, 1 or 0, yes or no, on or off", "comma-separated", "Durations are seconds",
		} {
			if !strings.Contains(help, want) {
				t.Errorf("%s: help lacks %q:\n%s", arg, want, help)
			}
		}
		if strings.Contains(help, "Sizes") {
			t.Errorf("help explains sizes, which no setting takes")
		}
	}
}

func TestCommandLineErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nope"}, "unknown flag --nope (see t --help)"},
		{[]string{"-nope=1"}, "unknown flag --nope"},
		{[]string{"--name"}, "--name needs a value"},
		{[]string{"serve"}, `unexpected argument "serve"`},
		{[]string{"--name", "x", "serve", "--name", "y"}, `unexpected argument "serve"`},
		{[]string{"--debug", "false"}, "--debug false: a boolean flag takes its value after =, as in --debug=false"},
	} {
		c := cli.New("t", "")
		c.String("name", "", "")
		c.Bool("debug", false, "")
		err := c.Parse(tc.args, envOf(), nil)
		var ue *cli.UsageError
		if !errors.As(err, &ue) || cli.Status(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want a UsageError with %q", tc.args, err, tc.want)
		}
	}
}

func TestPositionalArguments(t *testing.T) {
	c := cli.New("t", "")
	c.AcceptArgs("[--] command [args...]")
	port := c.Port("port", 1, "")
	if err := c.Parse([]string{"--port", "2", "--", "srv", "--port", "3"}, envOf(), nil); err != nil {
		t.Fatal(err)
	}
	if *port != 2 || !slices.Equal(c.Args(), []string{"srv", "--port", "3"}) {
		t.Errorf("port %d args %q", *port, c.Args())
	}
	// "--shared false" would run the command "false" with --shared on.
	c = cli.New("t", "")
	c.AcceptArgs("command")
	c.Bool("shared", false, "")
	if err := c.Parse([]string{"--shared", "false", "srv"}, envOf(), nil); cli.Status(err) != 2 {
		t.Errorf("--shared false srv: %v", err)
	}
	c = cli.New("t", "")
	c.AcceptArgs("command")
	c.Bool("shared", false, "")
	if err := c.Parse([]string{"--shared", "--", "false"}, envOf(), nil); err != nil || !slices.Equal(c.Args(), []string{"false"}) {
		t.Errorf("--shared -- false: %v", err)
	}
}

func TestStatusAndExit(t *testing.T) {
	var stderr bytes.Buffer
	for _, tc := range []struct {
		err    error
		status int
		out    string
	}{
		{nil, 0, ""},
		{cli.ErrHelp, 0, ""},
		{cli.Usagef("no command"), 2, "bin: no command\n"},
		{&cli.SettingError{Flag: "port", Env: []string{"PORT"}, Value: "x", Source: "PORT", Err: errors.New("want a port")}, 2,
			"bin: bad value \"x\" for --port / PORT (from PORT): want a port\n"},
		{errors.New("listen tcp: address already in use"), 1, "bin: listen tcp: address already in use\n"},
	} {
		stderr.Reset()
		if got := cli.Exit(&stderr, "bin", tc.err); got != tc.status || stderr.String() != tc.out {
			t.Errorf("%v: status %d, stderr %q; want %d, %q", tc.err, got, stderr.String(), tc.status, tc.out)
		}
	}
}

func TestIntWithoutUpperBound(t *testing.T) {
	c := cli.New("t", "")
	c.Int("max", 1, -1, math.MaxInt, "", "MAX")
	if err := c.Parse(nil, envOf("MAX", "-2"), nil); err == nil || !strings.Contains(err.Error(), "want a whole number, -1 or more") {
		t.Errorf("%v", err)
	}
}

func TestLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "app.log")
	c := cli.New("t", "")
	lf := c.LogFile()
	if err := c.Parse(nil, envOf("LOG_FILE", path), nil); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	log, closeLog, err := lf.Logger(&stderr, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello")
	log.Debug("hidden")
	closeLog()
	written, _ := os.ReadFile(path)
	if !strings.Contains(string(written), "msg=hello") || strings.Contains(string(written), "hidden") || !strings.Contains(stderr.String(), "msg=hello") {
		t.Errorf("file %q stderr %q", written, stderr.String())
	}

	c = cli.New("t", "")
	lf = c.LogFile()
	_ = c.Parse(nil, envOf("LOG_FILE", "/dev/null/app.log"), nil)
	if _, _, err := lf.Logger(&stderr, slog.LevelInfo); cli.Status(err) != 2 || !strings.Contains(err.Error(), "--log-file / LOG_FILE (from LOG_FILE)") {
		t.Errorf("unwritable file: %v", err)
	}
}

// A short alias sets the same setting as its flag, booleans included, and
// --help shows both names on one line.
func TestShortAlias(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		command string
		token   bool
	}{
		{[]string{"-c", "echo hi"}, "echo hi", false},
		{[]string{"--command", "echo hi", "-t"}, "echo hi", true},
		{[]string{"-t=false", "-c=x"}, "x", false},
	} {
		c := cli.New("t", "")
		command := c.String("command", "", "a `TOOL` call")
		c.Short("c", "command")
		token := c.Bool("token", false, "the token")
		c.Short("t", "token")
		if err := c.Parse(tc.args, envOf(), nil); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if *command != tc.command || *token != tc.token || c.Source("command") != "--command" {
			t.Errorf("%v: command %q token %v source %q", tc.args, *command, *token, c.Source("command"))
		}
	}
	c := cli.New("t", "")
	c.Bool("token", false, "the token")
	c.Short("t", "token")
	if err := c.Parse([]string{"-t", "false"}, envOf(), nil); cli.Status(err) != 2 || !strings.Contains(err.Error(), "after =") {
		t.Errorf("-t false: %v", err)
	}
	var help bytes.Buffer
	c = cli.New("t", "")
	c.String("command", "", "a `TOOL` call")
	c.Short("c", "command")
	c.WriteHelp(&help)
	if !strings.Contains(help.String(), "  -c, --command TOOL\n") {
		t.Errorf("help:\n%s", help.String())
	}
}

// A repeated flag collects every occurrence in order; its variable gives
// one value per line, and only when no flag is given.
func TestRepeated(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  []string
		want []string
	}{
		{nil, nil, nil},
		{[]string{"--header", "A: 1", "--header=B: 2, 3"}, []string{"HEADERS", "C: 4"}, []string{"A: 1", "B: 2, 3"}},
		{nil, []string{"HEADERS", "C: 4\r\n\nD: 5\n"}, []string{"C: 4", "D: 5"}},
	} {
		c := cli.New("t", "")
		h := c.Repeated("header", "a `K:V` header", "HEADERS")
		if err := c.Parse(tc.args, envOf(tc.env...), nil); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(*h, tc.want) {
			t.Errorf("%v %v: %q, want %q", tc.args, tc.env, *h, tc.want)
		}
	}
	var help bytes.Buffer
	c := cli.New("t", "")
	c.Repeated("header", "a `K:V` header")
	c.WriteHelp(&help)
	if !strings.Contains(help.String(), "--header K:V\n        a K:V header (repeatable)") || !strings.Contains(help.String(), "may be given several times") {
		t.Errorf("help:\n%s", help.String())
	}
}
