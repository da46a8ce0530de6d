// Package kit is the machinery the platform connectors share: per-connector
// metrics, cursors kept in a NATS KV bucket, retry and back-off with
// jitter, readiness, and lenient JSON number types for platform answers.
//
// It sits under registry/ only because that is where the connectors'
// shared code could go; nothing in it depends on registry, and it can
// move to pipeline/connectors/kit as it is.
package kit

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the connector metrics, registered once per registry and
// labelled by connector name.
type Metrics struct {
	Fetched     *prometheus.CounterVec // connector
	Posts       *prometheus.CounterVec // connector, outcome
	Errors      *prometheus.CounterVec // connector, kind
	Backoff     *prometheus.GaugeVec   // connector, source
	LastSuccess *prometheus.GaugeVec   // connector
	Stopped     *prometheus.GaugeVec   // connector
}

// Post outcomes (label values of iwom_connector_posts_total).
const (
	OutcomePublished    = "published"    // handed to the publisher
	OutcomeInvalid      = "invalid"      // failed validation: dead-lettered or refused
	OutcomeDeduplicated = "deduplicated" // seen before by the connector itself (retries, overlaps)
)

// NewMetrics returns the connector metrics registered on reg, registering
// them the first time: several connectors share one registry, and later
// calls get the collectors already there. A nil reg
// gets a private registry.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	return &Metrics{
		Fetched: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "iwom", Name: "connector_fetched_total",
			Help: "Items (posts, comments, articles, messages) a connector received from its platform."}, []string{"connector"})),
		Posts: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "iwom", Name: "connector_posts_total",
			Help: "Posts by outcome: published (handed to JetStream), invalid (dead-lettered or refused), deduplicated (already seen by the connector)."}, []string{"connector", "outcome"})),
		Errors: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "iwom", Name: "connector_errors_total",
			Help: "Errors by kind: network, http, malformed, rate_limit, auth, quota, captcha, empty, signature, timestamp, decrypt, appid, too_large, overloaded, platform."}, []string{"connector", "kind"})),
		Backoff: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "iwom", Name: "connector_backoff_seconds",
			Help: "Current back-off of a connector source in seconds; 0 when it is not backing off."}, []string{"connector", "source"})),
		LastSuccess: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "iwom", Name: "connector_last_success_timestamp_seconds",
			Help: "Unix time of the connector's last successful fetch or accepted request."}, []string{"connector"})),
		Stopped: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "iwom", Name: "connector_sources_stopped",
			Help: "Sources a connector stopped on an error that needs an operator (expired or invalid token)."}, []string{"connector"})),
	}
}

func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
		panic("registering connector metrics: " + err.Error())
	}
	return c
}

// Instr is the metrics of one connector instance.
type Instr struct {
	name string
	m    *Metrics
	now  func() time.Time
}

// For returns the metrics of the connector called name.
func (m *Metrics) For(name string, now func() time.Time) *Instr {
	if now == nil {
		now = time.Now
	}
	// Create the series so that dashboards see zeros, not gaps.
	m.Fetched.WithLabelValues(name)
	for _, o := range []string{OutcomePublished, OutcomeInvalid, OutcomeDeduplicated} {
		m.Posts.WithLabelValues(name, o)
	}
	m.Stopped.WithLabelValues(name)
	return &Instr{name: name, m: m, now: now}
}

// Fetched counts n items received from the platform.
func (i *Instr) Fetched(n int) { i.m.Fetched.WithLabelValues(i.name).Add(float64(n)) }

// Post counts one post with its outcome.
func (i *Instr) Post(outcome string) { i.m.Posts.WithLabelValues(i.name, outcome).Inc() }

// Error counts one error of kind.
func (i *Instr) Error(kind string) { i.m.Errors.WithLabelValues(i.name, kind).Inc() }

// Backoff records the current back-off of source (0 when it ends).
func (i *Instr) Backoff(source string, d time.Duration) {
	i.m.Backoff.WithLabelValues(i.name, source).Set(d.Seconds())
}

// Success records a successful fetch or request now.
func (i *Instr) Success() {
	i.m.LastSuccess.WithLabelValues(i.name).Set(float64(i.now().UnixNano()) / 1e9)
}

// Stopped sets how many sources are stopped.
func (i *Instr) Stopped(n int) { i.m.Stopped.WithLabelValues(i.name).Set(float64(n)) }
