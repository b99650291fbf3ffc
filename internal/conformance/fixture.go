package conformance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcp-oauth-gateway/gateway/mcpserver"
)

// Base64 payloads of a 1x1 PNG and a tiny WAV file.
const (
	pngImage = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
	wavAudio = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="
)

// Register adds the suite's tools, resources and prompts to s. stateKey
// signs the request state of multi round-trip tools.
func Register(s *mcpserver.Server, stateKey []byte) {
	f := &fixture{key: stateKey}
	f.tools(s)
	f.inputTools(s)
	f.statelessTools(s)
	f.resources(s)
	f.prompts(s)
}

type fixture struct{ key []byte }

func text(s string) *mcp.CallToolResult { return mcp.NewToolResultText(s) }

func (f *fixture) tools(s *mcpserver.Server) {
	noArgs := func(name, desc string) mcp.Tool { return mcp.NewTool(name, mcp.WithDescription(desc)) }

	s.AddTool(noArgs("test_simple_text", "Answers with a fixed text."),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return text("This is a simple text response for testing."), nil
		})
	s.AddTool(noArgs("test_image_content", "Answers with a 1x1 PNG image."),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewImageContent(pngImage, "image/png")}}, nil
		})
	s.AddTool(noArgs("test_audio_content", "Answers with a short WAV clip."),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewAudioContent(wavAudio, "audio/wav")}}, nil
		})
	s.AddTool(noArgs("test_embedded_resource", "Answers with an embedded text resource."),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{mcp.NewEmbeddedResource(mcp.TextResourceContents{
				URI: "test://embedded-resource", MIMEType: "text/plain", Text: "This is an embedded resource content.",
			})}}, nil
		})
	s.AddTool(noArgs("test_multiple_content_types", "Answers with text, an image and an embedded resource."),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				mcp.NewTextContent("Multiple content types test:"),
				mcp.NewImageContent(pngImage, "image/png"),
				mcp.NewEmbeddedResource(mcp.TextResourceContents{
					URI: "test://mixed-content-resource", MIMEType: "application/json", Text: `{"test":"data","value":123}`,
				}),
			}}, nil
		})
	s.AddTool(noArgs("test_error_handling", "Always fails, as a tool error."),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultError("This tool intentionally returns an error for testing"), nil
		})
	s.AddTool(noArgs("test_tool_with_logging", "Sends three log messages while it runs."),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			for i, msg := range []string{"Tool execution started", "Tool processing data", "Tool execution completed"} {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				if err := mcpserver.Log(ctx, mcp.LoggingLevelInfo, "conformance-fixture", msg); err != nil {
					return nil, err
				}
			}
			return text("Tool with logging executed successfully"), nil
		})
	s.AddTool(noArgs("test_tool_with_progress", "Reports progress 0, 50 and 100 of 100."),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			for i, p := range []float64{0, 50, 100} {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				if err := mcpserver.Progress(ctx, req, p, 100, ""); err != nil {
					return nil, err
				}
			}
			return text("Progress reported"), nil
		})
	s.AddLongRunningTool(noArgs("test_reconnection", "Closes its SSE stream mid-call; the result arrives after the client reconnects (SEP-1699)."),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			time.Sleep(50 * time.Millisecond)
			mcpserver.CloseStream(ctx)
			time.Sleep(200 * time.Millisecond)
			return text("Reconnection test completed"), nil
		})
	s.AddTool(mcp.NewTool("test_sampling", mcp.WithDescription("Asks the client's LLM to answer a prompt."),
		mcp.WithString("prompt", mcp.Required(), mcp.Description("What to ask the LLM"))),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			res, err := server.ServerFromContext(ctx).RequestSampling(ctx, mcp.CreateMessageRequest{
				CreateMessageParams: mcp.CreateMessageParams{
					Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent(req.GetString("prompt", ""))}},
					MaxTokens: 100,
				},
			})
			if err != nil {
				return mcp.NewToolResultError("sampling failed: " + err.Error()), nil
			}
			answer := "(no text)"
			if t, ok := mcp.AsTextContent(res.Content); ok {
				answer = t.Text
			}
			return text("LLM response: " + answer), nil
		})
	s.AddTool(mcp.NewTool("test_elicitation", mcp.WithDescription("Asks the user for a username and e-mail address."),
		mcp.WithString("message", mcp.Required(), mcp.Description("What to tell the user"))),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return elicit(ctx, req.GetString("message", ""), map[string]any{
				"type": "object",
				"properties": map[string]any{
					"username": map[string]any{"type": "string", "description": "User's response"},
					"email":    map[string]any{"type": "string", "description": "User's email address"},
				},
				"required": []string{"username", "email"},
			}, "User response")
		})
	s.AddTool(noArgs("test_elicitation_sep1034_defaults", "Asks for values with a default of each primitive type (SEP-1034)."),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return elicit(ctx, "Please review your information", map[string]any{
				"type": "object",
				"properties": map[string]any{
					"name":     map[string]any{"type": "string", "default": "John Doe"},
					"age":      map[string]any{"type": "integer", "default": 30},
					"score":    map[string]any{"type": "number", "default": 95.5},
					"status":   map[string]any{"type": "string", "enum": []string{"active", "inactive", "pending"}, "default": "active"},
					"verified": map[string]any{"type": "boolean", "default": true},
				},
			}, "Elicitation completed")
		})
	s.AddTool(noArgs("test_elicitation_sep1330_enums", "Asks for values with each enum schema style (SEP-1330)."),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			titled := func(pairs ...string) []any {
				var out []any
				for i := 0; i < len(pairs); i += 2 {
					out = append(out, map[string]any{"const": pairs[i], "title": pairs[i+1]})
				}
				return out
			}
			return elicit(ctx, "Please choose", map[string]any{
				"type": "object",
				"properties": map[string]any{
					"untitledSingle": map[string]any{"type": "string", "enum": []string{"option1", "option2", "option3"}},
					"titledSingle":   map[string]any{"type": "string", "oneOf": titled("value1", "First Option", "value2", "Second Option")},
					"legacyEnum": map[string]any{"type": "string", "enum": []string{"opt1", "opt2", "opt3"},
						"enumNames": []string{"Option One", "Option Two", "Option Three"}},
					"untitledMulti": map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"option1", "option2", "option3"}}},
					"titledMulti":   map[string]any{"type": "array", "items": map[string]any{"anyOf": titled("value1", "First Choice", "value2", "Second Choice")}},
				},
			}, "Elicitation completed")
		})
	s.AddTool(mcp.NewToolWithRawSchema("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features",
		json.RawMessage(schema202012)),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return text("schema accepted"), nil
		})
	s.AddTool(mcp.NewToolWithRawSchema("test_custom_headers", "Echoes a region that travels in the Mcp-Param-Region header (SEP-2243).",
		json.RawMessage(`{"type":"object","properties":{"region":{"type":"string","description":"Where to run","x-mcp-header":"Region"}},"required":["region"]}`)),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return text("region: " + req.GetString("region", "")), nil
		})
}

const schema202012 = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
  "properties": {
    "name": {"type": "string"},
    "address": {"$ref": "#/$defs/address"},
    "contactMethod": {"type": "string", "enum": ["phone", "email"]},
    "phone": {"type": "string"},
    "email": {"type": "string"}
  },
  "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
  "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
  "then": {"required": ["phone"]},
  "else": {"required": ["email"]},
  "additionalProperties": false
}`

// elicit asks the client for input and reports its answer as text.
func elicit(ctx context.Context, message string, schema map[string]any, label string) (*mcp.CallToolResult, error) {
	res, err := server.ServerFromContext(ctx).RequestElicitation(ctx, mcp.ElicitationRequest{
		Params: mcp.ElicitationParams{Message: message, RequestedSchema: schema},
	})
	if err != nil {
		return mcp.NewToolResultError("elicitation failed: " + err.Error()), nil
	}
	content, _ := json.Marshal(res.Content)
	return text(fmt.Sprintf("%s: action=%s, content=%s", label, res.Action, content)), nil
}

func (f *fixture) resources(s *mcpserver.Server) {
	s.AddResource(mcp.NewResource("test://static-text", "static-text",
		mcp.WithResourceDescription("A fixed text resource"), mcp.WithMIMEType("text/plain")),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: "test://static-text", MIMEType: "text/plain",
				Text: "This is the content of the static text resource."}}, nil
		})
	s.AddResource(mcp.NewResource("test://static-binary", "static-binary",
		mcp.WithResourceDescription("A fixed binary resource (a PNG image)"), mcp.WithMIMEType("image/png")),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.BlobResourceContents{URI: "test://static-binary", MIMEType: "image/png", Blob: pngImage}}, nil
		})
	s.AddResource(mcp.NewResource("test://watched-resource", "watched-resource",
		mcp.WithResourceDescription("A resource clients may subscribe to"), mcp.WithMIMEType("text/plain")),
		func(context.Context, mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: "test://watched-resource", MIMEType: "text/plain", Text: "Watched resource content"}}, nil
		})
	s.AddResourceTemplate(mcp.NewResourceTemplate("test://template/{id}/data", "template",
		mcp.WithTemplateDescription("A resource template with parameter substitution"), mcp.WithTemplateMIMEType("application/json")),
		func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			id := strings.TrimSuffix(strings.TrimPrefix(req.Params.URI, "test://template/"), "/data")
			data, _ := json.Marshal(map[string]any{"id": id, "templateTest": true, "data": "Data for ID: " + id})
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json", Text: string(data)}}, nil
		})
}

func (f *fixture) prompts(s *mcpserver.Server) {
	user := func(c mcp.Content) mcp.PromptMessage { return mcp.PromptMessage{Role: mcp.RoleUser, Content: c} }
	s.AddPrompt(mcp.NewPrompt("test_simple_prompt", mcp.WithPromptDescription("A prompt without arguments")),
		func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{user(mcp.NewTextContent("This is a simple prompt for testing."))}}, nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_arguments", mcp.WithPromptDescription("A prompt with two required arguments"),
		mcp.WithArgument("arg1", mcp.ArgumentDescription("First test argument"), mcp.RequiredArgument()),
		mcp.WithArgument("arg2", mcp.ArgumentDescription("Second test argument"), mcp.RequiredArgument())),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			a := req.Params.Arguments
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{user(mcp.NewTextContent(
				fmt.Sprintf("Prompt with arguments: arg1='%s', arg2='%s'", a["arg1"], a["arg2"])))}}, nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_embedded_resource", mcp.WithPromptDescription("A prompt that embeds a resource"),
		mcp.WithArgument("resourceUri", mcp.ArgumentDescription("URI of the resource to embed"), mcp.RequiredArgument())),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{
				user(mcp.NewEmbeddedResource(mcp.TextResourceContents{URI: req.Params.Arguments["resourceUri"], MIMEType: "text/plain",
					Text: "Embedded resource content for testing."})),
				user(mcp.NewTextContent("Please process the embedded resource above.")),
			}}, nil
		})
	s.AddPrompt(mcp.NewPrompt("test_prompt_with_image", mcp.WithPromptDescription("A prompt with an image")),
		func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{
				user(mcp.NewImageContent(pngImage, "image/png")),
				user(mcp.NewTextContent("Please analyze the image above.")),
			}}, nil
		})
	s.AddPrompt(mcp.NewPrompt("test_input_required_result_prompt", mcp.WithPromptDescription("A prompt that first asks the user for context (SEP-2322)")),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			answer := server.ElicitationResponse(req.Params.InputResponses, "user_context")
			if answer == nil || answer.Action != mcp.ElicitationResponseActionAccept {
				return server.NewInputRequestBuilder("").
					Elicit("user_context", elicitParams("What context should the prompt use?", "context")).
					PromptResult(), nil
			}
			return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{user(mcp.NewTextContent(
				fmt.Sprintf("Use this context: %v", answerField(answer, "context"))))}}, nil
		})
}

// elicitParams asks for one required string field.
func elicitParams(message, field string) mcp.ElicitationParams {
	return mcp.ElicitationParams{Message: message, RequestedSchema: map[string]any{
		"type":       "object",
		"properties": map[string]any{field: map[string]any{"type": "string"}},
		"required":   []string{field},
	}}
}

func answerField(res *mcp.ElicitationResult, field string) any {
	if m, ok := res.Content.(map[string]any); ok {
		return m[field]
	}
	return nil
}

// sign and verify protect multi round-trip request state against tampering.
func (f *fixture) sign(state string) string {
	mac := hmac.New(sha256.New, f.key)
	mac.Write([]byte(state))
	return base64.RawURLEncoding.EncodeToString([]byte(state)) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

var errTampered = errors.New("requestState failed its integrity check")

func (f *fixture) verify(token string) (string, error) {
	body, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", errTampered
	}
	state, err1 := base64.RawURLEncoding.DecodeString(body)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return "", errTampered
	}
	mac := hmac.New(sha256.New, f.key)
	mac.Write(state)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return "", errTampered
	}
	return string(state), nil
}

// clientCapabilities are the capabilities the client declared: per request
// in 2026-07-28, at initialize before.
func clientCapabilities(ctx context.Context) mcp.ClientCapabilities {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.ClientCapabilities != nil {
		return *info.ClientCapabilities
	}
	if c, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		return c.GetClientCapabilities()
	}
	return mcp.ClientCapabilities{}
}

// statelessTools are the diagnostic tools of the 2026-07-28 scenarios.
func (f *fixture) statelessTools(s *mcpserver.Server) {
	noArgs := func(name, desc string) mcp.Tool { return mcp.NewTool(name, mcp.WithDescription(desc)) }
	s.AddTool(noArgs("test_missing_capability", "Needs the sampling capability; fails with -32021 when the client lacks it."),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if clientCapabilities(ctx).Sampling == nil {
				return nil, mcp.MissingRequiredClientCapabilityError{Capability: "sampling"}
			}
			return text("sampling capability present"), nil
		})
	s.AddTool(noArgs("test_logging_tool", "Logs at info level; clients that did not ask for logs get none."),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			for _, msg := range []string{"logging tool started", "logging tool finished"} {
				if err := mcpserver.Log(ctx, mcp.LoggingLevelInfo, "conformance-fixture", msg); err != nil {
					return nil, err
				}
			}
			return text("logged"), nil
		})
	s.AddTool(noArgs("test_streaming_elicitation", "Asks for input through an input_required result, never a server request."),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			answer := server.ElicitationResponse(req.Params.InputResponses, "answer")
			if answer == nil {
				return server.NewInputRequestBuilder("").Elicit("answer", elicitParams("Anything to add?", "text")).ToolResult(), nil
			}
			return text(fmt.Sprintf("You said: %v", answerField(answer, "text"))), nil
		})
	toggle := func(add, remove func(), present *atomic.Bool) {
		if present.CompareAndSwap(false, true) {
			add()
		} else {
			present.Store(false)
			remove()
		}
	}
	var toolPresent, promptPresent atomic.Bool
	s.AddTool(noArgs("test_trigger_tool_change", "Adds or removes the tool test_dynamic_tool, so the tool list changes."),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			toggle(func() {
				s.AddTool(noArgs("test_dynamic_tool", "Comes and goes with test_trigger_tool_change."),
					func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) { return text("dynamic"), nil })
			}, func() { s.RemoveTools("test_dynamic_tool") }, &toolPresent)
			return text("tool list changed"), nil
		})
	s.AddTool(noArgs("test_trigger_prompt_change", "Adds or removes the prompt test_dynamic_prompt, so the prompt list changes."),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			toggle(func() {
				s.AddPrompt(mcp.NewPrompt("test_dynamic_prompt", mcp.WithPromptDescription("Comes and goes with test_trigger_prompt_change.")),
					func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
						return &mcp.GetPromptResult{Messages: []mcp.PromptMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent("dynamic")}}}, nil
					})
			}, func() { s.RemovePrompts("test_dynamic_prompt") }, &promptPresent)
			return text("prompt list changed"), nil
		})
	s.AddTool(noArgs("test_input_required_result_capabilities", "Asks only for the inputs the client declared it can give (SEP-2322)."),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			in := req.Params.InputResponses
			if len(in) > 0 {
				return text(fmt.Sprintf("received %d input(s)", len(in))), nil
			}
			caps := clientCapabilities(ctx)
			b := server.NewInputRequestBuilder("")
			asked := 0
			if caps.Elicitation != nil {
				b.Elicit("user_name", elicitParams("What is your name?", "name"))
				asked++
			}
			if caps.Sampling != nil {
				b.Sample("summary", mcp.CreateMessageParams{
					Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent("Summarize MCP in one line")}},
					MaxTokens: 50,
				})
				asked++
			}
			if caps.Roots != nil {
				b.Roots("client_roots")
				asked++
			}
			if asked == 0 {
				return text("the client declared no capability to ask through"), nil
			}
			return b.ToolResult(), nil
		})
}

func (f *fixture) inputTools(s *mcpserver.Server) {
	noArgs := func(name, desc string) mcp.Tool { return mcp.NewTool(name, mcp.WithDescription(desc)) }
	capital := mcp.CreateMessageParams{
		Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent("What is the capital of France?")}},
		MaxTokens: 100,
	}

	s.AddTool(noArgs("test_input_required_result_elicitation", "Asks the user's name through an input_required result (SEP-2322)."),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			answer := server.ElicitationResponse(req.Params.InputResponses, "user_name")
			if answer == nil || answerField(answer, "name") == nil {
				return server.NewInputRequestBuilder("").Elicit("user_name", elicitParams("What is your name?", "name")).ToolResult(), nil
			}
			return text(fmt.Sprintf("Hello, %v!", answerField(answer, "name"))), nil
		})
	s.AddTool(noArgs("test_input_required_result_sampling", "Asks the client's LLM a question through an input_required result (SEP-2322)."),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			answer := server.SamplingResponse(req.Params.InputResponses, "capital_question")
			if answer == nil {
				return server.NewInputRequestBuilder("").Sample("capital_question", capital).ToolResult(), nil
			}
			return text("LLM answered: " + contentText(answer.Content)), nil
		})
	s.AddTool(noArgs("test_input_required_result_list_roots", "Asks for the client's roots through an input_required result (SEP-2322)."),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			answer := server.RootsResponse(req.Params.InputResponses, "client_roots")
			if answer == nil {
				return server.NewInputRequestBuilder("").Roots("client_roots").ToolResult(), nil
			}
			var uris []string
			for _, r := range answer.Roots {
				uris = append(uris, r.URI)
			}
			return text(fmt.Sprintf("Client roots (%d): %s", len(uris), strings.Join(uris, ", "))), nil
		})
	s.AddTool(noArgs("test_input_required_result_request_state", "Round-trips a signed requestState (SEP-2322)."),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			answer := server.ElicitationResponse(req.Params.InputResponses, "confirm")
			if answer == nil || req.Params.RequestState == "" {
				return server.NewInputRequestBuilder(f.sign("confirm-pending")).
					Elicit("confirm", mcp.ElicitationParams{Message: "Please confirm", RequestedSchema: map[string]any{
						"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}}, "required": []string{"ok"},
					}}).ToolResult(), nil
			}
			if state, err := f.verify(req.Params.RequestState); err != nil || state != "confirm-pending" {
				return nil, invalidParams(errTampered)
			}
			return text(fmt.Sprintf("state-ok: confirmed=%v", answerField(answer, "ok"))), nil
		})
	s.AddTool(noArgs("test_input_required_result_multiple_inputs", "Asks for three inputs at once (SEP-2322)."),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			in := req.Params.InputResponses
			name := server.ElicitationResponse(in, "user_name")
			greeting := server.SamplingResponse(in, "greeting")
			roots := server.RootsResponse(in, "client_roots")
			if name == nil || greeting == nil || roots == nil {
				return server.NewInputRequestBuilder(f.sign("multi")).
					Elicit("user_name", elicitParams("What is your name?", "name")).
					Sample("greeting", mcp.CreateMessageParams{
						Messages:  []mcp.SamplingMessage{{Role: mcp.RoleUser, Content: mcp.NewTextContent("Generate a greeting")}},
						MaxTokens: 50,
					}).
					Roots("client_roots").ToolResult(), nil
			}
			if _, err := f.verify(req.Params.RequestState); err != nil {
				return nil, invalidParams(err)
			}
			return text(fmt.Sprintf("name=%v greeting=%s roots=%d", answerField(name, "name"), contentText(greeting.Content), len(roots.Roots))), nil
		})
	s.AddTool(noArgs("test_input_required_result_multi_round", "Asks two questions in two rounds (SEP-2322)."),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			in := req.Params.InputResponses
			round := ""
			if req.Params.RequestState != "" {
				var err error
				if round, err = f.verify(req.Params.RequestState); err != nil {
					return nil, invalidParams(err)
				}
			}
			switch {
			case round == "round-1" && server.ElicitationResponse(in, "step1") != nil:
				name := answerField(server.ElicitationResponse(in, "step1"), "name")
				return server.NewInputRequestBuilder(f.sign("round-2:"+fmt.Sprint(name))).
					Elicit("step2", elicitParams("Step 2: What is your favorite color?", "color")).ToolResult(), nil
			case strings.HasPrefix(round, "round-2:") && server.ElicitationResponse(in, "step2") != nil:
				color := answerField(server.ElicitationResponse(in, "step2"), "color")
				return text(fmt.Sprintf("Done: name=%s, color=%v", strings.TrimPrefix(round, "round-2:"), color)), nil
			default:
				return server.NewInputRequestBuilder(f.sign("round-1")).
					Elicit("step1", elicitParams("Step 1: What is your name?", "name")).ToolResult(), nil
			}
		})
	s.AddTool(noArgs("test_input_required_result_tampered_state", "Rejects a requestState that was changed (SEP-2322)."),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if req.Params.RequestState == "" {
				return server.NewInputRequestBuilder(f.sign("untampered")).
					Elicit("confirm", elicitParams("Please confirm", "ok")).ToolResult(), nil
			}
			if state, err := f.verify(req.Params.RequestState); err != nil || state != "untampered" {
				return nil, &mcpserver.RPCError{Code: mcp.INVALID_PARAMS, Message: errTampered.Error()}
			}
			return text("state-ok"), nil
		})
}

func contentText(c any) string {
	if t, ok := mcp.AsTextContent(c); ok {
		return t.Text
	}
	return "(no text)"
}

// invalidParams reports a request the handler refuses; mcp-go turns it into a
// JSON-RPC error.
func invalidParams(err error) error {
	return fmt.Errorf("invalid params: %w", err)
}
