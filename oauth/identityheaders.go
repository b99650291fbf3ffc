package oauth

import "net/http"

// IdentityHeaders returns the headers a service behind the gateway
// receives about the caller of a verified token: X-User-Id (the sub),
// X-User-Name (the login, else the display name), X-User-Email (empty
// when unknown, so that a copied header is always replaced) and
// X-Auth-Client-Id. ForwardAuth answers /verify with them, and
// oauth/identityproxy sets them on the requests it forwards. Control
// characters are dropped from the values.
func (c *AccessTokenClaims) IdentityHeaders() http.Header {
	return http.Header{
		HeaderUserID:   {headerValue(c.Subject)},
		HeaderUserName: {headerValue(cmpOr(c.Login, c.Name))},
		HeaderEmail:    {headerValue(c.Email)},
		HeaderClientID: {headerValue(c.ClientID)},
	}
}

// IsIdentityHeader reports whether a request header could be taken for
// one the gateway vouches for: X-User-* and X-Auth-* in any case, with _
// for - anywhere (some servers read X_User_Id as X-User-Id). A proxy in
// front of a service deletes every such header a client sent before it
// adds the verified ones, so a client cannot pose as another user.
func IsIdentityHeader(name string) bool {
	if len(name) < len("x-user-") {
		return false
	}
	return prefixFold(name, "x-user-") || prefixFold(name, "x-auth-")
}

// prefixFold reports whether name starts with prefix (lowercase, with -)
// in any case, with _ accepted for -.
func prefixFold(name, prefix string) bool {
	if len(name) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c, p := name[i], prefix[i]
		if p == '-' {
			if c != '-' && c != '_' {
				return false
			}
			continue
		}
		if c|0x20 != p {
			return false
		}
	}
	return true
}
