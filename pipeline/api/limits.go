package api

import (
	"crypto/sha256"
	"net"
	"net/http"
	"sync"

	"github.com/iwom/iwom/pipeline/httpauth"
)

// Default caps on open alert streams (Server.MaxStreams and
// Server.MaxClientStreams).
const (
	DefaultMaxStreams       = 256
	DefaultMaxClientStreams = 8
)

// retryAfter is the Retry-After (seconds) of a 429 or 503 answer to a
// request over a cap.
const retryAfter = "10"

// streamCount counts open alert streams, in all and per client.
type streamCount struct {
	mu        sync.Mutex
	total     int
	perClient map[string]int
}

// acquire takes a stream slot for client, or answers why not: 429 when the
// client has max of its own open, 503 when the server has total open.
// release gives the slot back.
func (c *streamCount) acquire(client string, perClient, total int) (release func(), code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perClient[client] >= perClient {
		return nil, http.StatusTooManyRequests
	}
	if c.total >= total {
		return nil, http.StatusServiceUnavailable
	}
	if c.perClient == nil {
		c.perClient = map[string]int{}
	}
	c.total++
	c.perClient[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.total--
			if c.perClient[client]--; c.perClient[client] <= 0 {
				delete(c.perClient, client)
			}
		})
	}, 0
}

// client names who sent r, for the per-client caps: its bearer token
// (hashed) when the server checks tokens, else its remote IP. The remote
// IP is the TCP peer: behind a reverse proxy every client is the proxy,
// so turn on tokens there (X-Forwarded-For is not trusted: anyone can
// send it).
func (s *Server) client(r *http.Request) string {
	if len(s.Tokens) > 0 {
		tok, _ := httpauth.Token(r)
		sum := sha256.Sum256([]byte(tok))
		return "token:" + string(sum[:])
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}

// orDefault is n, or def when n is not positive (a field left unset).
func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}
