package alerts

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultRulesValid(t *testing.T) {
	rs, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, r := range rs.Enabled() {
		kinds[r.Kind] = true
	}
	for _, k := range Kinds {
		if !kinds[k] {
			t.Errorf("the default rules have no enabled %s rule", k)
		}
	}
	if r := rs.Rule("negative_spike"); r == nil || r.Kind != KindNegativeSpike {
		t.Errorf("no negative_spike rule (iwom.alerts.<brand>.negative_spike is what subscribers know)")
	}
	if _, err := NewEngine(rs, Options{Slot: time.Minute}); err != nil {
		t.Fatal(err)
	}
}

// Every validation error names the rule and the key, and wraps ErrRules.
func TestRuleErrorsNameRuleAndKey(t *testing.T) {
	head := "version: 1\nrules:\n"
	cases := []struct{ doc, want string }{
		{head + "  - name: spikes\n    kind: volume_spike\n    min_count: 5\n    min_ration: 3\n", "alert rule spikes: min_ration: unknown key"},
		{head + "  - name: spikes\n    kind: volume_spike\n    min_count: 5\n    baseline: {method: mean}\n", "alert rule spikes: baseline.method"},
		{head + "  - name: spikes\n    kind: volume_spike\n    min_count: 5\n    baseline: {windowz: 3}\n", "alert rule spikes: baseline.windowz: unknown key"},
		{head + "  - name: spikes\n    kind: volume_spike\n", "alert rule spikes: min_count: must be at least 1"},
		{head + "  - name: spikes\n    kind: volume_spike\n    min_count: 5\n    window: 90s\n", "alert rule spikes: window: 1m30s is not a multiple of alerts.slot"},
		{head + "  - name: spikes\n    kind: volume_spike\n    min_count: 5\n    window: ten\n", "alert rule spikes: (rule)"},
		{head + "  - name: Bad Name\n    kind: keyword\n    query: a\n", "alert rule Bad Name: name"},
		{head + "  - kind: keyword\n    query: a\n", "alert rule rules[0]: name: is required"},
		{head + "  - name: kw\n    kind: keyword\n    query: '投诉 AND (召回'\n", "alert rule kw: query: column"},
		{head + "  - name: kw\n    kind: keyword\n    query: 投诉\n    brand_query: {siemens: 'OR'}\n", "alert rule kw: brand_query.siemens"},
		{head + "  - name: kw\n    kind: keyword\n    query: 投诉\n    min_share: 0.3\n", "alert rule kw: min_share: does not apply to kind keyword"},
		{head + "  - name: kol\n    kind: kol_mention\n", "alert rule kol: min_followers: set min_followers or verified_types"},
		{head + "  - name: kol\n    kind: kol_mention\n    min_followers: 10\n    sentiment: [angry]\n", "alert rule kol: sentiment"},
		{head + "  - name: v\n    kind: velocity\n", "alert rule v: min_growth"},
		{head + "  - name: r\n    kind: negative_ratio\n    min_count: 10\n    min_share: 1.5\n", "alert rule r: min_share"},
		{head + "  - name: r\n    kind: negative_ratio\n    min_count: 10\n    min_share: 0.5\n    quiet_hours: {start: '25:00', end: '07:00', below: 5}\n", "alert rule r: quiet_hours.start"},
		{head + "  - name: r\n    kind: negative_ratio\n    min_count: 10\n    min_share: 0.5\n    quiet_hours: {start: '22:00', end: '07:00', timezone: Mars/Olympus, below: 5}\n", "alert rule r: quiet_hours.timezone"},
		{head + "  - name: r\n    kind: negative_ratio\n    min_count: 10\n    min_share: 0.5\n    severity: {min: 5, max: 3}\n", "alert rule r: severity.max"},
		{head + "  - name: r\n    kind: negative_ratio\n    min_count: 10\n    min_share: 0.5\n  - name: r\n    kind: negative_ratio\n    min_count: 10\n    min_share: 0.5\n", "alert rule r: name: is used by another rule"},
		{head + "  - name: r\n    kind: tsunami\n", "alert rule r: kind"},
		{"version: 7\nrules: []\n", "alert rules: version"},
		{"version: 1\nrulez: []\n", "alert rules: rulez: unknown key"},
	}
	for _, c := range cases {
		rs, err := ParseRules([]byte(c.doc), "test")
		if err == nil {
			_, err = NewEngine(rs, Options{Slot: time.Minute})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant an error containing %q", c.doc, err, c.want)
			continue
		}
		if !errors.Is(err, ErrRules) {
			t.Errorf("%q: %v does not wrap ErrRules", c.doc, err)
		}
	}
}

func TestSeverityMapping(t *testing.T) {
	r := &Rule{Severity: Severity{Min: 3, Max: 9, Low: 2, High: 20}}
	for _, c := range []struct {
		m    float64
		want int
	}{{1, 3}, {2, 3}, {20, 9}, {200, 9}, {6.32, 6}} {
		if got := severity(r, c.m); got != c.want {
			t.Errorf("severity(%g) = %d, want %d", c.m, got, c.want)
		}
	}
}
