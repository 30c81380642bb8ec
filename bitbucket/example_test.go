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
// offline: a token endpoint, and a workspace's repositories on two pages.
// In your code, leave TokenURL and APIURL empty.
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
		if r.URL.Query().Get("page") == "2" {
			fmt.Fprint(w, `{"values":[{"full_name":"my-team/docs","is_private":false}]}`)
			return
		}
		fmt.Fprintf(w, `{"values":[{"full_name":"my-team/api","is_private":true},{"full_name":"my-team/web"}],"next":"http://%s/2.0/repositories/my-team?page=2"}`, r.Host)
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

// repository is what these examples use of a repository: decode only what
// you use, and a field you leave out cannot break your code when it changes.
type repository struct {
	FullName  string `json:"full_name"`
	IsPrivate bool   `json:"is_private"`
}

// A page of a workspace's repositories. Bitbucket promises only values and
// next in a page; add what else you need to the page type.
func ExampleClient_Get() {
	bb := exampleBitbucket()
	defer bb.Close()

	client := bitbucket.NewClient(exampleConfig(bb))
	var page bitbucket.Page[repository]
	query := url.Values{"sort": {"-updated_on"}, "pagelen": {"10"}}
	if err := client.Get(context.Background(), "/repositories/my-team", query, &page); err != nil {
		log.Fatal(err)
	}
	for _, repo := range page.Values {
		fmt.Println(repo.FullName, repo.IsPrivate)
	}
	fmt.Println("more:", page.Next != "")
	// Output:
	// my-team/api true
	// my-team/web false
	// more: true
}

// Every repository of a workspace, page after page. A list that stops
// before its end yields an error, so check each one.
func ExampleAll() {
	bb := exampleBitbucket()
	defer bb.Close()

	client := bitbucket.NewClient(exampleConfig(bb))
	for repo, err := range bitbucket.All[repository](context.Background(), client, "/repositories/my-team", nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(repo.FullName)
	}
	// Output:
	// my-team/api
	// my-team/web
	// my-team/docs
}

// Code that takes an *http.Client (a generated API client, a library) gets
// the token on every request to the API, and only there.
func ExampleClient_HTTPClient() {
	bb := exampleBitbucket()
	defer bb.Close()

	client := bitbucket.NewClient(exampleConfig(bb))
	hc := client.HTTPClient()
	resp, err := hc.Get(bb.URL + "/2.0/repositories/my-team")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// 200 OK
}

// A token alone: the first call makes the token request, later calls reuse
// the token until shortly before it expires.
func ExampleClient_Tokens() {
	bb := exampleBitbucket()
	defer bb.Close()

	tokens := bitbucket.NewClient(exampleConfig(bb)).Tokens()
	tok, err := tokens.TokenContext(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Type(), tok.Extra("scope"))
	// Output:
	// Bearer account repository
}

// The whole flow in an http.Handler: the client is made once, at start-up,
// and shared by every request; each request gets the cached token and calls
// the API with it.
func Example_handler() {
	bb := exampleBitbucket()
	defer bb.Close()

	client := bitbucket.NewClient(exampleConfig(bb))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var page bitbucket.Page[repository]
		path := "/repositories/" + url.PathEscape("my-team")
		if err := client.Get(r.Context(), path, url.Values{"sort": {"-updated_on"}}, &page); err != nil {
			log.Print(err) // no secret or token as sent in it
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
