package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The RFC 8628 device authorization grant, for clients without a browser:
// the device asks POST /device_authorization for a device code and a user
// code, the user enters the user code at /device (behind the same consent
// and login as /authorize), and the device polls /token until the user
// approved or denied.

// userCodeAlphabet has no vowels (no words) and no look-alikes (RFC 8628
// §6.1): 20 letters, 8 of them give 34 bits.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

const (
	userCodeLen      = 8
	deviceCSRFCookie = "mcp_oauth_device"
	deviceEntryLimit = 30 // user-code entries per IP and minute
)

// deviceResponse is the RFC 8628 §3.2 response.
type deviceResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// newUserCode returns 8 random letters of userCodeAlphabet.
func newUserCode() string {
	b := make([]byte, userCodeLen)
	_, _ = rand.Read(b)
	out := make([]byte, userCodeLen)
	for i, c := range b {
		// 256 is not a multiple of 20; the bias (under 8 %) costs a
		// fraction of a bit of the 34.
		out[i] = userCodeAlphabet[int(c)%len(userCodeAlphabet)]
	}
	return string(out)
}

// normalizeUserCode makes what a user typed comparable: upper case, only
// letters of the alphabet ("bcdf-ghjk" and "BCDF GHJK" are the same).
func normalizeUserCode(s string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		if strings.ContainsRune(userCodeAlphabet, c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// displayUserCode formats a user code as XXXX-XXXX.
func displayUserCode(c string) string {
	if len(c) != userCodeLen {
		return c
	}
	return c[:4] + "-" + c[4:]
}

// serveDeviceAuthorization handles POST /device_authorization.
func (s *Server) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, err := parseForm(r, "resource")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	client, err := s.authenticateClient(r, form)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkGrantAllowed(client, GrantTypeDeviceCode); err != nil {
		s.writeError(w, r, err)
		return
	}
	scope, err := s.grantScope(form.Get("scope"), client)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resources, err := s.checkResources(form["resource"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.admit(ctx, s.quotas.device); err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.now()
	d := &DeviceAuthorization{
		ClientID: client.ID, Scope: scope, Resources: resources, Interval: s.devicePoll,
		IssuedAt: now, ExpiresAt: now.Add(s.deviceTTL),
	}
	deviceCode := randomString(prefixDevice, 32)
	if s.refreshers {
		if d.UpstreamKey, err = devicePublicKey(deviceCode); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	var userCode string
	for attempt := 0; ; attempt++ {
		userCode = newUserCode()
		err = s.store.PutDevice(ctx, hashSecret(deviceCode), userCode, d)
		if !errors.Is(err, ErrExists) || attempt == 4 {
			break
		}
	}
	if err != nil {
		s.writeError(w, r, fmt.Errorf("store device authorization: %w", err))
		return
	}
	s.log.InfoContext(ctx, "oauth: device authorization started", "client_id", client.ID, "device_code", fingerprint(deviceCode))
	writeJSON(w, http.StatusOK, deviceResponse{
		DeviceCode:              deviceCode,
		UserCode:                displayUserCode(userCode),
		VerificationURI:         s.url("/device"),
		VerificationURIComplete: s.url("/device") + "?" + url.Values{"user_code": {displayUserCode(userCode)}}.Encode(),
		ExpiresIn:               int64(s.deviceTTL / time.Second),
		Interval:                int64(s.devicePoll / time.Second),
	})
}

type deviceForm struct{ Action, CSRF, UserCode, Error string }

// serveDevicePage shows the user-code form (GET /device).
func (s *Server) serveDevicePage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	if s.auto != nil && code != "" {
		s.deviceEntered(w, r, code)
		return
	}
	s.renderDeviceForm(w, r, http.StatusOK, code, "")
}

func (s *Server) renderDeviceForm(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	csrf := randomString("", 24)
	http.SetCookie(w, &http.Cookie{
		Name: deviceCSRFCookie, Value: csrf, Path: s.prefix + "/", MaxAge: int(s.loginTTL.Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode,
	})
	s.renderPage(w, r, status, "device", "Connect a device", deviceForm{Action: s.url("/device"), CSRF: csrf, UserCode: code, Error: msg})
}

// serveDeviceSubmit takes the user code (POST /device) and continues with
// consent and login.
func (s *Server) serveDeviceSubmit(w http.ResponseWriter, r *http.Request) {
	form, err := parseForm(r)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	c, cerr := r.Cookie(deviceCSRFCookie)
	if cerr != nil || form.Get("csrf") == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form.Get("csrf"))) != 1 {
		s.renderDeviceForm(w, r, http.StatusForbidden, form.Get("user_code"), "The form expired or did not come from this page. Enter the code again.")
		return
	}
	s.deviceEntered(w, r, form.Get("user_code"))
}

// deviceEntered looks up a user code and shows the consent page (or, in
// automatic mode, approves at once).
func (s *Server) deviceEntered(w http.ResponseWriter, r *http.Request, entered string) {
	ctx := r.Context()
	if err := s.admit(ctx, s.quotas.entry); err != nil {
		s.refuseDeviceEntry(w, r, entered, err)
		return
	}
	code := normalizeUserCode(entered)
	d, err := s.store.GetDevice(ctx, code)
	if err != nil || len(code) != userCodeLen {
		if err != nil && !errors.Is(err, ErrNotFound) {
			s.errorPage(w, r, err)
			return
		}
		s.renderDeviceForm(w, r, http.StatusBadRequest, entered, "This code is unknown or expired. Check it and try again.")
		return
	}
	if d.Status != DevicePending && d.Status != DeviceSlowDown && d.Status != "" {
		s.renderDeviceForm(w, r, http.StatusBadRequest, entered, "This code was already used.")
		return
	}
	client, err := s.client(ctx, d.ClientID)
	if err != nil {
		s.renderDeviceForm(w, r, http.StatusBadRequest, entered, "The application of this code is no longer registered.")
		return
	}
	now := s.now()
	if s.auto != nil {
		p := &PendingAuthorization{ClientID: d.ClientID, Scope: d.Scope, Resources: d.Resources, UserCode: code}
		s.approveDevice(w, r, p, s.auto, nil, now)
		return
	}
	if err := s.admit(ctx, s.quotas.pending); err != nil {
		s.refuseDeviceEntry(w, r, entered, err)
		return
	}
	id := randomString("", 32)
	p := &PendingAuthorization{
		ClientID: d.ClientID, Scope: d.Scope, Resources: d.Resources, UserCode: code,
		CSRFToken: randomString("", 24), UpstreamState: id, UpstreamVerifier: randomString("", 32),
		CreatedAt: now, ExpiresAt: minTime(now.Add(s.loginTTL), d.ExpiresAt),
	}
	if err := s.store.PutPending(ctx, id, p); err != nil {
		s.errorPage(w, r, fmt.Errorf("store pending authorization: %w", err))
		return
	}
	s.setFlowCookie(w, id, p.CSRFToken)
	s.renderConsent(w, r, id, p, client, "")
}

// refuseDeviceEntry shows the user-code form again with why it was
// refused: a quota (with Retry-After), or a page for other errors.
func (s *Server) refuseDeviceEntry(w http.ResponseWriter, r *http.Request, entered string, err error) {
	oe := asOAuthError(err)
	if oe.RetryAfter <= 0 {
		s.errorPage(w, r, err)
		return
	}
	setRetryAfter(w, oe.RetryAfter)
	s.renderDeviceForm(w, r, oe.HTTPStatus(), entered, oe.Description)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// approveDevice records the user's approval of a device.
func (s *Server) approveDevice(w http.ResponseWriter, r *http.Request, p *PendingAuthorization, ident *Identity, credential []byte, now time.Time) {
	ctx := r.Context()
	if !s.admits(*ident, p.Resources) {
		s.finishDenied(w, r, p, "this user is not allowed to use this service")
		return
	}
	upstream, err := s.sealForDevice(ctx, p.UserCode, credential)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	err = s.store.ApproveDevice(ctx, p.UserCode, ident.Clone(), now, upstream)
	switch {
	case errors.Is(err, ErrNotFound):
		s.errorPage(w, r, newError(ErrorExpiredToken, "The device code expired. Start again on the device."))
		return
	case errors.Is(err, ErrConflict):
		s.errorPage(w, r, newError(ErrorInvalidRequest, "This device code was already used."))
		return
	case err != nil:
		s.errorPage(w, r, fmt.Errorf("approve device: %w", err))
		return
	}
	s.log.InfoContext(ctx, "oauth: device approved", "client_id", p.ClientID, "login", ident.Login, "sub", ident.Subject)
	s.renderPage(w, r, http.StatusOK, "message", "Device connected", struct{ Message string }{"The device is connected. You can close this window and return to it."})
}

// deviceGrant answers a device's poll.
func (s *Server) deviceGrant(ctx context.Context, client *Client, form url.Values) (*tokenResponse, error) {
	if err := checkGrantAllowed(client, GrantTypeDeviceCode); err != nil {
		return nil, err
	}
	dc := form.Get("device_code")
	if dc == "" {
		return nil, newError(ErrorInvalidRequest, "device_code is missing")
	}
	poll, err := s.store.PollDevice(ctx, hashSecret(dc))
	if errors.Is(err, ErrNotFound) {
		return nil, newError(ErrorInvalidGrant, "the device code is invalid")
	}
	if err != nil {
		return nil, fmt.Errorf("poll device: %w", err)
	}
	d := poll.Device
	if d == nil || d.ClientID != client.ID {
		return nil, newError(ErrorInvalidGrant, "the device code was issued to another client")
	}
	switch poll.Status {
	case DevicePending:
		return nil, newError(ErrorAuthorizationPending, "the user has not approved yet")
	case DeviceSlowDown:
		return nil, newError(ErrorSlowDown, "polling too fast; wait %d seconds between polls", int(poll.Interval/time.Second))
	case DeviceDenied:
		return nil, newError(ErrorAccessDenied, "the user denied the device")
	case DeviceExpired:
		return nil, newError(ErrorExpiredToken, "the device code expired")
	case DeviceApproved:
	default:
		return nil, fmt.Errorf("oauth: unknown device status %q", poll.Status)
	}
	if d.User == nil {
		return nil, errors.New("oauth: approved device without user")
	}
	requested, err := s.checkResources(form["resource"])
	if err != nil {
		return nil, err
	}
	audience, err := narrowResources(requested, d.Resources)
	if err != nil {
		return nil, err
	}
	var credential []byte
	if len(d.Upstream) > 0 {
		if credential, err = openWithDeviceCode(dc, labelUpstream, d.Upstream); err != nil {
			s.log.WarnContext(ctx, "oauth: the sealed upstream credential of a device does not open; it is dropped", "error", err)
		}
	}
	return s.issueTokens(ctx, client, randomString("", 16), *d.User, d.Scope, d.Resources, audience, d.AuthTime, credential)
}

// sealForDevice seals the approving user's upstream credential to the
// public key of the device authorization of userCode (nil without
// credential or key).
func (s *Server) sealForDevice(ctx context.Context, userCode string, credential []byte) ([]byte, error) {
	if credential == nil {
		return nil, nil
	}
	d, err := s.store.GetDevice(ctx, userCode)
	if errors.Is(err, ErrNotFound) {
		return nil, nil // ApproveDevice says it expired
	}
	if err != nil {
		return nil, fmt.Errorf("get device: %w", err)
	}
	if len(d.UpstreamKey) == 0 {
		return nil, nil
	}
	return sealToKey(d.UpstreamKey, labelUpstream, credential)
}
