// An MCP client written with the official TypeScript SDK (@modelcontextprotocol/sdk),
// driving the SDK's own OAuth client flow against the gateway, for
// examples/mcp-oauth-gateway/e2e_clients_test.go:
//
//   node sdk-client.mjs SDK_DIR PLAN_JSON
//
// SDK_DIR is the installed package (node_modules/@modelcontextprotocol/sdk, as
// scripts/setup.sh puts it under $MCP_CLIENTS). PLAN_JSON lists the services:
// [{"name": ..., "url": ..., "tool": ..., "args": {...}}]. For each service the client
// connects with no token; the SDK follows the 401 to the protected-resource and
// authorization-server metadata, registers, starts the PKCE authorization and calls
// redirectToAuthorization, which this provider follows with fetch (the gateway runs with
// --dev-user and approves at once, redirecting to the redirect URI with the code); then
// finishAuth exchanges the code, the client reconnects, lists the tools and calls one. The
// access token is then spoiled, as an expired one would be: the next call gets 401 and the
// SDK refreshes the token itself and repeats the call. It prints one JSON line per service
// with what it saw; the Go test asserts on them. The redirect URI is never contacted.
import { pathToFileURL } from "node:url";
import path from "node:path";

const [sdkDir, planJSON] = process.argv.slice(2);
const sdk = (p) => import(pathToFileURL(path.join(sdkDir, "dist", "esm", p)).href);
const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const { UnauthorizedError } = await sdk("client/auth.js");

const redirectUrl = "http://127.0.0.1:9/callback";

// provider keeps everything in memory and records each step the SDK takes.
class Provider {
  constructor() {
    this.steps = [];
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this._discovery = undefined;
    this.code = undefined;
    this.authorizationURL = undefined;
    this.tokenHistory = [];
  }
  get redirectUrl() {
    return redirectUrl;
  }
  get clientMetadata() {
    return {
      client_name: "sdk-e2e",
      redirect_uris: [redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() {
    return "sdk-state";
  }
  clientInformation() {
    return this._client;
  }
  saveClientInformation(info) {
    this.steps.push("register");
    this._client = info;
  }
  tokens() {
    return this._tokens;
  }
  saveTokens(tokens) {
    this.steps.push(this._tokens ? "refresh" : "token");
    this.tokenHistory.push({ access: tokens.access_token, refresh: tokens.refresh_token });
    this._tokens = tokens;
  }
  saveCodeVerifier(v) {
    this._verifier = v;
  }
  codeVerifier() {
    return this._verifier;
  }
  saveDiscoveryState(s) {
    if (!this._discovery) this.steps.push("discovery");
    this._discovery = s;
  }
  discoveryState() {
    return this._discovery;
  }
  // The gateway (--dev-user) approves without pages: the authorization URL redirects
  // straight to the redirect URI with the code.
  async redirectToAuthorization(url) {
    this.steps.push("authorize");
    this.authorizationURL = url.href;
    const resp = await fetch(url, { redirect: "manual" });
    const loc = resp.headers.get("location");
    if (resp.status < 300 || resp.status > 399 || !loc) {
      throw new Error(`authorization: status ${resp.status}, no redirect: ${await resp.text()}`);
    }
    const back = new URL(loc);
    if (back.origin + back.pathname !== redirectUrl) {
      throw new Error(`authorization redirected to ${loc}`);
    }
    if (back.searchParams.get("state") !== "sdk-state") {
      throw new Error(`authorization: state ${back.searchParams.get("state")}`);
    }
    this.code = back.searchParams.get("code");
    this.iss = back.searchParams.get("iss");
  }
}

function text(result) {
  return (result.content || []).filter((c) => c.type === "text").map((c) => c.text).join("");
}

async function connect(url, provider) {
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
  const client = new Client({ name: "sdk-e2e", version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
}

async function run(svc) {
  const out = { name: svc.name };
  const provider = new Provider();
  let first;
  try {
    await connect(svc.url, provider);
    throw new Error("connected without a token");
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
    first = new StreamableHTTPClientTransport(new URL(svc.url), { authProvider: provider });
  }
  if (!provider.code) throw new Error("the SDK did not start the authorization");
  await first.finishAuth(provider.code);
  const au = new URL(provider.authorizationURL);
  out.authorization = Object.fromEntries(au.searchParams);
  out.iss = provider.iss;
  out.clientId = provider.clientInformation().client_id;

  const { client, transport } = await connect(svc.url, provider);
  out.protocolVersion = transport.protocolVersion ?? null;
  out.sessionId = transport.sessionId ?? null;
  const tools = await client.listTools();
  out.tools = tools.tools.map((t) => t.name);
  out.first = text(await client.callTool({ name: svc.tool, arguments: svc.args || {} }));

  // The access token goes bad (as when it expires): the next request gets 401, and the
  // SDK refreshes with the refresh token and repeats the request.
  const spoiled = provider._tokens.access_token.slice(0, -4) + "AAAA";
  provider._tokens = { ...provider._tokens, access_token: spoiled };
  out.afterRefresh = text(await client.callTool({ name: svc.tool, arguments: svc.args || {} }));
  out.steps = provider.steps;
  const h = provider.tokenHistory;
  out.rotated = h.length === 2 && h[0].access !== h[1].access && h[0].refresh !== h[1].refresh && !!h[1].refresh;
  out.tokens = h.map((t) => t.access);
  await client.close();
  return out;
}

const plan = JSON.parse(planJSON);
let failed = 0;
for (const svc of plan) {
  try {
    console.log(JSON.stringify(await run(svc)));
  } catch (e) {
    failed++;
    console.log(JSON.stringify({ name: svc.name, error: String(e && e.stack ? e.stack : e) }));
  }
}
process.exit(failed ? 1 : 0);
