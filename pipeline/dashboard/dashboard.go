// Package dashboard is iwom's web dashboard: static pages, embedded in the
// binary, that `iwom serve` serves at /. Everything they show comes from
// the report API (/v1/reports/<name>, /v1/brands) and the alert stream
// (/v1/alerts/stream); the charts use Apache ECharts and
// echarts-wordcloud, installed from the npm registry by `make
// dashboard-assets` (see package.json) and committed under static/vendor,
// so nothing is fetched from elsewhere at run time.
package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// Static is the dashboard's files (index.html, app.js, app.css, vendor/…).
func Static() fs.FS {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	return sub
}

// csp allows the page its own scripts, styles, images and API only.
// ECharts sets element styles, hence 'unsafe-inline' for styles (not
// scripts).
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Handler serves the dashboard: / is index.html, /assets/<file> the rest.
// Files carry a content-hash ETag (the binary is their only version).
func Handler() http.Handler {
	static := Static()
	type file struct {
		body  []byte
		etag  string
		ctype string
	}
	byPath := map[string]file{}
	_ = fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = http.DetectContentType(b)
		}
		byPath[p] = file{b, `"` + hex.EncodeToString(sum[:8]) + `"`, ct}
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var name string
		switch {
		case r.URL.Path == "/" || r.URL.Path == "/index.html":
			name = "index.html"
		case strings.HasPrefix(r.URL.Path, "/assets/"):
			name = strings.TrimPrefix(r.URL.Path, "/assets/")
		}
		f, ok := byPath[name]
		if !ok || name == "" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache") // revalidate: a new binary may bring new files
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if name == "index.html" {
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Frame-Options", "DENY")
		}
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(f.body)
	})
}
