package standin

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// page is a small paginated answer in Bitbucket's shape, to cut with fields.
const page = `{
	"pagelen": 2, "size": 3, "page": 1,
	"next": "https://api.example/2.0/repositories/ws?page=2",
	"values": [
		{"type": "repository", "name": "a", "mainbranch": {"type": "branch", "name": "main"},
		 "links": {"self": {"href": "https://api.example/a"}, "html": {"href": "https://web.example/a"},
		           "clone": [{"name": "https", "href": "https://u@web.example/a.git"}, {"name": "ssh", "href": "git@web.example:a.git"}]}},
		{"type": "repository", "name": "b",
		 "links": {"self": {"href": "https://api.example/b"}, "html": {"href": "https://web.example/b"},
		           "clone": [{"name": "https", "href": "https://u@web.example/b.git"}]}}
	]
}`

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

func TestApplyFields(t *testing.T) {
	tests := []struct {
		name, fields, want string
	}{
		// A list without + or - replaces the answer with what it names.
		{"one field", "next", `{"next": "https://api.example/2.0/repositories/ws?page=2"}`},
		{"dotted paths through values", "values.name,next",
			`{"next": "https://api.example/2.0/repositories/ws?page=2", "values": [{"name": "a"}, {"name": "b"}]}`},
		{"a whole object", "values.links.self",
			`{"values": [{"links": {"self": {"href": "https://api.example/a"}}}, {"links": {"self": {"href": "https://api.example/b"}}}]}`},
		{"through an array in an array", "values.links.clone.name",
			`{"values": [{"links": {"clone": [{"name": "https"}, {"name": "ssh"}]}}, {"links": {"clone": [{"name": "https"}]}}]}`},
		{"an item without the field keeps its place", "values.mainbranch.name",
			`{"values": [{"mainbranch": {"name": "main"}}, {}]}`},
		{"without next, no next", "values.name", `{"values": [{"name": "a"}, {"name": "b"}]}`},

		// -path removes from the default answer.
		{"remove a field", "-values.links,-pagelen,-size,-page,-next",
			`{"values": [{"type": "repository", "name": "a", "mainbranch": {"type": "branch", "name": "main"}}, {"type": "repository", "name": "b"}]}`},
		{"remove in every clone link", "-values.links.clone.href,-values.links.self,-values.links.html,-values.mainbranch,-values.type,-next,-pagelen,-size,-page",
			`{"values": [{"name": "a", "links": {"clone": [{"name": "https"}, {"name": "ssh"}]}}, {"name": "b", "links": {"clone": [{"name": "https"}]}}]}`},

		// +path adds to the default answer: nothing new on its own (the
		// default here is the whole answer), the field back after a removal.
		{"add to the default", "+values.name", page},
		{"remove all, then add", "-*,+next,+size", `{"next": "https://api.example/2.0/repositories/ws?page=2", "size": 3}`},
		{"remove, then add back", "-values.links,+values.links.self,-next,-pagelen,-size,-page,-values.mainbranch,-values.type",
			`{"values": [{"name": "a", "links": {"self": {"href": "https://api.example/a"}}}, {"name": "b", "links": {"self": {"href": "https://api.example/b"}}}]}`},
		{"plain and + together", "size,+page", `{"size": 3, "page": 1}`},
		{"entries apply in order", "values.name,-values.name", `{"values": [{}, {}]}`},

		// * matches any one level.
		{"empty links", "-values.links.*,-values.mainbranch,-values.type,-next,-pagelen,-size,-page",
			`{"values": [{"name": "a", "links": {}}, {"name": "b", "links": {}}]}`},
		{"every link's href", "values.links.*.href",
			`{"values": [{"links": {"self": {"href": "https://api.example/a"}, "html": {"href": "https://web.example/a"}, "clone": [{"href": "https://u@web.example/a.git"}, {"href": "git@web.example:a.git"}]}},
			             {"links": {"self": {"href": "https://api.example/b"}, "html": {"href": "https://web.example/b"}, "clone": [{"href": "https://u@web.example/b.git"}]}}]}`},
		{"one level under each item", "values.*.name",
			`{"values": [{"mainbranch": {"name": "main"}}, {}]}`},
		{"star alone: everything", "*", page},

		// A path that names nothing is ignored.
		{"unknown field", "nope", `{}`},
		{"unknown field beside a known one", "nope,next,values.nope", `{"next": "https://api.example/2.0/repositories/ws?page=2"}`},
		{"past a string", "next.href", `{}`},
		{"remove an unknown field", "-nope,-values.nope.deeper", page},
		{"empty entries", ",next,,", `{"next": "https://api.example/2.0/repositories/ws?page=2"}`},
		// An unescaped + arrives as a space (query rules): " size" is a
		// plain entry that names nothing, as the spec warns.
		{"unescaped plus", " size", `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := decode(t, page)
			got := applyFields(v, tt.fields)
			if want := decode(t, tt.want); !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("fields=%s:\n got %s\nwant %s", tt.fields, g, w)
			}
			if !reflect.DeepEqual(v, decode(t, page)) {
				t.Errorf("fields=%s changed the answer it was given", tt.fields)
			}
		})
	}
}

func TestFieldsOverHTTP(t *testing.T) {
	_, srv, _ := start(t)
	bearer := token(t, srv.URL)

	t.Run("following next with values.name,next", func(t *testing.T) {
		pages := follow(t, srv.URL+"/2.0/repositories/bitbucket-demo?fields=values.name,next", bearer)
		if len(pages) != 3 {
			t.Fatalf("%d pages, want 3", len(pages))
		}
		names := 0
		for i, p := range pages {
			for k := range p {
				if k != "values" && k != "next" {
					t.Errorf("page %d has %q", i+1, k)
				}
			}
			for _, item := range p["values"].([]any) {
				if m := item.(map[string]any); len(m) != 1 || m["name"] == "" {
					t.Errorf("page %d item %v, want only a name", i+1, m)
				}
				names++
			}
		}
		if names != 23 {
			t.Errorf("%d names, want 23", names)
		}
	})

	tests := []struct {
		name, path string
		status     int
		check      func(v map[string]any) bool
	}{
		{"without next there is no next", "/2.0/repositories/bitbucket-demo?fields=values.name", 200,
			func(v map[string]any) bool { return v["next"] == nil && len(v["values"].([]any)) == 10 }},
		{"remove links", "/2.0/repositories/bitbucket-demo?fields=-values.links", 200, func(v map[string]any) bool {
			r := v["values"].([]any)[0].(map[string]any)
			return r["links"] == nil && r["name"] == "api-gateway" && v["next"] != nil
		}},
		{"clone links only", "/2.0/repositories/bitbucket-demo?fields=values.links.clone.href", 200, func(v map[string]any) bool {
			clone := v["values"].([]any)[0].(map[string]any)["links"].(map[string]any)["clone"].([]any)
			return len(v) == 1 && len(clone) == 2 && strings.HasSuffix(clone[0].(map[string]any)["href"].(string), "/bitbucket-demo/api-gateway.git")
		}},
		{"a workspace's slug", "/2.0/workspaces/bitbucket-demo?fields=slug,links.html.href", 200, func(v map[string]any) bool {
			return len(v) == 2 && v["slug"] == "bitbucket-demo" && len(v["links"].(map[string]any)) == 1
		}},
		{"user workspaces' slugs", "/2.0/user/workspaces?fields=values.workspace.slug", 200, func(v map[string]any) bool {
			return len(v) == 1 && strings.Join(listedSlugs(v), " ") == "bitbucket-demo demo-labs"
		}},
		{"an escaped +", "/2.0/workspaces/bitbucket-demo?fields=-links,%2Blinks.self", 200, func(v map[string]any) bool {
			links, _ := v["links"].(map[string]any)
			return v["slug"] == "bitbucket-demo" && len(links) == 1 && links["self"] != nil
		}},
		{"an unescaped +", "/2.0/workspaces/bitbucket-demo?fields=+slug", 200, func(v map[string]any) bool { return len(v) == 0 }},
		{"errors are not cut", "/2.0/workspaces/nope?fields=slug", 404, func(v map[string]any) bool {
			return v["type"] == "error" && errorMessage(v) == "No workspace with identifier 'nope'."
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, v := getJSON(t, srv.URL+tt.path, bearer)
			if status != tt.status || !tt.check(v) {
				t.Errorf("%d %v", status, v)
			}
		})
	}
}
