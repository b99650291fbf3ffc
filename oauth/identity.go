package oauth

import (
	"encoding/json"
	"slices"
	"time"
)

// Kinds of identity provider, the first part of Identity.Provider.
const (
	ProviderGitHub = "github" // GitHub and GitHub Enterprise Server
	ProviderOIDC   = "oidc"   // an OpenID Connect provider
	ProviderDev    = "dev"    // the development login
)

// Identity is who logged in: the user as an identity provider vouched for
// them. Providers return it from Identify and RefreshIdentity, the server
// records it with every authorization code, token family and device
// approval, access tokens carry it as claims, and a Policy decides on it.
//
// It holds nothing secret: the provider's credential for the user travels
// beside it (see IdentityProvider) and is kept only sealed.
type Identity struct {
	// Subject is the user's stable identifier, unique across the server's
	// providers; it becomes the access token's sub and X-User-Id. GitHub:
	// the numeric account id, which GitHub never reuses.
	Subject string `json:"sub"`
	// Provider names the identity provider that vouched for the user
	// ("github", "dev"). Empty in records written before providers were
	// recorded: those are GitHub's or the development login's.
	Provider string `json:"idp,omitempty"`
	// Login is the user's handle (GitHub login), when the provider has one.
	Login string `json:"login,omitempty"`
	// Name is the display name, when the provider knows one.
	Name string `json:"name,omitempty"`
	// Email is the user's address, when the provider knows one.
	Email string `json:"email,omitempty"`
	// EmailVerified says that the provider verified that the user controls
	// Email. Email policies (Policy.Emails, Policy.Domains) admit only a
	// verified address.
	EmailVerified bool `json:"email_verified,omitempty"`
	// Groups are the user's groups at the provider, when it reported them.
	Groups []string `json:"groups,omitempty"`
	// Orgs are the user's organizations (GitHub), when the provider was
	// asked for them. Empty: not known.
	Orgs []string `json:"orgs,omitempty"`
	// CheckedAt is when the provider last confirmed the identity: at login,
	// or at a refresh that asked it again. Zero: at the login (AuthTime of
	// the record that holds it).
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// Clone returns a deep copy of id.
func (id Identity) Clone() Identity {
	id.Groups = slices.Clone(id.Groups)
	id.Orgs = slices.Clone(id.Orgs)
	return id
}

// cloneIdentity returns a deep copy of id.
func cloneIdentity(id *Identity) *Identity {
	if id == nil {
		return nil
	}
	d := id.Clone()
	return &d
}

// refreshTokenFields is RefreshToken without its methods, for decoding.
type refreshTokenFields RefreshToken

// UnmarshalJSON reads a stored refresh token, also in the form written
// before the identity carried its CheckedAt (a "checked_at" member of the
// token itself).
func (t *RefreshToken) UnmarshalJSON(data []byte) error {
	var legacy struct {
		CheckedAt time.Time `json:"checked_at"`
	}
	if err := json.Unmarshal(data, (*refreshTokenFields)(t)); err != nil {
		return err
	}
	if t.User.CheckedAt.IsZero() {
		if err := json.Unmarshal(data, &legacy); err == nil {
			t.User.CheckedAt = legacy.CheckedAt
		}
	}
	return nil
}
