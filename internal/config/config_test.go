package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"bitbucket-client-credentials-sample/bitbucket"
)

// inDir runs the test in a fresh working directory holding the given files
// (config.json, .env), since Load reads both from there. It changes the
// process's working directory (t.Chdir), so no test here runs in parallel.
func inDir(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigPrecedence(t *testing.T) {
	const file = `{"consumerKey": "file-key", "consumerSecret": "file-secret", "workspace": "file-ws", "port": 4000,
		"tokenURL": "https://file.example/token", "apiURL": "https://file.example/2.0/"}`
	tests := []struct {
		name   string
		files  map[string]string
		env    map[string]string
		args   []string
		want   Config
		assert func(t *testing.T, c Config)
	}{
		{
			name: "defaults",
			assert: func(t *testing.T, c Config) {
				dir, _ := os.Getwd()
				want := Config{Host: "127.0.0.1", Port: 3000, TokenURL: bitbucket.DefaultTokenURL, APIURL: bitbucket.DefaultAPIURL,
					Timeout: 10 * time.Second, Demo: true, DemoReason: "BITBUCKET_CONSUMER_KEY and BITBUCKET_CONSUMER_SECRET " +
						"are not set (looked for .env in " + dir + ": there is none)"}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got  %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name:  "config.json over defaults",
			files: map[string]string{"config.json": file},
			want: Config{ConsumerKey: "file-key", ConsumerSecret: "file-secret", Workspace: "file-ws", Host: "127.0.0.1",
				Port: 4000, TokenURL: "https://file.example/token", APIURL: "https://file.example/2.0", Timeout: 10 * time.Second},
		},
		{
			name: ".env over config.json",
			files: map[string]string{"config.json": file, ".env": "BITBUCKET_CONSUMER_KEY=dotenv-key\n" +
				"# a comment\nBITBUCKET_WORKSPACE=dotenv-ws\nPORT=5000\nBITBUCKET_TIMEOUT=3s\n"},
			want: Config{ConsumerKey: "dotenv-key", ConsumerSecret: "file-secret", Workspace: "dotenv-ws", Host: "127.0.0.1",
				Port: 5000, TokenURL: "https://file.example/token", APIURL: "https://file.example/2.0", Timeout: 3 * time.Second},
		},
		{
			name:  "environment over .env",
			files: map[string]string{"config.json": file, ".env": "BITBUCKET_CONSUMER_KEY=dotenv-key\nPORT=5000\n"},
			env: map[string]string{"BITBUCKET_CONSUMER_KEY": "env-key", "BITBUCKET_CONSUMER_SECRET": "env-secret",
				"PORT": "6000", "HOST": "0.0.0.0", "BITBUCKET_TOKEN_URL": "http://127.0.0.1:9/t",
				"BITBUCKET_API_URL": "http://127.0.0.1:9/2.0", "BITBUCKET_WORKSPACE": "env-ws", "BITBUCKET_TIMEOUT": "250ms"},
			assert: func(t *testing.T, c Config) {
				want := Config{ConsumerKey: "env-key", ConsumerSecret: "env-secret", Workspace: "env-ws", Host: "0.0.0.0",
					Port: 6000, TokenURL: "http://127.0.0.1:9/t", APIURL: "http://127.0.0.1:9/2.0", Timeout: 250 * time.Millisecond}
				notes := c.EnvNotes
				c.EnvNotes = nil
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got  %+v\nwant %+v", c, want)
				}
				if len(notes) != 2 || !strings.HasPrefix(notes[0], "BITBUCKET_CONSUMER_KEY ") || !strings.HasPrefix(notes[1], "PORT ") {
					t.Errorf("EnvNotes = %q, want notes on BITBUCKET_CONSUMER_KEY and PORT", notes)
				}
			},
		},
		{
			name:  "-config chooses the file",
			files: map[string]string{"other.json": `{"workspace": "other-ws"}`, "config.json": file},
			args:  []string{"-config", "other.json"},
			assert: func(t *testing.T, c Config) {
				if c.Workspace != "other-ws" || c.ConsumerKey != "" {
					t.Errorf("read the wrong file: %+v", c)
				}
			},
		},
		{
			name:  "-demo wins over credentials",
			files: map[string]string{"config.json": file},
			args:  []string{"-demo"},
			assert: func(t *testing.T, c Config) {
				if !c.Demo || c.DemoReason != "the -demo flag was given" {
					t.Errorf("Demo = %v (%s), want demo mode from the flag", c.Demo, c.DemoReason)
				}
			},
		},
		{
			name:  "key without secret is demo mode",
			files: map[string]string{".env": "BITBUCKET_CONSUMER_KEY=k\n"},
			assert: func(t *testing.T, c Config) {
				if !c.Demo {
					t.Error("Demo = false with no secret")
				}
			},
		},
		{
			name:  "a port given as a string",
			files: map[string]string{"config.json": `{"port": "3100"}`},
			assert: func(t *testing.T, c Config) {
				if c.Port != 3100 {
					t.Errorf("Port = %d", c.Port)
				}
			},
		},
		{
			name:  "empty config.json values keep the defaults",
			files: map[string]string{"config.json": `{"consumerKey": "", "tokenURL": ""}`},
			assert: func(t *testing.T, c Config) {
				if c.TokenURL != bitbucket.DefaultTokenURL {
					t.Errorf("TokenURL = %q", c.TokenURL)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, tt.files)
			c, err := Load(append([]string{"app"}, tt.args...), envOf(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tt.assert != nil {
				tt.assert(t, c)
				return
			}
			if !reflect.DeepEqual(c, tt.want) {
				t.Errorf("got  %+v\nwant %+v", c, tt.want)
			}
		})
	}
}

// TestAllowedHosts: ALLOWED_HOSTS (environment, then .env) replaces
// config.json's allowedHosts; entries are normalized once, here.
func TestAllowedHosts(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		env   map[string]string
		want  []string
	}{
		{"not set", nil, nil, nil},
		{"comma-separated, spaces and a trailing comma", nil,
			map[string]string{"ALLOWED_HOSTS": " dev.example, .Example.ORG ,*.corp.example,"},
			[]string{"dev.example", ".example.org", "*.corp.example"}},
		{"trailing dot dropped", nil, map[string]string{"ALLOWED_HOSTS": "dev.example."}, []string{"dev.example"}},
		{"IP literal accepted", nil, map[string]string{"ALLOWED_HOSTS": "[::1],10.0.0.2"}, []string{"::1", "10.0.0.2"}},
		{"from .env", map[string]string{".env": "ALLOWED_HOSTS=box.lan\n"}, nil, []string{"box.lan"}},
		{"environment over .env", map[string]string{".env": "ALLOWED_HOSTS=box.lan\n"},
			map[string]string{"ALLOWED_HOSTS": "env.lan"}, []string{"env.lan"}},
		{"from config.json", map[string]string{"config.json": `{"allowedHosts": ["File.Example", ""]}`}, nil,
			[]string{"file.example"}},
		{"environment over config.json", map[string]string{"config.json": `{"allowedHosts": ["file.example"]}`},
			map[string]string{"ALLOWED_HOSTS": "env.example"}, []string{"env.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, tt.files)
			c, err := Load([]string{"app"}, envOf(tt.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.AllowedHosts, tt.want) {
				t.Errorf("AllowedHosts = %q, want %q", c.AllowedHosts, tt.want)
			}
		})
	}
}

// TestDotenvNeverOverridesTheEnvironment: .env is read, not applied to the
// process environment, so nothing global changes.
func TestDotenvNeverOverridesTheEnvironment(t *testing.T) {
	inDir(t, map[string]string{".env": "BITBUCKET_WORKSPACE=from-dotenv\n"})
	t.Setenv("BITBUCKET_WORKSPACE", "")
	c, err := Load([]string{"app"}, envOf(map[string]string{"BITBUCKET_WORKSPACE": "from-env"}), io.Discard)
	if err != nil || c.Workspace != "from-env" {
		t.Fatalf("Workspace = %q, %v; want from-env", c.Workspace, err)
	}
	if v := os.Getenv("BITBUCKET_WORKSPACE"); v != "" {
		t.Errorf("loading .env changed the process environment: %q", v)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		env   map[string]string
		args  []string
		want  []string // the message names the file or variable and the problem
	}{
		{"malformed config.json", map[string]string{"config.json": "{\n  \"port\": 3000,\n}"}, nil, nil,
			[]string{"config.json", "malformed JSON on line 3"}},
		{"empty config.json", map[string]string{"config.json": ""}, nil, nil, []string{"config.json", "end of JSON input"}},
		{"not an object", map[string]string{"config.json": `["workspace"]`}, nil, nil, []string{"config.json", "one JSON object"}},
		{"unknown key", map[string]string{"config.json": "{\n\"consumerkey\": \"x\"}"}, nil, nil,
			[]string{"config.json", "line 2: unknown key", "case-sensitive", "consumerKey"}},
		{"wrong type", map[string]string{"config.json": `{"workspace": 42}`}, nil, nil,
			[]string{"config.json: workspace: want a JSON string"}},
		{"trailing data", map[string]string{"config.json": `{} {}`}, nil, nil, []string{"config.json", "after top-level value"}},
		{"bad port in file", map[string]string{"config.json": `{"port": 70000}`}, nil, nil,
			[]string{"config.json: port: want a whole number from 0 to 65535"}},
		{"port not a number", map[string]string{"config.json": `{"port": "x"}`}, nil, nil, []string{"config.json: port: want a whole number"}},
		{"port a boolean", map[string]string{"config.json": `{"port": true}`}, nil, nil, []string{"config.json: port: want a whole number"}},
		{"port fractional", map[string]string{"config.json": `{"port": 3000.5}`}, nil, nil, []string{"config.json: port: want a whole number"}},
		{"bad token URL in file", map[string]string{"config.json": `{"tokenURL": "ftp://x/y"}`}, nil, nil,
			[]string{"config.json: tokenURL: want an http or https URL"}},
		{"bad workspace in file", map[string]string{"config.json": `{"workspace": "../user"}`}, nil, nil,
			[]string{"config.json: workspace: want a workspace ID"}},
		{"PORT not a number", nil, map[string]string{"PORT": "http"}, nil,
			[]string{"PORT: want a whole number", "the value (4 characters) is not shown"}},
		{"PORT too large", nil, map[string]string{"PORT": "65536"}, nil, []string{"PORT: want a whole number"}},
		{"PORT negative", nil, map[string]string{"PORT": "-1"}, nil, []string{"PORT: want a whole number"}},
		{"PORT from .env", map[string]string{".env": "PORT=x\n"}, nil, nil, []string{"PORT: want a whole number"}},
		{"token URL not a URL", nil, map[string]string{"BITBUCKET_TOKEN_URL": "bitbucket.org/site"}, nil,
			[]string{"BITBUCKET_TOKEN_URL: want an http or https URL"}},
		{"API URL without host", nil, map[string]string{"BITBUCKET_API_URL": "https:///2.0"}, nil,
			[]string{"BITBUCKET_API_URL: the URL has no host"}},
		{"API URL with credentials", nil, map[string]string{"BITBUCKET_API_URL": "https://u:p@api.bitbucket.org/2.0"}, nil,
			[]string{"BITBUCKET_API_URL: the URL must not carry credentials"}},
		{"API URL with a query", nil, map[string]string{"BITBUCKET_API_URL": "https://api.bitbucket.org/2.0?x=1"}, nil,
			[]string{"BITBUCKET_API_URL: the URL must not have a query"}},
		{"timeout not a duration", nil, map[string]string{"BITBUCKET_TIMEOUT": "10"}, nil,
			[]string{"BITBUCKET_TIMEOUT: want a Go duration from 1ms to 5m"}},
		{"timeout negative", nil, map[string]string{"BITBUCKET_TIMEOUT": "-1s"}, nil, []string{"BITBUCKET_TIMEOUT: want"}},
		{"timeout too short", nil, map[string]string{"BITBUCKET_TIMEOUT": "1ns"}, nil, []string{"BITBUCKET_TIMEOUT: want"}},
		{"timeout too long", nil, map[string]string{"BITBUCKET_TIMEOUT": "1h"}, nil, []string{"BITBUCKET_TIMEOUT: want"}},
		{"bad HOST", nil, map[string]string{"HOST": "not a host"}, nil, []string{"HOST: want an IP address or a host name"}},
		{"bad workspace", nil, map[string]string{"BITBUCKET_WORKSPACE": "a/b"}, nil, []string{"BITBUCKET_WORKSPACE: want a workspace ID"}},
		{"malformed .env", map[string]string{".env": "BITBUCKET_WORKSPACE='unterminated\n"}, nil, nil, []string{".env", "line 1"}},
		{"ALLOWED_HOSTS wildcard", nil, map[string]string{"ALLOWED_HOSTS": "dev.example,*"}, nil,
			[]string{"ALLOWED_HOSTS entry 2: a wildcard for every name", "switch the DNS-rebinding check off"}},
		{"ALLOWED_HOSTS with a port", nil, map[string]string{"ALLOWED_HOSTS": "dev.example:3000"}, nil,
			[]string{"ALLOWED_HOSTS entry 1", "without a port"}},
		{"ALLOWED_HOSTS with a scheme", nil, map[string]string{"ALLOWED_HOSTS": "http://dev.example"}, nil,
			[]string{"ALLOWED_HOSTS entry 1", "without scheme or path"}},
		{"ALLOWED_HOSTS not a name", nil, map[string]string{"ALLOWED_HOSTS": "a.example, ,dev example"}, nil,
			[]string{"ALLOWED_HOSTS entry 3", "not a host name"}},
		{"ALLOWED_HOSTS unspecified address", nil, map[string]string{"ALLOWED_HOSTS": "[::]"}, nil,
			[]string{"ALLOWED_HOSTS entry 1", "never served"}},
		{"ALLOWED_HOSTS from .env", map[string]string{".env": "ALLOWED_HOSTS=a..b\n"}, nil, nil,
			[]string{"ALLOWED_HOSTS entry 1", "not a host name"}},
		{"allowedHosts not a list", map[string]string{"config.json": `{"allowedHosts": "dev.example"}`}, nil, nil,
			[]string{"config.json: allowedHosts: want", "a list of strings"}},
		{"allowedHosts entry with a port", map[string]string{"config.json": `{"allowedHosts": ["dev.example:1"]}`}, nil, nil,
			[]string{"config.json: allowedHosts entry 1", "port"}},
		{"unknown flag", nil, nil, []string{"-port", "1"}, []string{"-port"}},
		{"stray argument", nil, nil, []string{"serve"}, []string{`"serve"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, tt.files)
			_, err := Load(append([]string{"app"}, tt.args...), envOf(tt.env), io.Discard)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("err = %v, want an *Error (exit status 2)", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message spans lines: %q", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestMissingConfigFileIsFine(t *testing.T) {
	inDir(t, nil)
	if _, err := Load([]string{"app", "-config", "absent.json"}, envOf(nil), io.Discard); err != nil {
		t.Fatalf("a missing config file: %v", err)
	}
}

// TestHelp: -help and -h print the flags and return flag.ErrHelp, which is
// not invalid configuration: the command exits with status 0.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"-help", "-h"} {
		t.Run(arg, func(t *testing.T) {
			var stderr strings.Builder
			_, err := Load([]string{"app", arg}, envOf(nil), &stderr)
			var cerr *Error
			if !errors.Is(err, flag.ErrHelp) || errors.As(err, &cerr) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			for _, want := range []string{"-config", "-demo"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("the usage lacks %s:\n%s", want, stderr.String())
				}
			}
		})
	}
}

// The files the repository ships, at the module's root.
const (
	shippedConfig     = "../../config.json"
	shippedEnvExample = "../../.env.example"
)

func TestShippedConfigHoldsNoCredentials(t *testing.T) {
	data, err := os.ReadFile(shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	c := Config{}
	if err := c.readJSON(shippedConfig); err != nil {
		t.Fatalf("the shipped config.json is invalid: %v", err)
	}
	if c.ConsumerKey != "" || c.ConsumerSecret != "" {
		t.Errorf("the shipped config.json holds credentials:\n%s", data)
	}
}

func TestEnvExampleListsEveryVariable(t *testing.T) {
	data, err := os.ReadFile(shippedEnvExample)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, name := range envVariables {
		found := false
		for i, l := range lines {
			if strings.HasPrefix(l, name+"=") {
				found = true
				if i == 0 || !strings.HasPrefix(lines[i-1], "# ") {
					t.Errorf("%s has no one-line comment above it", name)
				}
			}
		}
		if !found {
			t.Errorf(".env.example lacks %s", name)
		}
	}
}

// TestEnvExampleCopiedAsIsChangesNothing: a newcomer who copies
// .env.example to .env without filling it in keeps config.json's settings.
func TestEnvExampleCopiedAsIsChangesNothing(t *testing.T) {
	example, err := os.ReadFile(shippedEnvExample)
	if err != nil {
		t.Fatal(err)
	}
	inDir(t, map[string]string{".env": string(example), "config.json": `{"port": 4000, "workspace": "team"}`})
	c, err := Load([]string{"app"}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 4000 || c.Workspace != "team" || c.TokenURL != bitbucket.DefaultTokenURL || !c.Demo {
		t.Errorf("an unfilled .env changed the configuration: %+v", c)
	}
}

// TestDemoReason: the reason names exactly what is missing and where .env
// was looked for, or the -demo flag; and it says when the environment hides
// a value .env gives. Never a value.
func TestDemoReason(t *testing.T) {
	const (
		key      = "key-value-7f3a"
		secret   = "secret-value-9c1e"
		otherKey = "other-key-value-2b8d"
	)
	tests := []struct {
		name      string
		files     map[string]string
		env       map[string]string
		args      []string
		demo      bool
		reason    string // with DIR for the working directory
		notes     []string
		notReason []string
	}{
		{name: "nothing set, no .env", demo: true,
			reason: "BITBUCKET_CONSUMER_KEY and BITBUCKET_CONSUMER_SECRET are not set (looked for .env in DIR: there is none)"},
		{name: "secret missing, no .env", env: map[string]string{"BITBUCKET_CONSUMER_KEY": key}, demo: true,
			reason: "BITBUCKET_CONSUMER_SECRET is not set (looked for .env in DIR: there is none)"},
		{name: "key missing from .env", files: map[string]string{".env": "BITBUCKET_CONSUMER_SECRET=" + secret + "\n"}, demo: true,
			reason: "BITBUCKET_CONSUMER_KEY is not set (looked for .env in DIR: found, but it does not set BITBUCKET_CONSUMER_KEY)"},
		{name: ".env copied and not filled in",
			files: map[string]string{".env": "BITBUCKET_CONSUMER_KEY=\nBITBUCKET_CONSUMER_SECRET=\n"}, demo: true,
			reason: "BITBUCKET_CONSUMER_KEY is not set (looked for .env in DIR: found, but it leaves BITBUCKET_CONSUMER_KEY empty); " +
				"BITBUCKET_CONSUMER_SECRET is not set (looked for .env in DIR: found, but it leaves BITBUCKET_CONSUMER_SECRET empty)"},
		{name: "key in config.json, secret nowhere", files: map[string]string{"config.json": `{"consumerKey": "` + key + `"}`},
			demo: true, reason: "BITBUCKET_CONSUMER_SECRET is not set (looked for .env in DIR: there is none)"},
		{name: "-demo with credentials", env: map[string]string{"BITBUCKET_CONSUMER_KEY": key, "BITBUCKET_CONSUMER_SECRET": secret},
			args: []string{"-demo"}, demo: true, reason: "the -demo flag was given"},
		{name: "-demo, and the environment hides .env",
			files: map[string]string{".env": "BITBUCKET_CONSUMER_KEY=" + key + "\nBITBUCKET_CONSUMER_SECRET=" + secret + "\n"},
			env:   map[string]string{"BITBUCKET_CONSUMER_KEY": otherKey}, args: []string{"-demo"}, demo: true,
			reason: "the -demo flag was given; BITBUCKET_CONSUMER_KEY is set in the environment; it hides the value in DIR/.env",
			notes:  []string{"BITBUCKET_CONSUMER_KEY is set in the environment; it hides the value in DIR/.env"}},
		{name: "Bitbucket mode, the environment hides .env",
			files: map[string]string{".env": "BITBUCKET_CONSUMER_KEY=" + key + "\nBITBUCKET_CONSUMER_SECRET=" + secret + "\nPORT=4000\n"},
			env:   map[string]string{"BITBUCKET_CONSUMER_KEY": otherKey, "PORT": "4001"},
			notes: []string{"BITBUCKET_CONSUMER_KEY is set in the environment; it hides the value in DIR/.env",
				"PORT is set in the environment; it hides the value in DIR/.env"}},
		{name: "the same value in both hides nothing",
			files: map[string]string{".env": "BITBUCKET_CONSUMER_KEY=" + key + "\nBITBUCKET_CONSUMER_SECRET=" + secret + "\n"},
			env:   map[string]string{"BITBUCKET_CONSUMER_KEY": key, "BITBUCKET_CONSUMER_SECRET": secret}},
		{name: "an empty exported value hides nothing",
			files: map[string]string{".env": "BITBUCKET_CONSUMER_KEY=" + key + "\nBITBUCKET_CONSUMER_SECRET=" + secret + "\n"},
			env:   map[string]string{"BITBUCKET_CONSUMER_SECRET": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, tt.files)
			dir, err := os.Getwd()
			if err != nil {
				t.Fatal(err)
			}
			c, err := Load(append([]string{"app", "-config", "config.json"}, tt.args...), envOf(tt.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if c.Demo != tt.demo {
				t.Errorf("Demo = %v, want %v", c.Demo, tt.demo)
			}
			if want := strings.ReplaceAll(tt.reason, "DIR", dir); c.DemoReason != want {
				t.Errorf("DemoReason\n got  %q\n want %q", c.DemoReason, want)
			}
			var notes []string
			for _, n := range tt.notes {
				notes = append(notes, strings.ReplaceAll(n, "DIR", dir))
			}
			if !reflect.DeepEqual(c.EnvNotes, notes) {
				t.Errorf("EnvNotes\n got  %q\n want %q", c.EnvNotes, notes)
			}
			for _, v := range []string{key, secret, otherKey} {
				if strings.Contains(c.DemoReason+strings.Join(c.EnvNotes, ""), v) {
					t.Errorf("a value shows: %q %q", c.DemoReason, c.EnvNotes)
				}
			}
		})
	}
}
