package fetch

import "testing"

func TestRobotsRules(t *testing.T) {
	const file = `# comment
User-agent: OtherBot
Disallow: /

User-agent: modelcontextprotocol   # product tokens match case-insensitively
User-agent: AlsoBot
Disallow: /private/
Allow: /private/open
Disallow: /*.pdf$
Disallow: /search?*q=
Disallow: /caf%c3%a9
Sitemap: https://example.com/sitemap.xml

User-agent: *
Disallow: /everything-for-others

User-agent: ModelContextProtocol
Disallow: /second-group
Allow: /page
Disallow: /page
`
	rules := parseRobots([]byte(file), "ModelContextProtocol")
	for _, c := range []struct {
		path string
		ok   bool
	}{
		{"/", true},
		{"/private/", false},
		{"/private/x", false},
		{"/private/open", true},          // longer allow wins
		{"/private/openly", true},        // prefix match
		{"/docs/a.pdf", false},           // wildcard and anchor
		{"/docs/a.pdf?download=1", true}, // $ anchors the end
		{"/search?lang=en&q=go", false},
		{"/search", true},
		{"/café", false}, // raw UTF-8 path matches the encoded rule
		{"/caf%C3%A9", false},
		{"/everything-for-others", true}, // the * group is not ours
		{"/second-group/x", false},       // groups for the same agent merge
		{"/page", true},                  // allow wins a tie
		{"/robots.txt", true},
	} {
		if got := rules.allowed(c.path); got != c.ok {
			t.Errorf("allowed(%q) = %v, want %v", c.path, got, c.ok)
		}
	}
	star := parseRobots([]byte(file), "SomeBot")
	if star.allowed("/everything-for-others") || !star.allowed("/private/") {
		t.Error("an unnamed agent must follow the * group")
	}
	if none := parseRobots([]byte("User-agent: OtherBot\nDisallow: /\n"), "SomeBot"); !none.allowed("/x") {
		t.Error("no matching group must allow everything")
	}
	if empty := parseRobots([]byte("User-agent: *\nDisallow:\n"), "SomeBot"); !empty.allowed("/x") {
		t.Error("an empty Disallow must allow everything")
	}
}

func TestRobotsMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		ok            bool
	}{
		{"/", "/anything", true},
		{"/a", "/b", false},
		{"/*", "/", true},
		{"/a*c", "/abbbc", true},
		{"/a*c", "/abbb", false},
		{"/a*c$", "/acx", false},
		{"/a*c$", "/axxc", true},
		{"/a$", "/a", true},
		{"/a$", "/ab", false},
		{"*x*y*", "/axbyc", true},
		{"/**", "/z", true},
	} {
		if got := robotsMatch(c.pattern, c.path); got != c.ok {
			t.Errorf("robotsMatch(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}
