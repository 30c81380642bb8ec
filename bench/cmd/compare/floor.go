package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"

	"bitbucket-client-credentials-sample/bench/internal/sampleapp"
)

// The servers' names, in the tables' headings and the progress lines.
const (
	appName     = "app"
	expressName = "Express"
	floorName   = "bare Go"
)

// floorPackage is the floor: a bare net/http server that makes the app's
// two API calls per results page and serves pages of the app's sizes, and
// does nothing else. It is built from the bench module, the working
// directory's (bench/compare.sh runs this command from bench/).
const floorPackage = "bitbucket-client-credentials-sample/bench/cmd/floor"

// buildFloor compiles the floor into the executable bin.
func buildFloor(ctx context.Context, bin string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, floorPackage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (run this command from bench/, as bench/compare.sh does): %w\n%s", floorPackage, err, out)
	}
	return nil
}

// pageSizes are the bytes of the app's landing and results pages, which
// the floor serves pages of.
type pageSizes struct{ landing, results int }

// env is the app's environment plus the floor's page sizes.
func (p pageSizes) env(env []string) []string {
	return append(env[:len(env):len(env)],
		"FLOOR_LANDING_BYTES="+strconv.Itoa(p.landing),
		"FLOOR_RESULTS_BYTES="+strconv.Itoa(p.results))
}

// measureSizes loads the app's / and /oauth-callback once each, warm, and
// returns their sizes.
func measureSizes(ctx context.Context, client *http.Client, appURL string) (pageSizes, error) {
	var p pageSizes
	for _, page := range []struct {
		route string
		n     *int
	}{{"/", &p.landing}, {"/oauth-callback", &p.results}} {
		status, body, err := get(ctx, client, appURL+page.route)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("status %d: %q", status, pageText(body, 200))
		}
		if err != nil {
			return p, fmt.Errorf("the app's %s, for the size of the floor's page: %w", page.route, err)
		}
		*page.n = len(body)
	}
	return p, nil
}

// exited is a server's alive func for a process sampleapp started: nil
// while it runs.
func exited(what string, p *sampleapp.Process, log *tail) func() error {
	return func() error {
		select {
		case <-p.Exited():
			return fmt.Errorf("%s has exited; its log:\n%s", what, log)
		default:
			return nil
		}
	}
}
