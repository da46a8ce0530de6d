package alertsrun

import (
	"testing"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/bus"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
)

// The ClickHouse archive is what the stages write to.
var _ Archive = (*chsink.AlertArchive)(nil)

// The engine names alert subjects without the bus (it imports nothing of
// NATS): its names must be the bus's.
func TestAlertSubjectIsTheBus(t *testing.T) {
	if alerts.SubjectPrefix != bus.AlertsPrefix {
		t.Errorf("alerts.SubjectPrefix %q, bus.AlertsPrefix %q", alerts.SubjectPrefix, bus.AlertsPrefix)
	}
	a := &alerts.Alert{Brand: "siemens", Rule: "negative_spike"}
	if got, want := a.Subject(), bus.AlertSubject(a.Brand, a.Rule); got != want {
		t.Errorf("alert subject %q, bus %q", got, want)
	}
}
