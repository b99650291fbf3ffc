// Package caller is who is calling a service behind the gateway: the
// verified user and the OAuth client acting for them, carried in a
// request's context.
//
// The resource-server side puts it there (oauth.ProtectedResource checks a
// bearer token; a gateway's trusted headers are read by mcpserver), and the
// services read it: MCP servers built on mcpserver, their tools, any
// http.Handler. The package depends on the standard library only, so the
// two sides share the type without linking each other: a token verifier
// does not link an MCP server, and an MCP server does not link a JWT
// library. mcpserver.Identity, mcpserver.AuthFunc,
// mcpserver.IdentityFromContext and mcpserver.ContextWithIdentity are the
// same type, type and functions under the names MCP code already uses.
//
// In a handler behind the bearer check:
//
//	func whoami(w http.ResponseWriter, r *http.Request) {
//		id := caller.FromContext(r.Context()) // nil: anonymous
//		if !id.HasScope("mcp:write") {
//			http.Error(w, "read only", http.StatusForbidden)
//			return
//		}
//		fmt.Fprintf(w, "hello %s (client %s)", id.Name, id.ClientID)
//	}
package caller
