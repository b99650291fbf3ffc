package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// ClientMetadata is the RFC 7591 §2 client metadata (with the OpenID
// application_type). Fields this type does not name (extensions,
// internationalised "client_name#ja" variants) are kept in Extra and
// written back, so a registration round-trips exactly.
type ClientMetadata struct {
	RedirectURIs            []string        `json:"redirect_uris,omitempty"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string        `json:"grant_types,omitempty"`
	ResponseTypes           []string        `json:"response_types,omitempty"`
	ClientName              string          `json:"client_name,omitempty"`
	ClientURI               string          `json:"client_uri,omitempty"`
	LogoURI                 string          `json:"logo_uri,omitempty"`
	Scope                   string          `json:"scope,omitempty"`
	Contacts                []string        `json:"contacts,omitempty"`
	TOSURI                  string          `json:"tos_uri,omitempty"`
	PolicyURI               string          `json:"policy_uri,omitempty"`
	JWKSURI                 string          `json:"jwks_uri,omitempty"`
	JWKS                    json.RawMessage `json:"jwks,omitempty"`
	SoftwareID              string          `json:"software_id,omitempty"`
	SoftwareVersion         string          `json:"software_version,omitempty"`
	ApplicationType         string          `json:"application_type,omitempty"`

	// Extra holds every other member of the JSON object, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// clientMetadataFields is ClientMetadata without its methods, for encoding.
type clientMetadataFields ClientMetadata

// member returns a pointer to the field of the JSON member name, or nil
// when ClientMetadata does not name it. Names match exactly: unlike
// encoding/json's struct decoding, a member "Redirect_URIs" is not
// redirect_uris (JSON names are case-sensitive) and stays in Extra.
func (m *ClientMetadata) member(name string) any {
	switch name {
	case "redirect_uris":
		return &m.RedirectURIs
	case "token_endpoint_auth_method":
		return &m.TokenEndpointAuthMethod
	case "grant_types":
		return &m.GrantTypes
	case "response_types":
		return &m.ResponseTypes
	case "client_name":
		return &m.ClientName
	case "client_uri":
		return &m.ClientURI
	case "logo_uri":
		return &m.LogoURI
	case "scope":
		return &m.Scope
	case "contacts":
		return &m.Contacts
	case "tos_uri":
		return &m.TOSURI
	case "policy_uri":
		return &m.PolicyURI
	case "jwks_uri":
		return &m.JWKSURI
	case "jwks":
		return &m.JWKS
	case "software_id":
		return &m.SoftwareID
	case "software_version":
		return &m.SoftwareVersion
	case "application_type":
		return &m.ApplicationType
	}
	return nil
}

// knownMetadataField reports whether name is a member ClientMetadata names.
func knownMetadataField(name string) bool {
	return (&ClientMetadata{}).member(name) != nil
}

// MarshalJSON writes the named fields and then the Extra members in name
// order (an Extra member with a named field's name, or whose value is not
// valid JSON, is left out).
func (m ClientMetadata) MarshalJSON() ([]byte, error) {
	known, err := json.Marshal(clientMetadataFields(m))
	if err != nil {
		return nil, err
	}
	if len(m.Extra) == 0 {
		return known, nil
	}
	var b bytes.Buffer
	b.Write(known[:len(known)-1]) // without the closing brace
	first := len(known) == 2      // "{}"
	for _, name := range slices.Sorted(maps.Keys(m.Extra)) {
		v := m.Extra[name]
		if knownMetadataField(name) || !json.Valid(v) {
			continue
		}
		k, _ := json.Marshal(name) // a string always encodes
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.Write(k)
		b.WriteByte(':')
		if err := json.Compact(&b, v); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a JSON object: members ClientMetadata names (exact,
// case-sensitive names) into their fields, where a wrong JSON type is an
// error naming the member; every other member into Extra. A null leaves m
// unchanged.
func (m *ClientMetadata) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if len(data) == 0 || data[0] != '{' {
		return errors.New("oauth: client metadata: not a JSON object")
	}
	// encoding/json's struct decoding is fast (and checks data) but matches
	// member names without regard to case: it decodes exactly unless a
	// member's name differs from a named one only in case.
	var d ClientMetadata
	folded := false
	if err := json.Unmarshal(data, (*clientMetadataFields)(&d)); err != nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); !ok {
			return fmt.Errorf("oauth: client metadata: %w", err)
		}
		// Maybe a member that only folds to a named one; decode exactly.
		folded = true
	}
	for key, value := range objectMembers(data) {
		if knownMetadataField(key) {
			continue
		}
		folded = folded || foldsToMetadataName(key)
		if d.Extra == nil {
			d.Extra = make(map[string]json.RawMessage)
		}
		d.Extra[key] = bytes.Clone(value)
	}
	if folded {
		extra := d.Extra
		d = ClientMetadata{Extra: extra}
		for key, value := range objectMembers(data) {
			if p := d.member(key); p != nil {
				if err := json.Unmarshal(value, p); err != nil {
					return fmt.Errorf("oauth: client metadata: %s: %w", key, err)
				}
			}
		}
	}
	*m = d
	return nil
}

// foldsToMetadataName reports whether key equals a member name
// ClientMetadata names under Unicode case folding, as encoding/json matches
// struct fields.
func foldsToMetadataName(key string) bool {
	for _, name := range [...]string{"redirect_uris", "token_endpoint_auth_method",
		"grant_types", "response_types", "client_name", "client_uri", "logo_uri",
		"scope", "contacts", "tos_uri", "policy_uri", "jwks_uri", "jwks",
		"software_id", "software_version", "application_type"} {
		if strings.EqualFold(key, name) {
			return true
		}
	}
	return false
}

// objectMembers yields the names and raw values of the members of data, a
// valid JSON object, in order.
func objectMembers(data []byte) iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		i := 1 // after '{'
		for {
			i = skipSpace(data, i)
			if data[i] == '}' {
				return
			}
			if data[i] == ',' {
				i = skipSpace(data, i+1)
			}
			end := endOfString(data, i)
			rawKey := data[i:end]
			key := string(rawKey[1 : len(rawKey)-1])
			if bytes.IndexByte(rawKey, '\\') >= 0 || !utf8.Valid(rawKey) {
				// Escapes, or bytes encoding/json turns into U+FFFD.
				_ = json.Unmarshal(rawKey, &key) // valid JSON: cannot fail
			}
			i = skipSpace(data, end) + 1 // ':'
			i = skipSpace(data, i)
			start := i
			i = endOfValue(data, i)
			if !yield(key, data[start:i]) {
				return
			}
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// endOfString returns the index after the JSON string starting at i.
func endOfString(data []byte, i int) int {
	for i++; data[i] != '"'; i++ {
		if data[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// endOfValue returns the index after the JSON value starting at i.
func endOfValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return endOfString(data, i)
	case '{', '[':
		depth := 0
		for {
			switch data[i] {
			case '"':
				i = endOfString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(data) && !strings.ContainsRune(", \t\n\r}]", rune(data[i])) {
		i++
	}
	return i
}

// Clone returns a deep copy of m.
func (m ClientMetadata) Clone() ClientMetadata {
	d := m
	d.RedirectURIs = slices.Clone(m.RedirectURIs)
	d.GrantTypes = slices.Clone(m.GrantTypes)
	d.ResponseTypes = slices.Clone(m.ResponseTypes)
	d.Contacts = slices.Clone(m.Contacts)
	d.JWKS = bytes.Clone(m.JWKS)
	if m.Extra != nil {
		d.Extra = make(map[string]json.RawMessage, len(m.Extra))
		for k, v := range m.Extra {
			d.Extra[k] = bytes.Clone(v)
		}
	}
	return d
}
