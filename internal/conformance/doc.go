// Package conformance holds the "everything" MCP server the official
// conformance suite (npm @modelcontextprotocol/conformance) expects: its
// test_* tools, resources and prompts, built only from mcpserver's public
// API. Tests of mcpserver and of the stdio proxy serve it, and the binary in
// ./fixture serves it over StreamableHTTP or, with --stdio, over stdio.
package conformance
