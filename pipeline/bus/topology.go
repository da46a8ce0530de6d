package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iwom/iwom/pipeline/config"
)

// This file is the iwom topology: every stream and KV bucket, with the one
// storage mapping they share. Only the processes that own the topology
// create or update it: iwom run (Open), the stages when they start
// (EnsureTopology before their consumers) and iwom migrate. Connect has no
// side effects, so a read-only command on a server without the streams
// fails with a MissingStreamError instead of creating them.

// StreamAlertsIn is the partitioned alert engine's internal stream: the
// router republishes each enriched post, restricted to a partition's
// brands, on iwom.alertsin.n<N>.p<K>, with the watermark ticks in between.
const (
	StreamAlertsIn = "IWOM_ALERTS_IN"
	AlertsInPrefix = "iwom.alertsin."
)

// ConnectorStateBucket is the KV bucket where connectors keep their
// cursors.
const ConnectorStateBucket = "iwom_connector_state"

// MissingStreamError is what reading a stream that does not exist returns:
// nothing created the topology on this server yet.
type MissingStreamError struct{ Stream string }

func (e *MissingStreamError) Error() string {
	return "stream " + e.Stream + " not found: start iwom run or iwom migrate first"
}

// Unwrap makes errors.Is(err, jetstream.ErrStreamNotFound) hold.
func (e *MissingStreamError) Unwrap() error { return jetstream.ErrStreamNotFound }

// storage is the storage mapping of every stream and bucket: nats.storage
// "memory" or file (the default), and nats.replicas (0 is 1).
func storage(cfg config.NATS) (jetstream.StorageType, int) {
	st := jetstream.FileStorage
	if cfg.Storage == "memory" {
		st = jetstream.MemoryStorage
	}
	return st, max(cfg.Replicas, 1)
}

// enrichedExtra is how much larger the enriched stream's messages may be
// than the raw stream's.
const enrichedExtra = 64 << 10

func streamConfig(cfg config.NATS, name, subj, desc string, maxMsg int32, retention jetstream.RetentionPolicy) jetstream.StreamConfig {
	st, replicas := storage(cfg)
	return jetstream.StreamConfig{
		Name:        name,
		Description: desc,
		Subjects:    []string{subj},
		Storage:     st,
		Replicas:    replicas,
		MaxAge:      cfg.MaxAge,
		MaxBytes:    cfg.MaxBytes,
		MaxMsgSize:  maxMsg,
		Duplicates:  cfg.DuplicateWindow,
		Retention:   retention,
		// Refuse new messages when full, so that publishers see the
		// error and back off instead of old data being dropped.
		Discard: jetstream.DiscardNew,
	}
}

// StreamConfigs is the iwom topology: one stream per subject family.
func StreamConfigs(cfg config.NATS) []jetstream.StreamConfig {
	return []jetstream.StreamConfig{
		streamConfig(cfg, StreamRaw, RawPrefix+">", "iwom raw posts from connectors", cfg.MaxMsgSize, jetstream.LimitsPolicy),
		streamConfig(cfg, StreamEnriched, EnrichedPrefix+">", "iwom enriched posts", cfg.MaxMsgSize+enrichedExtra, jetstream.LimitsPolicy),
		streamConfig(cfg, StreamAlerts, AlertsPrefix+">", "iwom alerts", cfg.MaxMsgSize, jetstream.LimitsPolicy),
		streamConfig(cfg, StreamDLQ, DLQPrefix+">", "iwom dead letters: payload as received, reason in headers", cfg.MaxMsgSize+128<<10, jetstream.LimitsPolicy),
	}
}

// alertsInStreamConfig is the internal stream of the partitioned alert
// engine: a work queue (each partition consumer removes what it has
// acknowledged), with the limits of the other streams.
func alertsInStreamConfig(cfg config.NATS) jetstream.StreamConfig {
	return streamConfig(cfg, StreamAlertsIn, AlertsInPrefix+">", "iwom alert engine: posts routed to brand partitions, and watermark ticks",
		cfg.MaxMsgSize, jetstream.WorkQueuePolicy)
}

func connectorStateConfig(cfg config.NATS) jetstream.KeyValueConfig {
	st, replicas := storage(cfg)
	return jetstream.KeyValueConfig{Bucket: ConnectorStateBucket, Description: "iwom connector cursors",
		History: 1, Storage: st, Replicas: replicas}
}

func alertStateConfig(cfg config.NATS, bucket string) jetstream.KeyValueConfig {
	st, replicas := storage(cfg)
	return jetstream.KeyValueConfig{Bucket: bucket, Description: "iwom alert engine state: per-brand windows, baselines, open alerts, cooldowns",
		History: 1, Storage: st, Replicas: replicas, Compression: true, MaxValueSize: 8 << 20}
}

func alertLeasesConfig(cfg config.NATS, bucket string, ttl time.Duration) jetstream.KeyValueConfig {
	st, replicas := storage(cfg)
	return jetstream.KeyValueConfig{Bucket: bucket, Description: "iwom alert engine replicas and leases",
		History: 1, TTL: ttl, Storage: st, Replicas: replicas}
}

// EnsureTopology creates or updates the four iwom streams. It is safe to
// call from any number of processes at once. iwom run (Open), every stage
// command before it starts its consumers, and iwom migrate call it.
func (b *Bus) EnsureTopology(ctx context.Context) error {
	for _, sc := range StreamConfigs(b.cfg) {
		if err := b.ensureStream(ctx, sc); err != nil {
			return err
		}
	}
	return nil
}

// EnsureAlertsIn creates or updates the partitioned alert engine's
// internal stream.
func (b *Bus) EnsureAlertsIn(ctx context.Context) error {
	return b.ensureStream(ctx, alertsInStreamConfig(b.cfg))
}

func (b *Bus) ensureStream(ctx context.Context, sc jetstream.StreamConfig) error {
	if _, err := b.js.CreateOrUpdateStream(ctx, sc); err != nil {
		return fmt.Errorf("creating stream %s: %w", sc.Name, err)
	}
	return nil
}

// ConnectorState creates (or updates) and returns the connectors' cursor
// bucket.
func (b *Bus) ConnectorState(ctx context.Context) (jetstream.KeyValue, error) {
	return b.keyValue(ctx, connectorStateConfig(b.cfg))
}

// AlertState creates (or updates) and returns the alert engine's state
// bucket (alerts.state_bucket).
func (b *Bus) AlertState(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	return b.keyValue(ctx, alertStateConfig(b.cfg, bucket))
}

// AlertLeases creates (or updates) and returns the alert engine's lease
// bucket (alerts.lease_bucket), whose entries expire after ttl.
func (b *Bus) AlertLeases(ctx context.Context, bucket string, ttl time.Duration) (jetstream.KeyValue, error) {
	return b.keyValue(ctx, alertLeasesConfig(b.cfg, bucket, ttl))
}

func (b *Bus) keyValue(ctx context.Context, kc jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, kc)
	if err != nil {
		return nil, fmt.Errorf("creating KV bucket %s: %w", kc.Bucket, err)
	}
	return kv, nil
}

// stream opens an existing stream; a missing one is a MissingStreamError.
func (b *Bus) stream(ctx context.Context, name string) (jetstream.Stream, error) {
	s, err := b.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, &MissingStreamError{Stream: name}
	}
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", name, err)
	}
	return s, nil
}

// StreamInfo reads a stream's configuration and state.
func (b *Bus) StreamInfo(ctx context.Context, name string) (*jetstream.StreamInfo, error) {
	s, err := b.stream(ctx, name)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading stream %s: %w", name, err)
	}
	return info, nil
}

// ConsumerInfo reads the state of a durable consumer. A missing consumer
// wraps jetstream.ErrConsumerNotFound, a missing stream is a
// MissingStreamError.
func (b *Bus) ConsumerInfo(ctx context.Context, stream, durable string) (*jetstream.ConsumerInfo, error) {
	s, err := b.stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	c, err := s.Consumer(ctx, durable)
	if err != nil {
		return nil, fmt.Errorf("opening consumer %s on %s: %w", durable, stream, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading consumer %s on %s: %w", durable, stream, err)
	}
	return info, nil
}

// StreamNames lists the streams on the server (whatever created them).
func (b *Bus) StreamNames(ctx context.Context) ([]string, error) {
	var names []string
	l := b.js.StreamNames(ctx)
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("listing streams: %w", err)
	}
	return names, nil
}
