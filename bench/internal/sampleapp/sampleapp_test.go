package sampleapp

import "testing"

func TestDeclares(t *testing.T) {
	for data, want := range map[string]bool{
		"module bitbucket-client-credentials-sample\n\ngo 1.26.0\n":       true,
		"// the app\nmodule \"bitbucket-client-credentials-sample\"\n":    true,
		"module bitbucket-client-credentials-sample/bench\n\ngo 1.26.0\n": false,
		"go 1.26.0\n": false,
	} {
		if got := declares([]byte(data), modulePath); got != want {
			t.Errorf("declares(%q) = %v, want %v", data, got, want)
		}
	}
}
