package main

import (
	"embed"
	"io/fs"
)

// The templates and static files are compiled into the binary, so the app
// runs from any directory and a deployment is one file.
//
//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// sub is the folder dir of files. The folders are embedded at build time,
// so it cannot fail.
func sub(files fs.FS, dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err)
	}
	return f
}

// siteInfo is what every page shows in its banner: which mode is on, the
// Bitbucket in use, and how to switch.
type siteInfo struct {
	Demo       bool
	DemoReason string
	Host       string // "Bitbucket Cloud", or the API's host when it is another
}

// landingView is the landing page's own data: the configuration, with the
// consumer key masked and the secret never.
type landingView struct {
	TokenURL, APIURL, Workspace, KeyMasked, Timeout string
}
