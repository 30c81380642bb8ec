// Command gen writes the operations table of package scopes from
// Bitbucket's OpenAPI description. Run it with `go generate` in
// internal/scopes; by default it reads bitbucket-openapi.json and writes
// operations.tsv in the current directory.
//
// The app never reads the 1.9 MB spec: it embeds the small table this
// writes, and a test checks that the committed table is what this command
// makes of the committed spec.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	specPath := flag.String("spec", "bitbucket-openapi.json", "Bitbucket's OpenAPI description to read")
	outPath := flag.String("out", "operations.tsv", "the table to write")
	flag.Parse()
	if err := run(*specPath, *outPath); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// run builds the whole table before it writes anything, so a spec it
// cannot read leaves the old table in place.
func run(specPath, outPath string) error {
	spec, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	table, err := Generate(spec)
	if err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	return os.WriteFile(outPath, table, 0o644)
}
