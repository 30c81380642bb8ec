// Package config resolves the app's configuration once, at start-up, from
// its flags, config.json, a .env file and the environment. Load validates
// every value and returns a Config, or an *Error saying what is wrong and
// where; the command then exits with status 2, like a usage error.
//
// Precedence, lowest to highest: built-in defaults, config.json, .env, the
// environment. An empty value counts as not set. .env, in the working
// directory, is read, never applied to the process environment.
//
// Flags:
//
//	-config FILE  the JSON file (default config.json; a missing file is fine)
//	-demo         use the built-in Bitbucket stand-in even with credentials
//	-help         print the flags; Load returns flag.ErrHelp (exit status 0)
//
// Variables, in .env or the environment:
//
//	BITBUCKET_CONSUMER_KEY     the OAuth consumer's key
//	BITBUCKET_CONSUMER_SECRET  its secret, never shown; without both: demo mode
//	BITBUCKET_WORKSPACE        a workspace ID or {UUID}; empty: discovered
//	PORT                       0 to 65535, 0 picks a free one (default 3000)
//	HOST                       IP address or name to listen on (default 127.0.0.1)
//	ALLOWED_HOSTS              host names served besides localhost,
//	                           *.localhost and IP addresses, comma-separated:
//	                           a name, .example.org (it and the names under
//	                           it), *.example.org (only those under it)
//	BITBUCKET_TOKEN_URL        default https://bitbucket.org/site/oauth2/access_token
//	BITBUCKET_API_URL          default https://api.bitbucket.org/2.0
//	BITBUCKET_TIMEOUT          for each call to Bitbucket, a Go duration
//	                           from 1ms to 5m (default 10s)
//
// The two URLs must be http or https, without credentials, query or
// fragment, and plain http only to localhost, 127.0.0.0/8 or [::1].
//
// config.json holds one object; every key is optional: consumerKey,
// consumerSecret, workspace, port (a number or a string of digits),
// tokenURL, apiURL and allowedHosts (a list, replaced by ALLOWED_HOSTS when
// that is set). An unknown or repeated key, a byte-order mark or bytes that
// are not UTF-8 are errors. No message repeats a secret.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/joho/godotenv"

	"bitbucket-client-credentials-sample/bitbucket"
)

// Where the app listens by default. Bitbucket's URLs and the timeout
// default to package bitbucket's.
const (
	defaultHost = "127.0.0.1"
	defaultPort = 3000
)

// Config is everything the app needs, resolved and validated once at
// start-up. Handlers get the parts they need from it; none reads the
// environment.
type Config struct {
	ConsumerKey    string
	ConsumerSecret string
	Workspace      string // optional: discovered from /2.0/user/workspaces when empty
	Host           string
	Port           int
	TokenURL       string
	APIURL         string
	Timeout        time.Duration // for each upstream call
	Demo           bool          // use the built-in stand-in instead of Bitbucket

	// DemoReason says why demo mode is on, for the banner and the log:
	// "the -demo flag was given", or which of BITBUCKET_CONSUMER_KEY and
	// BITBUCKET_CONSUMER_SECRET is not set and where .env was looked for,
	// followed by the EnvNotes. Names and paths only, never a value. Empty
	// when demo mode is off.
	DemoReason string

	// EnvNotes has one sentence for each variable the environment sets to
	// a value other than the one .env gives it ("HOST is set in the
	// environment; it hides the value in /abs/path/.env"): the environment
	// wins, which surprises whoever just edited .env. Never a value.
	EnvNotes []string

	// AllowedHosts are the host names served besides IP literals,
	// localhost and *.localhost (see hosts.go): from ALLOWED_HOSTS, else
	// config.json's allowedHosts. Each is lower case without a trailing
	// dot; ".example.org" also matches every name under example.org, and
	// "*.example.org" only the names under it. Empty: no others.
	AllowedHosts []string
}

// Error is invalid configuration: a message naming the file or variable
// and the problem, on one line, never showing a secret. The command exits
// with status 2 on it, like a command-line usage error.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

func errorf(format string, args ...any) error {
	return &Error{fmt.Sprintf(format, args...)}
}

// hidden is the error for a value that breaks a rule. It names where the
// value comes from and the rule, and describes the value by its length
// only: a secret typed on the wrong line (under PORT, say) would otherwise
// end up in the terminal and the logs.
func hidden(where, value, rule string) error {
	return errorf("%s: %s; the value (%d characters) is not shown, in case it is a secret typed on the wrong line",
		where, rule, utf8.RuneCountInString(value))
}

// fileConfig is the shape of config.json. Every key is optional.
type fileConfig struct {
	ConsumerKey    *string         `json:"consumerKey"`
	ConsumerSecret *string         `json:"consumerSecret"`
	Workspace      *string         `json:"workspace"`
	Port           json.RawMessage `json:"port"` // a number, or a string of digits
	TokenURL       *string         `json:"tokenURL"`
	APIURL         *string         `json:"apiURL"`
	AllowedHosts   *[]string       `json:"allowedHosts"`
}

var knownKeys = map[string]bool{
	"consumerKey": true, "consumerSecret": true, "workspace": true, "port": true, "tokenURL": true, "apiURL": true,
	"allowedHosts": true,
}

// Load resolves the configuration, lowest to highest precedence:
// built-in defaults, config.json, a .env file (never overriding a variable
// that is already set), and the environment. Flags choose the config file
// and demo mode. args are the command line, program name first; getenv
// reads the environment; stderr gets the flags' usage and errors. It
// returns an *Error for invalid configuration, and flag.ErrHelp for -help.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fl := flag.NewFlagSet(progName(args), flag.ContinueOnError)
	fl.SetOutput(stderr)
	configPath := fl.String("config", "config.json", "path of the JSON configuration `file`")
	demo := fl.Bool("demo", false, "use the built-in Bitbucket stand-in, even when credentials are set")
	if len(args) > 0 {
		args = args[1:]
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, err
		}
		return Config{}, &Error{err.Error()}
	}
	if fl.NArg() > 0 {
		return Config{}, errorf("unexpected argument %q (flags are -config PATH and -demo)", fl.Arg(0))
	}

	c := Config{
		Host:     defaultHost,
		Port:     defaultPort,
		TokenURL: bitbucket.DefaultTokenURL,
		APIURL:   bitbucket.DefaultAPIURL,
		Timeout:  bitbucket.DefaultTimeout,
		Demo:     *demo,
	}

	// 2. config.json. A missing file is fine: everything has a default or
	// can come from the environment.
	if err := c.readFile(*configPath); err != nil {
		return Config{}, err
	}

	// 3 and 4. The environment wins over .env, which wins over config.json.
	dotenv, err := readDotenv(".env")
	if err != nil {
		return Config{}, err
	}
	env := dotenv.lookup(getenv)
	for _, s := range []struct {
		name  string
		dst   *string
		check func(string) error
	}{
		{"BITBUCKET_CONSUMER_KEY", &c.ConsumerKey, nil},
		{"BITBUCKET_CONSUMER_SECRET", &c.ConsumerSecret, nil},
		{"BITBUCKET_WORKSPACE", &c.Workspace, checkWorkspace},
		{"HOST", &c.Host, checkHost},
		{"BITBUCKET_TOKEN_URL", &c.TokenURL, checkURL},
		{"BITBUCKET_API_URL", &c.APIURL, checkURL},
	} {
		v := env(s.name)
		if v == "" {
			continue
		}
		if s.check != nil {
			if err := s.check(v); err != nil {
				return Config{}, hidden(s.name, v, err.Error())
			}
		}
		*s.dst = v
	}
	if v := env("PORT"); v != "" {
		if c.Port, err = parsePort(v); err != nil {
			return Config{}, hidden("PORT", v, err.Error())
		}
	}
	if v := env("ALLOWED_HOSTS"); v != "" {
		if c.AllowedHosts, err = parseAllowedHosts(v); err != nil {
			return Config{}, errorf("ALLOWED_HOSTS %v", err)
		}
	}
	if v := env("BITBUCKET_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Millisecond || d > 5*time.Minute {
			return Config{}, hidden("BITBUCKET_TIMEOUT", v, "want a Go duration from 1ms to 5m, such as 10s")
		}
		c.Timeout = d
	}

	c.APIURL = strings.TrimSuffix(c.APIURL, "/")
	c.EnvNotes = dotenv.hiddenBy(getenv)
	switch {
	case c.Demo:
		c.DemoReason = "the -demo flag was given"
	case c.ConsumerKey == "" || c.ConsumerSecret == "":
		c.Demo = true
		var missing []string
		if c.ConsumerKey == "" {
			missing = append(missing, "BITBUCKET_CONSUMER_KEY")
		}
		if c.ConsumerSecret == "" {
			missing = append(missing, "BITBUCKET_CONSUMER_SECRET")
		}
		c.DemoReason = dotenv.explainMissing(missing)
	}
	// The banner shows DemoReason only, so the notes go with it: a value
	// that .env seems to give but the environment overrides is the next
	// thing to check when the app does not do what .env says.
	if c.Demo && len(c.EnvNotes) > 0 {
		c.DemoReason += "; " + strings.Join(c.EnvNotes, "; ")
	}
	return c, nil
}

// envVariables are the variables the app reads, in the order .env.example
// lists them.
var envVariables = []string{
	"BITBUCKET_CONSUMER_KEY", "BITBUCKET_CONSUMER_SECRET", "BITBUCKET_WORKSPACE", "PORT", "HOST",
	"ALLOWED_HOSTS", "BITBUCKET_TOKEN_URL", "BITBUCKET_API_URL", "BITBUCKET_TIMEOUT",
}

func progName(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "bitbucket-client-credentials-sample"
}

// readFile applies config.json on top of the defaults.
func (c *Config) readFile(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return errorf("%s: %v", path, err)
	}
	// encoding/json would quietly turn bytes that are not UTF-8 into U+FFFD
	// (so a secret pasted in another encoding would silently change), and
	// it rejects a byte-order mark with a puzzling message.
	if bytes.HasPrefix(data, utf8BOM) {
		return errorf("%s: the file starts with a byte-order mark (EF BB BF): save it as UTF-8 without BOM", path)
	}
	if at := invalidUTF8At(data); at >= 0 {
		return errorf("%s: line %d is not valid UTF-8 (was the file saved in another encoding?): save it as UTF-8",
			path, 1+bytes.Count(data[:at], []byte("\n")))
	}
	// Keys are checked exactly (encoding/json alone would accept
	// "consumerkey" for "consumerKey"): a misspelt key must not be silently
	// ignored.
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return errorf("%s: %s", path, describeJSONError(data, err))
	}
	if dec.More() {
		return errorf("%s: unexpected data after the JSON object", path)
	}
	for key := range raw {
		if !knownKeys[key] { // not shown: any text there could be a pasted secret
			return errorf("%s: unknown key, not shown (keys are case-sensitive: consumerKey, consumerSecret, "+
				"workspace, port, tokenURL, apiURL, allowedHosts)", path)
		}
	}
	// encoding/json keeps the last of two equal keys without a word, so
	// which value wins would depend on the order in the file.
	if key, line, ok := duplicateKey(data); ok {
		return errorf("%s: key %s appears twice (again on line %d): keep one", path, QuoteClipped(key), line)
	}
	var fc fileConfig
	if err := json.Unmarshal(data, &fc); err != nil {
		return errorf("%s: %s", path, describeJSONError(data, err))
	}
	for _, f := range []struct {
		key   string
		src   *string
		dst   *string
		check func(string) error
	}{
		{"consumerKey", fc.ConsumerKey, &c.ConsumerKey, nil},
		{"consumerSecret", fc.ConsumerSecret, &c.ConsumerSecret, nil},
		{"workspace", fc.Workspace, &c.Workspace, checkWorkspace},
		{"tokenURL", fc.TokenURL, &c.TokenURL, checkURL},
		{"apiURL", fc.APIURL, &c.APIURL, checkURL},
	} {
		if f.src == nil || *f.src == "" {
			continue
		}
		if f.check != nil {
			if err := f.check(*f.src); err != nil {
				return hidden(path+": "+f.key, *f.src, err.Error())
			}
		}
		*f.dst = *f.src
	}
	if fc.AllowedHosts != nil {
		c.AllowedHosts = nil
		for i, entry := range *fc.AllowedHosts {
			if strings.TrimSpace(entry) == "" {
				continue
			}
			e, err := checkAllowedHost(entry)
			if err != nil {
				return hidden(fmt.Sprintf("%s: allowedHosts entry %d", path, i+1), entry, err.Error())
			}
			c.AllowedHosts = append(c.AllowedHosts, e)
		}
	}
	if len(fc.Port) > 0 && string(fc.Port) != "null" {
		port := strings.Trim(string(fc.Port), `"`)
		if c.Port, err = parsePort(port); err != nil {
			return hidden(path+": port", string(fc.Port), err.Error())
		}
	}
	return nil
}

// describeJSONError turns a decoding error into a message a person can act on.
func describeJSONError(data []byte, err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		// The error quotes the character it stopped at, which may be
		// one of the secret's: the line number says where to look.
		line := 1 + bytes.Count(data[:min(int(syntax.Offset), len(data))], []byte("\n"))
		return fmt.Sprintf("malformed JSON on line %d: %s", line, quotedChar.ReplaceAllString(syntax.Error(), "unexpected character"))
	case errors.As(err, &typ) && typ.Field == "":
		return "the file must hold one JSON object, such as {\"workspace\": \"my-team\"}"
	case errors.As(err, &typ) && strings.HasPrefix(typ.Field, "allowedHosts"):
		return "key \"allowedHosts\" must be a list of host names, such as [\"dev.example\", \".example.org\"]"
	case errors.As(err, &typ):
		return fmt.Sprintf("key %q must be a string, not a JSON %s", typ.Field, typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the file is empty or ends too early"
	}
	return "malformed JSON: " + err.Error()
}

// quotedChar is how encoding/json names the character it stopped at:
// "invalid character" and the character in single quotes, escaped as in Go
// (x, \n, \x01) or as backslash-quote.
var quotedChar = regexp.MustCompile(`invalid character '(?:\\'|\\[^']+|[^'\\]+)'`)

// invalidUTF8At is the offset of the first byte of data that is not UTF-8,
// or -1.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// duplicateKey walks the top-level object of data (already known to be
// valid JSON) and returns the first key that occurs twice, with the line
// of its second occurrence.
func duplicateKey(data []byte) (key string, line int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", 0, false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", 0, false
		}
		k, _ := t.(string)
		if seen[k] {
			return k, 1 + bytes.Count(data[:dec.InputOffset()], []byte("\n")), true
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", 0, false
		}
	}
	return "", 0, false
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		return 0, errors.New("want a whole number from 0 to 65535 (0 picks a free port)")
	}
	return n, nil
}

// dotenvFile is the .env file as read at start-up.
type dotenvFile struct {
	path  string            // absolute: says where .env was looked for
	found bool              // false when there is no such file
	vars  map[string]string // its variables
}

// readDotenv reads a .env file. godotenv.UnmarshalBytes parses it without
// touching the process environment, so nothing global changes.
//
// godotenv's parse errors quote the file (up to its end, for some
// mistakes), and a .env file holds the consumer secret. So the message
// names the file and the line, never what the line says.
func readDotenv(path string) (dotenvFile, error) {
	d := dotenvFile{path: path}
	if abs, err := filepath.Abs(path); err == nil {
		d.path = abs
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, errorf("%s: %v", d.path, err)
	}
	d.found = true
	if bytes.HasPrefix(data, utf8BOM) {
		return d, errorf("%s: the file starts with a byte-order mark (EF BB BF): save it as UTF-8 without BOM", d.path)
	}
	if d.vars, err = godotenv.UnmarshalBytes(data); err != nil {
		what := "is not NAME=value"
		switch msg := err.Error(); {
		case strings.HasPrefix(msg, "unterminated quoted value"):
			what = "opens a quoted value that is never closed"
		case strings.HasPrefix(msg, "unexpected character"):
			what = "is not NAME=value (a name holds only letters, digits, _ and .)"
		}
		return d, errorf("%s: %s %s; the line is not shown here, since it may hold the secret",
			d.path, dotenvErrorLine(data), what)
	}
	return d, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// dotenvErrorLine finds the line where a .env file stops parsing: the one
// after the longest run of whole lines that parses. (A quoted value may
// span lines, so lines cannot be parsed one by one.)
func dotenvErrorLine(data []byte) string {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 10000 {
		return "a line" // no one writes such a .env by hand; do not spend seconds on it
	}
	good, end := 0, 0
	for k, l := range lines {
		end += len(l)
		if _, err := godotenv.UnmarshalBytes(data[:end]); err == nil {
			good = k + 1
		}
	}
	return fmt.Sprintf("line %d", good+1)
}

// explainMissing says which variables are not set and what was found where
// they were looked for, such as "BITBUCKET_CONSUMER_SECRET is not set
// (looked for .env in /home/me/app: there is none)". A .env in another
// directory than the one the app runs in is the usual surprise.
func (d dotenvFile) explainMissing(names []string) string {
	var clauses []string // one per variable, or one for all when they agree
	var last, lastWhere string
	for _, name := range names {
		where := "looked for .env in " + filepath.Dir(d.path) + ": "
		v, set := d.vars[name]
		switch {
		case !d.found:
			where += "there is none"
		case !set:
			where += "found, but it does not set " + name
		case v == "":
			where += "found, but it leaves " + name + " empty"
		}
		if !d.found && lastWhere == where {
			clauses[len(clauses)-1] = last + " and " + name + " are not set (" + where + ")"
			continue
		}
		last, lastWhere = name, where
		clauses = append(clauses, name+" is not set ("+where+")")
	}
	return strings.Join(clauses, "; ")
}

// hiddenBy lists the variables the environment sets to another value than
// .env does: the environment wins. It compares values and shows none.
func (d dotenvFile) hiddenBy(getenv func(string) string) []string {
	var notes []string
	for _, name := range envVariables {
		if env, file := getenv(name), d.vars[name]; env != "" && file != "" && env != file {
			notes = append(notes, name+" is set in the environment; it hides the value in "+d.path)
		}
	}
	return notes
}

// lookup returns a function that prefers the real environment and falls
// back to the .env file: a variable that is already set is never
// overridden. An empty value counts as not set.
func (d dotenvFile) lookup(getenv func(string) string) func(string) string {
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return d.vars[name]
	}
}

// WorkspaceID matches a Bitbucket workspace ID (letters, digits, - and _)
// or a workspace UUID in braces. Nothing else may reach an API path: it
// checks BITBUCKET_WORKSPACE here, and ?workspace= and the IDs Bitbucket
// lists in the handlers.
var WorkspaceID = regexp.MustCompile(`^(?:[A-Za-z0-9][A-Za-z0-9_-]{0,62}|\{[0-9a-fA-F-]{36}\})$`)

func checkWorkspace(s string) error {
	if !WorkspaceID.MatchString(s) {
		return errors.New("not a workspace ID (letters, digits, - and _) or {UUID}")
	}
	return nil
}

func checkHost(s string) error {
	if net.ParseIP(s) == nil && !hostname.MatchString(s) {
		return errors.New("want an IP address or a host name, such as 127.0.0.1")
	}
	return nil
}

var hostname = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$`)

// checkURL accepts a token or API URL. Plain http is refused unless the
// host is this machine: the token request carries the consumer key and
// secret, and every API call the access token, so over http to another
// machine anyone on the way could read them. The built-in stand-in and the
// tests listen on 127.0.0.1, where nothing leaves the machine.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("want an http or https URL")
	case u.Host == "":
		return errors.New("the URL has no host")
	case u.User != nil:
		return errors.New("the URL must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("the URL must not have a query or fragment")
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return errors.New("plain http to another machine would send the consumer secret and the access token " +
			"in clear text: use https (http is allowed only for localhost, 127.0.0.0/8 and [::1])")
	}
	return nil
}
