package mcpauth

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Registration is a client registration the client made itself at an
// authorization server (RFC 7591), with what it needs to manage it later
// (RFC 7592). Pre-registered clients and Client ID Metadata Documents are
// not stored: they come from the options each time.
type Registration struct {
	// Issuer is the authorization server's issuer identifier: the key.
	Issuer                  string    `json:"issuer"`
	ClientID                string    `json:"client_id"`
	ClientSecret            string    `json:"client_secret,omitempty"`
	ClientSecretExpiresAt   int64     `json:"client_secret_expires_at,omitempty"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method,omitempty"`
	RedirectURIs            []string  `json:"redirect_uris,omitempty"`
	GrantTypes              []string  `json:"grant_types,omitempty"`
	RegistrationAccessToken string    `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string    `json:"registration_client_uri,omitempty"`
	RegisteredAt            time.Time `json:"registered_at,omitzero"`
	// Metadata is the server's registration response, as it sent it.
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// Tokens are the tokens of one MCP server URL: issued by Issuer for
// Resource to the client ClientID.
type Tokens struct {
	// Server is the MCP endpoint URL the tokens are used for: the key.
	Server           string    `json:"server"`
	Issuer           string    `json:"issuer"`
	Resource         string    `json:"resource,omitempty"`
	ClientID         string    `json:"client_id"`
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type,omitempty"`
	RefreshToken     string    `json:"refresh_token,omitempty"`
	Expiry           time.Time `json:"expiry,omitzero"`
	Scope            string    `json:"scope,omitempty"`
	ResourceMetadata string    `json:"resource_metadata,omitempty"`
	ObtainedAt       time.Time `json:"obtained_at,omitzero"`
	// Legacy marks tokens of a 2025-03-26 server without resource
	// metadata, whose authorization server is its origin.
	Legacy bool `json:"legacy,omitempty"`
}

// Store keeps tokens and registrations. Implementations must be safe for
// concurrent use; the file store is also safe across processes.
//
// The client calls Lock around every read-modify-write of a token it
// refreshes or replaces (and around a login), so that two processes sharing
// a store never both use the same rotating refresh token: the second one
// re-reads the tokens under the lock and finds the first one's.
type Store interface {
	// Tokens returns the tokens of the server URL, or ErrNotFound.
	Tokens(ctx context.Context, server string) (*Tokens, error)
	// SaveTokens stores t under t.Server, replacing what was there.
	SaveTokens(ctx context.Context, t *Tokens) error
	// DeleteTokens removes the tokens of the server URL; no error when
	// there are none.
	DeleteTokens(ctx context.Context, server string) error
	// Registration returns the client registration at the issuer, or
	// ErrNotFound.
	Registration(ctx context.Context, issuer string) (*Registration, error)
	// SaveRegistration stores r under r.Issuer.
	SaveRegistration(ctx context.Context, r *Registration) error
	// DeleteRegistration removes the registration at the issuer.
	DeleteRegistration(ctx context.Context, issuer string) error
	// Lock takes the exclusive lock called name (waiting for it as long as
	// ctx allows) and returns its release.
	Lock(ctx context.Context, name string) (unlock func(), err error)
}

// MemoryStore is a Store in memory, for one process.
type MemoryStore struct {
	mu     sync.Mutex
	tokens map[string]Tokens
	regs   map[string]Registration
	locks  map[string]chan struct{}
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{tokens: map[string]Tokens{}, regs: map[string]Registration{}, locks: map[string]chan struct{}{}}
}

func (s *MemoryStore) Tokens(_ context.Context, server string) (*Tokens, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[server]
	if !ok {
		return nil, ErrNotFound
	}
	return &t, nil
}

func (s *MemoryStore) SaveTokens(_ context.Context, t *Tokens) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.Server] = *t
	return nil
}

func (s *MemoryStore) DeleteTokens(_ context.Context, server string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, server)
	return nil
}

func (s *MemoryStore) Registration(_ context.Context, issuer string) (*Registration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.regs[issuer]
	if !ok {
		return nil, ErrNotFound
	}
	return &r, nil
}

func (s *MemoryStore) SaveRegistration(_ context.Context, r *Registration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regs[r.Issuer] = *r
	return nil
}

func (s *MemoryStore) DeleteRegistration(_ context.Context, issuer string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.regs, issuer)
	return nil
}

func (s *MemoryStore) Lock(ctx context.Context, name string) (func(), error) {
	s.mu.Lock()
	ch, ok := s.locks[name]
	if !ok {
		ch = make(chan struct{}, 1)
		s.locks[name] = ch
	}
	s.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
