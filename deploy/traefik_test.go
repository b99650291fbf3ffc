package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestTraefikGatewayConfig: traefik/gateway-dynamic.yml, which no Traefik
// runs here, is held to what the other proxies' files prove on loopback:
// its routers name services and middlewares that exist, serve the same
// hosts as nginx/mcp-oauth-gateway.conf, refuse /verify and /metrics from
// the outside, and balance over the replicas with the sticky cookie and
// the /ready health check.
func TestTraefikGatewayConfig(t *testing.T) {
	b, err := os.ReadFile("traefik/gateway-dynamic.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		HTTP struct {
			Routers map[string]struct {
				Rule        string   `yaml:"rule"`
				EntryPoints []string `yaml:"entryPoints"`
				Service     string   `yaml:"service"`
				Middlewares []string `yaml:"middlewares"`
				Priority    int      `yaml:"priority"`
				TLS         *struct {
					CertResolver string `yaml:"certResolver"`
				} `yaml:"tls"`
			} `yaml:"routers"`
			Middlewares map[string]map[string]any `yaml:"middlewares"`
			Services    map[string]struct {
				LoadBalancer struct {
					Servers []struct {
						URL string `yaml:"url"`
					} `yaml:"servers"`
					Sticky *struct {
						Cookie *struct {
							Name     string `yaml:"name"`
							Secure   bool   `yaml:"secure"`
							HTTPOnly bool   `yaml:"httpOnly"`
							SameSite string `yaml:"sameSite"`
						} `yaml:"cookie"`
					} `yaml:"sticky"`
					HealthCheck *struct {
						Path     string `yaml:"path"`
						Interval string `yaml:"interval"`
						Timeout  string `yaml:"timeout"`
					} `yaml:"healthCheck"`
					ResponseForwarding struct {
						FlushInterval string `yaml:"flushInterval"`
					} `yaml:"responseForwarding"`
				} `yaml:"loadBalancer"`
			} `yaml:"services"`
		} `yaml:"http"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("gateway-dynamic.yml: %v", err)
	}
	h := doc.HTTP
	hostRule := regexp.MustCompile("Host\\(`([^`]+)`\\)")
	nginx, err := os.ReadFile("nginx/mcp-oauth-gateway.conf")
	if err != nil {
		t.Fatal(err)
	}
	var nginxHosts []string
	for _, m := range regexp.MustCompile(`(?m)^\s*server_name ([^;]+);`).FindAllStringSubmatch(string(nginx), -1) {
		for _, h := range strings.Fields(m[1]) {
			if !slices.Contains(nginxHosts, h) {
				nginxHosts = append(nginxHosts, h)
			}
		}
	}
	refuses := false
	for name, r := range h.Routers {
		if _, ok := h.Services[r.Service]; !ok {
			t.Errorf("router %s: no service %q", name, r.Service)
		}
		for _, m := range r.Middlewares {
			if _, ok := h.Middlewares[m]; !ok {
				t.Errorf("router %s: no middleware %q", name, m)
			}
		}
		if r.TLS == nil || r.TLS.CertResolver == "" || !slices.Equal(r.EntryPoints, []string{"websecure"}) {
			t.Errorf("router %s: no TLS", name)
		}
		var hosts []string
		for _, m := range hostRule.FindAllStringSubmatch(r.Rule, -1) {
			hosts = append(hosts, m[1])
		}
		slices.Sort(hosts)
		want := slices.Clone(nginxHosts)
		slices.Sort(want)
		if !slices.Equal(hosts, want) {
			t.Errorf("router %s serves %v; nginx/mcp-oauth-gateway.conf serves %v", name, hosts, want)
		}
		if strings.Contains(r.Rule, "PathPrefix(`/verify`)") && strings.Contains(r.Rule, "PathPrefix(`/metrics`)") {
			refuses = r.Priority > 0 && len(r.Middlewares) > 0
			for _, m := range r.Middlewares {
				allow, _ := h.Middlewares[m]["ipAllowList"].(map[string]any)
				if ranges, _ := allow["sourceRange"].([]any); len(ranges) != 1 || ranges[0] != "255.255.255.255/32" {
					refuses = false
				}
			}
		}
	}
	if !refuses {
		t.Error("no router refuses /verify and /metrics ahead of the gateway's router")
	}
	lb := h.Services["mcp-gateway"].LoadBalancer
	if len(lb.Servers) < 2 {
		t.Errorf("%d replicas", len(lb.Servers))
	}
	if lb.Sticky == nil || lb.Sticky.Cookie == nil || !lb.Sticky.Cookie.Secure || !lb.Sticky.Cookie.HTTPOnly {
		t.Errorf("no secure, HTTP-only sticky cookie: %+v", lb.Sticky)
	}
	if lb.HealthCheck == nil || lb.HealthCheck.Path != "/ready" {
		t.Errorf("health check %+v: want /ready", lb.HealthCheck)
	}
}
