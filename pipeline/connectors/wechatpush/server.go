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

	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/post"
)

const (
	// readTimeout bounds reading a request, headers and body.
	readTimeout = 5 * time.Second
	// maxHeaderBytes bounds a request's headers: WeChat's query string is
	// a few hundred bytes.
	maxHeaderBytes = 16 << 10
	// maxNonceLen bounds a nonce (WeChat's are about ten digits).
	maxNonceLen = 64
)

// Connector is the push receiver.
type Connector struct {
	cfg    Config
	mode   string // EffectiveMode
	key    []byte // AES key; nil in plain mode
	env    kit.Env
	instr  *kit.Instr
	health *kit.Health
	log    zerolog.Logger

	slots  chan struct{} // one per request in flight
	nonces *nonces
	dedup  *dedup
	addr   atomic.Value            // string: where it listens
	run    atomic.Pointer[running] // set while Run serves

	noncesFull atomic.Bool // logged once per episode
	failMu     sync.Mutex
	failing    bool // the last store failed
	modeWarn   sync.Once
}

// running is what handlers need from the current Run.
type running struct {
	pub connectors.Publisher
	// halt is cancelled when shutdown runs out of time: stores still
	// running give up (and answer 503).
	halt context.Context
}

// New checks cfg and builds the receiver.
func New(cfg Config, env kit.Env) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env = env.Fill()
	c := &Connector{
		cfg:    cfg,
		mode:   cfg.EffectiveMode(),
		env:    env,
		instr:  env.Metrics.For(cfg.Name, env.Now),
		log:    env.Log.With().Str("connector", cfg.Name).Logger(),
		slots:  make(chan struct{}, cfg.MaxInFlight),
		nonces: newNonces(cfg.MaxNonces, env.Now),
		dedup:  newDedup(cfg.DedupWindow, cfg.MaxDedupKeys, env.Now),
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

// Ready reports nil while the server listens and the last message it
// handed to JetStream was stored.
func (c *Connector) Ready() error { return c.health.Ready() }

// Run serves until ctx ends, then stops taking requests, lets the running
// ones finish (each answers once its message is stored, or with a 503)
// and returns.
func (c *Connector) Run(ctx context.Context, pub connectors.Publisher) error {
	ln, err := net.Listen("tcp", c.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.cfg.Listen, err)
	}
	c.addr.Store(ln.Addr().String())
	halt, haltNow := context.WithCancel(context.Background())
	defer haltNow()
	c.run.Store(&running{pub: pub, halt: halt})
	defer c.run.Store(nil)
	srv := &http.Server{
		Handler:           c,
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		// A request answers at most store_timeout after its body was read.
		WriteTimeout:   readTimeout + c.cfg.StoreTimeout + time.Second,
		IdleTimeout:    time.Minute,
		MaxHeaderBytes: maxHeaderBytes,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c.health.SetRunning(true)
	c.log.Info().Str("listen", c.Addr()).Str("mode", c.mode).Msg("WeChat push receiver listening")

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
		c.log.Warn().Err(err).Msg("requests still running at shutdown; cancelling them (WeChat gets a 503 and retries)")
		haltNow()
		_ = srv.Close()
	}
	// Take every slot: once held, no handler is running, so none uses
	// pub after Run returned.
	for range cap(c.slots) {
		c.slots <- struct{}{}
	}
	for range cap(c.slots) {
		<-c.slots
	}
	return serveErr
}

// ServeHTTP implements http.Handler: GET verifies the server, POST takes a
// message.
func (c *Connector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Path != "/" && r.URL.Path != c.cfg.Path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	default:
		c.refuse(w, http.StatusServiceUnavailable, "overloaded", "too many requests in flight, retry")
		return
	}
	if r.Method == http.MethodGet {
		c.verify(w, r)
		return
	}
	c.receive(w, r)
}

// refuse answers an error and counts it.
func (c *Connector) refuse(w http.ResponseWriter, status int, kind, msg string) {
	c.instr.Error(kind)
	http.Error(w, msg, status)
}

// checkQuery checks the timestamp window and the plain signature, and
// returns the timestamp (0 when the window is off).
func (c *Connector) checkQuery(w http.ResponseWriter, q map[string][]string) (int64, bool) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ts := get("timestamp")
	var n int64
	if c.cfg.TimestampWindow > 0 {
		var err error
		n, err = strconv.ParseInt(ts, 10, 64)
		if err != nil {
			c.refuse(w, http.StatusForbidden, "timestamp", "bad timestamp")
			return 0, false
		}
		d := c.env.Now().Sub(time.Unix(n, 0))
		if d < -c.cfg.TimestampWindow || d > c.cfg.TimestampWindow {
			c.refuse(w, http.StatusForbidden, "timestamp", "timestamp outside the accepted window")
			return 0, false
		}
	}
	if !SignatureOK(get("signature"), Signature(c.cfg.Token, ts, get("nonce"))) {
		c.refuse(w, http.StatusForbidden, "signature", "bad signature")
		return 0, false
	}
	return n, true
}

func (c *Connector) verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if _, ok := c.checkQuery(w, q); !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, q.Get("echostr"))
}

func (c *Connector) receive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ts, ok := c.checkQuery(w, q)
	if !ok {
		return
	}
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
	deadline := time.Now().Add(c.cfg.StoreTimeout)
	m, ok := c.open(w, q, body)
	if !ok {
		return
	}
	pair, ok := c.claimNonce(w, q.Get("nonce"), ts)
	if !ok {
		return
	}
	rs := c.run.Load()
	if rs == nil {
		c.nonces.release(pair)
		c.refuse(w, http.StatusServiceUnavailable, "overloaded", "not running, retry")
		return
	}
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()
	defer context.AfterFunc(rs.halt, cancel)()
	a := c.take(ctx, rs.pub, m)
	if a.status != http.StatusOK {
		// Not handled: WeChat's retry must be taken, even with this pair.
		c.nonces.release(pair)
		c.refuse(w, a.status, a.kind, a.msg)
		return
	}
	c.instr.Success()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
}

// opened is a message whose request is authenticated: its XML (the body,
// or the decrypted Encrypt element) and what parsing it gave.
type opened struct {
	raw []byte
	msg *Message
	err error // from ParseXML
}

// open checks that the body is in a form the mode takes, and returns the
// message: the body itself, or the decrypted Encrypt element once its
// msg_signature is right.
func (c *Connector) open(w http.ResponseWriter, q map[string][]string, body []byte) (opened, bool) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	env, perr := ParseXML(body)
	encrypted := get("encrypt_type") == "aes" || (perr == nil && env.Encrypt != "")
	switch {
	case encrypted && c.key == nil:
		c.log.Error().Msg("WeChat sent an encrypted message but encoding_aes_key is not configured")
		c.refuse(w, http.StatusBadRequest, "decrypt", "encrypted message, but no encoding_aes_key configured")
		return opened{}, false
	case !encrypted && c.mode == ModeSafe:
		c.modeWarn.Do(func() {
			c.log.Warn().Msg("plaintext message refused in safe mode; if the account was switched to compatible or plain mode, set mode accordingly")
		})
		c.refuse(w, http.StatusForbidden, "mode", "safe mode: only encrypted messages (encrypt_type=aes) are taken")
		return opened{}, false
	case !encrypted:
		return opened{raw: body, msg: env, err: perr}, true
	case perr != nil:
		c.refuse(w, http.StatusBadRequest, "malformed", "body is not a WeChat XML message")
		return opened{}, false
	case env.Encrypt == "":
		c.refuse(w, http.StatusBadRequest, "malformed", "encrypt_type=aes without an Encrypt element")
		return opened{}, false
	}
	want := Signature(c.cfg.Token, get("timestamp"), get("nonce"), env.Encrypt)
	if !SignatureOK(get("msg_signature"), want) {
		c.refuse(w, http.StatusForbidden, "signature", "bad msg_signature")
		return opened{}, false
	}
	plain, err := Decrypt(c.key, c.cfg.AppID, env.Encrypt)
	switch {
	case errors.Is(err, ErrAppID):
		c.refuse(w, http.StatusForbidden, "appid", "message is for another appid")
		return opened{}, false
	case err != nil:
		c.refuse(w, http.StatusBadRequest, "decrypt", "cannot decrypt: "+err.Error())
		return opened{}, false
	}
	msg, err := ParseXML(plain)
	return opened{raw: plain, msg: msg, err: err}, true
}

// claimNonce takes the request's (timestamp, nonce) pair once within the
// timestamp window; with the window off it takes every request.
func (c *Connector) claimNonce(w http.ResponseWriter, nonce string, ts int64) (string, bool) {
	if c.cfg.TimestampWindow == 0 {
		return "", true
	}
	if nonce == "" || len(nonce) > maxNonceLen {
		c.refuse(w, http.StatusForbidden, "replay", "missing or overlong nonce")
		return "", false
	}
	pair := strconv.FormatInt(ts, 10) + "|" + nonce
	switch c.nonces.claim(pair, time.Unix(ts, 0).Add(c.cfg.TimestampWindow)) {
	case nonceReused:
		c.refuse(w, http.StatusForbidden, "replay", "timestamp and nonce already used")
		return "", false
	case nonceFull:
		if !c.noncesFull.Swap(true) {
			c.log.Warn().Int("max_nonces", c.cfg.MaxNonces).Msg("nonce cache full; answering 503 until pairs leave the timestamp window")
		}
		c.refuse(w, http.StatusServiceUnavailable, "overloaded", "busy, retry")
		return "", false
	}
	c.noncesFull.Store(false)
	return pair, true
}

// answer is how a message was handled: 200 is "success".
type answer struct {
	status int
	kind   string // error kind counted otherwise
	msg    string
}

var handled = answer{status: http.StatusOK}

// take handles an authenticated message: it dead-letters what can never
// be stored, stores the post of the rest, and answers 200 only when one
// or the other is done.
func (c *Connector) take(ctx context.Context, pub connectors.Publisher, m opened) answer {
	c.instr.Fetched(1)
	msg, raw, err := m.msg, m.raw, m.err
	if err == nil {
		err = msg.Check()
	}
	if err != nil {
		return c.reject(ctx, pub, raw, err)
	}
	key := msg.DedupKey()
	switch c.dedup.claim(key) {
	case claimDone:
		// WeChat retrying something already answered.
		c.instr.Post(kit.OutcomeDeduplicated)
		return handled
	case claimPending:
		// The first delivery is still being handled and may yet fail:
		// let WeChat retry rather than answer for it.
		return answer{http.StatusServiceUnavailable, "overloaded", "same message in progress, retry"}
	}
	a := c.store(ctx, pub, raw, msg)
	if a.status == http.StatusOK {
		c.dedup.answered(key)
	} else {
		c.dedup.release(key)
	}
	return a
}

// store stores the post of msg and waits for JetStream's answer.
func (c *Connector) store(ctx context.Context, pub connectors.Publisher, raw []byte, msg *Message) answer {
	p, err := msg.Post()
	if err != nil {
		return c.reject(ctx, pub, raw, err)
	}
	if p == nil {
		return handled // an event, or a message without words
	}
	res := pub.Store(ctx, []*post.Post{p})[0]
	switch {
	case res.Err == nil && res.Duplicate:
		c.instr.Post(kit.OutcomeDeduplicated)
	case res.Err == nil:
		c.instr.Post(kit.OutcomePublished)
	case errors.Is(res.Err, post.ErrInvalid):
		// Refused and dead-lettered by the publisher: retrying cannot help.
		c.instr.Post(kit.OutcomeInvalid)
		c.log.Warn().Err(res.Err).Str("key", p.Key()).Msg("message refused as invalid; dead-lettered")
		return handled
	default:
		return c.notStored(fmt.Errorf("storing %s: %w", p.Key(), res.Err))
	}
	c.stored()
	return handled
}

// reject dead-letters a message that cannot be mapped to a post.
func (c *Connector) reject(ctx context.Context, pub connectors.Publisher, raw []byte, reason error) answer {
	if err := c.instr.Reject(ctx, pub, raw, reason); err != nil {
		return c.notStored(err)
	}
	c.log.Warn().Err(reason).Msg("message cannot be mapped to a post; dead-lettered")
	c.stored()
	return handled
}

// notStored reports a transient failure: the receiver is not ready until a
// message is stored again, and WeChat gets a 503 and retries.
func (c *Connector) notStored(err error) answer {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	if !c.failing {
		c.log.Error().Err(err).Msg("messages not stored; answering 503 so that WeChat retries")
	}
	c.failing = true
	c.health.SetProblem(fmt.Errorf("storing messages: %w", err))
	return answer{http.StatusServiceUnavailable, "overloaded", "not stored, retry"}
}

func (c *Connector) stored() {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	if c.failing {
		c.failing = false
		c.health.SetProblem(nil)
		c.log.Info().Msg("storing messages works again")
	}
}
