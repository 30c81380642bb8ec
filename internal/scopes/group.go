package scopes

import (
	"cmp"
	"slices"
	"strings"
)

// LabelAnyToken labels the group of operations that need no scope: any
// valid token reaches them (GET /workspaces/{workspace}, /hook_events, ...).
const LabelAnyToken = "Any valid token (no permission to tick)"

// LabelConnect labels the group of Connect apps' operations, which no OAuth
// consumer's token reaches, whatever is ticked.
const LabelConnect = "Connect apps only (a Connect app's JWT, not an OAuth token)"

// Group is a set of operations that need the same permissions.
type Group struct {
	// Label names the checkboxes to tick, in form order, joined by " + "
	// ("Repositories: Read + Repositories: Admin"), or is LabelAnyToken or
	// LabelConnect for operations that need no scope.
	Label      string
	Scopes     []string // the OAuth 2 scopes, in form order; empty for the two groups without
	Connect    bool     // the operations are Connect apps' (see Operation.Connect)
	Operations []Operation
}

// Grouped sorts ops by the permissions they need. An operation that needs
// several scopes forms a group of its own combination, beside the groups of
// each scope alone. Groups come in form order (Account first, Runners
// last; a combination after its first scope alone), with the operations any
// token reaches first and the Connect ones last; within a group, operations
// keep the order of ops.
func Grouped(ops []Operation) []Group {
	var groups []Group
	at := map[string]int{} // a group's Label → its index in groups
	for _, op := range ops {
		label := groupLabel(op)
		i, ok := at[label]
		if !ok {
			i = len(groups)
			at[label] = i
			groups = append(groups, Group{Label: label, Scopes: formOrder(op.Scopes), Connect: op.Connect})
		}
		groups[i].Operations = append(groups[i].Operations, op)
	}
	slices.SortFunc(groups, func(a, b Group) int {
		return cmp.Or(
			cmp.Compare(groupKind(a), groupKind(b)),
			slices.CompareFunc(a.Scopes, b.Scopes, func(x, y string) int {
				return cmp.Or(cmp.Compare(formRank(x), formRank(y)), strings.Compare(x, y))
			}),
		)
	})
	return groups
}

// Filter returns the operations of ops in which q appears, without regard
// to case or to runs of spaces, in the path, the summary, a scope (OAuth 2
// or granular) or the permission label: "pull requests: read" finds what
// that checkbox allows, "deploy key" the deploy-key operations. An empty q
// returns ops itself.
func Filter(ops []Operation, q string) []Operation {
	q = strings.Join(strings.Fields(strings.ToLower(q)), " ")
	if q == "" {
		return ops
	}
	var out []Operation
	for _, op := range ops {
		// One field per line, so that q cannot match across two fields.
		text := strings.ToLower(strings.Join(slices.Concat(
			[]string{op.Path, op.Summary, groupLabel(op)}, op.Scopes, op.Granular), "\n"))
		if strings.Contains(text, q) {
			out = append(out, op)
		}
	}
	return out
}

// groupLabel is the label of the group op belongs to.
func groupLabel(op Operation) string {
	switch {
	case op.Connect:
		return LabelConnect
	case len(op.Scopes) == 0:
		return LabelAnyToken
	}
	var labels []string
	for _, s := range formOrder(op.Scopes) {
		if p, ok := Lookup(s); ok {
			labels = append(labels, p.Label)
		} else {
			labels = append(labels, s) // a scope the form does not have is named as it is
		}
	}
	return strings.Join(labels, " + ")
}

// groupKind orders the three kinds of group: any token, scopes, Connect.
func groupKind(g Group) int {
	switch {
	case g.Connect:
		return 2
	case len(g.Scopes) == 0:
		return 0
	}
	return 1
}

// formOrder returns scopes sorted by their place on the consumer form.
func formOrder(scopes []string) []string {
	return slices.SortedStableFunc(slices.Values(scopes), func(x, y string) int {
		return cmp.Compare(formRank(x), formRank(y))
	})
}

// formRank is a scope's place on the consumer form; a scope the form does
// not list (the deprecated project:write, or one Bitbucket adds later)
// comes after all the others.
func formRank(scope string) int {
	if i := slices.IndexFunc(permissions, func(p Permission) bool { return p.Scope == scope }); i >= 0 {
		return i
	}
	return len(permissions)
}
