package standin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// sortKeys maps the fields an endpoint sorts by (?sort=field, or -field for
// descending order) to the value of an item to compare.
type sortKeys map[string]func(item map[string]any) string

// field reads a string field of an item.
func field(path ...string) func(map[string]any) string {
	return func(item map[string]any) string {
		for _, name := range path[:len(path)-1] {
			item, _ = item[name].(map[string]any)
		}
		s, _ := item[path[len(path)-1]].(string)
		return s
	}
}

// The fields the stand-in sorts by. Bitbucket sorts repositories by more
// fields than these; /2.0/user/workspaces "only slug is supported" (spec).
var (
	repositorySort = sortKeys{
		"name": field("name"), "slug": field("slug"), "full_name": field("full_name"),
		"created_on": field("created_on"), "updated_on": field("updated_on"),
	}
	workspaceAccessSort = sortKeys{
		"slug": field("workspace", "slug"), "workspace.slug": field("workspace", "slug"),
	}
)

// keptParams are the query parameters that next and previous links carry
// over from the request, besides page and pagelen.
var keptParams = []string{"sort", "q", "fields"}

// Page lengths. Bitbucket's default is 10 and its usual cap 100 (the
// spec's narrative); some endpoints cap lower (50 for pull requests:
// jenkinsci/bitbucket-branch-source-plugin#1182, where pagelen=100 gets
// 400 "Invalid pagelen"). The stand-in's two paginated endpoints take 100,
// as far as anyone has reported; SetPagelenCap lowers a cap for a test.
const (
	defaultPagelen = 10
	maxPagelen     = 100
)

// defaultPagelenCaps are the largest pagelen each paginated endpoint takes.
var defaultPagelenCaps = map[Endpoint]int{
	RepositoriesAPI: maxPagelen,
	UserWorkspaces:  maxPagelen,
}

// writePage writes one page of values the way Bitbucket paginates:
// pagelen (default 10, at most the endpoint's cap: a larger one, a negative
// one or one that is not a number is a 400 "Invalid pagelen"; 0 is
// accepted, as codacy/bitbucket-scala-client#53 saw, and gives a page of
// the default length, since Bitbucket does not say what it gives and that
// is the answer that breaks no caller), page, size, and absolute next and
// previous URLs, next absent on the last page. ?sort=field or -field
// orders the values first (an unknown field is a 400); next and previous
// keep sort, q and fields from the request (q is carried, not applied),
// and pagelen. fields then cuts the page down (see writeAnswer).
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, e Endpoint, values []any, fault Fault, keys sortKeys) {
	q := r.URL.Query()
	cursors := fault == APICursorPages
	s.mu.Lock()
	limit := s.pagelenCaps[e]
	s.mu.Unlock()
	page, pagelen, offset := 1, min(defaultPagelen, limit), 0
	if v := q.Get("pagelen"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > limit {
			apiError(w, http.StatusBadRequest, "Invalid pagelen", nil)
			return
		}
		if n > 0 {
			pagelen = n
		}
	}
	if v := q.Get("page"); v != "" {
		if cursors {
			n, ok := s.parseCursor(r.URL.Path, v)
			if !ok {
				apiError(w, http.StatusBadRequest, "Invalid page", nil)
				return
			}
			offset = n
		} else {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				apiError(w, http.StatusBadRequest, "Invalid page", nil)
				return
			}
			page = n
		}
	}
	sorted := false
	if by := q.Get("sort"); by != "" {
		name, desc := strings.CutPrefix(by, "-")
		key, ok := keys[name]
		if !ok {
			// Bitbucket's exact wording for this is not documented.
			apiError(w, http.StatusBadRequest, fmt.Sprintf("Invalid sort field '%s'", name), nil)
			return
		}
		values = slices.Clone(values)
		slices.SortStableFunc(values, func(a, b any) int {
			c := strings.Compare(key(a.(map[string]any)), key(b.(map[string]any)))
			if desc {
				return -c
			}
			return c
		})
		sorted = true
	}
	if fault == APIUnstableOrder && !sorted && len(values) > 0 {
		// Each page sees the collection rotated by one more place.
		k := (page - 1) % len(values)
		values = append(slices.Clone(values[k:]), values[:k]...)
	}
	if !cursors {
		offset = (page - 1) * pagelen
		if fault == APIEmptyFirstPage {
			offset -= pagelen // page 1 is empty
		}
	}
	start := min(max(offset, 0), len(values))
	end := min(max(offset+pagelen, 0), len(values))

	body := map[string]any{"values": values[start:end]}
	switch fault {
	case APICursorPages:
		body["pagelen"] = pagelen
		body["page"] = s.cursor(r.URL.Path, offset)
	case APINoSizeOrPagelen:
		body["page"] = page
	case APIStringTypes:
		body["pagelen"], body["size"], body["page"] = pagelen, len(values), strconv.Itoa(page)
	default:
		body["pagelen"], body["size"], body["page"] = pagelen, len(values), page
	}
	link := func(p string) string {
		u := url.URL{Scheme: scheme(r), Host: r.Host, Path: r.URL.Path}
		v := url.Values{}
		for _, k := range keptParams {
			if q.Has(k) {
				v[k] = q[k]
			}
		}
		v.Set("page", p)
		v.Set("pagelen", strconv.Itoa(pagelen))
		u.RawQuery = v.Encode()
		return u.String()
	}
	switch {
	case end >= len(values): // the last page: no next
	case cursors:
		body["next"] = link(s.cursor(r.URL.Path, end))
	default:
		body["next"] = link(strconv.Itoa(page + 1))
	}
	if page > 1 && !cursors {
		body["previous"] = link(strconv.Itoa(page - 1))
	}
	writeAnswer(w, r, body)
}

// cursor makes the opaque page token of APICursorPages for the item at
// offset of the collection at path: URL-safe base64 of "cursor:OFFSET:"
// and a MAC, so that the stand-in can tell its own cursors from made-up
// ones.
func (s *Server) cursor(path string, offset int) string {
	mac := hmac.New(sha256.New, s.cursorKey)
	fmt.Fprintf(mac, "%s\x00%d", path, offset)
	raw := append([]byte("cursor:"+strconv.Itoa(offset)+":"), mac.Sum(nil)[:9]...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// parseCursor returns the offset of a cursor the stand-in made for path.
func (s *Server) parseCursor(path, c string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(raw), "cursor:")
	digits, _, ok2 := strings.Cut(rest, ":")
	offset, err := strconv.Atoi(digits)
	if !ok || !ok2 || err != nil || offset < 0 || offset > 1<<30 {
		return 0, false
	}
	return offset, hmac.Equal([]byte(s.cursor(path, offset)), []byte(c))
}
