// Package playground serves the GraphiQL playground from the binary:
// GraphiQL and React are vendored from their npm packages at pinned versions
// (static/vendor, with their licences; scripts/update-graphiql.sh updates
// them), so the playground works offline and in locked-down networks.
package playground

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// AssetPrefix is where Handler's assets are served.
const AssetPrefix = "/playground/"

// contentSecurityPolicy: only the server's own files and API. GraphiQL's
// editors set inline styles, and its stylesheet embeds its fonts and icons.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Page serves the playground's page (mount it at GET /).
func Page() http.Handler {
	page, err := fs.ReadFile(static, "static/index.html")
	if err != nil {
		panic(err) // fixed at build time
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(page)
	})
}

// Assets serves the playground's scripts and styles (mount it at
// AssetPrefix).
func Assets() http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	fsrv := http.StripPrefix(AssetPrefix[:len(AssetPrefix)-1], http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		// The vendored files change only with the binary.
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}

func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
