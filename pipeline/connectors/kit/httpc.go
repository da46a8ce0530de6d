package kit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// HTTP sends requests to a platform and reads bounded answers.
type HTTP struct {
	Client    *http.Client
	MaxBody   int64 // largest answer read; 0 means 8 MiB
	UserAgent string
}

// NewHTTP returns a client with timeout for each request.
func NewHTTP(timeout time.Duration, userAgent string) *HTTP {
	return &HTTP{Client: &http.Client{Timeout: timeout}, UserAgent: userAgent}
}

// Answer is a platform's HTTP answer.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends req and reads the answer. Failures to reach the platform or to
// read its answer are Transient "network" errors; an answer over MaxBody
// is a Transient "malformed" one. The status is not judged here.
func (h *HTTP) Do(req *http.Request) (*Answer, error) {
	if h.UserAgent != "" && req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", h.UserAgent)
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		// *url.Error repeats the URL with its query, which carries tokens.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &Error{Class: Transient, Kind: "network", Err: fmt.Errorf("%s %s: %w", req.Method, redact(req), err)}
	}
	defer resp.Body.Close()
	limit := h.MaxBody
	if limit <= 0 {
		limit = 8 << 20
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &Error{Class: Transient, Kind: "network", Err: fmt.Errorf("reading answer of %s: %w", redact(req), err)}
	}
	if int64(len(body)) > limit {
		return nil, &Error{Class: Transient, Kind: "malformed", Err: fmt.Errorf("answer of %s is larger than %d bytes", redact(req), limit)}
	}
	return &Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// redact is the request's URL without its query (which carries tokens).
func redact(req *http.Request) string {
	u := *req.URL
	u.RawQuery = ""
	u.User = nil
	return u.String()
}

// IsContext reports whether err is the end of a context.
func IsContext(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Snippet is the start of an answer body for an error message.
func Snippet(b []byte) string {
	const n = 120
	s := string(b)
	if len(s) > n {
		s = s[:n] + "…"
	}
	return fmt.Sprintf("%q", s)
}
