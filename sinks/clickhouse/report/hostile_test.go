package report_test

// Issue 13 (hostile input): time zones ClickHouse cannot use, CSV formula
// injection, terminal escapes in table output.

import (
	"context"
	"encoding/csv"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iwom/iwom/sinks/clickhouse/report"
)

// A zone that Go loads but ClickHouse does not (Local, right/UTC) used to
// pass the parser and fail the query (HTTP 500): the parser refuses it.
func TestTimeZonesClickHouseCannotUseAreBadParams(t *testing.T) {
	spec, err := report.Lookup("volume")
	if err != nil {
		t.Fatal(err)
	}
	for _, tz := range []string{"Local", "local", "localtime", "right/UTC", "right/Asia/Shanghai", "posix/UTC", "POSIX/Asia/Shanghai", "posixrules",
		"../UTC", "Asia/../UTC", "Asia/..", "/etc/localtime", "Mars/Olympus", "asia/shanghai", "UTC ; DROP", strings.Repeat("A", 65)} {
		_, err := spec.Parse(url.Values{"tz": {tz}}, end, nil)
		if !errors.Is(err, report.ErrBadParam) || !strings.Contains(err.Error(), "tz") {
			t.Errorf("tz=%q: %v, want a bad-parameter error naming tz", tz, err)
		}
	}
	for tz, want := range map[string]string{"": "UTC", " ": "UTC", "UTC": "UTC", "Asia/Shanghai": "Asia/Shanghai", "Etc/GMT+5": "Etc/GMT+5", "Europe/Berlin": "Europe/Berlin"} {
		p, err := spec.Parse(url.Values{"tz": {tz}}, end, nil)
		if err != nil || p.TZ != want || p.Loc.String() != want {
			t.Errorf("tz=%q: %v %q %v, want %s", tz, err, p.TZ, p.Loc, want)
		}
	}
	// And end to end: what the parser accepts, ClickHouse runs.
	for _, tz := range []string{"Local", "right/UTC"} {
		if _, err := engine.Run(context.Background(), "volume", url.Values{"tz": {tz}, "since": {"3h"}}); !errors.Is(err, report.ErrBadParam) {
			t.Errorf("run tz=%s: %v, want a bad-parameter error", tz, err)
		}
	}
	for _, tz := range []string{"Asia/Shanghai", "Etc/GMT+5", ""} {
		if _, err := engine.Run(context.Background(), "sentiment", url.Values{"tz": {tz}, "since": {"3h"}, "interval": {"day"}}); err != nil {
			t.Errorf("run tz=%q: %v", tz, err)
		}
	}
}

func hostileResult() *report.Result {
	at := report.Time{Time: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	return &report.Result{Report: "top-posts", Columns: []string{"author_name", "text", "keywords", "posts", "change", "net", "created_at", "top_posts"},
		Rows: [][]any{
			{"=HYPERLINK(\"http://evil/\",\"click\")", "+SUM(A1:A9)", []string{"-2+3", "ok"}, uint64(5), int64(-3), -0.5, at, []report.PostRef{{Platform: "weibo", ID: "@x"}}},
			{"@cmd", "\tTAB", []string{}, uint64(0), int64(0), 0.25, at, []report.PostRef{{URL: "=cmd|' /C calc'!A0"}}},
			{"\rcr", "\nlf", nil, uint64(1), int64(7), -1.0, at, nil},
			{"plain 西门子", "a=b, -x", []string{"冰箱门"}, uint64(2), int64(-12), 3.0, at, nil},
		}}
}

// Text cells that start like a formula get a leading '; numbers stay
// numbers, negative ones too.
func TestCSVNeutralisesFormulas(t *testing.T) {
	var b strings.Builder
	if err := hostileResult().Write(&b, "csv"); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	want := [][]string{
		{"author_name", "text", "keywords", "posts", "change", "net", "created_at", "top_posts"},
		{`'=HYPERLINK("http://evil/","click")`, "'+SUM(A1:A9)", "'-2+3 | ok", "5", "-3", "-0.5", "2026-11-20T09:00:00Z", "weibo:@x"},
		{"'@cmd", "'\tTAB", "", "0", "0", "0.25", "2026-11-20T09:00:00Z", "'=cmd|' /C calc'!A0"},
		{"'\rcr", "'\nlf", "", "1", "7", "-1", "2026-11-20T09:00:00Z", ""},
		{"plain 西门子", "a=b, -x", "冰箱门", "2", "-12", "3", "2026-11-20T09:00:00Z", ""},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records: %q", len(recs), recs)
	}
	for i := range want {
		for j := range want[i] {
			if recs[i][j] != want[i][j] {
				t.Errorf("row %d %s: %q, want %q", i, want[0][j], recs[i][j], want[i][j])
			}
		}
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "=") || strings.HasPrefix(line, "+") || strings.HasPrefix(line, "@") {
			t.Errorf("a record starts with a formula: %q", line)
		}
	}
}

// The table format (iwom report, format=table) prints no escape sequence
// or control character from the data.
func TestTableStripsTerminalEscapes(t *testing.T) {
	res := &report.Result{Columns: []string{"author_name", "text", "keywords", "posts"}, Rows: [][]any{
		{"\x1b]0;owned\x07evil", "\x1b[2J\x1b[31mred\x1b[0m\rhidden", []string{"\x1b]8;;http://x/\x1b\\k\x1b]8;;\x1b\\"}, uint64(3)},
		{"bell\x07\u009b1m", "back\b\bspace", []string{"ok"}, uint64(1)},
	}}
	var b strings.Builder
	if err := res.Write(&b, "table"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, c := range out {
		if c < 0x20 && c != '\n' || c == 0x7f || c >= 0x80 && c < 0xa0 {
			t.Fatalf("control character %U in the table:\n%q", c, out)
		}
	}
	for _, want := range []string{"evil", "red hidden", "k", "bell\uFFFD\uFFFD1m"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
