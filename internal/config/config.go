// Package config resolves the app's configuration at start-up from flags,
// config.json, .env (in the working directory; read, never applied to the
// process environment) and the environment, lowest to highest precedence;
// an empty value counts as not set. An *Error names the file or variable
// and the rule, never a value (exit status 2).
//
//	-config FILE  the JSON file (default config.json; a missing file is fine)
//	-demo         use the built-in Bitbucket stand-in even with credentials
//	-help         print the flags; Load returns flag.ErrHelp (exit status 0)
//
//	BITBUCKET_CONSUMER_KEY     the OAuth consumer's key
//	BITBUCKET_CONSUMER_SECRET  its secret, never shown; without both: demo mode
//	BITBUCKET_WORKSPACE        a workspace ID or {UUID}; empty: discovered
//	PORT                       0 to 65535, 0 picks a free one (default 3000)
//	HOST                       IP address or name to listen on (default 127.0.0.1)
//	ALLOWED_HOSTS              names served besides localhost, *.localhost and IP
//	                           addresses, comma-separated: dev.example (that name),
//	                           .example.org (it and names under it), *.example.org
//	                           (only those); no wildcard over .com, .co.uk, .nip.io…
//	BITBUCKET_TOKEN_URL        default https://bitbucket.org/site/oauth2/access_token
//	BITBUCKET_API_URL          default https://api.bitbucket.org/2.0
//	BITBUCKET_TIMEOUT          per call to Bitbucket, a Go duration from 1ms to 5m (default 10s)
//
// The URLs: http or https without credentials, query or fragment; plain
// http only to localhost, 127.0.0.0/8 or [::1]. config.json holds one
// object with optional, case-sensitive, unrepeated keys: consumerKey,
// consumerSecret, workspace, port (a number or a string), tokenURL, apiURL,
// allowedHosts (a list). Both files: regular, at most 64 KiB, UTF-8 without
// a byte-order mark. A .env that others can read gets a warning.
package config

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/joho/godotenv"

	"bitbucket-client-credentials-sample/bitbucket"
)

// Config is everything the app needs, resolved and validated once at
// start-up; nothing else reads the environment. DemoReason, EnvNotes and
// Warnings name variables and files, never a value.
type Config struct {
	ConsumerKey, ConsumerSecret string
	Workspace                   string        // optional: discovered from /2.0/user/workspaces when empty
	Host                        string        // to listen on
	Port                        int           // to listen on
	TokenURL, APIURL            string        // Bitbucket's
	Timeout                     time.Duration // for each upstream call
	Demo                        bool          // use the built-in stand-in instead of Bitbucket
	DemoReason                  string        // why: the -demo flag, or which credential is missing and where
	EnvNotes                    []string      // "HOST is set in the environment; it hides the value in /abs/.env"
	Warnings                    []string      // one line each, not stopping the app: a .env others can read
	AllowedHosts                []string      // "name", ".domain" (it and the names under it), "*.domain" (only those)
}

// Error is invalid configuration: one line naming the file or variable and
// the rule, never a value. The command exits with status 2 on it.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

func errorf(format string, args ...any) error { return &Error{fmt.Sprintf(format, args...)} }

// hidden is the error for a value that breaks a rule, which may be a secret.
func hidden(where, value, rule string) error {
	return errorf("%s: %s; the value (%d characters) is not shown, in case it is a secret typed on the wrong line",
		where, rule, utf8.RuneCountInString(value))
}

// envVariables are the variables the app reads, in .env.example's order;
// configKeys, config.json's keys (spelt exactly) and what they set.
var envVariables = []string{"BITBUCKET_CONSUMER_KEY", "BITBUCKET_CONSUMER_SECRET", "BITBUCKET_WORKSPACE", "PORT",
	"HOST", "ALLOWED_HOSTS", "BITBUCKET_TOKEN_URL", "BITBUCKET_API_URL", "BITBUCKET_TIMEOUT"}
var configKeys = map[string]string{"consumerKey": "BITBUCKET_CONSUMER_KEY", "consumerSecret": "BITBUCKET_CONSUMER_SECRET",
	"workspace": "BITBUCKET_WORKSPACE", "port": "PORT", "tokenURL": "BITBUCKET_TOKEN_URL", "apiURL": "BITBUCKET_API_URL",
	"allowedHosts": "ALLOWED_HOSTS"}

// Load resolves the configuration from args (program name first), getenv
// and the files; stderr gets the usage. -help returns flag.ErrHelp.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fl := flag.NewFlagSet("bitbucket-client-credentials-sample", flag.ContinueOnError)
	fl.SetOutput(stderr)
	configPath := fl.String("config", "config.json", "path of the JSON configuration `file`")
	demo := fl.Bool("demo", false, "use the built-in Bitbucket stand-in, even when credentials are set")
	if err := fl.Parse(args[min(1, len(args)):]); errors.Is(err, flag.ErrHelp) {
		return Config{}, err
	} else if err != nil {
		return Config{}, &Error{err.Error()}
	} else if fl.NArg() > 0 {
		return Config{}, errorf("unexpected argument %s (flags are -config PATH and -demo)", QuoteClipped(fl.Arg(0)))
	}
	c := Config{Host: "127.0.0.1", Port: 3000, TokenURL: bitbucket.DefaultTokenURL, APIURL: bitbucket.DefaultAPIURL,
		Timeout: bitbucket.DefaultTimeout, Demo: *demo}
	dotenv, vars, err := c.readDotenv()
	if err := cmp.Or(c.readJSON(*configPath), err); err != nil { // the first error, config.json's
		return Config{}, err
	}
	for _, name := range envVariables {
		env, file := getenv(name), vars[name]
		if env != "" && file != "" && env != file {
			c.EnvNotes = append(c.EnvNotes, name+" is set in the environment; it hides the value in "+dotenv)
		}
		if err := c.set(name, cmp.Or(env, file), name); err != nil {
			return Config{}, err
		}
	}
	if c.Demo {
		c.DemoReason = "the -demo flag was given"
	} else if c.ConsumerKey == "" || c.ConsumerSecret == "" {
		c.Demo, c.DemoReason = true, explainMissing(dotenv, vars, [2]bool{c.ConsumerKey == "", c.ConsumerSecret == ""})
	}
	if c.Demo && len(c.EnvNotes) > 0 { // the banner shows DemoReason only
		c.DemoReason += "; " + strings.Join(c.EnvNotes, "; ")
	}
	return c, nil
}

// set checks a value, unless empty, and stores it; where (PORT, or
// config.json: port) names it in the message.
func (c *Config) set(name, v, where string) (err error) {
	rule := ""
	switch {
	case v == "":
		return nil
	case name == "BITBUCKET_CONSUMER_KEY":
		c.ConsumerKey = v
	case name == "BITBUCKET_CONSUMER_SECRET":
		c.ConsumerSecret = v
	case name == "BITBUCKET_WORKSPACE":
		if c.Workspace = v; !WorkspaceID.MatchString(v) {
			rule = "want a workspace ID (letters, digits, - and _) or {UUID}"
		}
	case name == "PORT":
		if c.Port, err = strconv.Atoi(v); err != nil || c.Port < 0 || c.Port > 65535 {
			rule = "want a whole number from 0 to 65535 (0 picks a free port)"
		}
	case name == "HOST":
		if _, err := netip.ParseAddr(v); err != nil && !dnsName.MatchString(strings.ToLower(v)) {
			rule = "want an IP address or a host name to listen on, such as 127.0.0.1"
		}
		c.Host = v
	case name == "ALLOWED_HOSTS":
		c.AllowedHosts, err = allowedHosts(where, strings.Split(v, ","))
		return err
	case name == "BITBUCKET_TOKEN_URL":
		c.TokenURL, rule = v, checkURL(v)
	case name == "BITBUCKET_API_URL":
		c.APIURL, rule = strings.TrimSuffix(v, "/"), checkURL(v)
	case name == "BITBUCKET_TIMEOUT":
		if c.Timeout, err = time.ParseDuration(v); err != nil || c.Timeout < time.Millisecond || c.Timeout > 5*time.Minute {
			rule = "want a Go duration from 1ms to 5m, such as 10s"
		}
	}
	if rule != "" {
		return hidden(where, v, rule)
	}
	return nil
}

// checkURL says what is wrong with a token or API URL, or "". Plain http
// would show the secret and the token to anyone on the way to another machine.
func checkURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "not a URL"
	}
	ip, ipErr := netip.ParseAddr(u.Hostname())
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "want an http or https URL"
	case u.Host == "":
		return "the URL has no host"
	case u.User != nil:
		return "the URL must not carry credentials"
	case u.RawQuery != "" || u.Fragment != "":
		return "the URL must not have a query or fragment"
	case u.Scheme == "http" && !strings.EqualFold(u.Hostname(), "localhost") && (ipErr != nil || !ip.IsLoopback()):
		return "plain http to another machine would send the consumer secret and the access token " +
			"in clear text: use https (http is allowed only for localhost, 127.0.0.0/8 and [::1])"
	}
	return ""
}

// WorkspaceID matches a workspace ID or {UUID}: nothing else may reach an
// API path (BITBUCKET_WORKSPACE, ?workspace=, the IDs Bitbucket lists).
var WorkspaceID = regexp.MustCompile(`^(?:[A-Za-z0-9][A-Za-z0-9_-]{0,62}|\{[0-9a-fA-F-]{36}\})$`)

// readFile reads config.json or .env (nil, nil, nil when there is none): a
// regular file, checked before opening (opening a FIFO blocks), of at most
// 64 KiB, in UTF-8 (json would turn other bytes into U+FFFD, silently).
func readFile(path string) ([]byte, fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	} else if err == nil && !fi.Mode().IsRegular() {
		return nil, nil, errorf("%s is not a regular file (but a directory, a device, a FIFO or a socket): use a file", path)
	}
	var f *os.File
	if err == nil {
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, nil, &Error{err.Error()} // such as "open .env: permission denied"
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		return nil, nil, &Error{err.Error()}
	} else if len(data) > 64<<10 {
		return nil, nil, errorf("%s is larger than 64 KiB, far more than any configuration needs: is it the right file?", path)
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if !utf8.Valid(line) || i == 0 && bytes.HasPrefix(line, []byte("\uFEFF")) {
			return nil, nil, errorf("%s: line %d is not UTF-8 or starts with a byte-order mark (was the file saved in "+
				"another encoding?): save it as UTF-8 without BOM", path, i+1)
		}
	}
	return data, fi, nil
}

// readJSON applies config.json. json's syntax errors quote a character,
// maybe the secret's. Keys are checked here: json would take "consumerkey"
// for "consumerKey", and keep the last of two equal keys, silently.
func (c *Config) readJSON(path string) error {
	data, fi, err := readFile(path)
	if err != nil || fi == nil {
		return err
	}
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		syntax := new(json.SyntaxError) // Unmarshal returns no other error here; if it did: line 1
		errors.As(err, &syntax)
		return errorf("%s: malformed JSON on line %d: %s", path, lineAt(data, syntax.Offset),
			quotedChar.ReplaceAllString(err.Error(), "unexpected character"))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, _ := dec.Token(); t != json.Delim('{') {
		return errorf(`%s: the file must hold one JSON object, such as {"workspace": "my-team"}`, path)
	}
	seen := map[string]bool{}
	for dec.More() { // the file is valid JSON: no errors from here on
		t, _ := dec.Token()
		key, _ := t.(string)
		line, where := lineAt(data, dec.InputOffset()), path+": "+key
		var raw json.RawMessage
		_ = dec.Decode(&raw)
		s, list := "", []string(nil)
		switch {
		case configKeys[key] == "": // any text there could be a pasted secret
			return errorf("%s: line %d: unknown key, not shown (keys are case-sensitive: consumerKey, consumerSecret, "+
				"workspace, port, tokenURL, apiURL, allowedHosts)", path, line)
		case seen[key]:
			return errorf("%s: key %q appears twice (again on line %d): keep one", path, key, line)
		case key == "allowedHosts" && json.Unmarshal(raw, &list) == nil: // a list, or null
			s = strings.Join(list, ",")
		case key != "allowedHosts" && json.Unmarshal(raw, &s) == nil: // a string, or null
		case key == "port":
			s = string(raw) // a number
		default:
			return errorf("%s: want a JSON string (for allowedHosts, a list of strings)", where)
		}
		seen[key] = true
		if err := c.set(configKeys[key], s, where); err != nil {
			return err
		}
	}
	return nil
}

var quotedChar = regexp.MustCompile(`invalid character '(?:\\'|\\[^']+|[^'\\]+)'`) // how json names a character

func lineAt(data []byte, offset int64) int {
	return 1 + bytes.Count(data[:min(int(offset), len(data))], []byte("\n"))
}

// readDotenv reads .env: its absolute path and its variables (nil when
// none). godotenv's errors quote the file: name the first line that fails.
func (c *Config) readDotenv() (string, map[string]string, error) {
	path, _ := filepath.Abs(".env")
	path = cmp.Or(path, ".env") // if the working directory is unknown
	data, fi, err := readFile(path)
	if err != nil || fi == nil {
		return path, nil, err
	}
	vars, err := godotenv.UnmarshalBytes(data)
	if err != nil {
		what := "is not NAME=value (a name holds only letters, digits, _ and .)"
		if strings.HasPrefix(err.Error(), "unterminated quoted value") {
			what = "opens a quoted value that is never closed"
		}
		good, start, lines := 0, 0, bytes.SplitAfter(data, []byte("\n"))
		for k, end := 0, 0; k < len(lines) && k-good < 100; k++ { // a quoted value spans lines, not a hundred
			end += len(lines[k])
			if _, err := godotenv.UnmarshalBytes(data[start:end]); err == nil {
				good, start = k+1, end // what follows starts a statement: parse from there
			}
		}
		return "", nil, errorf("%s: line %d %s; the line is not shown, since it may hold the secret", path, good+1, what)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o044 != 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s can be read by other users of this machine, and it is where "+
			"the consumer secret goes: run chmod 600 '%s'", path, strings.ReplaceAll(path, "'", `'\''`)))
	}
	return path, vars, nil
}

// explainMissing says which credentials are not set and where .env was
// looked for: a .env in another directory is the usual surprise.
func explainMissing(dotenv string, vars map[string]string, missing [2]bool) string {
	looked := " (looked for .env in " + filepath.Dir(dotenv) + ": "
	if vars == nil && missing[0] && missing[1] {
		return "BITBUCKET_CONSUMER_KEY and BITBUCKET_CONSUMER_SECRET are not set" + looked + "there is none)"
	}
	var clauses []string
	for i, name := range envVariables[:2] { // the key and the secret
		if _, set := vars[name]; missing[i] {
			how := "found, but it does not set " + name
			if vars == nil {
				how = "there is none"
			} else if set {
				how = "found, but it leaves " + name + " empty"
			}
			clauses = append(clauses, name+" is not set"+looked+how+")")
		}
	}
	return strings.Join(clauses, "; ")
}

// MaxShown bounds how much of a value from a request a message repeats.
const MaxShown = 64

// QuoteClipped quotes ClipShown(s) in Go syntax: no control character splits a log line.
func QuoteClipped(s string) string { return strconv.Quote(ClipShown(s)) }

// ClipShown cuts s to MaxShown bytes on a character boundary, marking the cut.
func ClipShown(s string) string {
	if len(s) <= MaxShown {
		return s
	}
	cut := MaxShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
