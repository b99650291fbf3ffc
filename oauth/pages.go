package oauth

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
)

// The HTML pages: consent, development login, device code entry, results
// and errors. html/template escapes everything they show (client names,
// redirect hosts, scopes, error text), and each response carries a strict
// Content-Security-Policy whose only allowance is the page's own inline
// style, by nonce. No script runs on any page.

const pageLayout = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} · {{.Service}}</title>
<style nonce="{{.Nonce}}">
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d1f23;margin:0}
main{max-width:30rem;margin:3rem auto;background:#fff;border-radius:10px;box-shadow:0 1px 4px rgba(0,0,0,.12);padding:1.5rem 2rem}
h1{font-size:1.3rem;margin:0 0 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem;margin:1rem 0}
dt{color:#5b6270}dd{margin:0;word-break:break-all}
code{background:#f0f1f3;border-radius:4px;padding:0 .25rem}
.note{color:#5b6270;font-size:.9rem}
.warn{background:#fff6db;border-radius:6px;padding:.6rem .8rem;font-size:.9rem}
.err{background:#fde8e8;border-radius:6px;padding:.6rem .8rem}
.actions{display:flex;gap:.75rem;margin-top:1.25rem}
.choices{display:flex;flex-direction:column;gap:.5rem;margin-top:.75rem}
button{font:inherit;padding:.55rem 1.1rem;border-radius:6px;border:1px solid #c4c8cf;background:#fff;cursor:pointer}
button.primary{background:#1f6feb;border-color:#1f6feb;color:#fff}
input[type=text]{font:inherit;padding:.5rem;border:1px solid #c4c8cf;border-radius:6px;width:100%;box-sizing:border-box}
</style>
</head>
<body><main>
<h1>{{.Title}}</h1>
{{template "body" .}}
<p class="note">{{.Service}}</p>
</main></body>
</html>`

var pageTemplates = map[string]*template.Template{
	"consent": mustPage(`{{define "body"}}
{{if .Data.Device}}<p class="warn"><strong>Is the device in front of you?</strong> A device showing the code <code>{{.Data.Device}}</code> asks to act as you. Continue only if you started this yourself, on a device you have with you, and it shows this code. If someone sent you this code or a link to this page (by email, chat or phone), choose Deny: approving would give them access to your account.</p>{{end}}
<p><strong>{{.Data.ClientName}}</strong> asks to access {{if .Data.Resources}}these services{{else}}this service{{end}} on your behalf.</p>
<dl>
<dt>Client</dt><dd>{{.Data.ClientName}} <span class="note">(client id <code>{{.Data.ClientID}}</code>)</span></dd>
{{if .Data.MetadataHost}}<dt>Published by</dt><dd><code>{{.Data.MetadataHost}}</code></dd>{{end}}
<dt>Redirects to</dt><dd><code>{{.Data.RedirectHost}}</code></dd>
{{if .Data.Scopes}}<dt>Permissions</dt><dd>{{range $i, $s := .Data.Scopes}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}</dd>{{end}}
{{range .Data.Resources}}<dt>Service</dt><dd><code>{{.}}</code></dd>{{end}}
</dl>
{{if .Data.SelfRegistered}}<p class="warn">This client registered itself; its name is not verified.{{if not .Data.Device}} Approve only if you started this sign-in and know the address above.{{end}}</p>{{end}}
{{if .Data.MetadataHost}}<p class="warn">This application describes itself in a document published by <code>{{.Data.MetadataHost}}</code>; its name is what that site says. {{if .Data.Device}}Anyone can start a device sign-in in this application's name: the publisher does not vouch for the device.{{else}}Approve only if you started this sign-in and trust <code>{{.Data.MetadataHost}}</code>.{{end}}</p>{{end}}
<form method="post" action="{{.Data.Action}}">
<input type="hidden" name="id" value="{{.Data.ID}}">
<input type="hidden" name="csrf" value="{{.Data.CSRF}}">
{{if gt (len .Data.Providers) 1}}<p>Approve by signing in with one of these:</p>
<div class="choices">
{{range .Data.Providers}}<button class="primary" type="submit" name="provider" value="{{.ID}}">Sign in with {{.Name}}</button>
{{end}}</div>
<div class="actions"><button type="submit" name="decision" value="deny">Deny</button></div>
{{else}}<div class="actions">
{{range .Data.Providers}}<button class="primary" type="submit" name="provider" value="{{.ID}}">Approve and sign in with {{.Name}}</button>
{{end}}<button type="submit" name="decision" value="deny">Deny</button>
</div>{{end}}
</form>
{{end}}`),
	"login": mustPage(`{{define "body"}}
<p class="warn">Development login: anyone who reaches this page can sign in under any name. Never expose it to the internet.</p>
{{if .Data.Error}}<p class="err">{{.Data.Error}}</p>{{end}}
<form method="post" action="{{.Data.Action}}">
<input type="hidden" name="state" value="{{.Data.State}}">
<label for="login">User name</label>
<input type="text" id="login" name="login" value="{{.Data.Login}}" autocomplete="username" autofocus required maxlength="39" pattern="[A-Za-z0-9][A-Za-z0-9-]*">
<div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form>
{{end}}`),
	"device": mustPage(`{{define "body"}}
<p>Enter the code your device shows.</p>
{{if .Data.Error}}<p class="err">{{.Data.Error}}</p>{{end}}
<form method="post" action="{{.Data.Action}}">
<input type="hidden" name="csrf" value="{{.Data.CSRF}}">
<input type="text" name="user_code" value="{{.Data.UserCode}}" autocomplete="off" autofocus required maxlength="20" placeholder="XXXX-XXXX">
<div class="actions"><button class="primary" type="submit">Continue</button></div>
</form>
{{end}}`),
	"message": mustPage(`{{define "body"}}
<p>{{.Data.Message}}</p>
{{end}}`),
	"error": mustPage(`{{define "body"}}
<p class="err">{{.Data.Message}}</p>
{{if .Data.Return}}<p class="note">Error code: <code>{{.Data.Code}}</code>. Nothing was shared with the application.</p>
<div class="actions"><a href="{{.Data.Return}}">Return to <code>{{.Data.ReturnHost}}</code> with this error</a></div>
{{else}}<p class="note">Error code: <code>{{.Data.Code}}</code>. Go back to the application and start again.</p>{{end}}
{{end}}`),
}

func mustPage(body string) *template.Template {
	t := template.Must(template.New("page").Parse(pageLayout))
	return template.Must(t.Parse(body))
}

// pageData is what every page template gets.
type pageData struct {
	Title   string
	Service string
	Nonce   string
	Data    any
}

// renderPage writes one HTML page with its status and security headers.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	nb := make([]byte, 16)
	_, _ = rand.Read(nb)
	nonce := base64.StdEncoding.EncodeToString(nb)
	var buf bytes.Buffer
	err := pageTemplates[name].Execute(&buf, pageData{Title: title, Service: s.serviceNm, Nonce: nonce, Data: data})
	if err != nil {
		s.log.ErrorContext(r.Context(), "oauth: render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows an error the browser cannot be redirected with (unknown
// client, bad redirect URI, expired login). It never redirects.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	oe := asOAuthError(err)
	status := pageStatus(oe)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "oauth: request failed", "path", r.URL.Path, "error", err)
	} else {
		s.log.DebugContext(r.Context(), "oauth: request refused", "path", r.URL.Path, "code", oe.Code, "error", err)
	}
	msg := oe.Description
	if msg == "" {
		msg = "The request could not be processed."
	}
	title := "Sign-in failed"
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		title = "Try again later"
	}
	setRetryAfter(w, oe.RetryAfter)
	s.renderPage(w, r, status, "error", title, errorPageData{Message: msg, Code: oe.Code})
}

// pageStatus is the status of an error page for oe: a browser has no
// credentials to retry with, so never 401.
func pageStatus(oe *Error) int {
	if status := oe.HTTPStatus(); status != http.StatusUnauthorized {
		return status
	}
	return http.StatusBadRequest
}

// errorPageData is what the error page shows. Return, when set, is a link
// back to the client's redirect URI with the error (checked by the caller:
// html/template would otherwise refuse a private-use scheme).
type errorPageData struct {
	Message, Code string
	Return        template.URL
	ReturnHost    string
}
