package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func BenchmarkZZCallback(b *testing.B) {
	f := newMemFixture(b, withWorkspace("bitbucket-demo"))
	f.get("/oauth-callback")
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost:3000/oauth-callback", nil))
		if rec.Code != 200 { b.Fatal(rec.Code) }
	}
}
func BenchmarkZZLanding(b *testing.B) {
	f := newMemFixture(b, withWorkspace("bitbucket-demo"))
	for b.Loop() {
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost:3000/", nil))
	}
}
