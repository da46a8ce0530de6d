package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/iwom/iwom/pipeline/alerts"
)

// AlertColumns are the columns of <db>.alerts the archive fills, in order
// (ClickHouse 18.16 needs the explicit list for native batches).
var AlertColumns = []string{
	"id", "seq", "rule", "kind", "brand", "state", "severity", "peak_severity",
	"window_start", "window_end", "first_seen", "event_time", "emitted_at",
	"observed", "baseline", "ratio", "z", "total", "negative",
	"top_keywords", "sample_post_ids", "sample_texts", "post_id", "held", "payload",
}

// maxPendingAlerts bounds the alerts an archive keeps while ClickHouse is
// down (they stay in the alerts stream; `iwom alerts archive` copies them).
const maxPendingAlerts = 10000

// AlertArchive writes the alert engine's messages into ClickHouse
// (<db>.alerts); the alert stages of pipeline/alerts/alertsrun use it as
// their Archive. Writes that fail are kept (up to maxPendingAlerts) and
// retried with the next ones, with a backoff.
type AlertArchive struct {
	Conn     driver.Conn
	Database string
	Metrics  *alerts.Metrics

	mu      sync.Mutex
	pending []*alerts.Alert
	dropped int
	// After a failed write the next waits (doubling, up to a minute), so
	// that an unreachable ClickHouse does not slow every batch down.
	retryAt time.Time
	backoff time.Duration
}

// NewAlertArchive builds an archive for database db.
func NewAlertArchive(conn driver.Conn, db string, m *alerts.Metrics) *AlertArchive {
	return &AlertArchive{Conn: conn, Database: db, Metrics: m}
}

// Write inserts as (and whatever is pending) as one batch.
func (a *AlertArchive) Write(ctx context.Context, as []*alerts.Alert) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending = append(a.pending, as...)
	if over := len(a.pending) - maxPendingAlerts; over > 0 {
		a.pending = a.pending[over:]
		a.dropped += over
	}
	if a.Metrics != nil {
		defer func() { a.Metrics.ArchiveWait.Set(float64(len(a.pending))) }()
	}
	if len(a.pending) == 0 || time.Now().Before(a.retryAt) {
		return nil
	}
	ictx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := InsertAlerts(ictx, a.Conn, a.Database, a.pending); err != nil {
		a.backoff = min(max(2*a.backoff, time.Second), time.Minute)
		a.retryAt = time.Now().Add(a.backoff)
		return err
	}
	if a.Metrics != nil {
		a.Metrics.Archived.Add(float64(len(a.pending)))
	}
	a.pending = a.pending[:0]
	a.backoff, a.retryAt = 0, time.Time{}
	return nil
}

// Pending is how many alert messages wait for ClickHouse.
func (a *AlertArchive) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// InsertAlerts writes alert messages into <db>.alerts in one native batch.
func InsertAlerts(ctx context.Context, conn driver.Conn, db string, as []*alerts.Alert) error {
	if len(as) == 0 {
		return nil
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".alerts ("+strings.Join(AlertColumns, ", ")+")")
	if err != nil {
		return fmt.Errorf("preparing insert into %s.alerts: %w", db, err)
	}
	for _, al := range as {
		payload, err := json.Marshal(al)
		if err != nil {
			_ = batch.Abort()
			return fmt.Errorf("encoding alert %s: %w", al.MsgID(), err)
		}
		postID := ""
		if al.Post != nil {
			postID = al.Post.ID
		}
		held := uint8(0)
		if al.Held {
			held = 1
		}
		if err := batch.Append(al.ID, uint32(al.Seq), al.Rule, al.Kind, al.Brand, al.State, uint8(al.Severity), uint8(al.PeakSeverity),
			al.WindowStart.UTC(), al.WindowEnd.UTC(), al.FirstSeen.UTC(), al.EventTime.UTC(), al.EmittedAt.UTC(),
			al.Observed, al.Baseline, al.Ratio, al.Z, uint32(max(al.Total, 0)), uint32(max(al.Negative, 0)),
			nonNilStrings(al.TopKeywords), nonNilStrings(al.SampleIDs), nonNilStrings(al.SampleTexts), postID, held, string(payload)); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("adding alert %s to the batch: %w", al.MsgID(), err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("inserting %d alerts into %s.alerts: %w", len(as), db, err)
	}
	return nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
