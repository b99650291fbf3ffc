package streamable

import "strconv"

// OwnerKey is what a session is bound to: the user (the token's subject, or
// the gateway's X-User-Id) and the OAuth client acting for it. A request
// that names a session is served only for the same user through the same
// client; another client of the same user, which holds tokens of its own,
// gets 404 as if the session did not exist. Anonymous callers share the
// empty key.
func OwnerKey(subject, clientID string) string {
	if subject == "" && clientID == "" {
		return ""
	}
	return strconv.Itoa(len(subject)) + ":" + subject + clientID
}
