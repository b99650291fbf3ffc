package oauth

import (
	"encoding/json"
	"net/http"
)

// GrantTypeDeviceCode is the RFC 8628 grant type.
const GrantTypeDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// Metadata is the RFC 8414 authorization server metadata this server
// publishes. It advertises exactly what works.
type Metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RegistrationEndpoint                       string   `json:"registration_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	ClientIDMetadataDocumentSupported          bool     `json:"client_id_metadata_document_supported,omitempty"`
	// OpenID discovery members, for clients that only read
	// /.well-known/openid-configuration. No ID tokens are issued.
	SubjectTypesSupported []string `json:"subject_types_supported,omitempty"`
}

// authMethods are the client authentication methods of the token,
// revocation, introspection and device endpoints.
var authMethods = []string{"client_secret_basic", "client_secret_post", "none"}

func (s *Server) buildMetadata() error {
	m := s.Metadata()
	var err error
	if s.metadata, err = json.Marshal(m); err != nil {
		return err
	}
	m.SubjectTypesSupported = []string{"public"}
	s.metaOIDC, err = json.Marshal(m)
	return err
}

// Metadata returns the server's RFC 8414 metadata.
func (s *Server) Metadata() Metadata {
	return Metadata{
		Issuer:                                     s.issuer,
		AuthorizationEndpoint:                      s.url("/authorize"),
		TokenEndpoint:                              s.url("/token"),
		JWKSURI:                                    s.url("/jwks"),
		RegistrationEndpoint:                       s.url("/register"),
		RevocationEndpoint:                         s.url("/revoke"),
		IntrospectionEndpoint:                      s.url("/introspect"),
		DeviceAuthorizationEndpoint:                s.url("/device_authorization"),
		ScopesSupported:                            s.scopes,
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query"},
		GrantTypesSupported:                        []string{"authorization_code", "refresh_token", GrantTypeDeviceCode},
		TokenEndpointAuthMethodsSupported:          authMethods,
		RevocationEndpointAuthMethodsSupported:     authMethods,
		IntrospectionEndpointAuthMethodsSupported:  authMethods,
		CodeChallengeMethodsSupported:              []string{pkceMethodS256},
		AuthorizationResponseISSParameterSupported: true,
		ClientIDMetadataDocumentSupported:          s.documents != nil,
	}
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	writeCachedJSON(w, s.metadata)
	s.emit(r, Event{Step: StepMetadata}, nil)
}

func (s *Server) serveOIDCMetadata(w http.ResponseWriter, r *http.Request) {
	writeCachedJSON(w, s.metaOIDC)
	s.emit(r, Event{Step: StepMetadata}, nil)
}

// serveJWKS publishes every key that may still verify a live token.
func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	st, err := s.keys.current(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(st.jwks)
}

// writeCachedJSON writes a public document that caches may keep a while.
func writeCachedJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(body)
}
