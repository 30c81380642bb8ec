package bitbucket_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"

	"bitbucket-client-credentials-sample/bitbucket"
)

// exampleBitbucket stands in for Bitbucket Cloud, so that the examples run
// offline. In your code, leave TokenURL and APIURL empty.
func exampleBitbucket() *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /site/oauth2/access_token", func(w http.ResponseWriter, r *http.Request) {
		if key, _, _ := r.BasicAuth(); key != "my-key" {
			http.Error(w, `{"error":"unauthorized_client"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"example-token","token_type":"bearer","scope":"account repository","expires_in":7200}`)
	})
	mux.HandleFunc("GET /2.0/repositories/my-team", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer example-token" {
			http.Error(w, `{"type":"error","error":{"message":"Access token expired."}}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"pagelen":10,"values":[{"full_name":"my-team/api","is_private":true},{"full_name":"my-team/web"}]}`)
	})
	return httptest.NewServer(mux)
}

func exampleConfig(bb *httptest.Server) bitbucket.Config {
	return bitbucket.Config{
		Key:      "my-key",    // in your code: from the environment or a secret store
		Secret:   "my-secret", // never in source code, a log or a page
		TokenURL: bb.URL + "/site/oauth2/access_token",
		APIURL:   bb.URL + "/2.0",
	}
}

// Getting a token: the first call makes the token request, later calls
// reuse the token until shortly before it expires.
func ExampleTokenSource_Get() {
	bb := exampleBitbucket()
	defer bb.Close()

	tokens := bitbucket.NewTokenSource(exampleConfig(bb))
	for range 2 {
		tok, origin, err := tokens.Get(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tok.Type(), bitbucket.Scopes(tok), origin == bitbucket.Fetched)
	}
	// Output:
	// Bearer account repository true
	// Bearer account repository false
}

// Listing a workspace's repositories, most recently updated first.
func ExampleClient_Get() {
	bb := exampleBitbucket()
	defer bb.Close()

	client := bitbucket.NewClient(exampleConfig(bb))
	var page bitbucket.Page[bitbucket.Repository]
	query := url.Values{"sort": {"-updated_on"}, "pagelen": {"10"}}
	if err := client.Get(context.Background(), "/repositories/my-team", query, &page); err != nil {
		log.Fatal(err)
	}
	for _, repo := range page.Values {
		fmt.Println(repo.FullName, repo.IsPrivate)
	}
	// Output:
	// my-team/api true
	// my-team/web false
}

// The whole flow in an http.Handler: the client is made once, at start-up,
// and shared by every request; each request gets the cached token and calls
// the API with it. Copy this into your project with the folder bitbucket/.
func Example_handler() {
	bb := exampleBitbucket()
	defer bb.Close()

	client := bitbucket.NewClient(exampleConfig(bb))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var page bitbucket.Page[bitbucket.Repository]
		path := "/repositories/" + url.PathEscape("my-team")
		if err := client.Get(r.Context(), path, url.Values{"sort": {"-updated_on"}}, &page); err != nil {
			log.Print(err) // safe to log: no secret or token in it
			http.Error(w, "Bitbucket did not answer as expected.", http.StatusBadGateway)
			return
		}
		for _, repo := range page.Values {
			fmt.Fprintln(w, repo.FullName)
		}
	})

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Print(rec.Body.String())
	// Output:
	// my-team/api
	// my-team/web
}
