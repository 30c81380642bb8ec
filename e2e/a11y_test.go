package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axePath is where `npm ci` (make e2e runs it) puts axe-core; package.json
// and package-lock.json pin its version.
const axePath = "node_modules/axe-core/axe.min.js"

// loadAxe reads axe-core. Without it the test skips, or fails when the
// variable CI is set: CI must not pass by auditing nothing.
func loadAxe(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(axePath)
	if err == nil {
		return string(src)
	}
	msg := fmt.Sprintf("axe-core not found (%v). Install it with `npm ci` in e2e/, or run `make e2e`, which does", err)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set, so a missing axe-core is a failure)")
	}
	t.Skip(msg + " (skipping; with CI set this fails)")
	return ""
}

// axeTags choose the axe-core rules: WCAG 2.0, 2.1 and 2.2 at levels A and
// AA, and axe's best practices. Findings of serious or critical impact fail
// the test; the others are logged.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"}

// axeRunJS runs axe-core on the document and keeps what the test reports.
const axeRunJS = `axe.run(document, {
  runOnly: {type: 'tag', values: %s},
  resultTypes: ['violations', 'incomplete'],
}).then(r => {
  const slim = rule => ({
    id: rule.id, impact: rule.impact || '', help: rule.help,
    nodes: rule.nodes.map(n => ({
      target: n.target.join(' '),
      summary: (n.failureSummary || [...n.any, ...n.all, ...n.none].map(c => c.message).join('; ')).replace(/\s+/g, ' ').trim(),
    })),
  });
  return {version: axe.version, passes: r.passes.length, violations: r.violations.map(slim), incomplete: r.incomplete.map(slim)};
})`

type axeResult struct {
	Version    string    `json:"version"`
	Passes     int       `json:"passes"`
	Violations []axeRule `json:"violations"`
	Incomplete []axeRule `json:"incomplete"`
}

type axeRule struct {
	ID     string    `json:"id"`
	Impact string    `json:"impact"`
	Help   string    `json:"help"`
	Nodes  []axeNode `json:"nodes"`
}

type axeNode struct {
	Target  string `json:"target"`
	Summary string `json:"summary"`
}

func (r axeRule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", r.ID, r.Impact, r.Help)
	for i, n := range r.Nodes {
		if i == 5 {
			fmt.Fprintf(&b, "\n\t\t… and %d more", len(r.Nodes)-i)
			break
		}
		fmt.Fprintf(&b, "\n\t\t%s: %s", n.Target, n.Summary)
	}
	return b.String()
}

// audit injects axe-core into the page and runs it. The injection is a
// Runtime.evaluate of the file's text over the DevTools protocol: the page's
// Content-Security-Policy (no inline script) governs the page's own
// scripts, not what DevTools evaluates, so the CSP stays as strict as it
// is. checkBrowser, after this, would report any CSP violation the
// injection caused.
func (j *journey) audit(step string) {
	t := j.t
	t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](j.axe+"\n;typeof axe === 'object' && typeof axe.run === 'function'"))
	if err != nil || !ok {
		t.Errorf("%s: inject axe-core: %v (axe defined: %v)", step, err, ok)
		return
	}
	tags := `['` + strings.Join(axeTags, `', '`) + `']`
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](fmt.Sprintf(axeRunJS, tags), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Errorf("%s: run axe-core: %v", step, err)
		return
	}
	if res.Passes == 0 {
		t.Errorf("%s: axe-core %s passed no rule: it did not audit the page", step, res.Version)
	}
	var bad, other []string
	for _, r := range res.Violations {
		if r.Impact == "serious" || r.Impact == "critical" {
			bad = append(bad, r.String())
		} else {
			other = append(other, r.String())
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s: axe-core %s found %d serious or critical problems:\n\t%s", step, res.Version, len(bad), strings.Join(bad, "\n\t"))
	}
	if len(other) > 0 {
		t.Logf("%s: axe-core %s, minor and moderate findings:\n\t%s", step, res.Version, strings.Join(other, "\n\t"))
	}
	review := "none"
	if len(res.Incomplete) > 0 {
		var rs []string
		for _, r := range res.Incomplete {
			rs = append(rs, r.String())
		}
		review = strings.Join(rs, "; ")
		if testing.Verbose() && os.Getenv("E2E_AXE_REVIEW") != "" {
			review = "\n\t" + strings.Join(rs, "\n\t")
		}
	}
	t.Logf("%s: axe-core %s: %d rules pass, %d violations (%d serious or critical); left for review: %s",
		step, res.Version, res.Passes, len(res.Violations), len(bad), review)
}

// focusStopJS reads the element that has the focus after a Tab, and marks
// it as seen: the walk ends when the focus leaves the page or comes back.
// bgs is the background colors from the element's parent up to the first
// opaque one, for what lies around the focus ring.
const focusStopJS = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return {done: true};
  const seen = window.__focusSeen || (window.__focusSeen = new Set());
  if (seen.has(el)) return {done: true};
  seen.add(el);
  const bgs = [];
  for (let a = el.parentElement; a; a = a.parentElement) {
    const c = getComputedStyle(a).backgroundColor;
    bgs.push(c);
    if (/^rgb\(/.test(c)) break;
  }
  const cs = getComputedStyle(el);
  const text = (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 30);
  return {
    desc: el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).trim().replace(/\s+/g, '.') : '') + ' "' + text + '"',
    copyButton: el.matches('button.copy'),
    focusVisible: el.matches(':focus-visible'),
    outlineStyle: cs.outlineStyle, outlineWidth: parseFloat(cs.outlineWidth) || 0,
    outlineOffset: parseFloat(cs.outlineOffset) || 0, outlineColor: cs.outlineColor,
    boxShadow: cs.boxShadow, own: cs.backgroundColor, bgs: bgs,
  };
})()`

type focusStop struct {
	Done          bool     `json:"done"`
	Desc          string   `json:"desc"`
	CopyButton    bool     `json:"copyButton"`
	FocusVisible  bool     `json:"focusVisible"`
	OutlineStyle  string   `json:"outlineStyle"`
	OutlineWidth  float64  `json:"outlineWidth"`
	OutlineOffset float64  `json:"outlineOffset"`
	OutlineColor  string   `json:"outlineColor"`
	BoxShadow     string   `json:"boxShadow"`
	Own           string   `json:"own"`
	Bgs           []string `json:"bgs"`
}

// maxTabStops bounds the walk: more stops than any page here has.
const maxTabStops = 120

// focusWalk presses Tab through the whole page, as a keyboard user does,
// and checks the focus ring of every element it reaches: visible, at least
// 2 px, and at least 3:1 (WCAG 2.2, 1.4.11 and 2.4.7) against what lies on
// either side of it: the background around the element, and inside, the
// gap the offset leaves (its box-shadow or the same background) or, with
// no offset, the element's own background. It also checks that every copy
// button is reached.
func (j *journey) focusWalk(step string) {
	t := j.t
	t.Helper()
	ctx, cancel := context.WithTimeout(j.tab, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.__focusSeen = new Set(); document.activeElement && document.activeElement.blur()`)); err != nil {
		t.Errorf("%s: focus walk: %v", step, err)
		return
	}
	var stops []focusStop
	var problems []string
	copyButtons := 0
	lowest, lowestAt := math.Inf(1), ""
	for len(stops) < maxTabStops {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Errorf("%s: focus walk: press Tab: %v", step, err)
			return
		}
		s, err := chromedp.Run(ctx, chromedp.Evaluate[focusStop](focusStopJS))
		if err != nil {
			t.Errorf("%s: focus walk: read the focused element: %v", step, err)
			return
		}
		if s.Done {
			break
		}
		stops = append(stops, s)
		if s.CopyButton {
			copyButtons++
		}
		c, problem := contrastOf(s)
		if problem != "" {
			problems = append(problems, fmt.Sprintf("Tab stop %d, %s: %s", len(stops), s.Desc, problem))
			continue
		}
		if c < lowest {
			lowest, lowestAt = c, s.Desc
		}
	}
	want, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('button.copy')].filter(b => b.checkVisibility()).length`))
	if err != nil {
		t.Errorf("%s: focus walk: count the copy buttons: %v", step, err)
	}
	if copyButtons != want {
		t.Errorf("%s: Tab reached %d of the %d copy buttons", step, copyButtons, want)
	}
	if len(stops) == 0 {
		t.Errorf("%s: Tab reached no element", step)
		return
	}
	if n := len(problems); n > 0 {
		if n > 6 {
			problems = append(problems[:6], fmt.Sprintf("… and %d more", n-6))
		}
		t.Errorf("%s: focus ring problems at %d of %d Tab stops:\n\t%s", step, n, len(stops), strings.Join(problems, "\n\t"))
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`)); err != nil {
		t.Errorf("%s: focus walk: %v", step, err)
	}
	t.Logf("%s: Tab reached %d elements; the focus ring's lowest contrast is %.2f:1 (%s)", step, len(stops), lowest, lowestAt)
}

// contrastOf checks one focus stop and returns the lowest contrast of its
// ring, or a problem.
func contrastOf(s focusStop) (float64, string) {
	if !s.FocusVisible {
		return 0, "does not match :focus-visible after a Tab"
	}
	if s.OutlineStyle == "none" || s.OutlineStyle == "hidden" || s.OutlineWidth < 2 {
		return 0, fmt.Sprintf("no focus ring of 2 px or more (outline %s %gpx)", s.OutlineStyle, s.OutlineWidth)
	}
	ring, err := parseColor(s.OutlineColor)
	if err != nil {
		return 0, err.Error()
	}
	around, err := composite(s.Bgs)
	if err != nil {
		return 0, err.Error()
	}
	inside := around
	switch {
	case s.BoxShadow != "" && s.BoxShadow != "none":
		c, err := parseColor(s.BoxShadow)
		if err != nil {
			return 0, err.Error()
		}
		inside = c.over(around)
	case s.OutlineOffset <= 0:
		c, err := parseColor(s.Own)
		if err != nil {
			return 0, err.Error()
		}
		inside = c.over(around)
	}
	ring = ring.over(around)
	low := min(contrast(ring, around), contrast(ring, inside))
	if low < 3 {
		return low, fmt.Sprintf("focus ring %s is %.2f:1 against its background (%s around, %s inside); want 3:1", s.OutlineColor, low, around, inside)
	}
	return low, ""
}

// rgba is a color with alpha in [0, 1].
type rgba struct{ r, g, b, a float64 }

func (c rgba) String() string { return fmt.Sprintf("rgb(%.0f, %.0f, %.0f)", c.r, c.g, c.b) }

// over composites c over an opaque background.
func (c rgba) over(bg rgba) rgba {
	return rgba{c.r*c.a + bg.r*(1-c.a), c.g*c.a + bg.g*(1-c.a), c.b*c.a + bg.b*(1-c.a), 1}
}

var colorRE = regexp.MustCompile(`rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+))?\s*\)`)

// parseColor reads the first rgb() or rgba() color in a computed style.
func parseColor(s string) (rgba, error) {
	m := colorRE.FindStringSubmatch(s)
	if m == nil {
		return rgba{}, fmt.Errorf("no rgb() color in %q", s)
	}
	var v [4]float64
	v[3] = 1
	for i, part := range m[1:] {
		if part == "" {
			continue
		}
		f, err := strconv.ParseFloat(part, 64)
		if err != nil {
			return rgba{}, fmt.Errorf("color %q: %v", s, err)
		}
		v[i] = f
	}
	return rgba{v[0], v[1], v[2], v[3]}, nil
}

// composite stacks the background colors, innermost first, over white (the
// canvas when nothing is opaque).
func composite(bgs []string) (rgba, error) {
	out := rgba{255, 255, 255, 1}
	for i := len(bgs) - 1; i >= 0; i-- {
		c, err := parseColor(bgs[i])
		if err != nil {
			return rgba{}, err
		}
		out = c.over(out)
	}
	return out, nil
}

// contrast is the WCAG contrast ratio of two opaque colors.
func contrast(a, b rgba) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(c rgba) float64 {
	ch := func(v float64) float64 {
		v /= 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.r) + 0.7152*ch(c.g) + 0.0722*ch(c.b)
}
