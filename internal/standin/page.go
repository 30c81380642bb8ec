package standin

import (
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

// writePage writes one page of values the way Bitbucket paginates:
// pagelen (default 10, at most 100), page, size, and absolute next and
// previous URLs, next absent on the last page. ?sort=field or -field orders
// the values first (an unknown field is a 400); next and previous keep
// sort, q and fields from the request (q and fields are carried, not
// applied), and pagelen.
//
// Under APIStringTypes, page is a string ("1"), as some of the spec's
// schemas type such fields.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, values []any, fault Fault, keys sortKeys) {
	q := r.URL.Query()
	page, pagelen := 1, 10
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			apiError(w, http.StatusBadRequest, "Invalid page", nil)
			return
		}
		page = n
	}
	if v := q.Get("pagelen"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiError(w, http.StatusBadRequest, "Invalid pagelen", nil)
			return
		}
		pagelen = n
	}
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
	}

	start := min((page-1)*pagelen, len(values))
	end := min(start+pagelen, len(values))
	body := map[string]any{
		"pagelen": pagelen,
		"size":    len(values),
		"page":    page,
		"values":  values[start:end],
	}
	if fault == APIStringTypes {
		body["page"] = strconv.Itoa(page)
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
	if end < len(values) {
		body["next"] = link(strconv.Itoa(page + 1))
	}
	if page > 1 {
		body["previous"] = link(strconv.Itoa(page - 1))
	}
	writeJSON(w, http.StatusOK, body)
}
