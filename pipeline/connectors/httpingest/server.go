package httpingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/registry/kit"
	"github.com/iwom/iwom/pipeline/post"
)

// Connector is the ingest server.
type Connector struct {
	cfg    Config
	tokens [][]byte
	env    kit.Env
	instr  *kit.Instr
	health *kit.Health
	log    zerolog.Logger
	addr   atomic.Value // string
	pub    atomic.Value // connectors.Publisher while running
}

// New checks cfg and builds the server.
func New(cfg Config, env kit.Env) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env = env.Fill()
	c := &Connector{cfg: cfg, env: env, instr: env.Metrics.For(cfg.Name, env.Now), log: env.Log.With().Str("connector", cfg.Name).Logger()}
	c.health = kit.NewHealth(c.instr)
	for _, t := range cfg.tokens() {
		c.tokens = append(c.tokens, []byte(t))
	}
	return c, nil
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Ready reports nil while the server listens.
func (c *Connector) Ready() error { return c.health.Ready() }

// Addr is the address the server listens on once Run started ("" before).
func (c *Connector) Addr() string {
	s, _ := c.addr.Load().(string)
	return s
}

// Run serves until ctx ends, then lets running requests finish (they
// answer only once their posts are stored) and returns.
func (c *Connector) Run(ctx context.Context, pub connectors.Publisher) error {
	ln, err := net.Listen("tcp", c.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.cfg.Listen, err)
	}
	c.addr.Store(ln.Addr().String())
	c.pub.Store(pubBox{pub})
	srv := &http.Server{
		Handler:           c,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      c.cfg.AckTimeout + time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c.health.SetRunning(true)
	c.log.Info().Str("listen", c.Addr()).Msg("HTTP ingest listening on " + Path)
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
		serveErr = fmt.Errorf("serving %s: %w", c.Addr(), serveErr)
	}
	c.health.SetRunning(false)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("shutting down: %w", err))
	}
	if err := pub.Flush(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("flushing posts: %w", err))
	}
	return serveErr
}

type pubBox struct{ connectors.Publisher }

// Result is the outcome of one line (or array element), 1-based.
type Result struct {
	Line   int    `json:"line"`
	Status string `json:"status"`       // accepted | rejected
	ID     string `json:"id,omitempty"` // <platform>:<id> of an accepted post
	Error  string `json:"error,omitempty"`
}

// Answer is the JSON answer of POST /v1/posts.
type Answer struct {
	Accepted int      `json:"accepted"`
	Rejected int      `json:"rejected"`
	Results  []Result `json:"results,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// ServeHTTP implements http.Handler.
func (c *Connector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		writeJSON(w, http.StatusNotFound, Answer{Error: "not found: POST " + Path})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, Answer{Error: "use POST"})
		return
	}
	if !c.authorized(r.Header.Get("Authorization")) {
		c.instr.Error("auth")
		w.Header().Set("WWW-Authenticate", `Bearer realm="iwom"`)
		writeJSON(w, http.StatusUnauthorized, Answer{Error: "missing or unknown bearer token"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			c.instr.Error("too_large")
			writeJSON(w, http.StatusRequestEntityTooLarge, Answer{Error: fmt.Sprintf("body larger than %d bytes", c.cfg.MaxBody)})
			return
		}
		c.instr.Error("network")
		writeJSON(w, http.StatusBadRequest, Answer{Error: "reading body: " + err.Error()})
		return
	}
	lines, err := split(r.Header.Get("Content-Type"), body)
	if err != nil {
		c.instr.Error("malformed")
		writeJSON(w, http.StatusBadRequest, Answer{Error: err.Error()})
		return
	}
	if len(lines) > c.cfg.MaxLines {
		c.instr.Error("too_large")
		writeJSON(w, http.StatusRequestEntityTooLarge, Answer{Error: fmt.Sprintf("%d posts, more than the %d allowed per request", len(lines), c.cfg.MaxLines)})
		return
	}
	c.instr.Fetched(len(lines))
	ans := Answer{Results: make([]Result, 0, len(lines))}
	var accepted []*post.Post
	for _, l := range lines {
		p, err := post.Decode(l.data, c.env.Limits)
		if err != nil {
			c.instr.Post(kit.OutcomeInvalid)
			ans.Rejected++
			ans.Results = append(ans.Results, Result{Line: l.n, Status: "rejected", Error: err.Error()})
			continue
		}
		ans.Accepted++
		ans.Results = append(ans.Results, Result{Line: l.n, Status: "accepted", ID: p.Key()})
		accepted = append(accepted, p)
	}
	if len(accepted) == 0 {
		if ans.Rejected > 0 {
			c.instr.Error("malformed")
		}
		writeJSON(w, http.StatusUnprocessableEntity, ans)
		return
	}
	if err := c.store(r.Context(), accepted); err != nil {
		c.log.Warn().Err(err).Int("posts", len(accepted)).Msg("posts not acknowledged by JetStream; the client will retry")
		c.instr.Error("overloaded")
		writeJSON(w, http.StatusServiceUnavailable, Answer{Error: "posts not stored yet, retry the request: " + err.Error()})
		return
	}
	c.instr.Success()
	writeJSON(w, http.StatusAccepted, ans)
}

// store publishes the posts and waits until JetStream stored them.
func (c *Connector) store(ctx context.Context, posts []*post.Post) error {
	box, _ := c.pub.Load().(pubBox)
	if box.Publisher == nil {
		return errors.New("not running")
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AckTimeout)
	defer cancel()
	for _, p := range posts {
		if err := c.instr.Publish(ctx, box, p); err != nil {
			return err
		}
	}
	if err := box.Flush(ctx); err != nil {
		return fmt.Errorf("waiting for JetStream: %w", err)
	}
	return nil
}

// authorized compares the bearer token with every configured one in
// constant time.
func (c *Connector) authorized(h string) bool {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := []byte(strings.TrimSpace(tok))
	match := 0
	for _, t := range c.tokens {
		match |= subtle.ConstantTimeCompare(got, t)
	}
	return match == 1
}

type line struct {
	n    int
	data []byte
}

// split cuts a body into posts: a JSON array or a single object for
// application/json, one object per non-blank line otherwise (JSONL).
func split(contentType string, body []byte) ([]line, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errors.New("empty body")
	}
	if mt == "application/json" && trimmed[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(trimmed, &arr); err != nil {
			return nil, fmt.Errorf("body is not a JSON array of posts: %v", err)
		}
		out := make([]line, len(arr))
		for i, raw := range arr {
			out[i] = line{n: i + 1, data: raw}
		}
		return out, nil
	}
	if mt == "application/json" {
		return []line{{n: 1, data: trimmed}}, nil
	}
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), len(body)+1)
	for n := 1; sc.Scan(); n++ {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, line{n: n, data: append([]byte(nil), l...)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading lines: %w", err)
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
