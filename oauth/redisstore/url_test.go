package redisstore_test

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mcp-oauth-gateway/gateway/oauth/redisstore"
)

func TestNewClient(t *testing.T) {
	tests := []struct {
		url, password string
		want          string // client type
		addr, pass    string
	}{
		{"redis://127.0.0.1:6379/0", "", "*redis.Client", "127.0.0.1:6379", ""},
		{"redis://:fromurl@127.0.0.1:6380/2", "", "*redis.Client", "127.0.0.1:6380", "fromurl"},
		{"redis://:fromurl@127.0.0.1:6380/2", "override", "*redis.Client", "127.0.0.1:6380", "override"},
		{"rediss://127.0.0.1:6390", "", "*redis.Client", "127.0.0.1:6390", ""},
		{"unix:///run/redis.sock?db=1", "pw", "*redis.Client", "/run/redis.sock", "pw"},
		{"redis://127.0.0.1:7000?addr=127.0.0.1:7001", "pw", "*redis.ClusterClient", "", "pw"},
		{"redis://127.0.0.1:26379?master_name=mymaster", "", "*redis.Client", "", ""},
	}
	for _, tc := range tests {
		c, err := redisstore.NewClient(tc.url, tc.password)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		switch v := c.(type) {
		case *redis.Client:
			if tc.want != "*redis.Client" {
				t.Errorf("%s: got %T, want %s", tc.url, c, tc.want)
			}
			if tc.addr != "" && v.Options().Addr != tc.addr {
				t.Errorf("%s: addr %q, want %q", tc.url, v.Options().Addr, tc.addr)
			}
			if v.Options().Password != tc.pass {
				t.Errorf("%s: password %q, want %q", tc.url, v.Options().Password, tc.pass)
			}
			if strings.HasPrefix(tc.url, "rediss:") && v.Options().TLSConfig == nil {
				t.Errorf("%s: no TLS", tc.url)
			}
		case *redis.ClusterClient:
			if tc.want != "*redis.ClusterClient" {
				t.Errorf("%s: got %T, want %s", tc.url, c, tc.want)
			}
			if v.Options().Password != tc.pass || len(v.Options().Addrs) != 2 {
				t.Errorf("%s: options %+v", tc.url, v.Options())
			}
		default:
			t.Errorf("%s: got %T", tc.url, c)
		}
		_ = c.Close()
	}
}

func TestNewClientErrorsHidePassword(t *testing.T) {
	for _, raw := range []string{
		"http://user:hunter2@127.0.0.1:6379",
		"redis://user:hunter2@127.0.0.1:notaport",
		"redis://user:hunter2@127.0.0.1:6379/0?bogus=1",
		"redis://user:hunter2@127.0.0.1:6379/notadb",
		"redis://user:hunter2@[::1",
		"::::",
	} {
		c, err := redisstore.NewClient(raw, "")
		if err == nil {
			_ = c.Close()
			t.Errorf("%s: accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error shows the password: %v", raw, err)
		}
	}
}
