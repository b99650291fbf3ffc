package echo

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// param is a tool parameter: a string or a boolean.
type param struct {
	name        string
	boolean     bool // a boolean (default false); otherwise a string
	required    bool
	description string
}

func (p param) option() mcp.ToolOption {
	opts := []mcp.PropertyOption{mcp.Description(p.description)}
	if p.required {
		opts = append(opts, mcp.Required())
	}
	if p.boolean {
		return mcp.WithBoolean(p.name, append(opts, mcp.DefaultBool(false))...)
	}
	return mcp.WithString(p.name, opts...)
}

func (p param) kind() string {
	if p.boolean {
		return "a boolean"
	}
	return "a string"
}

// checkArgs checks a call's arguments against the tool's parameters, as its
// input schema says: an object, no unknown names, the right types, the
// required ones present. An optional argument given as null counts as
// absent.
func checkArgs(toolName string, params []param, raw any) (map[string]any, error) {
	var args map[string]any
	switch a := raw.(type) {
	case nil:
		args = map[string]any{}
	case map[string]any:
		args = a
	case json.RawMessage:
		if err := json.Unmarshal(a, &args); err != nil {
			return nil, fmt.Errorf("%s: arguments must be a JSON object", toolName)
		}
		if args == nil {
			args = map[string]any{}
		}
	default:
		return nil, fmt.Errorf("%s: arguments must be a JSON object, not %s", toolName, jsonKind(raw))
	}
	var unknown []string
	for name := range args {
		if !slices.ContainsFunc(params, func(p param) bool { return p.name == name }) {
			unknown = append(unknown, fmt.Sprintf("%q", name))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%s: unknown argument %s; %s", toolName, strings.Join(unknown, ", "), takes(toolName, params))
	}
	for _, p := range params {
		v, ok := args[p.name]
		if !ok || (v == nil && !p.required) {
			if p.required {
				return nil, fmt.Errorf("%s: argument %q is required (%s)", toolName, p.name, p.kind())
			}
			continue
		}
		var good bool
		if p.boolean {
			_, good = v.(bool)
		} else {
			_, good = v.(string)
		}
		if !good {
			return nil, fmt.Errorf("%s: argument %q must be %s, not %s", toolName, p.name, p.kind(), jsonKind(v))
		}
	}
	return args, nil
}

func takes(toolName string, params []param) string {
	if len(params) == 0 {
		return toolName + " takes no arguments"
	}
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.name
	}
	return toolName + " takes: " + strings.Join(names, ", ")
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float64, json.Number, int, int64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// boolArg returns a boolean argument, false when absent.
func (c *call) boolArg(name string) bool {
	b, _ := c.args[name].(bool)
	return b
}

// stringArg returns a string argument, "" when absent.
func (c *call) stringArg(name string) string {
	s, _ := c.args[name].(string)
	return s
}
