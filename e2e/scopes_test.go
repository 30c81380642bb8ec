package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/chromedp/chromedp"
)

// scopesFacts is what the test reads from /scopes, besides pageFacts.
type scopesFacts struct {
	Reach     string     `json:"reach"`     // the .outcome.ok line about the token held
	NoToken   string     `json:"noToken"`   // the line shown instead without a token
	Count     string     `json:"count"`     // "N operations match …"
	Groups    []string   `json:"groups"`    // the h2 of each group
	Reached   int        `json:"reached"`   // groups marked as reached by the token
	Rows      int        `json:"rows"`      // operations listed
	Unmatched []string   `json:"unmatched"` // rows whose text and group leave out the query
	Labels    []string   `json:"labels"`    // cell labels (::before) that name another column
	Input     scopeInput `json:"input"`
}

type scopeInput struct {
	Value     string `json:"value"`
	Label     string `json:"label"`
	MaxLength int    `json:"maxLength"`
}

// scopesJS reads scopesFacts; %s is the query, as a JSON string.
const scopesJS = `((q) => {
  const norm = s => (s || '').replace(/\s+/g, ' ').trim();
  const main = document.querySelector('main');
  const reach = [...main.querySelectorAll('p.outcome.ok')].find(p => norm(p.textContent).startsWith('This token reaches'));
  const noToken = [...main.querySelectorAll('p.outcome')].find(p => norm(p.textContent).startsWith('The app holds no token'));
  const count = [...main.querySelectorAll('p')].find(p => /^\d+ operations/.test(norm(p.textContent)));
  const groups = [...main.querySelectorAll('section.scope-group')];
  const input = document.querySelector('form.search input[name="q"]');
  const label = input && input.labels && input.labels[0];
  const unmatched = [];
  for (const g of groups) {
    const heading = norm(g.querySelector('h2') && g.querySelector('h2').textContent).toLowerCase();
    for (const tr of g.querySelectorAll('table.ops tbody tr')) {
      const text = norm(tr.textContent).toLowerCase();
      if (q && !text.includes(q.toLowerCase()) && !heading.includes(q.toLowerCase())) unmatched.push(norm(tr.textContent).slice(0, 80));
    }
  }
  // Where the tables stack (narrow screens), a label that CSS puts before a
  // cell must name that cell's column.
  const labels = new Set();
  for (const table of main.querySelectorAll('table.ops')) {
    const heads = [...table.querySelectorAll('thead th')].map(th => norm(th.textContent));
    for (const tr of table.querySelectorAll('tbody tr')) {
      [...tr.children].forEach((cell, i) => {
        const before = getComputedStyle(cell, '::before').content;
        if (!before || before === 'none' || before === 'normal') return;
        const label = before.replace(/^"|"$/g, '').replace(/[:\s]+$/, '').trim();
        if (label && label !== heads[i]) labels.add('"' + label + '" before a cell of the column "' + (heads[i] || '?') + '"');
      });
    }
  }
  return {
    labels: [...labels],
    reach: reach ? norm(reach.textContent) : '',
    noToken: noToken ? norm(noToken.textContent) : '',
    count: count ? norm(count.textContent) : '',
    groups: groups.map(g => norm(g.querySelector('h2') && g.querySelector('h2').textContent)),
    reached: groups.filter(g => [...g.querySelectorAll('p.outcome.ok')].some(p => norm(p.textContent).includes('This token has what these need'))).length,
    rows: main.querySelectorAll('section.scope-group table.ops tbody tr').length,
    unmatched: unmatched.slice(0, 5),
    input: input ? {value: input.value, label: label ? norm(label.textContent) : '', maxLength: input.maxLength} : {value: '', label: '', maxLength: -1},
  };
})(%s)`

var (
	reachRE = regexp.MustCompile(`This token reaches (\d+) of (\d+) operations`)
	countRE = regexp.MustCompile(`^(\d+) operations`)
)

// scopesPage checks /scopes (issue 15), after demoFlow, so that the app
// holds a token: reached by the link on the results page, it says how many
// operations the token reaches, passes the checks of every page (axe-core,
// focus rings, nothing past the right edge at 375 px); a search typed into
// its form and submitted with its button, as a person does, narrows the
// list; a search for a path, and for 200 characters, fits the width too;
// and a q of 201 characters gets the 400 page.
func (j *journey) scopesPage() {
	t := j.t
	step := "/scopes after the flow"
	const link = `main dl.token a[href="/scopes"]`
	j.load(step, "click "+link+" on the results page", "/scopes", 200, chromedp.Click(chromedp.CSS(link)))
	f := j.facts(step)
	all := j.scopesFacts(step, "")
	j.contains(step, "the h1", f.H1, "Which permission to tick")
	if all.NoToken != "" {
		t.Errorf("%s: after the flow the page still says %q", step, all.NoToken)
	}
	m := reachRE.FindStringSubmatch(all.Reach)
	if m == nil {
		t.Errorf("%s: no line that says %q (p.outcome.ok); it says %q", step, "This token reaches N of M operations", all.Reach)
	}
	total := j.operationCount(step, all)
	if m != nil {
		n, _ := strconv.Atoi(m[1])
		of, _ := strconv.Atoi(m[2])
		switch {
		case n <= 0 || n >= of:
			t.Errorf("%s: %q: the demo token (scopes %q) reaches some operations, not none and not all", step, m[0], "account repository")
		case of != total:
			t.Errorf("%s: %q, but the page lists %d operations", step, m[0], total)
		}
	}
	if all.Reached == 0 || all.Reached == len(all.Groups) {
		t.Errorf("%s: %d of the %d groups are marked as reached by the token; want some, not all", step, all.Reached, len(all.Groups))
	}
	if all.Input.Label == "" || all.Input.MaxLength != 200 {
		t.Errorf("%s: the search box has the label %q and maxlength %d; want a label and 200", step, all.Input.Label, all.Input.MaxLength)
	}
	j.labels(step, all)
	j.finish(step, "scopes", f, "")

	// A search, as a person makes it: click into the box, type, click the button.
	step = "/scopes search for pullrequest"
	const q = "pullrequest"
	if err := j.do(chromedp.Click(chromedp.CSS(`form.search input[name="q"]`)), chromedp.KeyEvent(q)); err != nil {
		t.Fatalf("%s: type %q into the search box: %v", step, q, err)
	}
	j.load(step, "type "+q+" and click Search", "/scopes", 200, chromedp.Click(chromedp.CSS(`form.search button[type="submit"]`)))
	f = j.facts(step)
	j.query(step, f.URL, url.Values{"q": {q}})
	found := j.scopesFacts(step, q)
	shown := j.operationCount(step, found)
	if shown == 0 || shown >= total {
		t.Errorf("%s: %d operations shown, of %d: the search did not narrow the list", step, shown, total)
	}
	// The quotes around the query come from <q>, so textContent has none.
	j.contains(step, "the count", found.Count, "operations match "+q)
	if found.Input.Value != q {
		t.Errorf("%s: the search box holds %q after the search, want %q", step, found.Input.Value, q)
	}
	if len(found.Unmatched) > 0 {
		t.Errorf("%s: operations listed whose row and group do not mention %q: %q", step, q, found.Unmatched)
	}
	if found.Reach == "" {
		t.Errorf("%s: the line about the token held is gone after a search", step)
	}
	j.labels(step, found)
	j.finish(step, "scopes-search", f, "")

	// A path, as the page suggests searching for: the query shown back
	// must wrap like the rest of the text.
	step = "/scopes search for a path"
	const path = "/repositories/{workspace}/{repo_slug}/pullrequests"
	j.load(step, "open /scopes?q="+path, "/scopes", 200, chromedp.Navigate(j.base+"/scopes?q="+url.QueryEscape(path)))
	f = j.facts(step)
	if n := j.operationCount(step, j.scopesFacts(step, path)); n == 0 || n >= total {
		t.Errorf("%s: %d operations shown, of %d, want some", step, n, total)
	}
	j.edges(step, f, j.vp.width)
	j.checkBrowser(step)

	// The longest q the page takes, and one character more (the box's
	// maxlength stops a person; an address typed or a link does not).
	step = "/scopes with a q of 200 characters"
	long := strings.Repeat("a", 200)
	j.load(step, "open /scopes?q=(200 characters)", "/scopes", 200, chromedp.Navigate(j.base+"/scopes?q="+long))
	if got := j.scopesFacts(step, long); got.Rows != 0 || !strings.HasPrefix(got.Count, "0 operations") {
		t.Errorf("%s: %d operations listed (%q), want none", step, got.Rows, got.Count)
	}
	j.edges(step, j.facts(step), j.vp.width)
	j.checkBrowser(step)

	step = "/scopes 400 page (a q of 201 characters)"
	j.load(step, "open /scopes?q=(201 characters)", "/scopes", 400, chromedp.Navigate(j.base+"/scopes?q="+long+"a"))
	f = j.facts(step)
	j.errorPage(step, f, "400 Bad Request", "q is longer than 200 characters")
	j.finish(step, "scopes-400", f, "")
}

// labels fails the step when a cell of the operations tables carries a
// label that names another column: a phone shows each row as a card, and a
// reader there sees the label, not the column header.
func (j *journey) labels(step string, s scopesFacts) {
	j.t.Helper()
	if len(s.Labels) > 0 {
		j.t.Errorf("%s: at %d px the stacked tables label cells wrongly: %s", step, j.vp.width, strings.Join(s.Labels, "; "))
	}
}

// operationCount reads the number of operations the page says it shows,
// and checks that the tables list that many.
func (j *journey) operationCount(step string, s scopesFacts) int {
	j.t.Helper()
	m := countRE.FindStringSubmatch(s.Count)
	if m == nil {
		j.t.Errorf("%s: no line that says how many operations are shown (N operations…)", step)
		return s.Rows
	}
	n, _ := strconv.Atoi(m[1])
	if n != s.Rows {
		j.t.Errorf("%s: the page says %q but its tables list %d operations", step, s.Count, s.Rows)
	}
	if n > 0 && len(s.Groups) == 0 {
		j.t.Errorf("%s: %d operations but no group (section.scope-group with an h2)", step, n)
	}
	return n
}

// scopesFacts reads /scopes; q is the query whose matches it checks.
func (j *journey) scopesFacts(step, q string) scopesFacts {
	j.t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[scopesFacts](jsString(scopesJS, q)))
	if err != nil {
		j.t.Fatalf("%s: read the page: %v", step, err)
	}
	return s
}

// jsString formats a script whose one %s is s as a JavaScript string.
func jsString(format, s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Go string always marshals
	}
	return fmt.Sprintf(format, b)
}
