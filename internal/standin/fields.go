package standin

import (
	"slices"
	"strings"
)

// applyFields cuts an API answer down the way Bitbucket's fields query
// parameter does (the spec's narrative, "Partial responses"), and returns
// the new answer; v itself is left as it was.
//
// fields is a comma-separated list of dotted paths from the answer's root
// ("values.name", "next", "values.links.clone.href"):
//
//   - "path" (no sign): the answer holds only the fields named so. One such
//     entry anywhere in the list starts from an empty answer instead of the
//     default one.
//   - "+path" adds the field to the answer (it matters after a removal, or
//     with plain entries: "-*,+name" is the name alone).
//   - "-path" removes it.
//   - "*" matches any one level: "-links.*" empties links, "values.*.href"
//     takes every href one level under each item.
//
// Entries apply in order, as the spec's "-*,+foo,+bar" example needs. A path
// through an array applies to each element ("values.name" names the name of
// every item, "values.links.clone.href" every clone link's href); a path
// that names nothing is ignored. An unescaped "+" reaches the stand-in as a
// space (URL query rules), and " name" names nothing: the spec warns that
// "+" must be sent as %2B.
//
// The stand-in's answers have no fields held back from the default, as
// some of Bitbucket's do (a pull request's reviewers in a listing), so "+"
// never brings in anything new here.
func applyFields(v map[string]any, fields string) map[string]any {
	entries := strings.Split(fields, ",")
	var out any = map[string]any{} // with a plain entry: only what is named
	if !slices.ContainsFunc(entries, plain) {
		out = deepCopy(v) // only signed entries: start from the default answer
	}
	for _, e := range entries {
		if e == "" {
			continue
		}
		switch e[0] {
		case '-':
			drop(out, strings.Split(e[1:], "."))
		case '+':
			if picked, ok := pick(v, strings.Split(e[1:], ".")); ok {
				out = merge(out, picked)
			}
		default:
			if picked, ok := pick(v, strings.Split(e, ".")); ok {
				out = merge(out, picked)
			}
		}
	}
	m, _ := out.(map[string]any)
	return m
}

// plain reports whether a fields entry names a field with no sign.
func plain(entry string) bool { return entry != "" && entry[0] != '+' && entry[0] != '-' }

// pick returns a copy of the parts of v that path names, with the objects
// and arrays on the way to them, and false if path names nothing in v.
func pick(v any, path []string) (any, bool) {
	if len(path) == 0 {
		return deepCopy(v), true
	}
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, child := range x {
			if path[0] == "*" || path[0] == k {
				if p, ok := pick(child, path[1:]); ok {
					out[k] = p
				}
			}
		}
		return out, len(out) > 0
	case []any:
		// The path goes on into every element; an element it names
		// nothing in stays as an empty object, so that the array keeps
		// its length and each element its place.
		out := make([]any, len(x))
		found := false
		for i, el := range x {
			if p, ok := pick(el, path); ok {
				out[i], found = p, true
			} else {
				out[i] = map[string]any{}
			}
		}
		return out, found
	}
	return nil, false // a string, number, bool or null has no fields
}

// drop removes from v, in place, what path names.
func drop(v any, path []string) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if path[0] != "*" && path[0] != k {
				continue
			}
			if len(path) == 1 {
				delete(x, k)
			} else {
				drop(child, path[1:])
			}
		}
	case []any:
		for _, el := range x {
			drop(el, path)
		}
	}
}

// merge adds what b holds to a and returns the result. Both come from the
// same answer, so their arrays have the same length and merge element by
// element.
func merge(a, b any) any {
	switch bx := b.(type) {
	case map[string]any:
		ax, ok := a.(map[string]any)
		if !ok {
			return b
		}
		for k, bv := range bx {
			if av, ok := ax[k]; ok {
				ax[k] = merge(av, bv)
			} else {
				ax[k] = bv
			}
		}
		return ax
	case []any:
		ax, ok := a.([]any)
		if !ok || len(ax) != len(bx) {
			return b
		}
		for i := range ax {
			ax[i] = merge(ax[i], bx[i])
		}
		return ax
	}
	return b
}

// deepCopy copies the objects and arrays of a decoded JSON value, so that
// cutting the copy leaves the original whole.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, child := range x {
			out[k] = deepCopy(child)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, child := range x {
			out[i] = deepCopy(child)
		}
		return out
	}
	return v
}
