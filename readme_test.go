package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's Go snippets are the real code: each ```go block is copied
// from a source file, and the line right before it (blank lines aside)
// names that file:
//
//	<!-- source: bitbucket/bitbucket.go -->
//
// or it is code the reader writes in the copy walkthrough, which
// TestCopyWalkthrough (copy_test.go) runs:
//
//	<!-- walkthrough: main.go -->
//
// TestREADMESnippetsMatchSource fails when a block no longer occurs
// verbatim in its file, so a change to the code cannot silently leave the
// README teaching something else.

// minREADMESnippets keeps the test from passing vacuously, for instance if
// the README lost its snippets or the comments changed shape.
const minREADMESnippets = 4

// readmeSourceComment is a line that names a snippet's source file, or
// its place in the walkthrough.
var readmeSourceComment = regexp.MustCompile(`^<!--\s*(source|walkthrough):\s*(\S+)\s*-->$`)

// readmeSnippet is one ```go block of the README, or one block of the
// walkthrough.
type readmeSnippet struct {
	source      string // the file its comment names; "" when it has none
	walkthrough string // its name in the walkthrough, for a walkthrough block
	line        int    // the README line of its opening fence
	code        []string
}

// parseREADMESnippets returns the ```go blocks of a Markdown text and the
// problems with them: a block without a source comment, a source comment
// not followed by a ```go block, or a fence that is never closed.
func parseREADMESnippets(text string) (snippets []readmeSnippet, problems []string) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	pending, pendingLine, walk := "", 0, "" // the comment waiting for its block
	dangling := func() {
		if pending != "" {
			problems = append(problems, fmt.Sprintf(
				"README.md:%d: <!-- source: %s --> is not followed by a ```go block", pendingLine, pending))
		}
		pending, walk = "", ""
	}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t")
		trimmed := strings.TrimLeft(line, " ")
		if m := readmeSourceComment.FindStringSubmatch(trimmed); m != nil {
			dangling()
			if m[1] == "walkthrough" {
				walk = m[2]
			} else {
				pending, pendingLine = m[2], i+1
			}
			continue
		}
		fence, info, ok := readmeFenceOpen(trimmed)
		if !ok {
			if trimmed != "" {
				dangling()
			}
			continue
		}
		// A fenced block: collect it up to its closing fence.
		indent := len(line) - len(trimmed)
		open := i + 1
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			l := strings.TrimRight(lines[i], " \t")
			if readmeFenceCloses(strings.TrimLeft(l, " "), fence) {
				closed = true
				break
			}
			// Content is indented as much as its opening fence (inside a
			// list item, say); strip that much.
			for n := 0; n < indent && strings.HasPrefix(l, " "); n++ {
				l = l[1:]
			}
			body = append(body, l)
		}
		if !closed {
			problems = append(problems, fmt.Sprintf("README.md:%d: the fenced block is never closed", open))
		}
		if walk != "" {
			snippets = append(snippets, readmeSnippet{walkthrough: walk, line: open, code: body})
			walk = ""
			continue
		}
		if lang, _, _ := strings.Cut(info, " "); lang != "go" {
			dangling()
			continue
		}
		if pending == "" {
			problems = append(problems, fmt.Sprintf(
				"README.md:%d: a ```go block without a <!-- source: FILE --> comment right before it", open))
		}
		snippets = append(snippets, readmeSnippet{source: pending, line: open, code: body})
		pending = ""
	}
	dangling()
	return snippets, problems
}

// readmeFenceOpen reports whether line opens a fenced code block, and
// returns its fence (``` or ~~~, or longer) and info string.
func readmeFenceOpen(line string) (fence, info string, ok bool) {
	for _, c := range []string{"`", "~"} {
		n := len(line) - len(strings.TrimLeft(line, c))
		if n >= 3 {
			return line[:n], strings.TrimSpace(line[n:]), true
		}
	}
	return "", "", false
}

// readmeFenceCloses reports whether line closes a block opened with fence.
func readmeFenceCloses(line, fence string) bool {
	rest := strings.TrimLeft(line, fence[:1])
	return len(line)-len(rest) >= len(fence) && strings.TrimSpace(rest) == ""
}

// readmeSnippetMismatch returns "" when the lines of code occur, one after
// another, in src (trailing whitespace ignored on every line). Otherwise it
// describes the first line that differs from the closest place in src.
func readmeSnippetMismatch(code []string, src string) string {
	norm := func(lines []string) []string {
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = strings.TrimRight(l, " \t\r")
		}
		return out
	}
	want := norm(code)
	for len(want) > 0 && want[len(want)-1] == "" {
		want = want[:len(want)-1]
	}
	if len(want) == 0 {
		return "the block is empty"
	}
	have := norm(strings.Split(src, "\n"))

	// The closest place: where the longest run of the block's lines matches.
	bestAt, bestRun := -1, 0
	for at := range have {
		run := 0
		for run < len(want) && at+run < len(have) && have[at+run] == want[run] {
			run++
		}
		if run == len(want) {
			return ""
		}
		if run > bestRun {
			bestAt, bestRun = at, run
		}
	}
	if bestRun == 0 {
		return fmt.Sprintf("its first line %q occurs nowhere in the file", want[0])
	}
	srcLine := "(end of file)"
	if at := bestAt + bestRun; at < len(have) {
		srcLine = fmt.Sprintf("%q", have[at])
	}
	return fmt.Sprintf("block line %d differs from file line %d:\n\tREADME: %q\n\tsource: %s",
		bestRun+1, bestAt+bestRun+1, want[bestRun], srcLine)
}

func TestREADMESnippetsMatchSource(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	snippets, problems := parseREADMESnippets(string(readme))
	for _, p := range problems {
		t.Error(p)
	}
	sourced := 0
	for _, s := range snippets {
		if s.source != "" {
			sourced++
		}
	}
	if sourced < minREADMESnippets {
		t.Errorf("README.md has %d ```go blocks with a source comment; want at least %d", sourced, minREADMESnippets)
	}

	for _, s := range snippets {
		if s.source == "" {
			continue // a walkthrough block, or reported above
		}
		name := fmt.Sprintf("README.md:%d:%s", s.line, strings.ReplaceAll(s.source, "/", "_"))
		t.Run(name, func(t *testing.T) {
			if !filepath.IsLocal(s.source) {
				t.Fatalf("README.md:%d: source %q must be a path inside the repository", s.line, s.source)
			}
			src, err := os.ReadFile(filepath.FromSlash(s.source))
			if err != nil {
				t.Fatalf("README.md:%d: the block's source: %v", s.line, err)
			}
			if msg := readmeSnippetMismatch(s.code, string(src)); msg != "" {
				t.Errorf("README.md:%d: the ```go block is not verbatim from %s: %s", s.line, s.source, msg)
			}
		})
	}
}

// TestREADMESnippetChecker checks the checker itself, so that the test
// above cannot pass because it stopped looking.
func TestREADMESnippetChecker(t *testing.T) {
	const src = "package p\n\n// f does it.\nfunc f() {\n\treturn   \n}\n"
	tests := []struct {
		name     string
		readme   string
		problems int    // how many parse problems
		snippets int    // how many ```go blocks
		mismatch string // part of the mismatch of the first block; "" if it matches
	}{
		{
			name:     "verbatim",
			readme:   "Text.\n\n<!-- source: f.go -->\n```go\nfunc f() {\n\treturn\n}\n```\n",
			snippets: 1,
		},
		{
			name:     "blank lines and indentation",
			readme:   "1. Step:\n\n   <!-- source: f.go -->\n\n   ```go\n   // f does it.\n   func f() {\n   \treturn\n   }\n   ```\n",
			snippets: 1,
		},
		{
			name:     "a changed line is named",
			readme:   "<!-- source: f.go -->\n```go\nfunc f() {\n\treturn nil\n}\n```\n",
			snippets: 1,
			mismatch: "block line 2 differs from file line 5",
		},
		{
			name:     "a line that is nowhere",
			readme:   "<!-- source: f.go -->\n```go\nfunc g() {}\n```\n",
			snippets: 1,
			mismatch: "occurs nowhere",
		},
		{
			name:     "a block running past the end",
			readme:   "<!-- source: f.go -->\n```go\n}\n\nfunc h() {}\n```\n",
			snippets: 1,
			mismatch: "(end of file)",
		},
		{
			name:     "an empty block",
			readme:   "<!-- source: f.go -->\n```go\n```\n",
			snippets: 1,
			mismatch: "empty",
		},
		{
			name:     "a go block without a source comment",
			readme:   "Text.\n```go\nfunc f() {\n```\n",
			problems: 1,
			snippets: 1,
		},
		{
			name:     "text between the comment and the block",
			readme:   "<!-- source: f.go -->\nText.\n```go\nfunc f() {\n```\n",
			problems: 2, // a dangling comment and a block without one
			snippets: 1,
		},
		{
			name:     "a comment before another language",
			readme:   "<!-- source: f.go -->\n```sh\nmake test\n```\n",
			problems: 1,
		},
		{
			name:     "a go fence inside another block is not a block",
			readme:   "````markdown\n```go\nx\n```\n````\n",
			snippets: 0,
		},
		{
			name:     "a walkthrough block needs no source",
			readme:   "<!-- walkthrough: main.go -->\n\n```go\npackage main\n```\n\n<!-- walkthrough: run -->\n```sh\ngo run .\n```\n",
			snippets: 2,
		},
		{
			name:     "an unclosed block",
			readme:   "<!-- source: f.go -->\n```go\nfunc f() {\n",
			problems: 1,
			snippets: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snippets, problems := parseREADMESnippets(tt.readme)
			if len(problems) != tt.problems {
				t.Errorf("problems = %q; want %d", problems, tt.problems)
			}
			if len(snippets) != tt.snippets {
				t.Fatalf("got %d snippets; want %d", len(snippets), tt.snippets)
			}
			if len(snippets) == 0 || tt.problems > 0 || snippets[0].walkthrough != "" {
				return
			}
			got := readmeSnippetMismatch(snippets[0].code, src)
			switch {
			case tt.mismatch == "" && got != "":
				t.Errorf("mismatch: %s; want a match", got)
			case tt.mismatch != "" && !strings.Contains(got, tt.mismatch):
				t.Errorf("mismatch = %q; want it to contain %q", got, tt.mismatch)
			}
		})
	}
}
