package test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

// The generated crisis through the whole pipeline: the alert engine fires
// on 西门子, updates the alert as the storm grows and resolves it when the
// storm is over; nothing fires for the other brands; every message is on
// iwom.alerts.<brand>.<rule> with its id#seq as Nats-Msg-Id, and lands once
// in ClickHouse <db>.alerts (a re-sent copy does not add a row).
func TestAlertsCrisisFiresUpdatesResolves(t *testing.T) {
	e := newEnv(t, nil)
	path, truth := generate(t, 4000, 1, "crisis")
	e.start(e.enrichRunner(), e.sinkRunner(), e.app.AlertsRunner())
	e.replay(path, 0)
	e.waitIdle(app.DurableEnrich, app.DurableSink, app.DurableAlerts)

	var as []*alerts.Alert
	err := e.app.Bus.ReadAll(context.Background(), bus.StreamAlerts, bus.AlertsPrefix+">", func(m jetstream.Msg) error {
		var a alerts.Alert
		if err := json.Unmarshal(m.Data(), &a); err != nil {
			t.Errorf("alert is not JSON: %v", err)
			return nil
		}
		if m.Subject() != a.Subject() || m.Headers().Get(jetstream.MsgIDHeader) != a.MsgID() {
			t.Errorf("%s on %s with Msg-Id %q", a.MsgID(), m.Subject(), m.Headers().Get(jetstream.MsgIDHeader))
		}
		if a.Version != alerts.SchemaVersion || a.Severity < 1 || a.Severity > 10 || a.EventTime.IsZero() || a.FirstSeen.IsZero() {
			t.Errorf("malformed alert %s", m.Data())
		}
		as = append(as, &a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := truth.Crisis
	byID := map[string][]*alerts.Alert{}
	for _, a := range as {
		if a.Brand != c.Brand {
			t.Errorf("alert for a brand without a crisis: %s", a)
			continue
		}
		byID[a.ID] = append(byID[a.ID], a)
	}
	var spike []*alerts.Alert
	for _, msgs := range byID {
		if msgs[0].Rule == "negative_spike" {
			spike = msgs
		}
	}
	if len(spike) < 3 {
		t.Fatalf("negative_spike messages %v, want firing, update(s), resolved", spike)
	}
	var st []string
	for i, a := range spike {
		st = append(st, a.State)
		if a.Seq != i+1 {
			t.Errorf("%s: seq %d at position %d", a.ID, a.Seq, i)
		}
	}
	if st[0] != alerts.StateFiring || st[len(st)-1] != alerts.StateResolved || !strings.Contains(strings.Join(st, ","), alerts.StateUpdate) {
		t.Errorf("states %v", st)
	}
	if f := spike[0]; f.FirstSeen.Before(c.Start) || f.FirstSeen.After(c.Start.Add(10*60e9)) || len(f.SampleIDs) == 0 || len(f.TopKeywords) == 0 {
		t.Errorf("firing %s: first seen %s (crisis from %s), samples %v, keywords %v", f, f.FirstSeen, c.Start, f.SampleIDs, f.TopKeywords)
	}
	if r := spike[len(spike)-1]; !r.EventTime.After(c.End) {
		t.Errorf("resolved at %s, before the storm ended (%s)", r.EventTime, c.End)
	}

	// ClickHouse has each message once, even when written again.
	q := "SELECT count() FROM " + e.db + ".alerts FINAL"
	if n := e.count(q); n != uint64(len(as)) {
		t.Errorf("%s.alerts has %d rows, the stream %d messages", e.db, n, len(as))
	}
	if err := chsink.InsertAlerts(context.Background(), e.conn, e.db, as); err != nil {
		t.Fatal(err)
	}
	if n := e.count(q); n != uint64(len(as)) {
		t.Errorf("after re-sending: %d rows, want %d", n, len(as))
	}
	var state string
	var peak uint8
	if err := e.conn.QueryRow(context.Background(), "SELECT state, peak_severity FROM "+e.db+".alerts_current WHERE id = ?", spike[0].ID).Scan(&state, &peak); err != nil {
		t.Fatal(err)
	}
	if state != alerts.StateResolved || int(peak) != spike[len(spike)-1].PeakSeverity {
		t.Errorf("alerts_current: %s peak %d", state, peak)
	}
}
