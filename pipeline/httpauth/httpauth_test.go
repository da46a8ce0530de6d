package httpauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func request(auth ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/v1/reports", nil)
	for _, a := range auth {
		r.Header.Add("Authorization", a)
	}
	return r
}

// Issue 13: the scheme is case-insensitive (RFC 7235), the token must be
// one of the configured ones, exactly.
func TestCheck(t *testing.T) {
	tokens := []string{"first-token-0123456789", "second-token-0123456789"}
	for _, tc := range []struct {
		auth string
		want bool
	}{
		{"Bearer first-token-0123456789", true},
		{"Bearer second-token-0123456789", true},
		{"bearer second-token-0123456789", true},
		{"BEARER first-token-0123456789", true},
		{"bEaReR first-token-0123456789", true},
		{"Bearer   first-token-0123456789  ", true},
		{"Bearer\tfirst-token-0123456789", false}, // the scheme ends at a space
		{"", false},
		{"Bearer", false},
		{"Bearer ", false},
		{"Bearer first-token-012345678", false},
		{"Bearer first-token-01234567890", false},
		{"Bearer first-token-0123456789 second-token-0123456789", false},
		{"Basic first-token-0123456789", false},
		{"Bearerfirst-token-0123456789", false},
		{" Bearer first-token-0123456789", false},
		{"first-token-0123456789", false},
	} {
		if got := Check(request(tc.auth), tokens); got != tc.want {
			t.Errorf("Authorization %q: %v, want %v", tc.auth, got, tc.want)
		}
	}
	if Check(request("Bearer x"), nil) {
		t.Error("no tokens: Check must be false")
	}
	if Check(request("Bearer "), []string{""}) || Check(request("Bearer  "), []string{"", "x"}) {
		t.Error("an empty configured token must match nothing")
	}
	if Check(request(), tokens) {
		t.Error("no header")
	}
}

func TestToken(t *testing.T) {
	if tok, ok := Token(request("bearer abc")); !ok || tok != "abc" {
		t.Errorf("%q %v", tok, ok)
	}
	if _, ok := Token(request("Basic YWJjOmRlZg==")); ok {
		t.Error("Basic is not a bearer token")
	}
}

func TestMiddleware(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := Middleware([]string{"tok-0123456789"}, ok)
	for auth, want := range map[string]int{
		"":                      http.StatusUnauthorized,
		"Bearer wrong":          http.StatusUnauthorized,
		"Bearer tok-0123456789": http.StatusNoContent,
		"bearer tok-0123456789": http.StatusNoContent,
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request(auth))
		if w.Code != want {
			t.Errorf("%q: %d, want %d", auth, w.Code, want)
		}
		if want == http.StatusUnauthorized && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("%q: WWW-Authenticate %q", auth, w.Header().Get("WWW-Authenticate"))
		}
	}
	w := httptest.NewRecorder()
	Middleware(nil, ok).ServeHTTP(w, request())
	if w.Code != http.StatusNoContent {
		t.Errorf("no tokens: authentication is off, got %d", w.Code)
	}
}

func FuzzToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  abc ", "Basic x", "", "Bearer"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := request(h)
		tok, ok := Token(r)
		if ok && (tok == "" || Check(r, []string{tok + "x"})) {
			t.Fatalf("%q: token %q", h, tok)
		}
		if ok && !Check(r, []string{"other", tok}) {
			t.Fatalf("%q: its own token %q does not match", h, tok)
		}
	})
}
