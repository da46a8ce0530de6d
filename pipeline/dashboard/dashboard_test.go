package dashboard

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// The page, and every asset it references, is served from the binary with
// its type, an ETag and the CSP; nothing outside static/ is reachable.
func TestServesThePageAndItsAssets(t *testing.T) {
	h := Handler()
	w := get(t, h, "/")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("/: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP: %q", csp)
	}
	page := w.Body.String()
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html references %d files", len(refs))
	}
	types := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/"}
	for _, r := range refs {
		ref := r[1]
		if strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "data:") {
			continue
		}
		if !strings.HasPrefix(ref, "/assets/") {
			t.Errorf("index.html references %q: everything must come from /assets/ (no CDN: the dashboard runs offline)", ref)
			continue
		}
		a := get(t, h, ref)
		if a.Code != 200 {
			t.Errorf("%s: %d", ref, a.Code)
			continue
		}
		for ext, ct := range types {
			if strings.HasSuffix(ref, ext) && !strings.HasPrefix(a.Header().Get("Content-Type"), ct) {
				t.Errorf("%s: Content-Type %q", ref, a.Header().Get("Content-Type"))
			}
		}
		etag := a.Header().Get("ETag")
		if etag == "" || get(t, h, ref, "If-None-Match", etag).Code != http.StatusNotModified {
			t.Errorf("%s: no working ETag (%q)", ref, etag)
		}
	}
	// No script in the page itself: the CSP forbids inline scripts.
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(page) || regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
		t.Error("index.html has an inline script or event handler, which the CSP blocks")
	}
	for _, p := range []string{"/assets/../dashboard.go", "/assets/", "/assets/nope.js", "/dashboard.go", "/assets/vendor/"} {
		if c := get(t, h, p).Code; c != 404 {
			t.Errorf("%s: %d, want 404", p, c)
		}
	}
}

// No file of the dashboard loads anything from another host.
func TestNoRemoteResources(t *testing.T) {
	remote := regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']https?://|@import\s+url\(\s*["']?https?://|url\(\s*["']?https?://|cdn\.jsdelivr|unpkg\.com|cdnjs|fonts\.googleapis`)
	err := fs.WalkDir(Static(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "vendor/") {
			return err
		}
		b, err := fs.ReadFile(Static(), p)
		if err != nil {
			return err
		}
		if m := remote.Find(b); m != nil {
			t.Errorf("%s loads from another host: %s", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The committed bundles are the versions package-lock.json pins (make
// dashboard-assets installs them from the npm registry).
func TestVendoredBundlesMatchTheLockFile(t *testing.T) {
	b, err := os.ReadFile("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	for pkg, file := range map[string]string{"echarts": "vendor/echarts.min.js", "echarts-wordcloud": "vendor/echarts-wordcloud.min.js"} {
		v := lock.Packages["node_modules/"+pkg].Version
		if v == "" {
			t.Errorf("package-lock.json has no %s", pkg)
			continue
		}
		js, err := fs.ReadFile(Static(), file)
		if err != nil {
			t.Errorf("%s: %v (run make dashboard-assets)", file, err)
			continue
		}
		if pkg == "echarts" && !strings.Contains(string(js), `"`+v+`"`) {
			t.Errorf("%s does not carry version %s from package-lock.json", file, v)
		}
		if len(js) < 1000 {
			t.Errorf("%s is %d bytes", file, len(js))
		}
	}
}
