package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/mcp-oauth-gateway/gateway/oauth/mcpauth"
)

// newLogin returns the login of --login. "auto" takes the browser where
// there is a display, else the device grant when the server offers it,
// else paste-back on the terminal.
func newLogin(c *config, getenv func(string) string, stderr io.Writer) mcpauth.Login {
	// The progress line would disturb the paste prompt on the terminal.
	browser := withProgress(&mcpauth.Browser{CallbackPort: c.callbackPort, Open: opener(getenv), Out: stderr}, stderr)
	device := withProgress(&mcpauth.Device{Out: stderr}, stderr)
	paste := &mcpauth.Paste{CallbackPort: c.callbackPort}
	switch c.login {
	case "browser":
		return browser
	case "device":
		return device
	case "paste":
		return paste
	default:
		return mcpauth.LoginFunc(func(ctx context.Context, f *mcpauth.Flow) (*oauth2.Token, error) {
			switch {
			case hasDisplay(getenv):
				return browser.Authorize(ctx, f)
			case f.DeviceSupported():
				return device.Authorize(ctx, f)
			default:
				return paste.Authorize(ctx, f)
			}
		})
	}
}

// hasDisplay guesses whether a browser can be opened here.
func hasDisplay(getenv func(string) string) bool {
	if getenv("BROWSER") != "" {
		return true
	}
	switch runtime.GOOS {
	case "darwin", "windows":
		return getenv("SSH_CONNECTION") == ""
	}
	return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
}

// opener opens URLs with $BROWSER when set (a list of commands separated
// by ':', "%s" standing for the URL, else appended), else the system's.
func opener(getenv func(string) string) func(string) error {
	b := getenv("BROWSER")
	if b == "" {
		return mcpauth.OpenBrowser
	}
	return func(u string) error {
		var last error
		for _, c := range strings.Split(b, ":") {
			args := strings.Fields(c)
			if len(args) == 0 {
				continue
			}
			replaced := false
			for i, a := range args {
				if strings.Contains(a, "%s") {
					args[i], replaced = strings.ReplaceAll(a, "%s", u), true
				}
			}
			if !replaced {
				args = append(args, u)
			}
			cmd := exec.Command(args[0], args[1:]...)
			if last = cmd.Start(); last == nil {
				go func() { _ = cmd.Wait() }()
				return nil
			}
		}
		return last
	}
}

// withProgress shows a progress line on the terminal while a login waits
// for the user.
func withProgress(l mcpauth.Login, w io.Writer) mcpauth.Login {
	f, ok := w.(*os.File)
	if !ok {
		return l
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return l
	}
	return mcpauth.LoginFunc(func(ctx context.Context, fl *mcpauth.Flow) (*oauth2.Token, error) {
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			frames := `|/-\`
			start := time.Now()
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-done:
					fmt.Fprint(w, "\r\033[K")
					return
				case <-tick.C:
					fmt.Fprintf(w, "\r%c waiting for the authorization of %s (%s)\033[K", frames[i%4], fl.Issuer(), time.Since(start).Round(time.Second))
				}
			}
		}()
		tok, err := l.Authorize(ctx, fl)
		close(done)
		wg.Wait()
		return tok, err
	})
}
