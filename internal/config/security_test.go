package config

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// testSecret has characters that need quoting or escaping in every form
// assertNoSecretIn looks for.
const testSecret = "S3cr3t+With/Special=Chars&more:colons"

// isConfigError reports whether err is invalid configuration, on which the
// command exits with status 2.
func isConfigError(err error) bool {
	var cerr *Error
	return errors.As(err, &cerr)
}

// TestPlainHTTPOnlyToLoopback: a token or API URL in plain http to another
// machine would send the secret and the token in clear text. Each place a
// URL can come from refuses it (an *Error: exit status 2, saying to use
// https); http to this machine (the stand-in, the tests) stays allowed.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	sources := []struct {
		name  string
		where func(u string) (files, env map[string]string)
	}{
		{"BITBUCKET_TOKEN_URL", func(u string) (map[string]string, map[string]string) {
			return nil, map[string]string{"BITBUCKET_TOKEN_URL": u}
		}},
		{"BITBUCKET_API_URL", func(u string) (map[string]string, map[string]string) {
			return nil, map[string]string{"BITBUCKET_API_URL": u}
		}},
		{"BITBUCKET_TOKEN_URL", func(u string) (map[string]string, map[string]string) {
			return map[string]string{".env": "BITBUCKET_TOKEN_URL=" + u + "\n"}, nil
		}},
		{"tokenURL", func(u string) (map[string]string, map[string]string) {
			return map[string]string{"config.json": `{"tokenURL": "` + u + `"}`}, nil
		}},
		{"apiURL", func(u string) (map[string]string, map[string]string) {
			return map[string]string{"config.json": `{"apiURL": "` + u + `"}`}, nil
		}},
	}
	refused := []string{
		"http://bitbucket.org/site/oauth2/access_token", "HTTP://api.bitbucket.org/2.0", "http://10.0.0.5:8080/x",
		"http://[2001:db8::1]/x", "http://0.0.0.0:9/x", "http://localhost.evil.example/x", "http://127.0.0.1.nip.io/x",
		"http://app.localhost:9/x",
	}
	allowed := []string{
		"http://localhost:9/x", "http://LOCALHOST:9/x", "http://127.0.0.1:9/x", "http://127.0.0.2:9/x",
		"http://[::1]:9/x", "http://[::ffff:127.0.0.1]:9/x", "https://bitbucket.example/x", "https://10.0.0.5/x",
	}
	for _, src := range sources {
		for _, u := range refused {
			t.Run(src.name+" "+u, func(t *testing.T) {
				files, env := src.where(u)
				inDir(t, files)
				_, err := Load([]string{"app"}, envOf(env), io.Discard)
				if err == nil {
					t.Fatal("accepted")
				}
				if !isConfigError(err) {
					t.Errorf("err = %v, want an *Error (exit status 2)", err)
				}
				for _, want := range []string{src.name, "use https", "clear text"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("message %q lacks %q", err, want)
					}
				}
			})
		}
		for _, u := range allowed {
			t.Run(src.name+" "+u+" allowed", func(t *testing.T) {
				files, env := src.where(u)
				inDir(t, files)
				if _, err := Load([]string{"app"}, envOf(env), io.Discard); err != nil {
					t.Errorf("refused: %v", err)
				}
			})
		}
	}
}

// TestURLErrorsNeverShowCredentials: a URL with user:password@ is refused,
// and the message does not repeat the password.
func TestURLErrorsNeverShowCredentials(t *testing.T) {
	const secretURL = "https://key:" + testSecret + "@bitbucket.org/site/oauth2/access_token"
	const unparsable = "https://key:" + testSecret + "@bitbucket.org/%zz"
	for _, tt := range []struct {
		name  string
		files map[string]string
		env   map[string]string
	}{
		{"environment", nil, map[string]string{"BITBUCKET_TOKEN_URL": secretURL}},
		{"environment, unparsable", nil, map[string]string{"BITBUCKET_API_URL": unparsable}},
		{"config.json", map[string]string{"config.json": `{"tokenURL": "` + secretURL + `"}`}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, tt.files)
			_, err := Load([]string{"app"}, envOf(tt.env), io.Discard)
			if err == nil {
				t.Fatal("accepted a URL with credentials")
			}
			assertNoSecretIn(t, "the error", err.Error(), testSecret)
		})
	}
}

// assertNoSecretIn fails if text holds secret raw, quoted, escaped for a
// URL or in base64, or any 8 characters of it in a row. It does not print
// text, which would repeat the secret.
func assertNoSecretIn(t *testing.T, where, text, secret string) {
	t.Helper()
	forms := map[string]string{"raw": secret, "Go-quoted": strconv.Quote(secret), "query-escaped": url.QueryEscape(secret),
		"path-escaped": url.PathEscape(secret), "base64": base64.StdEncoding.EncodeToString([]byte(secret))}
	for i := 0; i+8 <= len(secret); i++ {
		forms[fmt.Sprintf("characters %d to %d", i+1, i+8)] = secret[i : i+8]
	}
	for form, s := range forms {
		if strings.Contains(text, s) {
			t.Errorf("%s holds the secret (%s)", where, form)
			return
		}
	}
}

// TestDotenvErrorsNeverShowTheLine: a .env file holds the secret, and a
// parse error quotes the file. The message names the file and the line
// number instead, never the line's content.
func TestDotenvErrorsNeverShowTheLine(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"secret in an unterminated quote", "BITBUCKET_CONSUMER_KEY=k\nBITBUCKET_CONSUMER_SECRET='" + testSecret + "\n",
			"line 2 opens a quoted value that is never closed"},
		{"secret pasted without a name", "# my consumer\n\nBITBUCKET_CONSUMER_KEY=k\n" + testSecret + "\nPORT=3000\n",
			"line 4 is not NAME=value"},
		{"space instead of =", "BITBUCKET_CONSUMER_SECRET " + testSecret + "\n", "line 1 is not NAME=value"},
		{"secret after the bad line", "BITBUCKET_WORKSPACE='team\nBITBUCKET_CONSUMER_SECRET=" + testSecret + "\n",
			"line 1 opens a quoted value"},
		{"after a value over two lines", "A=\"x\ny\"\nBITBUCKET_CONSUMER_SECRET=" + testSecret + "\nbad line!\n", "line 4 is not"},
		{"CRLF line ends", "BITBUCKET_CONSUMER_KEY=k\r\nBITBUCKET_CONSUMER_SECRET='" + testSecret + "\r\n", "line 2 opens"},
		{"byte-order mark", "\xEF\xBB\xBFBITBUCKET_CONSUMER_SECRET=" + testSecret + "\n", "byte-order mark"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, map[string]string{".env": tt.content})
			abs, err := filepath.Abs(".env")
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			_, err = Load([]string{"app", "-config", "absent.json"}, envOf(map[string]string{"PORT": "0"}), &stderr)
			if !isConfigError(err) {
				t.Fatalf("err = %v, want an *Error (exit status 2)", err)
			}
			for _, want := range []string{abs, tt.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
			assertNoSecretIn(t, "the error", err.Error()+stderr.String(), testSecret)
		})
	}
}

// TestConfigFileErrorsNeverShowTheSecret: config.json that is not UTF-8,
// has a byte-order mark or repeats a key is an error that says so; and no
// message about the file repeats the consumer secret, even in part.
func TestConfigFileErrorsNeverShowTheSecret(t *testing.T) {
	const s = testSecret
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"byte-order mark", "\xEF\xBB\xBF" + `{"consumerSecret": "` + s + `"}`, []string{"byte-order mark", "without BOM"}},
		{"not UTF-8 in the secret", "{\n  \"consumerKey\": \"k\",\n  \"consumerSecret\": \"" + s + "\xe9\"\n}",
			[]string{"line 3 is not UTF-8", "save it as UTF-8"}},
		{"Latin-1 anywhere", "{\"workspace\": \"caf\xe9\", \"consumerSecret\": \"" + s + "\"}", []string{"line 1 is not UTF-8"}},
		{"the secret twice", "{\n\"consumerSecret\": \"" + s + "\",\n\"consumerSecret\": \"" + s + "2\"\n}",
			[]string{`key "consumerSecret" appears twice (again on line 3)`}},
		{"a key twice", `{"workspace": "a", "consumerSecret": "` + s + `", "workspace": "b"}`, []string{`key "workspace" appears twice`}},
		{"bad escape in the secret", `{"consumerSecret": "` + s + `\q"}`, []string{"malformed JSON on line 1", "escape"}},
		{"tab in the secret", "{\"consumerSecret\": \"" + s[:10] + "\t" + s[10:] + "\"}", []string{"malformed JSON on line 1", "string literal"}},
		{"missing comma after the secret", `{"consumerSecret": "` + s + `" "workspace": "x"}`, []string{"malformed JSON on line 1"}},
		{"secret not a string", `{"consumerSecret": ["` + s + `"]}`, []string{"consumerSecret: want a JSON string"}},
		{"secret under a misspelt key", `{"consumersecret": "` + s + `"}`, []string{"line 1: unknown key"}},
		{"secret as a key", `{"` + s + `": ""}`, []string{"line 1: unknown key"}},
		{"secret as a URL's password", `{"tokenURL": "https://k:` + s + `@bitbucket.org/x"}`, []string{"tokenURL: not a URL"}},
		{"secret as a plain URL's password", `{"tokenURL": "https://k:secret@bitbucket.org/x"}`, []string{"tokenURL", "credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inDir(t, map[string]string{"config.json": tt.content})
			_, err := Load([]string{"app"}, envOf(nil), io.Discard)
			if !isConfigError(err) {
				t.Fatalf("err = %v, want an *Error (exit status 2)", err)
			}
			for _, want := range append([]string{"config.json"}, tt.want...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message spans lines: %q", err)
			}
			assertNoSecretIn(t, "the error", err.Error(), s)
		})
	}
}

// TestConfigFileSyntaxErrorsNameNoCharacter: encoding/json quotes the
// character it stopped at; the message keeps the reason and the line.
func TestConfigFileSyntaxErrorsNameNoCharacter(t *testing.T) {
	for _, content := range []string{`{"consumerSecret": "x\q"}`, "{\"consumerSecret\": \"a\x01b\"}", `{"a": 1 'x'}`, `{"a": 1 '}`,
		`{"consumerSecret": "x" "y"}`, `{"consumerSecret": x}`} {
		inDir(t, map[string]string{"config.json": content})
		_, err := Load([]string{"app"}, envOf(nil), io.Discard)
		if err == nil {
			t.Fatalf("%q accepted", content)
		}
		if strings.Contains(err.Error(), "character '") || !strings.Contains(err.Error(), "unexpected character") {
			t.Errorf("%q: %v", content, err)
		}
	}
}

// TestNoMessageShowsAValue: a secret typed under the wrong variable or key
// (PORT, tokenURL...) must not reach the terminal or the logs through the
// error about it. Each variable and config.json key that has a rule gets
// the secret, alone or inside a value, from each place it can come from;
// the error names the variable or key and shows none of the secret.
func TestNoMessageShowsAValue(t *testing.T) {
	const s = testSecret
	spaced := strings.NewReplacer("/", " ", ":", " ").Replace(s) // not a host name, for the rule after those on / and :
	values := map[string][]string{
		"PORT": {s, "3000" + s}, "HOST": {s, "host " + s}, "BITBUCKET_WORKSPACE": {s, "team/" + s},
		"BITBUCKET_TIMEOUT": {s, "10s" + s}, "ALLOWED_HOSTS": {s, "dev.example," + s, "*." + s, "[" + s + "]", spaced, "*." + spaced},
		"BITBUCKET_TOKEN_URL": {s, "http://bitbucket.org/" + s, "https://bitbucket.org/x?" + s, "https://key:pw@bitbucket.org/" + s},
		"BITBUCKET_API_URL":   {s, "ftp://" + s, "https://api.bitbucket.org/2.0#" + s, "https:///" + s, "https://b.org/%zz" + s},
	}
	keys := map[string]string{"PORT": "port", "BITBUCKET_WORKSPACE": "workspace", "ALLOWED_HOSTS": "allowedHosts",
		"BITBUCKET_TOKEN_URL": "tokenURL", "BITBUCKET_API_URL": "apiURL"}
	quote := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	for name, vs := range values {
		for _, v := range vs {
			sources := map[string]struct {
				files map[string]string
				env   map[string]string
			}{
				"environment": {nil, map[string]string{name: v}},
				".env":        {map[string]string{".env": name + "=" + quote(v) + "\n"}, nil},
			}
			if key := keys[name]; key == "allowedHosts" {
				sources["config.json"] = struct{ files, env map[string]string }{
					map[string]string{"config.json": `{"allowedHosts": ["dev.example", ` + quote(v) + `]}`}, nil}
			} else if key != "" {
				sources["config.json"] = struct{ files, env map[string]string }{
					map[string]string{"config.json": `{"` + key + `": ` + quote(v) + `}`}, nil}
			}
			for where, src := range sources {
				inDir(t, src.files)
				_, err := Load([]string{"app"}, envOf(src.env), io.Discard)
				if !isConfigError(err) {
					t.Errorf("%s in %s: err = %v, want an *Error", name, where, err)
					continue
				}
				want := name // the message starts with the variable, or the file and the key
				if where == "config.json" {
					want = "config.json: " + keys[name]
				}
				if !strings.HasPrefix(err.Error(), want) {
					t.Errorf("%s in %s: the message does not start with %q", name, where, want) // nor shows it
				}
				assertNoSecretIn(t, name+" in "+where+": the error", err.Error(), s)
			}
		}
	}
}
