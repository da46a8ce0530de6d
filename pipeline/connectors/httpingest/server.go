package httpingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/httpauth"
	"github.com/iwom/iwom/pipeline/post"
)

// Connector is the ingest server.
type Connector struct {
	cfg    Config
	tokens []string
	env    kit.Env
	instr  *kit.Instr
	health *kit.Health
	log    zerolog.Logger
	addr   atomic.Value // string
	pub    atomic.Value // connectors.Publisher while running
	gate   gate
}

// New checks cfg and builds the server.
func New(cfg Config, env kit.Env) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env = env.Fill()
	c := &Connector{cfg: cfg, env: env, instr: env.Metrics.For(cfg.Name, env.Now), log: env.Log.With().Str("connector", cfg.Name).Logger()}
	c.health = kit.NewHealth(c.instr)
	c.gate = gate{max: cfg.MaxConcurrent, maxBytes: cfg.MaxInflight}
	c.tokens = cfg.tokens()
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
	Line int `json:"line"`
	// Status: stored; duplicate (JetStream already held a post with this
	// id within its duplicate window: this one was not stored, and an
	// update sent within the window is lost unless sent again after it);
	// rejected (invalid, dead-lettered: do not resend as is); not_stored
	// (JetStream did not confirm it: send it again).
	Status string `json:"status"`
	ID     string `json:"id,omitempty"` // <platform>:<id> of a decoded post
	Error  string `json:"error,omitempty"`
}

// Line statuses.
const (
	StatusStored    = "stored"
	StatusDuplicate = "duplicate"
	StatusRejected  = "rejected"
	StatusNotStored = "not_stored"
)

// Answer is the JSON answer of POST /v1/posts. Accepted counts the lines
// stored or found duplicates: every one of them is in JetStream.
type Answer struct {
	Accepted   int      `json:"accepted"`
	Duplicates int      `json:"duplicates"`
	Rejected   int      `json:"rejected"`
	NotStored  int      `json:"not_stored,omitempty"`
	Results    []Result `json:"results,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// ServeHTTP implements http.Handler. The answer is 202 when every valid
// line is in JetStream, 422 (or 413 when too large) when no line is
// valid, and 503 when some valid line was not stored: the client sends the
// request again (stored lines come back as duplicates).
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
	if !httpauth.Check(r, c.tokens) {
		c.instr.Error("auth")
		w.Header().Set("WWW-Authenticate", httpauth.Challenge)
		writeJSON(w, http.StatusUnauthorized, Answer{Error: "missing or unknown bearer token"})
		return
	}
	if r.ContentLength > c.cfg.MaxBody {
		c.instr.Error("too_large")
		writeJSON(w, http.StatusRequestEntityTooLarge, Answer{Error: fmt.Sprintf("body larger than %d bytes", c.cfg.MaxBody)})
		return
	}
	weight := c.cfg.MaxBody
	if r.ContentLength >= 0 {
		weight = r.ContentLength
	}
	if !c.gate.acquire(weight) {
		c.instr.Error("overloaded")
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, Answer{Error: "too many requests in flight, retry shortly"})
		return
	}
	defer c.gate.release(weight)
	lines, err := c.split(r.Header.Get("Content-Type"), http.MaxBytesReader(w, r.Body, c.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			c.instr.Error("too_large")
			writeJSON(w, http.StatusRequestEntityTooLarge, Answer{Error: fmt.Sprintf("body larger than %d bytes", c.cfg.MaxBody)})
		case errors.Is(err, errTooManyLines):
			c.instr.Error("too_large")
			writeJSON(w, http.StatusRequestEntityTooLarge, Answer{Error: err.Error()})
		default:
			c.instr.Error("malformed")
			writeJSON(w, http.StatusBadRequest, Answer{Error: err.Error()})
		}
		return
	}
	c.instr.Fetched(len(lines))
	ans := Answer{Results: make([]Result, len(lines))}
	var posts []*post.Post
	var idx []int
	tooLarge := false
	for i, l := range lines {
		ans.Results[i].Line = l.n
		p, err := post.Decode(l.data, c.env.Limits)
		if err != nil {
			c.instr.Post(kit.OutcomeInvalid)
			ans.Rejected++
			ans.Results[i].Status, ans.Results[i].Error = StatusRejected, err.Error()
			tooLarge = tooLarge || errors.Is(err, post.ErrTooLarge)
			if rerr := c.reject(r.Context(), l, err); rerr != nil {
				c.log.Warn().Err(rerr).Int("line", l.n).Msg("dead-lettering a refused line")
			}
			continue
		}
		ans.Results[i].ID = p.Key()
		posts = append(posts, p)
		idx = append(idx, i)
	}
	for j, st := range c.store(r.Context(), posts) {
		res := &ans.Results[idx[j]]
		switch {
		case st.Err == nil && st.Duplicate:
			ans.Accepted++
			ans.Duplicates++
			res.Status = StatusDuplicate
			c.instr.Post(kit.OutcomeDeduplicated)
		case st.Err == nil:
			ans.Accepted++
			res.Status = StatusStored
			c.instr.Post(kit.OutcomePublished)
		case errors.Is(st.Err, post.ErrInvalid):
			ans.Rejected++
			res.Status, res.Error = StatusRejected, st.Err.Error()
			tooLarge = tooLarge || errors.Is(st.Err, post.ErrTooLarge)
			c.instr.Post(kit.OutcomeInvalid)
		default:
			ans.NotStored++
			res.Status, res.Error = StatusNotStored, st.Err.Error()
		}
	}
	switch {
	case ans.NotStored > 0:
		c.log.Warn().Int("not_stored", ans.NotStored).Msg("posts not acknowledged by JetStream; the client will retry")
		c.instr.Error("overloaded")
		w.Header().Set("Retry-After", "1")
		ans.Error = fmt.Sprintf("%d posts not stored, send the request again", ans.NotStored)
		writeJSON(w, http.StatusServiceUnavailable, ans)
	case ans.Accepted == 0 && tooLarge:
		c.instr.Error("too_large")
		writeJSON(w, http.StatusRequestEntityTooLarge, ans)
	case ans.Accepted == 0:
		c.instr.Error("malformed")
		writeJSON(w, http.StatusUnprocessableEntity, ans)
	default:
		c.instr.Success()
		writeJSON(w, http.StatusAccepted, ans)
	}
}

// store publishes the posts and waits until JetStream answered for each.
func (c *Connector) store(ctx context.Context, posts []*post.Post) []connectors.Stored {
	if len(posts) == 0 {
		return nil
	}
	box, _ := c.pub.Load().(pubBox)
	if box.Publisher == nil {
		out := make([]connectors.Stored, len(posts))
		for i := range out {
			out[i].Err = errors.New("not running")
		}
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AckTimeout)
	defer cancel()
	return box.Store(ctx, posts)
}

// reject dead-letters a line that is not a valid post, with its number.
func (c *Connector) reject(ctx context.Context, l line, reason error) error {
	box, _ := c.pub.Load().(pubBox)
	if box.Publisher == nil {
		return errors.New("not running")
	}
	return box.Reject(ctx, l.n, l.data, reason)
}

type line struct {
	n    int
	data []byte
}

var errTooManyLines = errors.New("too many posts")

// split reads a body as it arrives and cuts it into posts: a JSON array
// or a single object for application/json, one object per non-blank line
// otherwise (JSONL). It stops at the first post past max_lines, so a huge
// array of tiny elements costs no more than its bytes.
func (c *Connector) split(contentType string, body io.Reader) ([]line, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	br := bufio.NewReaderSize(body, 64<<10)
	if mt == "application/json" {
		first, err := firstByte(br)
		if err != nil {
			return nil, err
		}
		if first == '[' {
			return c.splitArray(br)
		}
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, err
		}
		return []line{{n: 1, data: bytes.TrimSpace(data)}}, nil
	}
	var out []line
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 64<<10), int(c.cfg.MaxBody)+1)
	for n := 1; sc.Scan(); n++ {
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 {
			continue
		}
		if len(out) == c.cfg.MaxLines {
			return nil, fmt.Errorf("%w: more than the %d allowed per request", errTooManyLines, c.cfg.MaxLines)
		}
		out = append(out, line{n: n, data: append([]byte(nil), l...)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading lines: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("empty body")
	}
	return out, nil
}

func (c *Connector) splitArray(br *bufio.Reader) ([]line, error) {
	dec := json.NewDecoder(br)
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("body is not a JSON array of posts: %v", err)
	}
	var out []line
	for dec.More() {
		if len(out) == c.cfg.MaxLines {
			return nil, fmt.Errorf("%w: more than the %d allowed per request", errTooManyLines, c.cfg.MaxLines)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			return nil, fmt.Errorf("body is not a JSON array of posts: element %d: %v", len(out)+1, err)
		}
		out = append(out, line{n: len(out) + 1, data: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("body is not a JSON array of posts: %v", err)
	}
	if len(out) == 0 {
		return nil, errors.New("empty array")
	}
	return out, nil
}

// firstByte peeks at the first byte that is not white space.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, errors.New("empty body")
		}
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\r' && b != '\n' {
			return b, br.UnreadByte()
		}
	}
}

// gate bounds the requests and body bytes in flight.
type gate struct {
	mu       sync.Mutex
	n, max   int
	bytes    int64
	maxBytes int64
}

func (g *gate) acquire(weight int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n >= g.max || g.bytes+weight > g.maxBytes {
		return false
	}
	g.n++
	g.bytes += weight
	return true
}

func (g *gate) release(weight int64) {
	g.mu.Lock()
	g.n--
	g.bytes -= weight
	g.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
