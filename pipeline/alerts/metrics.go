package alerts

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the alert engine, on a registry passed in.
type Metrics struct {
	Messages    *prometheus.CounterVec // rule, state: alert messages published
	Duplicates  prometheus.Counter     // publishes the stream dropped as duplicates
	Suppressed  prometheus.Counter     // breakouts held back by a cooldown
	Held        prometheus.Counter     // messages held for a quiet-hours digest
	Reloads     *prometheus.CounterVec // result: ok, invalid, unchanged
	StateBytes  prometheus.Gauge       // bytes written by the last state save
	Watermark   *prometheus.GaugeVec   // scope: unix seconds
	Open        *prometheus.GaugeVec   // scope: open alerts
	Archived    prometheus.Counter     // alert messages written to ClickHouse
	ArchiveWait prometheus.Gauge       // alert messages waiting for ClickHouse
	Routed      prometheus.Counter     // posts routed to partitions
	Leases      prometheus.Gauge       // leases this replica holds
}

// NewMetrics registers the engine's metrics on reg (reusing them when
// another stage of the process registered them first).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Messages:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iwom_alerts_messages_total", Help: "Alert messages published, by rule and state."}, []string{"rule", "state"}),
		Duplicates:  prometheus.NewCounter(prometheus.CounterOpts{Name: "iwom_alerts_duplicates_total", Help: "Alert publishes the stream dropped as duplicates (Nats-Msg-Id)."}),
		Suppressed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "iwom_alerts_suppressed_total", Help: "Breakouts held back by a cooldown."}),
		Held:        prometheus.NewCounter(prometheus.CounterOpts{Name: "iwom_alerts_held_total", Help: "Alert messages held for a quiet-hours digest."}),
		Reloads:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "iwom_alerts_rule_reloads_total", Help: "Rule file reloads, by result."}, []string{"result"}),
		StateBytes:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "iwom_alerts_state_save_bytes", Help: "Bytes of engine state written by the last save."}),
		Watermark:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "iwom_alerts_watermark_seconds", Help: "Event-time watermark (unix seconds), by scope."}, []string{"scope"}),
		Open:        prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "iwom_alerts_open", Help: "Open (firing) alerts, by scope."}, []string{"scope"}),
		Archived:    prometheus.NewCounter(prometheus.CounterOpts{Name: "iwom_alerts_archived_total", Help: "Alert messages written to ClickHouse."}),
		ArchiveWait: prometheus.NewGauge(prometheus.GaugeOpts{Name: "iwom_alerts_archive_pending", Help: "Alert messages waiting to be written to ClickHouse."}),
		Routed:      prometheus.NewCounter(prometheus.CounterOpts{Name: "iwom_alerts_routed_total", Help: "Posts routed to alert partitions."}),
		Leases:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "iwom_alerts_leases", Help: "Alert engine leases held by this replica."}),
	}
	m.Messages = register(reg, m.Messages)
	m.Duplicates = register(reg, m.Duplicates)
	m.Suppressed = register(reg, m.Suppressed)
	m.Held = register(reg, m.Held)
	m.Reloads = register(reg, m.Reloads)
	m.StateBytes = register(reg, m.StateBytes)
	m.Watermark = register(reg, m.Watermark)
	m.Open = register(reg, m.Open)
	m.Archived = register(reg, m.Archived)
	m.ArchiveWait = register(reg, m.ArchiveWait)
	m.Routed = register(reg, m.Routed)
	m.Leases = register(reg, m.Leases)
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if ex, ok := are.ExistingCollector.(C); ok {
				return ex
			}
		}
		panic(err)
	}
	return c
}
