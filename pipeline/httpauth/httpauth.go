// Package httpauth is the bearer-token check shared by iwom's HTTP
// endpoints (the report API of `iwom serve`, the HTTP ingest connector):
// one parser of the Authorization header and one constant-time comparison,
// so that every endpoint accepts and refuses the same requests.
//
// A request is authorized when its header is "Authorization: <scheme>
// <token>" with the scheme "Bearer" in any case (RFC 7235 §2.1: "bearer"
// and "BEARER" are the same scheme) and the token equal to one of the
// configured tokens. The token is compared with every configured token,
// through SHA-256 digests of equal length, so the time taken tells neither
// which token matched nor how much of one did.
package httpauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Challenge is the WWW-Authenticate value of a 401 answer (RFC 6750 §3).
const Challenge = `Bearer realm="iwom"`

// Token returns the bearer token of r's Authorization header: the
// credentials after a "Bearer" scheme (any case) and spaces or tabs. ok is
// false when the header is missing, has another scheme, or carries no
// token or more than one word.
func Token(r *http.Request) (token string, ok bool) {
	scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.Trim(rest, " \t")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// Check reports whether r carries one of tokens as its bearer token.
// Empty tokens never match, and with no tokens Check is false: callers
// that run without authentication skip the check (as Middleware does).
func Check(r *http.Request, tokens []string) bool {
	got, ok := Token(r)
	sum := sha256.Sum256([]byte(got))
	match := 0
	for _, t := range tokens {
		want := sha256.Sum256([]byte(t))
		// No early exit: every token is compared, whichever matches.
		match |= subtle.ConstantTimeCompare(sum[:], want[:]) & nonEmpty(t)
	}
	return ok && match == 1
}

func nonEmpty(s string) int {
	if s == "" {
		return 0
	}
	return 1
}

// Deny answers 401 with WWW-Authenticate: Challenge and a plain-text
// message.
func Deny(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", Challenge)
	http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
}

// Middleware passes to next the requests that carry one of tokens and
// answers the others with Deny. With no tokens (authentication off) every
// request passes.
func Middleware(tokens []string, next http.Handler) http.Handler {
	if len(tokens) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Check(r, tokens) {
			Deny(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}
