package standin

import (
	"net/http"
	"net/url"
	"strconv"
)

// writePage writes one page of values the way Bitbucket paginates:
// pagelen (default 10, at most 100), page, size, and absolute next and
// previous URLs, next absent on the last page.
//
// Under APIStringTypes, page is a string ("1"), as some of the spec's
// schemas type such fields.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, values []any, fault Fault) {
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
	link := func(p int) string {
		u := url.URL{Scheme: scheme(r), Host: r.Host, Path: r.URL.Path}
		v := url.Values{}
		v.Set("page", strconv.Itoa(p))
		v.Set("pagelen", strconv.Itoa(pagelen))
		u.RawQuery = v.Encode()
		return u.String()
	}
	if end < len(values) {
		body["next"] = link(page + 1)
	}
	if page > 1 {
		body["previous"] = link(page - 1)
	}
	writeJSON(w, http.StatusOK, body)
}
