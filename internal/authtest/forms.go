package authtest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"
)

// ApproveDevice is the user of a device login on a server with the
// development login's pages (ChildOptions.Forms): in a browser of its own
// (a cookie jar) it opens verificationURI, enters userCode in the form,
// approves on the consent page and signs in as login. It returns the text
// of the last page, which says whether the device is connected.
func ApproveDevice(verificationURI, userCode, login string) (string, error) {
	return deviceDecision(verificationURI, userCode, login, "approve")
}

// DenyDevice is ApproveDevice for a user who denies on the consent page.
func DenyDevice(verificationURI, userCode, login string) (string, error) {
	return deviceDecision(verificationURI, userCode, login, "deny")
}

func deviceDecision(verificationURI, userCode, login, decision string) (string, error) {
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar}
	page, err := fetch(b, http.MethodGet, verificationURI, nil)
	if err != nil {
		return "", err
	}
	action, fields, err := form(page, verificationURI)
	if err != nil {
		return "", fmt.Errorf("device page: %w", err)
	}
	fields.Set("user_code", userCode)
	if page, err = fetch(b, http.MethodPost, action, fields); err != nil {
		return "", err
	}
	// The consent page; approving leads to the sign-in form.
	if action, fields, err = form(page, action); err != nil {
		return "", fmt.Errorf("consent page: %w", err)
	}
	fields.Set("decision", decision)
	if decision != "approve" {
		// The page that says so comes with an error status.
		var se *statusError
		if page, err = fetch(b, http.MethodPost, action, fields); errors.As(err, &se) {
			page, err = se.page, nil
		}
		if err != nil {
			return "", err
		}
		return pageText(page)
	}
	if page, err = fetch(b, http.MethodPost, action, fields); err != nil {
		return "", err
	}
	if action, fields, err = form(page, action); err != nil {
		return "", fmt.Errorf("sign-in page: %w", err)
	}
	fields.Set("login", login)
	if page, err = fetch(b, http.MethodPost, action, fields); err != nil {
		return "", err
	}
	return pageText(page)
}

func pageText(page string) (string, error) {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		return "", err
	}
	return strings.Join(strings.Fields(doc.Find("body").Text()), " "), nil
}

// fetch sends a browser's request (following redirects) and returns the
// page; an error for a status other than 200.
func fetch(b *http.Client, method, u string, form url.Values) (string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", &statusError{fmt.Sprintf("%s %s: HTTP %d", method, resp.Request.URL, resp.StatusCode), string(page)}
	}
	return string(page), nil
}

// statusError is a page that came with a status other than 200.
type statusError struct{ msg, page string }

func (e *statusError) Error() string { return e.msg }

// form reads the first form of page: its action (resolved against base)
// and hidden inputs.
func form(page, base string) (string, url.Values, error) {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		return "", nil, err
	}
	f := doc.Find("form").First()
	if f.Length() == 0 {
		return "", nil, errors.New("no form on the page: " + strings.TrimSpace(doc.Text()))
	}
	fields := url.Values{}
	f.Find("input[type=hidden]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		value, _ := s.Attr("value")
		fields.Set(name, value)
	})
	action, _ := f.Attr("action")
	bu, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	au, err := bu.Parse(action)
	if err != nil {
		return "", nil, err
	}
	return au.String(), fields, nil
}
