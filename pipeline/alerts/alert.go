// Package alerts is iwom's alert engine: per brand, in event time, it watches
// enriched posts with the rules of configs/alerts.yaml (volume and negative
// spikes against a seasonal baseline, negative share, crisis keywords, KOL
// mentions, viral posts) and publishes alerts on iwom.alerts.<brand>.<rule>:
// firing, update when it worsens, resolved when it ends, and digests of the
// alerts held during quiet hours.
//
// The Engine is deterministic: the same posts in the same order give the
// same alerts with the same ids, whatever the wall clock, so replays and
// `iwomlab eval alerts` are reproducible and a restarted engine re-sends
// nothing (alerts carry their id and version as Nats-Msg-Id).
//
// This package is the engine alone: it imports nothing of NATS or
// ClickHouse. Its runtime is pipeline/alerts/alertsrun (the stage that runs
// the engine on a JetStream consumer and keeps its state in a KV bucket, the
// partition router and the replicas' leases); the alerts' ClickHouse
// archive is in sinks/clickhouse.
package alerts

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// SchemaVersion of the Alert JSON (schemas/alert.schema.json).
const SchemaVersion = 2

// SubjectPrefix starts the subject of every alert (bus.AlertsPrefix, which
// alertsrun's tests check it equals).
const SubjectPrefix = "iwom.alerts."

// Alert headers, so that subscribers can filter without decoding.
const (
	HdrSeverity = "Iwom-Alert-Severity"
	HdrState    = "Iwom-Alert-State"
)

// Alert states.
const (
	StateFiring   = "firing"
	StateUpdate   = "update"
	StateResolved = "resolved"
	StateDigest   = "digest"
)

// Alert is what subscribers receive. One incident of a rule for a brand is
// one alert id; every message about it (firing, updates, resolved) carries
// the same id and a growing version.
type Alert struct {
	Version  int    `json:"v"`
	ID       string `json:"id"`  // <brand>:<rule>:<first slot unix>[:<post key>]
	Seq      int    `json:"seq"` // 1 for firing, +1 per message about the incident
	Rule     string `json:"rule"`
	Kind     string `json:"kind"`
	Brand    string `json:"brand"`
	State    string `json:"state"`
	Severity int    `json:"severity"` // 1–10
	// PeakSeverity is the highest severity of the incident so far.
	PeakSeverity int       `json:"peak_severity"`
	WindowStart  time.Time `json:"window_start"`
	WindowEnd    time.Time `json:"window_end"`
	// FirstSeen is the event time the incident was first detected; EventTime
	// the event time of this message.
	FirstSeen time.Time `json:"first_seen"`
	EventTime time.Time `json:"event_time"`
	// Observed is the rule's measure in the window: posts (spikes, keyword),
	// negative share (negative_ratio), followers (kol_mention), interactions
	// per hour (velocity). Baseline is what was expected.
	Observed  float64    `json:"observed"`
	Baseline  float64    `json:"baseline"`
	Ratio     float64    `json:"ratio,omitempty"`
	Z         float64    `json:"z,omitempty"`
	Total     int        `json:"total"`               // posts about the brand in the window
	Negative  int        `json:"negative"`            // negative posts about the brand in the window
	Baselines *Baselines `json:"baselines,omitempty"` // spike rules: what each comparison expected
	Threshold float64    `json:"threshold,omitempty"`
	Query     string     `json:"query,omitempty"` // keyword rules
	// TopKeywords are the most frequent keywords of the posts behind it.
	TopKeywords []string `json:"top_keywords"`
	Samples     []Sample `json:"samples"`
	// SampleIDs and SampleTexts repeat Samples for simple consumers.
	SampleIDs   []string `json:"sample_post_ids"`
	SampleTexts []string `json:"sample_texts"`
	// Post is the post behind kol_mention and velocity alerts.
	Post *PostRef `json:"post,omitempty"`
	// Held is true on alerts that were held during quiet hours and are
	// delivered in a digest; Items are the digest's contents.
	Held  bool          `json:"held,omitempty"`
	Items []*DigestItem `json:"items,omitempty"`
	// EmittedAt is the wall-clock time the engine produced the message (the
	// only field that is not a function of the posts).
	EmittedAt time.Time `json:"emitted_at"`
}

// Baselines are the comparisons of a spike rule.
type Baselines struct {
	Recent    float64  `json:"recent"`              // median (or EWMA) of the previous windows
	Level     *float64 `json:"level,omitempty"`     // mean of the last few windows
	Spread    float64  `json:"spread"`              // sigma used for z
	Yesterday *float64 `json:"yesterday,omitempty"` // same hour yesterday, scaled to the window
	LastWeek  *float64 `json:"last_week,omitempty"` // same hour a week ago
	Seasonal  *float64 `json:"seasonal,omitempty"`  // median of the same hour over the past days
	Windows   int      `json:"windows"`             // previous windows in the recent baseline
}

// Sample is one post behind an alert.
type Sample struct {
	ID        string    `json:"id"` // <platform>:<id>
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	Author    string    `json:"author,omitempty"`
	Followers int64     `json:"followers,omitempty"`
}

// PostRef describes the single post of a kol_mention or velocity alert.
type PostRef struct {
	ID           string    `json:"id"`
	Text         string    `json:"text"`
	CreatedAt    time.Time `json:"created_at"`
	AuthorID     string    `json:"author_id,omitempty"`
	AuthorName   string    `json:"author_name,omitempty"`
	Followers    int64     `json:"followers"`
	Verified     bool      `json:"verified"`
	VerifiedType int       `json:"verified_type"`
	Sentiment    string    `json:"sentiment,omitempty"`
	Reposts      int64     `json:"reposts"`
	Comments     int64     `json:"comments"`
	Observations int       `json:"observations,omitempty"`
}

// DigestItem is one held message in a digest.
type DigestItem struct {
	ID        string    `json:"id"`
	Seq       int       `json:"seq"`
	State     string    `json:"state"`
	Severity  int       `json:"severity"`
	EventTime time.Time `json:"event_time"`
	Observed  float64   `json:"observed"`
	Baseline  float64   `json:"baseline"`
	Sample    string    `json:"sample,omitempty"`
}

// Subject is where the alert is published: iwom.alerts.<brand>.<rule>.
func (a *Alert) Subject() string { return SubjectPrefix + a.Brand + "." + a.Rule }

// MsgID is the Nats-Msg-Id: the incident id and the message's sequence, so
// a re-sent message is dropped by the stream and each update is kept.
func (a *Alert) MsgID() string { return a.ID + "#" + strconv.Itoa(a.Seq) }

func (a *Alert) String() string {
	return fmt.Sprintf("%s %s sev %d obs %.4g base %.4g at %s", a.MsgID(), a.State, a.Severity, a.Observed, a.Baseline, a.EventTime.Format(time.RFC3339))
}

// SortAlerts orders alerts by event time, then brand, rule, id and seq.
func SortAlerts(as []*Alert) {
	sort.SliceStable(as, func(i, j int) bool {
		a, b := as[i], as[j]
		if !a.EventTime.Equal(b.EventTime) {
			return a.EventTime.Before(b.EventTime)
		}
		if a.Brand != b.Brand {
			return a.Brand < b.Brand
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Seq < b.Seq
	})
}
