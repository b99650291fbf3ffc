package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Admission: who may still hold tokens. The server asks its Policy and
// the policies of the resources a grant names (ResourcePolicies) when a
// user logs in, and again at every refresh, on the identity as currently
// known: the recorded one, asked again of the identity provider when it is
// older than Options.IdentityCheckInterval (IdentityRefresher). A refresh
// the policies refuse fails with invalid_grant and revokes the whole token
// family, its access tokens included.
//
// When the provider cannot confirm the recorded identity (the stored
// credential was revoked, there is none, or the provider is unreachable),
// the user's organization memberships count as unknown, that is as none:
// rules by login or id still admit the user, org: rules do not (fail
// closed). A refusal caused by an unreachable provider does not revoke the
// family, so the refresh works again once the provider answers.

// ResourcePolicies tells the authorization server which users each
// resource admits (Resource.Allow), so that it refuses a login and a
// refresh for a resource whose policy does not admit the user, instead of
// issuing tokens every request would refuse. ForwardAuth and
// ProtectedResource are ResourcePolicies.
type ResourcePolicies interface {
	// ResourcePolicy returns the policy of the resource tokens for
	// resource (an RFC 8707 resource indicator) are used at, or nil when
	// nothing restricts its users. The caller does not modify it.
	ResourcePolicy(resource string) *Policy
}

var (
	_ ResourcePolicies = (*ForwardAuth)(nil)
	_ ResourcePolicies = (*ProtectedResource)(nil)
)

// policyHolder boxes the ResourcePolicies for an atomic pointer.
type policyHolder struct{ rp ResourcePolicies }

// SetResourcePolicies makes the server check the policies of rp, besides
// Options.Policy, at every login and refresh (nil: only Options.Policy).
// The resource server side is built after the Server (its Verifier needs
// the Server's keys), hence a setter; call it before serving.
func (s *Server) SetResourcePolicies(rp ResourcePolicies) {
	if rp == nil {
		s.resPolicies.Store(nil)
		return
	}
	s.resPolicies.Store(&policyHolder{rp})
}

// admits reports whether u may hold tokens for resources: the server's
// policy and the policy of each resource admit them.
func (s *Server) admits(u Identity, resources []string) bool {
	id := &u
	if !s.policy.Allows(id) {
		return false
	}
	h := s.resPolicies.Load()
	if h == nil {
		return true
	}
	for _, r := range resources {
		if p := h.rp.ResourcePolicy(r); p != nil && !p.Allows(id) {
			return false
		}
	}
	return true
}

// knownIdentity is the identity a refresh decides on.
type knownIdentity struct {
	user       Identity // CheckedAt: when the provider last confirmed it
	credential []byte   // to seal into the successor; nil: none
	// unconfirmed says why the provider could not confirm the recorded
	// identity (its memberships were dropped); nil when it did or need not.
	unconfirmed error
	// temporary: unconfirmed by a failure that may pass (the provider is
	// unreachable), not by a credential that will never work.
	temporary bool
}

// errNoCredential: the family recorded memberships but holds no
// credential to check them with (issued before credentials were kept).
var errNoCredential = errors.New("oauth: no upstream credential to check the user with")

// errProviderGone: the provider that vouched for the user is no longer
// configured.
var errProviderGone = errors.New("oauth: the identity provider of the user is no longer configured")

// currentIdentity is the identity of the refresh of cur: the recorded one,
// or, when it is older than the check interval and the provider can be
// asked, the provider's current answer. credential is the family's opened
// upstream credential (nil: none).
func (s *Server) currentIdentity(ctx context.Context, cur *RefreshToken, credential []byte, now time.Time) knownIdentity {
	k := knownIdentity{user: cur.User.Clone(), credential: credential}
	if k.user.CheckedAt.IsZero() {
		k.user.CheckedAt = cur.AuthTime
	}
	if s.checkEvery > 0 && now.Sub(k.user.CheckedAt) < s.checkEvery {
		return k
	}
	idp := s.providerOf(cur.User)
	refresher, canAsk := idp.(IdentityRefresher)
	memberships := len(cur.User.Orgs) > 0 || len(cur.User.Groups) > 0
	switch {
	case idp == nil:
		// The provider that vouched for the user is no longer configured.
		k.unconfirmed, k.credential = errProviderGone, nil
		return s.unconfirmed(ctx, cur, k)
	case !canAsk, credential == nil && !memberships:
		return k // nothing to ask, or nothing the answer could take away
	}
	if credential == nil {
		k.unconfirmed = errNoCredential
	} else {
		id, next, err := s.askAgain(ctx, refresher, cur, credential)
		if err == nil {
			err = qualify(refresher, id)
		}
		if err == nil && id.Subject != cur.User.Subject {
			err = fmt.Errorf("%w: the provider answered for %s", ErrUpstreamRevoked, id.Subject)
		}
		switch {
		case err == nil:
			k.user = id.Clone() // no organizations is none, not "as before"
			k.user.CheckedAt = now
			if next != nil {
				k.credential = next
			}
			s.log.InfoContext(ctx, "oauth: identity checked again at refresh", "sub", k.user.Subject, "login", k.user.Login,
				"orgs", len(k.user.Orgs), "family", short(cur.FamilyID))
			return k
		case errors.Is(err, ErrUpstreamRevoked):
			k.unconfirmed, k.credential = err, nil
		default:
			k.unconfirmed, k.temporary = err, true
		}
	}
	return s.unconfirmed(ctx, cur, k)
}

// askAgain asks the provider who the user of cur is now. With the vault,
// it asks under the family's lease (the provider may renew its token, whose
// refresh token another caller must not spend at the same time) and keeps
// the renewed credential there; next is then the credential as kept.
func (s *Server) askAgain(ctx context.Context, refresher IdentityRefresher, cur *RefreshToken, credential []byte) (*Identity, []byte, error) {
	if s.vault == nil {
		return refresher.RefreshIdentity(ctx, cur.User, credential)
	}
	var id *Identity
	var askErr error
	kept, err := s.vault.renew(ctx, cur.ClientID, cur.FamilyID, func(current []byte) ([]byte, error) {
		var next []byte
		id, next, askErr = refresher.RefreshIdentity(ctx, cur.User, current)
		return next, askErr
	})
	switch {
	case askErr != nil:
		return nil, nil, askErr
	case err != nil:
		return nil, nil, err
	}
	return id, kept, nil
}

// unconfirmed is k with what the provider could not confirm dropped:
// organizations, groups and the email's verification.
func (s *Server) unconfirmed(ctx context.Context, cur *RefreshToken, k knownIdentity) knownIdentity {
	s.log.WarnContext(ctx, "oauth: the identity provider could not confirm the user at refresh; organizations, groups and the email's verification count as none",
		"sub", cur.User.Subject, "login", cur.User.Login, "family", short(cur.FamilyID), "temporary", k.temporary, "error", k.unconfirmed)
	k.user.Orgs, k.user.Groups, k.user.EmailVerified = nil, nil, false
	return k
}

// ResourcePolicy implements ResourcePolicies: the Allow policy of the most
// specific configured resource covering the indicator, or the Default's when
// the resources are derived from requests.
func (fa *ForwardAuth) ResourcePolicy(indicator string) *Policy {
	canon, err := CanonicalResource(indicator)
	if err != nil {
		return nil
	}
	cfg := fa.cfg.Load()
	if len(cfg.resources) == 0 {
		return cfg.def.Allow
	}
	var best *resource
	for _, r := range cfg.resources {
		if resourceCovers(r.url, canon) && (best == nil || len(r.url) > len(best.url)) {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	return best.allow
}

// ResourcePolicy implements ResourcePolicies: the resource's Allow policy
// for its own URL and the URLs below it.
func (p *ProtectedResource) ResourcePolicy(indicator string) *Policy {
	canon, err := CanonicalResource(indicator)
	if err != nil {
		return nil
	}
	res := p.res.Load()
	if !resourceCovers(res.url, canon) {
		return nil
	}
	return res.allow
}
