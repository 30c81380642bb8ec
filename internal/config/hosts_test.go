package config

import (
	"io"
	"strings"
	"testing"
)

// TestHostAllowed: the DNS-rebinding check on a request's Host. IP
// literals, localhost and *.localhost are served, 0.0.0.0 and [::] are not
// (browsers reach them as this machine too), and ALLOWED_HOSTS adds names
// by exact name, ".domain" or "*.domain".
func TestHostAllowed(t *testing.T) {
	patterns := []string{"dev.example", ".example.org", "*.corp.example"}
	tests := []struct {
		host    string
		allowed []string
		want    bool
	}{
		{"localhost", nil, true},
		{"localhost:3000", nil, true},
		{"LOCALHOST:3000", nil, true},
		{"localhost.:3000", nil, true},
		{"sub.localhost", nil, true},
		{"a.b.localhost:8080", nil, true},
		{".localhost", nil, false},
		{"evillocalhost", nil, false},
		{"localhost.evil.example", nil, false},
		{"127.0.0.1", nil, true},
		{"127.0.0.1:3000", nil, true},
		{"192.168.1.20:3000", nil, true},
		{"[::1]", nil, true},
		{"[::1]:3000", nil, true},
		{"::1", nil, true},
		{"[2001:db8::1]:443", nil, true},
		{"0.0.0.0", nil, false},
		{"0.0.0.0:3000", nil, false},
		{"0.0.0.0.:3000", nil, false},
		{"[::]", nil, false},
		{"[::]:3000", nil, false},
		{"::", nil, false},
		{"[0:0:0:0:0:0:0:0]:3000", nil, false},
		{"[::ffff:0.0.0.0]:3000", nil, false},
		{"0.0.0.0", []string{"0.0.0.0"}, false},
		{"localhost:3000,evil.example", nil, false},
		{"localhost:abc", nil, false},
		{"127.0.0.1:80x", nil, false},
		{"dev.example:3000x", patterns, false},
		{"localhost:", nil, true}, // an empty port is the default port
		{"", nil, false},
		{"evil.example", nil, false},
		{"127.0.0.1.nip.io:3000", nil, false},
		{"dev.example", patterns, true},
		{"DEV.Example.:8080", patterns, true},
		{"a.dev.example", patterns, false},
		{"xdev.example", patterns, false},
		{"example.org", patterns, true},
		{"a.b.example.org:3000", patterns, true},
		{"badexample.org", patterns, false},
		{"a.corp.example", patterns, true},
		{"corp.example", patterns, false},
		{"xcorp.example", patterns, false},
		{"evil.example", patterns, false},
	}
	for _, tt := range tests {
		if got := HostAllowed(tt.host, tt.allowed); got != tt.want {
			t.Errorf("HostAllowed(%q, %q) = %v, want %v", tt.host, tt.allowed, got, tt.want)
		}
	}
}

// TestLoopbackHost: the names browsers treat as potentially trustworthy,
// and so send Fetch Metadata to: localhost, *.localhost, 127.0.0.0/8, [::1].
func TestLoopbackHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"localhost:3000", true},
		{"LocalHost.:3000", true},
		{"app.localhost:3000", true},
		{"127.0.0.1", true},
		{"127.0.0.1:3000", true},
		{"127.1.2.3:3000", true},
		{"[::1]:3000", true},
		{"[::1]", true},
		{"::1", true},
		{"[0:0:0:0:0:0:0:1]:3000", true},
		{"", false},
		{".localhost", false},
		{"localhost.evil.example", false},
		{"localhost:3000,evil.example", false},
		{"0.0.0.0:3000", false},
		{"[::]:3000", false},
		{"192.168.1.20:3000", false},
		{"10.0.0.1", false},
		{"[::ffff:127.0.0.1]:3000", false}, // browsers keep it an IPv6 address, not loopback
		{"dev.example:3000", false},
		{"127.0.0.1.nip.io", false},
	}
	for _, tt := range tests {
		if got := LoopbackHost(tt.host); got != tt.want {
			t.Errorf("LoopbackHost(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

// TestAllowedHostsRefusePublicSuffixes: a wildcard over a suffix under
// which anyone can get a name (and point it at 127.0.0.1) would switch the
// Host check off. ALLOWED_HOSTS and config.json refuse it with an *Error
// (exit status 2) naming the suffix; exact names stay allowed.
func TestAllowedHostsRefusePublicSuffixes(t *testing.T) {
	refused := map[string]string{
		".com": "com", "*.com": "com", ".local": "local", "*.lan": "lan", ".internal": "internal", "*.test": "test",
		".localhost": "localhost", ".co.uk": "co.uk", "*.com.au": "com.au", ".ac.jp": "ac.jp", "*.gov.br": "gov.br",
		".nip.io": "nip.io", "*.sslip.io": "sslip.io", ".github.io": "github.io", "*.herokuapp.com": "herokuapp.com",
		".ngrok-free.app": "ngrok-free.app", "*.LOCALTEST.ME.": "localtest.me", ".amazonaws.com": "amazonaws.com",
	}
	for entry, suffix := range refused {
		for where, files := range map[string]map[string]string{
			"ALLOWED_HOSTS":                   {".env": "ALLOWED_HOSTS=dev.example," + entry + "\n"},
			"config.json: allowedHosts entry": {"config.json": `{"allowedHosts": ["dev.example", "` + entry + `"]}`},
		} {
			inDir(t, files)
			_, err := Load([]string{"app"}, envOf(nil), io.Discard)
			if !isConfigError(err) {
				t.Errorf("%s %q: err = %v, want an *Error (exit status 2)", where, entry, err)
				continue
			}
			for _, want := range []string{where, "entry 2", "anyone can get a name under " + suffix + " ",
				"DNS-rebinding", "list the exact names instead"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s %q: message %q lacks %q", where, entry, err, want)
				}
			}
		}
	}
	allowed := "nip.io,com,myapp.github.io,.example.co.uk,*.corp.example.com,.my-team.ngrok.app,dev.local,*.box.lan"
	inDir(t, nil)
	c, err := Load([]string{"app"}, envOf(map[string]string{"ALLOWED_HOSTS": allowed}), io.Discard)
	if err != nil {
		t.Fatalf("refused names and wildcards that are not public suffixes: %v", err)
	}
	if got := strings.Join(c.AllowedHosts, ","); got != allowed {
		t.Errorf("AllowedHosts = %s, want %s", got, allowed)
	}
}
