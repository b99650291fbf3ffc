package oauth

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
)

// authenticateClient identifies and authenticates the client of a token,
// revocation, introspection or device request by the method it registered:
// client_secret_basic (HTTP Basic), client_secret_post (form) or none
// (client_id only, a public client). Using another method than the
// registered one fails, as does using two at once.
func (s *Server) authenticateClient(r *http.Request, form url.Values) (*Client, error) {
	basicID, basicSecret, hasBasic := r.BasicAuth()
	if hasBasic {
		// RFC 6749 §2.3.1: the credentials are form-urlencoded first.
		var err1, err2 error
		basicID, err1 = url.QueryUnescape(basicID)
		basicSecret, err2 = url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			return nil, &Error{Code: ErrorInvalidClient, Description: "malformed HTTP Basic credentials"}
		}
	}
	postID, postSecret := form.Get("client_id"), form.Get("client_secret")
	var id, secret, method string
	switch {
	case hasBasic && postSecret != "":
		return nil, newError(ErrorInvalidRequest, "use one client authentication method, not two")
	case hasBasic && basicSecret == "":
		// Some libraries send a public client's id as a Basic user with
		// an empty password.
		if postID != "" && postID != basicID {
			return nil, newError(ErrorInvalidRequest, "client_id differs from the HTTP Basic user")
		}
		id, method = basicID, "none"
	case hasBasic:
		if postID != "" && postID != basicID {
			return nil, newError(ErrorInvalidRequest, "client_id differs from the HTTP Basic user")
		}
		id, secret, method = basicID, basicSecret, "client_secret_basic"
	case postSecret != "":
		id, secret, method = postID, postSecret, "client_secret_post"
	default:
		id, method = postID, "none"
	}
	if id == "" {
		return nil, &Error{Code: ErrorInvalidClient, Description: "client authentication failed: no client_id"}
	}
	c, err := s.client(r.Context(), id)
	var docErr *Error
	if errors.As(err, &docErr) {
		if docErr.RetryAfter > 0 {
			return nil, err // a fetch refused by a quota: 429 or 503 as it is
		}
		// A metadata document that cannot be used: say why.
		return nil, &Error{Code: ErrorInvalidClient, Description: docErr.Description, Err: err}
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	// The secret is hashed and compared even for an unknown client, so
	// the answer takes as long either way.
	want := hashSecret(randomString("", 16))
	if c != nil && c.SecretHash != "" {
		want = c.SecretHash
	}
	secretOK := subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(want)) == 1
	fail := &Error{Code: ErrorInvalidClient, Description: "client authentication failed"}
	if c == nil {
		return nil, fail
	}
	registered := c.Metadata.TokenEndpointAuthMethod
	if registered == "" {
		registered = "client_secret_basic"
	}
	if c.SecretHash == "" {
		registered = "none"
	}
	if method != registered {
		fail.Description = "client authentication failed: the client registered " + registered
		return nil, fail
	}
	if method != "none" {
		if !secretOK {
			return nil, fail
		}
		if !c.SecretExpiresAt.IsZero() && !s.now().Before(c.SecretExpiresAt) {
			fail.Description = "client secret expired"
			return nil, fail
		}
	}
	return c, nil
}

// allowsGrant reports whether the client registered the grant type.
func allowsGrant(c *Client, grant string) bool {
	for _, g := range c.Metadata.GrantTypes {
		if g == grant {
			return true
		}
	}
	return false
}
