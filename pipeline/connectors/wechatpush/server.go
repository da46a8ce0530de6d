package wechatpush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/backoff"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/registry/kit"
	"github.com/iwom/iwom/pipeline/post"
)

// Connector is the push receiver.
type Connector struct {
	cfg    Config
	key    []byte // AES key; nil in plain-only mode
	env    kit.Env
	instr  *kit.Instr
	health *kit.Health
	log    zerolog.Logger

	queue chan *post.Post
	dedup *dedup
	addr  atomic.Value // string: where it listens

	// stopping refuses new messages once the buffer drains for shutdown;
	// handlers hold it read-locked while they enqueue.
	mu       sync.RWMutex
	stopping bool
}

// New checks cfg and builds the receiver.
func New(cfg Config, env kit.Env) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env = env.Fill()
	c := &Connector{
		cfg:   cfg,
		env:   env,
		instr: env.Metrics.For(cfg.Name, env.Now),
		log:   env.Log.With().Str("connector", cfg.Name).Logger(),
		queue: make(chan *post.Post, cfg.Buffer),
		dedup: newDedup(cfg.DedupWindow, env.Now),
	}
	c.health = kit.NewHealth(c.instr)
	if cfg.EncodingAESKey != "" {
		c.key, _ = AESKey(cfg.EncodingAESKey)
	}
	return c, nil
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Addr is the address the server listens on once Run started ("" before).
func (c *Connector) Addr() string {
	s, _ := c.addr.Load().(string)
	return s
}

// Ready reports nil while the server listens and its buffer has room.
func (c *Connector) Ready() error {
	if err := c.health.Ready(); err != nil {
		return err
	}
	if len(c.queue) == cap(c.queue) {
		return fmt.Errorf("publish buffer full (%d messages waiting for NATS)", cap(c.queue))
	}
	return nil
}

// Run serves until ctx ends, then stops taking requests, publishes what it
// accepted and returns.
func (c *Connector) Run(ctx context.Context, pub connectors.Publisher) error {
	ln, err := net.Listen("tcp", c.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.cfg.Listen, err)
	}
	c.addr.Store(ln.Addr().String())
	srv := &http.Server{
		Handler:           c,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Second,
		WriteTimeout:      5 * time.Second,
	}
	loopCtx, cancelLoop := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelLoop()
	stop := make(chan struct{})
	loopDone := make(chan error, 1)
	go func() { loopDone <- c.publishLoop(loopCtx, pub, stop) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c.health.SetRunning(true)
	c.log.Info().Str("listen", c.Addr()).Msg("WeChat push receiver listening")

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
		c.log.Warn().Err(err).Msg("requests still running at shutdown")
	}
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	close(stop)
	timer := time.AfterFunc(c.cfg.ShutdownTimeout, cancelLoop)
	defer timer.Stop()
	loopErr := <-loopDone
	return errors.Join(serveErr, loopErr)
}

// publishLoop publishes accepted messages in batches, flushing after each,
// until stop; then it drains the buffer and flushes once more.
func (c *Connector) publishLoop(ctx context.Context, pub connectors.Publisher, stop <-chan struct{}) error {
	for {
		select {
		case p := <-c.queue:
			if err := c.publishBatch(ctx, pub, p); err != nil {
				return c.lost(err)
			}
		case <-stop:
			for {
				select {
				case p := <-c.queue:
					if err := c.publishBatch(ctx, pub, p); err != nil {
						return c.lost(err)
					}
				default:
					return nil
				}
			}
		}
	}
}

func (c *Connector) publishBatch(ctx context.Context, pub connectors.Publisher, first *post.Post) error {
	if err := c.persist(ctx, "publishing a message", func(ctx context.Context) error { return c.instr.Publish(ctx, pub, first) }); err != nil {
		return err
	}
	for range 255 {
		select {
		case p := <-c.queue:
			if err := c.persist(ctx, "publishing a message", func(ctx context.Context) error { return c.instr.Publish(ctx, pub, p) }); err != nil {
				return err
			}
		default:
			return c.persist(ctx, "flushing messages", pub.Flush)
		}
	}
	return c.persist(ctx, "flushing messages", pub.Flush)
}

// persist calls fn until it succeeds or ctx ends: a message that was
// answered "success" must not be dropped because NATS had a bad moment.
// The receiver reports itself not ready meanwhile.
func (c *Connector) persist(ctx context.Context, what string, fn func(context.Context) error) error {
	b := kit.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			if attempt > 1 {
				c.health.SetProblem(nil)
				c.log.Info().Msg("publishing works again")
			}
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		if attempt == 1 || attempt%20 == 0 {
			c.log.Error().Err(err).Int("attempt", attempt).Msg(what + " failed; retrying")
			c.health.SetProblem(fmt.Errorf("%s: %w", what, err))
		}
		if !backoff.Sleep(ctx, b.Delay(attempt)) {
			return err
		}
	}
}

func (c *Connector) lost(err error) error {
	n := len(c.queue)
	c.log.Error().Err(err).Int("unpublished", n).Msg("could not publish accepted messages before shutdown")
	return fmt.Errorf("publishing accepted messages (%d still buffered): %w", n, err)
}

// ServeHTTP implements http.Handler: GET verifies the server, POST takes a
// message.
func (c *Connector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Path != "/" && r.URL.Path != c.cfg.Path {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		c.verify(w, r)
	case http.MethodPost:
		c.receive(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// refuse answers an error and counts it.
func (c *Connector) refuse(w http.ResponseWriter, status int, kind, msg string) {
	c.instr.Error(kind)
	http.Error(w, msg, status)
}

// checkQuery checks the timestamp window and the plain signature.
func (c *Connector) checkQuery(w http.ResponseWriter, q map[string][]string) bool {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ts := get("timestamp")
	if c.cfg.TimestampWindow > 0 {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			c.refuse(w, http.StatusForbidden, "timestamp", "bad timestamp")
			return false
		}
		d := c.env.Now().Sub(time.Unix(n, 0))
		if d < -c.cfg.TimestampWindow || d > c.cfg.TimestampWindow {
			c.refuse(w, http.StatusForbidden, "timestamp", "timestamp outside the accepted window")
			return false
		}
	}
	if !SignatureOK(get("signature"), Signature(c.cfg.Token, ts, get("nonce"))) {
		c.refuse(w, http.StatusForbidden, "signature", "bad signature")
		return false
	}
	return true
}

func (c *Connector) verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !c.checkQuery(w, q) {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, q.Get("echostr"))
}

func (c *Connector) receive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			c.refuse(w, http.StatusRequestEntityTooLarge, "too_large", "body too large")
			return
		}
		c.refuse(w, http.StatusBadRequest, "network", "reading body failed")
		return
	}
	if !c.checkQuery(w, q) {
		return
	}
	env, err := ParseXML(body)
	if err != nil {
		c.refuse(w, http.StatusBadRequest, "malformed", "body is not a WeChat XML message")
		return
	}
	msg := env
	if q.Get("encrypt_type") == "aes" || env.Encrypt != "" {
		if c.key == nil {
			c.log.Error().Msg("WeChat sent an encrypted message but encoding_aes_key is not configured")
			c.refuse(w, http.StatusBadRequest, "decrypt", "encrypted message, but no encoding_aes_key configured")
			return
		}
		if env.Encrypt == "" {
			c.refuse(w, http.StatusBadRequest, "malformed", "encrypt_type=aes without an Encrypt element")
			return
		}
		want := Signature(c.cfg.Token, q.Get("timestamp"), q.Get("nonce"), env.Encrypt)
		if !SignatureOK(q.Get("msg_signature"), want) {
			c.refuse(w, http.StatusForbidden, "signature", "bad msg_signature")
			return
		}
		plain, err := Decrypt(c.key, c.cfg.AppID, env.Encrypt)
		switch {
		case errors.Is(err, ErrAppID):
			c.refuse(w, http.StatusForbidden, "appid", "message is for another appid")
			return
		case err != nil:
			c.refuse(w, http.StatusBadRequest, "decrypt", "cannot decrypt: "+err.Error())
			return
		}
		if msg, err = ParseXML(plain); err != nil {
			c.refuse(w, http.StatusBadRequest, "malformed", "decrypted body is not a WeChat XML message")
			return
		}
	}
	if err := msg.Check(); err != nil {
		c.refuse(w, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	c.instr.Fetched(1)
	key := msg.DedupKey()
	switch c.dedup.claim(key) {
	case claimDone:
		// WeChat retrying something already accepted.
		c.instr.Post(kit.OutcomeDeduplicated)
		success(w)
		return
	case claimPending:
		// The first delivery is still being handled and may yet fail:
		// let WeChat retry rather than answer for it.
		c.refuse(w, http.StatusServiceUnavailable, "overloaded", "same message in progress, retry")
		return
	}
	p, err := msg.Post()
	if err != nil {
		c.dedup.release(key)
		c.refuse(w, http.StatusBadRequest, "malformed", err.Error())
		return
	}
	if p != nil && !c.enqueue(p) {
		c.dedup.release(key)
		c.refuse(w, http.StatusServiceUnavailable, "overloaded", "busy, retry")
		return
	}
	c.dedup.done(key)
	c.instr.Success()
	success(w)
}

// enqueue buffers p for publishing; false when the buffer is full or the
// receiver is shutting down.
func (c *Connector) enqueue(p *post.Post) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.stopping {
		return false
	}
	select {
	case c.queue <- p:
		return true
	default:
		return false
	}
}

func success(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
}

// dedup remembers message keys for a window.
type dedup struct {
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	seen   map[string]seenKey
	sweep  time.Time
}

type seenKey struct {
	at   time.Time
	done bool // accepted; false while the first delivery is handled
}

type claim int

const (
	claimNew     claim = iota // first delivery: handle it
	claimPending              // the first delivery is being handled
	claimDone                 // already accepted
)

func newDedup(window time.Duration, now func() time.Time) *dedup {
	return &dedup{window: window, now: now, seen: map[string]seenKey{}}
}

// claim records key as being handled and reports what it was before.
func (d *dedup) claim(key string) claim {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if now.Sub(d.sweep) > d.window/4 {
		for k, s := range d.seen {
			if s.done && now.Sub(s.at) > d.window {
				delete(d.seen, k)
			}
		}
		d.sweep = now
	}
	if s, ok := d.seen[key]; ok && (!s.done || now.Sub(s.at) <= d.window) {
		if s.done {
			return claimDone
		}
		return claimPending
	}
	d.seen[key] = seenKey{at: now}
	return claimNew
}

// done marks key as accepted.
func (d *dedup) done(key string) {
	d.mu.Lock()
	d.seen[key] = seenKey{at: d.now(), done: true}
	d.mu.Unlock()
}

// release forgets key, so that WeChat's retry of a refused message is
// taken.
func (d *dedup) release(key string) {
	d.mu.Lock()
	delete(d.seen, key)
	d.mu.Unlock()
}
