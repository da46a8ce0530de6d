// Package bus connects iwom to NATS JetStream: it starts the embedded server
// when no URL is configured, owns the topology (topology.go), and names the
// subjects every stage uses.
package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/config"
)

// Stream names.
const (
	StreamRaw      = "IWOM_RAW"
	StreamEnriched = "IWOM_ENRICHED"
	StreamAlerts   = "IWOM_ALERTS"
	StreamDLQ      = "IWOM_DLQ"
)

// Subjects.
const (
	RawPrefix      = "iwom.raw."
	EnrichedPrefix = "iwom.enriched."
	AlertsPrefix   = "iwom.alerts."
	DLQPrefix      = "iwom.dlq."
)

// RawSubject is where connectors publish posts of a platform.
func RawSubject(platform string) string { return RawPrefix + platform }

// EnrichedSubject is where the enrich stage publishes.
func EnrichedSubject(platform string) string { return EnrichedPrefix + platform }

// AlertSubject is iwom.alerts.<brand>.<kind>.
func AlertSubject(brand, kind string) string { return AlertsPrefix + brand + "." + kind }

// DLQSubject is iwom.dlq.<stage>.
func DLQSubject(stage string) string { return DLQPrefix + stage }

// Bus is a live connection to JetStream, with the embedded server if this
// process started one.
type Bus struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg config.NATS
	srv *server.Server
	log zerolog.Logger
}

// Open connects to cfg.URL, or starts an embedded server with JetStream
// stored under dataDir when the URL is empty (sharing the one of a running
// iwom if there is one), and ensures the topology. Only the long-running
// servers (iwom run, the tests' pipelines) open the bus this way; every
// other command uses Connect, so that it never owns the broker.
func Open(ctx context.Context, cfg config.NATS, dataDir string, log zerolog.Logger) (*Bus, error) {
	return open(ctx, cfg, dataDir, log, true)
}

// Connect connects to cfg.URL or, when it is empty, to the embedded server
// of a running iwom (nats.embedded_listen). It has no side effects: it
// never starts a server (with none to reach it fails with "no iwom running
// at <url>") and never creates or updates streams; the commands that run
// consumers call EnsureTopology themselves.
func Connect(ctx context.Context, cfg config.NATS, log zerolog.Logger) (*Bus, error) {
	return open(ctx, cfg, "", log, false)
}

func open(ctx context.Context, cfg config.NATS, dataDir string, log zerolog.Logger, serve bool) (*Bus, error) {
	b := &Bus{cfg: cfg, log: log}
	opts := []nats.Option{
		nats.Name("iwom"),
		nats.Timeout(cfg.Timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn().Err(err).Msg("disconnected from NATS, reconnecting")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("reconnected to NATS")
		}),
	}
	authOpts, err := securityOptions(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts, authOpts...)
	if cfg.URL == "" && !serve {
		if cfg.EmbeddedListen == "" {
			return nil, errors.New("no iwom running to connect to: nats.url is empty and nats.embedded_listen is off (set nats.url, or start iwom run)")
		}
		url := "nats://" + cfg.EmbeddedListen
		if !b.probeRunning(opts) {
			return nil, fmt.Errorf("no iwom running at %s: start `iwom run` (or `iwom nats`), or set nats.url", url)
		}
		b.nc, err = nats.Connect(url, opts...)
	} else if cfg.URL == "" && b.probeRunning(opts) {
		// An iwom process on this machine already runs the embedded server:
		// share it rather than opening its store a second time.
		log.Debug().Str("listen", cfg.EmbeddedListen).Msg("using the embedded NATS server of a running iwom")
		b.nc, err = nats.Connect("nats://"+cfg.EmbeddedListen, opts...)
	} else if cfg.URL == "" {
		b.srv, err = startEmbedded(cfg, dataDir)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.InProcessServer(b.srv))
		b.nc, err = nats.Connect("", opts...)
	} else {
		b.nc, err = nats.Connect(cfg.URL, opts...)
	}
	if err != nil {
		b.shutdownServer()
		return nil, fmt.Errorf("connecting to NATS: %w", err)
	}
	b.js, err = jetstream.New(b.nc)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("creating JetStream context: %w", err)
	}
	if serve {
		if err := b.EnsureTopology(ctx); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// securityOptions turns the auth and TLS settings into connection options.
func securityOptions(cfg config.NATS) ([]nats.Option, error) {
	var opts []nats.Option
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.NKeySeedFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("reading nats.nkey_seed_file: %w", err)
		}
		opts = append(opts, o)
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	return opts, nil
}

// probeRunning reports whether something answers as a NATS server on the
// fixed embedded listen address.
func (b *Bus) probeRunning(opts []nats.Option) bool {
	host, port, err := net.SplitHostPort(b.cfg.EmbeddedListen)
	if err != nil || host == "" || port == "0" || port == "-1" {
		return false
	}
	nc, err := nats.Connect("nats://"+b.cfg.EmbeddedListen, append(opts, nats.Timeout(500*time.Millisecond), nats.MaxReconnects(0), nats.NoReconnect())...)
	if err != nil {
		return false
	}
	nc.Close()
	return true
}

// Embedded reports whether this process runs the NATS server.
func (b *Bus) Embedded() bool { return b.srv != nil }

// ClientURL is the URL other processes can use to reach the embedded
// server, or "" when it does not listen.
func (b *Bus) ClientURL() string {
	if b.srv == nil {
		if b.cfg.URL == "" && b.cfg.EmbeddedListen != "" {
			return "nats://" + b.cfg.EmbeddedListen // the running iwom's
		}
		return b.cfg.URL
	}
	if b.cfg.EmbeddedListen == "" {
		return ""
	}
	return b.srv.ClientURL()
}

func startEmbedded(cfg config.NATS, dataDir string) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "iwom-embedded",
		JetStream:  true,
		StoreDir:   filepath.Join(dataDir, "jetstream"),
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: cfg.MaxMsgSize + 256<<10,
	}
	if cfg.EmbeddedListen == "" {
		opts.DontListen = true
	} else {
		host, port, err := net.SplitHostPort(cfg.EmbeddedListen)
		if err != nil {
			return nil, fmt.Errorf("parsing nats.embedded_listen %q: %w", cfg.EmbeddedListen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("parsing nats.embedded_listen port %q: %w", port, err)
		}
		opts.Host, opts.Port = host, p
	}
	if cfg.User != "" {
		opts.Username, opts.Password = cfg.User, cfg.Password
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configuring embedded NATS server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("starting embedded NATS server: not ready after 15s (is the port in use?)")
	}
	return srv, nil
}

// ConsumerConfig is the durable pull consumer a stage named durable uses on
// a stream, filtered to subject.
func (b *Bus) ConsumerConfig(durable, subject string, maxAckPending int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       durable,
		FilterSubject: subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.cfg.AckWait,
		// Redeliveries are bounded by the stage, which dead-letters on the
		// last attempt; the server limit is one higher as a safety net.
		MaxDeliver:    b.cfg.MaxDeliver + 1,
		MaxAckPending: maxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		Replicas:      0,
	}
}

// Consumer creates (or updates) and returns a durable pull consumer.
func (b *Bus) Consumer(ctx context.Context, stream string, cc jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	c, err := b.js.CreateOrUpdateConsumer(ctx, stream, cc)
	if err != nil {
		return nil, fmt.Errorf("creating consumer %s on %s: %w", cc.Durable, stream, err)
	}
	return c, nil
}

// Connected reports whether the connection is up.
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// ConnectedURL is the server the bus is connected to, password redacted.
func (b *Bus) ConnectedURL() string { return b.nc.ConnectedUrlRedacted() }

// Config is the NATS configuration the bus was opened with.
func (b *Bus) Config() config.NATS { return b.cfg }

// Close drains the connection (flushing pending publishes and acks) and
// shuts the embedded server down.
func (b *Bus) Close() {
	if b.nc != nil && !b.nc.IsClosed() {
		done := make(chan struct{})
		b.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
		if err := b.nc.Drain(); err != nil {
			b.nc.Close()
		} else {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				b.nc.Close()
			}
		}
	}
	b.shutdownServer()
}

func (b *Bus) shutdownServer() {
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
}

// SanitizeHeader makes s safe as a NATS header value (one line, bounded).
func SanitizeHeader(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 2048 {
		s = s[:2048]
	}
	return strings.ToValidUTF8(s, "?")
}
