package test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/connectors/gen"
	"github.com/iwom/iwom/pipeline/synth"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/sinks/clickhouse/report"
)

// checkRollups fails the test for every rollup group that differs from a
// direct count on iwom.posts (chsink.CheckRollups: hand-written queries on
// the posts view, independent of the builder's SQL).
func (e *env) checkRollups() {
	e.t.Helper()
	ms, err := chsink.CheckRollups(context.Background(), e.conn, e.db, time.Time{}, time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	for i, m := range ms {
		if i == 20 {
			e.t.Errorf("… %d more", len(ms)-20)
			break
		}
		e.t.Errorf("%v", m)
	}
	var groups uint64
	for _, v := range []string{"volume_5m", "terms_1h", "authors_1h", "top_posts_1h"} {
		n := e.count("SELECT count() FROM " + e.db + "." + v)
		if n == 0 {
			e.t.Errorf("%s is empty", v)
		}
		groups += n
	}
	e.t.Logf("%d rollup groups equal iwom.posts", groups)
}

// sinkCounter reads one of the sink's counters.
func (e *env) sinkCounter(name string) float64 {
	e.t.Helper()
	mfs, err := e.app.Reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	e.t.Fatal("no " + name)
	return 0
}

// sinkReceived is how many posts reached the sink's ledger: those it
// stored (new or newer observations) and those it found already stored.
func (e *env) sinkReceived() float64 {
	e.t.Helper()
	return e.sinkCounter("iwom_clickhouse_rows_inserted_total") + e.sinkCounter("iwom_clickhouse_rows_unchanged_total")
}

// engine runs reports on the test's database.
func (e *env) engine() *report.Engine {
	wl, err := brands.Load("")
	if err != nil {
		e.t.Fatal(err)
	}
	return &report.Engine{Conn: e.conn, DB: e.db, WatchList: wl, Now: func() time.Time { return testEnd }}
}

const brandLabelSQL = "if(has(brand_sentiment_brands, brand), brand_sentiment_labels[indexOf(brand_sentiment_brands, brand)], sentiment_label)"

// checkReports compares the volume, sentiment, keywords, kols and
// top-posts reports with hand-written queries on iwom.posts for several
// filters.
func (e *env) checkReports(brand string) {
	e.t.Helper()
	eng := e.engine()
	ctx := context.Background()
	filters := []url.Values{
		{"brand": {brand}, "since": {"24h"}, "interval": {"hour"}},
		{"brand": {brand + ",cocacola"}, "platform": {"weibo"}, "from": {"2026-11-19T18:12:45Z"}, "to": {"2026-11-20T09:47:10Z"}, "interval": {"5m"}},
		{"brand": {brand}, "from": {"2026-11-19 20:00"}, "to": {"2026-11-20 20:00"}, "tz": {"Asia/Shanghai"}, "interval": {"day"}},
	}
	for _, v := range filters {
		run := func(name string, extra url.Values) *report.Result {
			vv := url.Values{}
			for k, x := range v {
				if k != "interval" || name == "volume" || name == "sentiment" {
					vv[k] = x
				}
			}
			for k, x := range extra {
				vv[k] = x
			}
			res, err := eng.Run(ctx, name, vv)
			if err != nil {
				e.t.Fatalf("%s %v: %v", name, vv, err)
			}
			return res
		}
		vol := run("volume", nil)
		p := vol.Params
		from, to := p[2].Value.(report.Time).Unix(), p[3].Value.(report.Time).Unix()
		brands := strings.Split(strings.Join(v["brand"], ","), ",")
		where := fmt.Sprintf("created_at >= toDateTime(%d) AND created_at < toDateTime(%d) AND brand IN ('%s')", from, to, strings.Join(brands, "','"))
		if pl := v.Get("platform"); pl != "" {
			where += " AND platform = '" + pl + "'"
		}
		tz := v.Get("tz")
		if tz == "" {
			tz = "UTC"
		}
		bucket := map[string]string{"hour": "toStartOfHour(created_at, '" + tz + "')", "5m": "toStartOfFiveMinute(created_at)", "day": "toStartOfDay(created_at, '" + tz + "')"}[v.Get("interval")]
		var total uint64
		for _, r := range vol.Rows {
			total += r[3].(uint64)
		}
		if want := e.count("SELECT count() FROM " + e.db + ".posts ARRAY JOIN brands AS brand WHERE " + where); total != want {
			e.t.Errorf("volume %v: %d posts, iwom.posts %d", v, total, want)
		}
		for _, r := range vol.Rows {
			t := r[0].(report.Time).Unix()
			want := e.count(fmt.Sprintf("SELECT count() FROM %s.posts ARRAY JOIN brands AS brand WHERE %s AND toUnixTimestamp(%s) = %d AND brand = '%s' AND platform = '%s'",
				e.db, where, bucket, t, r[1], r[2]))
			if r[3].(uint64) != want {
				e.t.Errorf("volume %v at %v %v %v: %d, iwom.posts %d", v, r[0].(report.Time), r[1], r[2], r[3], want)
			}
		}
		sent := run("sentiment", nil)
		for _, r := range sent.Rows {
			t := r[0].(report.Time).Unix()
			for i, label := range []string{"positive", "neutral", "negative"} {
				want := e.count(fmt.Sprintf("SELECT count() FROM (SELECT created_at, brand, platform, %s AS l FROM %s.posts ARRAY JOIN brands AS brand WHERE %s) WHERE toUnixTimestamp(%s) = %d AND brand = '%s' AND l = '%s'",
					brandLabelSQL, e.db, where, bucket, t, r[1], label))
				if r[3+i].(uint64) != want {
					e.t.Errorf("sentiment %v at %v %v %s: %d, iwom.posts %d", v, r[0].(report.Time), r[1], label, r[3+i], want)
				}
			}
		}
		kw := run("keywords", url.Values{"limit": {"10"}})
		if len(kw.Rows) == 0 {
			e.t.Errorf("keywords %v: none", v)
		}
		for _, r := range kw.Rows {
			want := e.count(fmt.Sprintf(`SELECT count() FROM %s.posts ARRAY JOIN brands AS brand WHERE %s AND brand = '%s'
				AND has(arrayConcat(keywords, arrayMap(h -> concat('#', h, '#'), hashtags)), '%s')`, e.db, where, r[0], r[1]))
			if r[2].(uint64) != want {
				e.t.Errorf("keyword %v %v %q: %d posts, iwom.posts %d", v, r[0], r[1], r[2], want)
			}
		}
		kols := run("kols", url.Values{"limit": {"5"}})
		for _, r := range kols.Rows {
			var posts, reach, eng uint64
			err := e.conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(), sum(author_followers), sum(reposts + comments + likes) FROM %s.posts ARRAY JOIN brands AS brand
				WHERE %s AND brand = '%s' AND platform = '%s' AND author_id = '%s'`, e.db, where, r[0], r[1], r[2])).Scan(&posts, &reach, &eng)
			if err != nil {
				e.t.Fatal(err)
			}
			if r[5].(uint64) != posts || r[6].(uint64) != reach || r[7].(uint64) != eng {
				e.t.Errorf("kol %v %v: posts/reach/engagement %v/%v/%v, iwom.posts %d/%d/%d", v, r[2], r[5], r[6], r[7], posts, reach, eng)
			}
		}
		top := run("top-posts", url.Values{"limit": {"5"}})
		rows, err := e.conn.Query(ctx, fmt.Sprintf(`SELECT id FROM %s.posts ARRAY JOIN brands AS brand WHERE %s
			ORDER BY brand, reposts DESC, platform, id LIMIT 5 BY brand`, e.db, where))
		if err != nil {
			e.t.Fatal(err)
		}
		var ids []string
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		var got []string
		for _, r := range top.Rows {
			got = append(got, r[2].(string))
		}
		if strings.Join(got, ",") != strings.Join(ids, ",") {
			e.t.Errorf("top-posts %v: %v, iwom.posts %v", v, got, ids)
		}
	}
}

// A crisis file replayed twice, the copy past JetStream's duplicate window
// so that every post reaches ClickHouse twice: every rollup and report
// equals iwom.posts.
func TestAnalyticsReplayTwiceExact(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.NATS.DuplicateWindow = time.Second })
	path, truth := generate(t, 3000, 7, "crisis")
	e.start(e.enrichRunner(), e.sinkRunner())
	e.replay(path, 0)
	e.waitIdle()
	time.Sleep(1500 * time.Millisecond) // past the duplicate window
	e.replay(path, 0)
	e.waitIdle()
	if n := e.sinkReceived(); n < float64(2*truth.Total) {
		t.Fatalf("the sink received %v posts; the copy did not reach it", n)
	}
	e.checkTruth(truth)
	e.checkRollups()
	e.checkReports(truth.Crisis.Brand)
}

// (c) The sink stopped and restarted mid-stream (small batches, so batches
// are redelivered and re-inserted around the restart): the truth's counts
// in iwom.posts, and exact rollups and reports.
func TestAnalyticsSinkRestartExact(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.ClickHouse.BatchSize = 200 })
	path, truth := generate(t, 4000, 11, "crisis")
	e.start(e.enrichRunner())
	sink := e.start(e.sinkRunner())
	done := make(chan struct{})
	go func() { defer close(done); e.replay(path, 2000) }()
	waitRows(t, e, 800)
	sink.stop()
	time.Sleep(time.Second)
	e.start(e.sinkRunner())
	<-done
	e.waitIdle()
	e.checkTruth(truth)
	e.checkRollups()
	e.checkReports(truth.Crisis.Brand)
}

// ClickHouse killed mid-stream (between an insert and its rebuild, as
// likely as anywhere) and started again: the sink holds its batch,
// retries, and the rollups come out exact.
func TestAnalyticsClickHouseKilledExact(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.ClickHouse.BatchSize = 200 })
	path, truth := generate(t, 3000, 13, "steady")
	e.start(e.enrichRunner(), e.sinkRunner())
	done := make(chan struct{})
	go func() { defer close(done); e.replay(path, 1500) }()
	waitRows(t, e, 700)
	ch.Kill()
	time.Sleep(2 * time.Second)
	if err := ch.Start(); err != nil {
		t.Fatal(err)
	}
	<-done
	e.waitIdle()
	e.checkTruth(truth)
	e.checkRollups()
}

// The generator run again with a later end (what a second `make demo`
// does): the same post ids come back at other created_at times. iwom.posts
// shows each post once at its latest time, and so do the rollups.
func TestAnalyticsMovedPostsExact(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.NATS.DuplicateWindow = time.Second })
	wl, err := brands.Load("")
	if err != nil {
		t.Fatal(err)
	}
	e.start(e.enrichRunner(), e.sinkRunner())
	var truth synth.Truth
	for _, end := range []time.Time{testEnd.Add(-3 * time.Hour), testEnd} {
		g, err := synth.New(synth.Options{Count: 2000, Seed: 3, Scenario: "crisis", End: end}, wl)
		if err != nil {
			t.Fatal(err)
		}
		if err := (&gen.Connector{Gen: g}).Run(context.Background(), e.app.Publisher("gen")); err != nil {
			t.Fatal(err)
		}
		e.waitIdle()
		truth = g.Truth()
		time.Sleep(1500 * time.Millisecond)
	}
	// The second run re-observes every post at another time: the sink
	// stored each post twice (the second time with a cancel row).
	if n := e.sinkCounter("iwom_clickhouse_rows_inserted_total"); n < float64(2*truth.Total) {
		t.Fatalf("the sink stored %v observations of %d posts; the second run did not re-observe them", n, truth.Total)
	}
	e.checkTruth(truth)
	e.checkRollups()
	e.checkReports(truth.Crisis.Brand)
}
