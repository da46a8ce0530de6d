package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
)

// The dashboard in a real browser: `iwom serve` (the built binary) on a
// ClickHouse filled by `iwom gen --scenario crisis` through the pipeline,
// loaded in headless Chromium. Every panel must show what the report API
// answers for the request the panel made; clicking a word and a point of
// the volume chart must filter the top posts; an alert published on NATS
// during the test must reach the live feed within 2 s. A PNG screenshot
// is saved under the test's artifacts (go test -artifacts), and to
// $IWOM_SCREENSHOT when set (make screenshot: the README's picture).
func TestDashboardInBrowser(t *testing.T) {
	chromium := findChromium(t)
	e := newEnv(t, nil)
	bin := iwomBinary(t)
	ctx := context.Background()

	// Posts of the last 24 hours with a crisis about siemens.
	end := time.Now().UTC().Truncate(time.Minute)
	file := filepath.Join(t.TempDir(), "crisis.jsonl")
	gen := exec.Command(bin, "gen", "--scenario", "crisis", "--count", "4000", "--seed", "8", "--end", end.Format(time.RFC3339))
	var genOut bytes.Buffer
	gen.Stdout, gen.Stderr = &genOut, os.Stderr
	if err := gen.Run(); err != nil {
		t.Fatalf("iwom gen: %v", err)
	}
	if err := os.WriteFile(file, genOut.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	e.start(e.enrichRunner(), e.sinkRunner(), e.app.AlertsRunner())
	e.replay(file, 0)
	e.waitIdle(app.DurableEnrich, app.DurableSink, app.DurableAlerts)

	// An alert stored before the page opens (the feed replays it).
	publishAlert := func(id string, seq int, state string) {
		t.Helper()
		now := time.Now().UTC()
		al := alerts.Alert{Version: 2, ID: id, Seq: seq, Rule: "negative_spike", Kind: "negative_spike", Brand: "siemens", State: state,
			Severity: 8, PeakSeverity: 8, WindowStart: now.Add(-10 * time.Minute), WindowEnd: now, FirstSeen: now, EventTime: now,
			Observed: 42, Baseline: 3, Ratio: 14, Total: 50, Negative: 42, TopKeywords: []string{"冰箱门", "售后"},
			Samples:   []alerts.Sample{{ID: "weibo:1", Text: "西门子冰箱门又坏了[怒]", CreatedAt: now, Author: "测试用户", Followers: 1000}},
			SampleIDs: []string{"weibo:1"}, SampleTexts: []string{"西门子冰箱门又坏了[怒]"}}
		data, err := json.Marshal(al)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.Bus.Publish(ctx, bus.Out{Subject: bus.AlertSubject("siemens", "negative_spike"), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	publishAlert("siemens:negative_spike:stored", 1, "firing")

	// iwom serve on the test's ClickHouse database and NATS, ready once
	// its alert stream has reached NATS.
	base, _ := startServe(t, bin, append(os.Environ(), "IWOM_CLICKHOUSE_ADDR="+e.cfg.ClickHouse.Addr, "IWOM_CLICKHOUSE_DATABASE="+e.db,
		"IWOM_NATS_URL="+e.app.Bus.ClientURL(), "IWOM_LOG_FORMAT=json", "IWOM_METRICS_LISTEN=", "IWOM_API_TOKENS="),
		func(base string) bool { return httpStatus(base+"/v1/alerts/stream") == 200 })

	// Chromium, headless, with a clean profile and no network but ours.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1600, 1400))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil { // starts the browser, for the life of bctx
		t.Fatalf("starting %s: %v", chromium, err)
	}
	// Uncaught exceptions, console errors and browser-log errors (a CSP
	// violation, a failed request) all fail the test.
	var mu sync.Mutex
	var pageErrors []string
	console := chromedp.Console(bctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				mu.Lock()
				pageErrors = append(pageErrors, m.String())
				mu.Unlock()
			}
		}
	}()

	brands := []string{"siemens", "cocacola", "cmb"}
	page := base + "/#brand=" + strings.Join(brands, ",") + "&range=24h"
	start := time.Now()
	if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("loading %s: %v", page, err)
	}
	if ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.iwomDashboard.ready.then(() => true)`, chromedp.EvalAwaitPromise)); err != nil || !ok {
		t.Fatalf("the dashboard did not finish its first load: %v", err)
	}
	panels := []string{"volume", "sentiment", "sov", "words", "kols", "posts", "alerts"}
	snap := waitPanels(t, bctx, panels)
	t.Logf("first load of every panel: %s", time.Since(start).Round(time.Millisecond))

	for _, name := range panels[:6] {
		p := snap[name]
		if p.State != "ready" {
			t.Errorf("panel %s is %q, want ready (crisis data is there)", name, p.State)
			continue
		}
		u, err := url.Parse(p.URL)
		if err != nil || !strings.HasPrefix(u.Path, "/v1/reports/") {
			t.Errorf("panel %s: data-url %q is not a report request", name, p.URL)
			continue
		}
		q := u.Query()
		wantBrands := brands
		if name == "words" {
			wantBrands = brands[:1] // one brand at a time, the first selected by default
		}
		if got := listParam(q["brand"]); !slices.Equal(got, wantBrands) {
			t.Errorf("panel %s asked for brands %v, want %v (%s)", name, got, wantBrands, p.URL)
		}
		if q.Get("since") == "" && q.Get("from") == "" {
			t.Errorf("panel %s: no time window in %s", name, p.URL)
		}
		checkPanel(t, base, name, p)
	}
	// The feed replays what is stored about the selected brands: the
	// engine's alerts on the crisis, and the one published above.
	var stored []string
	for _, b := range brands {
		err := e.app.Bus.ReadAll(ctx, bus.StreamAlerts, bus.AlertsPrefix+b+".>", func(m jetstream.Msg) error {
			var al alerts.Alert
			if err := json.Unmarshal(m.Data(), &al); err != nil {
				return err
			}
			stored = append(stored, al.ID)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var shown []string
	for _, a := range snap["alerts"].Alerts {
		shown = append(shown, a.ID)
	}
	slices.Sort(stored)
	slices.Sort(shown)
	if len(stored) < 3 || !slices.Equal(shown, stored) || !slices.Contains(shown, "siemens:negative_spike:stored") {
		t.Errorf("the feed shows %v, the alerts stream has %v", shown, stored)
	}

	// An alert published now reaches the feed within 2 s.
	liveID := fmt.Sprintf("siemens:negative_spike:live-%d", time.Now().UnixNano())
	published := time.Now()
	publishAlert(liveID, 1, "firing")
	var seen bool
	for time.Since(published) < 5*time.Second && !seen {
		var err error
		seen, err = chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf(`!!document.querySelector('section[data-panel="alerts"] li[data-alert-id=%q]')`, liveID)))
		if err != nil {
			t.Fatal(err)
		}
		if !seen {
			time.Sleep(25 * time.Millisecond)
		}
	}
	latency := time.Since(published)
	switch {
	case !seen:
		t.Errorf("alert %s not in the feed 5 s after it was published", liveID)
	case latency > 2*time.Second:
		t.Errorf("alert %s reached the feed after %s, want ≤ 2 s", liveID, latency)
	default:
		t.Logf("a published alert reached the feed in %s", latency.Round(time.Millisecond))
	}

	// Clicking a word filters the top posts to it.
	if len(snap["words"].Series) == 0 || len(snap["words"].Series[0].Words) == 0 {
		t.Fatalf("no words drawn")
	}
	word := snap["words"].Series[0].Words[0].Name
	clickWord(t, bctx, word)
	filtered := waitFilter(t, bctx, "term=")
	if got := filtered.Filter; got != "term="+url.QueryEscape(word) && got != "term="+url.PathEscape(word) {
		t.Errorf("after clicking %q the posts filter is %q", word, got)
	}
	if u, _ := url.Parse(filtered.URL); u == nil || u.Query().Get("term") != word {
		t.Errorf("after clicking %q the posts came from %s", word, filtered.URL)
	}
	checkPanel(t, base, "posts", filtered)
	if len(filtered.Rows) == 0 {
		t.Errorf("no top posts for the clicked word %q", word)
	}

	// Clicking the crisis brand's busiest bucket filters them to it.
	vol := snap["volume"].seriesByID("siemens")
	if vol == nil || len(vol.Data) == 0 {
		t.Fatalf("no siemens volume series")
	}
	peak := vol.Data[0]
	for _, d := range vol.Data {
		if d.Y > peak.Y {
			peak = d
		}
	}
	clickPoint(t, bctx, "volume", "siemens", peak)
	filtered = waitFilter(t, bctx, "from=")
	u, _ := url.Parse(filtered.URL)
	from, err1 := time.Parse(time.RFC3339, u.Query().Get("from"))
	bucket, err2 := time.Parse(time.RFC3339, peak.X)
	if err1 != nil || err2 != nil || !from.Equal(bucket) || u.Query().Get("to") == "" {
		t.Errorf("after clicking the bucket %s the posts came from %s", peak.X, filtered.URL)
	}
	checkPanel(t, base, "posts", filtered)

	// The screenshot.
	if err := chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the screenshot is not a PNG")
	}
	shot := filepath.Join(t.ArtifactDir(), "dashboard.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d KB)", shot, len(png)/1024)
	if p := os.Getenv("IWOM_SCREENSHOT"); p != "" {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range pageErrors {
		t.Errorf("browser: %s", e)
	}
}

// findChromium returns Debian's chromium (test/browser.sh install).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: run test/browser.sh install (make test does)")
	return ""
}

func waitFor(t *testing.T, d time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// point is one [x, y] of a chart series.
type point struct {
	X string
	Y float64
}

func (p *point) UnmarshalJSON(b []byte) error {
	var v []any
	if err := json.Unmarshal(b, &v); err != nil || len(v) != 2 {
		return fmt.Errorf("a series point is not [x, y]: %s", b)
	}
	x, ok := v[0].(string)
	y, ok2 := v[1].(float64)
	if !ok || !ok2 {
		return fmt.Errorf("a series point is not [string, number]: %s", b)
	}
	p.X, p.Y = x, y
	return nil
}

type wordItem struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Rising bool    `json:"rising"`
}

type series struct {
	ID    string          `json:"id"`
	Type  string          `json:"type"`
	Stack string          `json:"stack"`
	Raw   json.RawMessage `json:"data"`
	Data  []point         `json:"-"`
	Words []wordItem      `json:"-"`
}

type feedItem struct {
	ID  string `json:"id"`
	Seq string `json:"seq"`
}

// panelSnap is what a panel shows, read from the page.
type panelSnap struct {
	State  string     `json:"state"`
	URL    string     `json:"url"`
	Filter string     `json:"filter"`
	Series []series   `json:"series"`
	Rows   []string   `json:"rows"`
	Links  []string   `json:"links"`
	Alerts []feedItem `json:"alerts"`
}

func (p *panelSnap) seriesByID(id string) *series {
	for i := range p.Series {
		if p.Series[i].ID == id {
			return &p.Series[i]
		}
	}
	return nil
}

// snapshotJS reads every panel: its state and request, the series of its
// chart as ECharts holds them, its table rows, links and feed entries.
const snapshotJS = `JSON.stringify(Object.fromEntries([...document.querySelectorAll('section.panel')].map(p => {
  const o = {state: p.dataset.state || '', url: p.dataset.url || '', filter: p.dataset.filter || '', series: [], rows: [], links: [], alerts: []};
  const c = p.querySelector('.chart');
  const inst = c && echarts.getInstanceByDom(c);
  if (inst) o.series = (inst.getOption().series || []).map(s => ({id: String(s.id), type: s.type, stack: s.stack || '', data: s.data || []}));
  for (const r of p.querySelectorAll('[data-key]')) {
    o.rows.push(r.dataset.key);
    const a = r.querySelector('a[href]');
    o.links.push(a ? a.getAttribute('href') : '');
  }
  for (const li of p.querySelectorAll('ul.feed > li[data-alert-id]')) o.alerts.push({id: li.dataset.alertId, seq: li.dataset.seq || ''});
  return [p.dataset.panel, o];
})))`

func snapshot(t *testing.T, ctx context.Context) map[string]*panelSnap {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](snapshotJS))
	if err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	out := map[string]*panelSnap{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("reading the page: %v", err)
	}
	for name, p := range out {
		for i := range p.Series {
			sr := &p.Series[i]
			var err error
			if sr.Type == "wordCloud" {
				err = json.Unmarshal(sr.Raw, &sr.Words)
			} else {
				err = json.Unmarshal(sr.Raw, &sr.Data)
			}
			if err != nil {
				t.Fatalf("panel %s series %s: %v", name, sr.ID, err)
			}
		}
	}
	return out
}

// waitPanels waits until no panel is loading and returns what they show.
func waitPanels(t *testing.T, ctx context.Context, names []string) map[string]*panelSnap {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		snap := snapshot(t, ctx)
		done := true
		for _, n := range names {
			p, ok := snap[n]
			if !ok {
				t.Fatalf("no panel %q on the page", n)
			}
			if p.State == "" || p.State == "loading" {
				done = false
			}
		}
		if done {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("panels still loading after 60 s: %+v", snap)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFilter waits until the posts panel is filtered by a filter
// containing want and has loaded.
func waitFilter(t *testing.T, ctx context.Context, want string) *panelSnap {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p := snapshot(t, ctx)["posts"]
		if strings.Contains(p.Filter, want) && strings.Contains(p.URL, want) && (p.State == "ready" || p.State == "empty") {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the posts panel did not filter on %s: %+v", want, p)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// apiRows fetches a panel's request from the API.
func apiRows(t *testing.T, base, path string) []map[string]any {
	t.Helper()
	code, body := httpGet(t, base+path, "")
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return doc.Rows
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// checkPanel compares what panel name shows with the API's answer to the
// request the panel made.
func checkPanel(t *testing.T, base, name string, p *panelSnap) {
	t.Helper()
	rows := apiRows(t, base, p.URL)
	if len(rows) == 0 {
		t.Errorf("panel %s: the API has no rows for %s", name, p.URL)
		return
	}
	// want maps a series id to its points in bucket order.
	want := map[string][]point{}
	add := func(id, bucket string, y float64) {
		s := want[id]
		if n := len(s); n > 0 && s[n-1].X == bucket {
			s[n-1].Y += y
		} else {
			s = append(s, point{bucket, y})
		}
		want[id] = s
	}
	switch name {
	case "volume":
		for _, r := range rows {
			add(r["brand"].(string), r["bucket"].(string), num(r["posts"]))
		}
	case "sentiment":
		for _, r := range rows {
			b, at := r["brand"].(string), r["bucket"].(string)
			for _, k := range []string{"positive", "neutral", "negative", "net"} {
				add(b+":"+k, at, num(r[k]))
			}
		}
	case "sov":
		for _, r := range rows {
			add(r["brand"].(string), r["bucket"].(string), num(r["share"]))
		}
	case "words":
		if len(p.Series) != 1 || p.Series[0].Type != "wordCloud" {
			t.Errorf("words: want one wordCloud series, got %+v", p.Series)
			return
		}
		got := p.Series[0].Words
		if len(got) != len(rows) {
			t.Errorf("words: %d words drawn, the API has %d", len(got), len(rows))
			return
		}
		rising := 0
		for i, r := range rows {
			prev, change := num(r["previous"]), num(r["change"])
			wantRising := change > 0 && (prev == 0 || num(r["growth"]) >= 0.5)
			if got[i].Name != r["term"] || got[i].Value != num(r["posts"]) || got[i].Rising != wantRising {
				t.Errorf("words[%d]: drawn %+v, API %v (rising %v)", i, got[i], r, wantRising)
			}
			if wantRising {
				rising++
			}
		}
		if rising == 0 {
			t.Errorf("words: no rising word in a crisis")
		}
		return
	case "kols", "posts":
		var keys []string
		for _, r := range rows {
			id := r["author_id"]
			if name == "posts" {
				id = r["id"]
			}
			keys = append(keys, fmt.Sprintf("%s|%s|%s", r["brand"], r["platform"], id))
		}
		if !slices.Equal(p.Rows, keys) {
			t.Errorf("%s: rows %v\nAPI %v", name, p.Rows, keys)
		}
		if name == "posts" {
			for i, r := range rows {
				if i < len(p.Links) && p.Links[i] != r["url"] {
					t.Errorf("posts[%d]: link %q, API url %q", i, p.Links[i], r["url"])
				}
			}
		}
		return
	}
	for id, pts := range want {
		s := p.seriesByID(id)
		if s == nil {
			t.Errorf("%s: no series %q (series: %d)", name, id, len(p.Series))
			continue
		}
		if len(s.Data) != len(pts) {
			t.Errorf("%s %s: %d points drawn, the API has %d", name, id, len(s.Data), len(pts))
			continue
		}
		for i := range pts {
			if s.Data[i].X != pts[i].X || math.Abs(s.Data[i].Y-pts[i].Y) > 1e-9 {
				t.Errorf("%s %s[%d]: drawn %v, API %v", name, id, i, s.Data[i], pts[i])
				break
			}
		}
		if name == "sentiment" && !strings.HasSuffix(id, ":net") && s.Stack == "" {
			t.Errorf("sentiment %s is not stacked", id)
		}
	}
	var total float64
	for _, pts := range want {
		for _, pt := range pts {
			total += pt.Y
		}
	}
	if total == 0 {
		t.Errorf("%s: the API's series are all zero for %s", name, p.URL)
	}
}

// clickWord clicks the word in the word cloud with the mouse, at the
// centre of its text as zrender drew it.
func clickWord(t *testing.T, ctx context.Context, word string) {
	t.Helper()
	js := fmt.Sprintf(`(() => {
  const c = document.querySelector('section[data-panel="words"] .chart');
  const inst = echarts.getInstanceByDom(c);
  const el = inst.getZr().storage.getDisplayList().find(e => e.style && e.style.text === %q);
  if (!el) return null;
  const r = el.getBoundingRect().clone();
  if (el.transform) r.applyTransform(el.transform);
  c.scrollIntoView({block: 'center'});
  const box = c.getBoundingClientRect();
  return [box.left + r.x + r.width / 2, box.top + r.y + r.height / 2];
})()`, word)
	click(t, ctx, js, "the word "+word)
}

// clickPoint clicks the point of series id at p on panel's chart.
func clickPoint(t *testing.T, ctx context.Context, panel, id string, p point) {
	t.Helper()
	js := fmt.Sprintf(`(() => {
  const c = document.querySelector('section[data-panel=%q] .chart');
  c.scrollIntoView({block: 'center'});
  const inst = echarts.getInstanceByDom(c);
  const xy = inst.convertToPixel({seriesId: %q}, [%q, %v]);
  if (!xy) return null;
  const box = c.getBoundingClientRect();
  return [box.left + xy[0], box.top + xy[1]];
})()`, panel, id, p.X, p.Y)
	click(t, ctx, js, fmt.Sprintf("%s %s %v", panel, id, p))
}

func click(t *testing.T, ctx context.Context, locate, what string) {
	t.Helper()
	xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](locate))
	if err != nil || len(xy) != 2 {
		t.Fatalf("finding %s on the page: %v %v", what, xy, err)
	}
	time.Sleep(300 * time.Millisecond) // let the scroll settle, then locate it again
	if xy, err = chromedp.Run(ctx, chromedp.Evaluate[[]float64](locate)); err != nil || len(xy) != 2 {
		t.Fatalf("finding %s on the page: %v %v", what, xy, err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(xy[0], xy[1])); err != nil {
		t.Fatalf("clicking %s: %v", what, err)
	}
}

// listParam splits repeated and comma-separated values.
func listParam(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}
