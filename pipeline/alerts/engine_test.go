package alerts

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func mustRules(t testing.TB, y string) *Rules {
	t.Helper()
	rs, err := ParseRules([]byte(y), "test")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func mustEngine(t testing.TB, rs *Rules) *Engine {
	t.Helper()
	e, err := NewEngine(rs, Options{Slot: time.Minute, Lateness: 2 * time.Minute, Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mkIn(id int, at time.Time, brand, label string) *Input {
	return &Input{Platform: "weibo", ID: fmt.Sprint(id), CreatedAt: at, ObservedAt: at.Add(10 * time.Second), Brands: []string{brand}, Labels: []string{label},
		Text: fmt.Sprintf("post %d", id), Keywords: []string{"kw-" + label}}
}

// gen makes synthetic traffic.
type gen struct {
	r  *rand.Rand
	id int
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 7))} }

// stream is Poisson traffic for brand at perMin posts a minute over
// [from, to), negShare of it negative.
func (g *gen) stream(brand string, from, to time.Time, perMin, negShare float64) []*Input {
	var out []*Input
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		for n := poisson(g.r, perMin); n > 0; n-- {
			g.id++
			label := post.Neutral
			if g.r.Float64() < negShare {
				label = post.Negative
			}
			out = append(out, mkIn(g.id, t.Add(time.Duration(g.r.IntN(60))*time.Second), brand, label))
		}
	}
	return out
}

// burst is n posts with label spread over d from at.
func (g *gen) burst(brand string, at time.Time, d time.Duration, n int, label string) []*Input {
	var out []*Input
	for i := 0; i < n; i++ {
		g.id++
		out = append(out, mkIn(g.id, at.Add(time.Duration(i)*d/time.Duration(n)), brand, label))
	}
	return out
}

func poisson(r *rand.Rand, l float64) int {
	lim, k, p := math.Exp(-l), 0, 1.0
	for {
		p *= r.Float64()
		if p <= lim {
			return k
		}
		k++
	}
}

func merge(parts ...[]*Input) []*Input {
	var out []*Input
	for _, p := range parts {
		out = append(out, p...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

func run(e *Engine, ins []*Input) []*Alert {
	var out []*Alert
	for i, in := range ins {
		out = append(out, e.Observe(in, uint64(i+1))...)
	}
	return out
}

func states(as []*Alert) []string {
	var s []string
	for _, a := range as {
		s = append(s, a.State)
	}
	return s
}

const spikeRules = `
version: 1
rules:
  - name: negative_spike
    kind: negative_spike
    window: 10m
    min_count: 10
    min_ratio: 2
    min_z: 4
    cooldown: 1h
    severity: {min: 4, max: 10, low: 2, high: 20}
`

// A storm fires once, is updated while it grows and resolved when it is
// over; quiet brands stay quiet.
func TestSpikeFiresUpdatesResolves(t *testing.T) {
	e := mustEngine(t, mustRules(t, spikeRules))
	g := newGen(1)
	storm := t0.Add(3 * time.Hour)
	var growing []*Input
	for m := 0; m < 30; m++ {
		growing = append(growing, g.burst("a", storm.Add(time.Duration(m)*time.Minute), time.Minute, 1+m/2, post.Negative)...)
	}
	ins := merge(g.stream("a", t0, t0.Add(6*time.Hour), 2, 0.2), g.stream("b", t0, t0.Add(6*time.Hour), 2, 0.2), growing)
	got := run(e, ins)
	if len(got) < 3 {
		t.Fatalf("got %v", states(got))
	}
	first, last := got[0], got[len(got)-1]
	if first.State != StateFiring || last.State != StateResolved {
		t.Fatalf("states %v", states(got))
	}
	for i, a := range got {
		if a.Brand != "a" || a.ID != first.ID || a.Seq != i+1 {
			t.Errorf("message %d: %s %s seq %d", i, a.Brand, a.ID, a.Seq)
		}
		if i > 0 && i < len(got)-1 && (a.State != StateUpdate || a.Severity <= got[i-1].Severity) {
			t.Errorf("message %d is not an update to a higher severity: %s", i, a)
		}
	}
	if first.EventTime.Before(storm) || first.EventTime.After(storm.Add(10*time.Minute)) {
		t.Errorf("fired at %s, storm from %s", first.EventTime, storm)
	}
	if !last.EventTime.After(storm.Add(30*time.Minute)) || last.EventTime.After(storm.Add(55*time.Minute)) {
		t.Errorf("resolved at %s, storm %s–%s", last.EventTime, storm, storm.Add(30*time.Minute))
	}
	if first.Subject() != "iwom.alerts.a.negative_spike" || first.MsgID() != first.ID+"#1" {
		t.Errorf("subject %s msg id %s", first.Subject(), first.MsgID())
	}
	if len(first.SampleIDs) == 0 || len(first.SampleIDs) != len(first.SampleTexts) || len(first.TopKeywords) == 0 || first.TopKeywords[0] != "kw-negative" {
		t.Errorf("samples %v %v keywords %v", first.SampleIDs, first.SampleTexts, first.TopKeywords)
	}
	if first.Baselines == nil || first.Baselines.Windows == 0 || first.Ratio < 2 || first.Z < 4 {
		t.Errorf("baselines %+v ratio %g z %g", first.Baselines, first.Ratio, first.Z)
	}
}

// After an alert resolves, its cooldown holds back an equal storm but not
// a worse one, and a storm after the cooldown fires again.
func TestCooldown(t *testing.T) {
	e := mustEngine(t, mustRules(t, spikeRules))
	g := newGen(2)
	s1 := t0.Add(3 * time.Hour)
	s2 := s1.Add(40 * time.Minute)  // inside the cooldown, same size
	s3 := s2.Add(40 * time.Minute)  // inside the cooldown, much worse
	s4 := s3.Add(150 * time.Minute) // after the cooldown
	ins := merge(g.stream("a", t0, t0.Add(10*time.Hour), 2, 0.2),
		g.burst("a", s1, 5*time.Minute, 25, post.Negative),
		g.burst("a", s2, 5*time.Minute, 25, post.Negative),
		g.burst("a", s3, 5*time.Minute, 400, post.Negative),
		g.burst("a", s4, 5*time.Minute, 25, post.Negative))
	got := run(e, ins)
	var firings []time.Time
	for _, a := range got {
		if a.State == StateFiring {
			firings = append(firings, a.EventTime)
		}
	}
	if len(firings) != 3 {
		t.Fatalf("firings at %v, want 3 (s1, s3, s4)", firings)
	}
	for i, want := range []time.Time{s1, s3, s4} {
		if firings[i].Before(want) || firings[i].After(want.Add(10*time.Minute)) {
			t.Errorf("firing %d at %s, want after %s", i, firings[i], want)
		}
	}
	if e.Stats().Suppressed == 0 {
		t.Errorf("no breakout was suppressed")
	}
}

// Alerts below the quiet-hours severity are held and delivered as one
// digest when the quiet hours end; a severe one is delivered at once.
func TestQuietHoursDigest(t *testing.T) {
	rs := mustRules(t, `
version: 1
rules:
  - name: kw
    kind: keyword
    query: 投诉
    window: 10m
    min_count: 3
    resolve_after: 10m
    severity: {min: 3, max: 9, low: 3, high: 300}
    quiet_hours: {start: "23:00", end: "07:00", timezone: Asia/Shanghai, below: 6}
`)
	e := mustEngine(t, rs)
	g := newGen(3)
	kw := func(brand string, at time.Time, n int) []*Input {
		ins := g.burst(brand, at, 5*time.Minute, n, post.Negative)
		for _, in := range ins {
			in.Tokens = []string{brand, "投诉"}
		}
		return ins
	}
	// 02:00 and 03:00 CST (18:00, 19:00 UTC): small waves, held; 04:00
	// CST: a big one, sent at once. Quiet hours end at 07:00 CST = 23:00 UTC.
	night := time.Date(2026, 11, 19, 18, 0, 0, 0, time.UTC)
	ins := merge(g.stream("a", night.Add(-2*time.Hour), night.Add(7*time.Hour), 1, 0.1),
		kw("a", night, 4), kw("a", night.Add(time.Hour), 5), kw("b", night.Add(2*time.Hour), 200))
	got := run(e, ins)
	var live, digests []*Alert
	for _, a := range got {
		if a.State == StateDigest {
			digests = append(digests, a)
		} else {
			live = append(live, a)
		}
	}
	for _, a := range live {
		if a.Brand != "b" {
			t.Errorf("delivered during quiet hours: %s", a)
		}
	}
	if len(live) == 0 || live[0].State != StateFiring || live[0].Severity < 6 {
		t.Fatalf("the severe wave was not delivered at once: %v", live)
	}
	if len(digests) != 1 {
		t.Fatalf("%d digests, want 1", len(digests))
	}
	d := digests[0]
	if d.Brand != "a" || d.EventTime != time.Date(2026, 11, 19, 23, 0, 0, 0, time.UTC) || d.Rule != "kw" || d.Subject() != "iwom.alerts.a.kw" {
		t.Errorf("digest %s at %s", d, d.EventTime)
	}
	var fir, res int
	for _, it := range d.Items {
		switch it.State {
		case StateFiring:
			fir++
		case StateResolved:
			res++
		}
	}
	if fir != 2 || res != 2 {
		t.Errorf("digest items %+v: want 2 firing and 2 resolved", d.Items)
	}
}

// kol_mention: an author over min_followers (or verified of a listed type)
// posting with the filtered sentiment.
func TestKOLMention(t *testing.T) {
	rs := mustRules(t, `
version: 1
rules:
  - name: kol
    kind: kol_mention
    min_followers: 1000000
    verified_types: [1]
    sentiment: [negative]
    window: 1h
`)
	e := mustEngine(t, rs)
	at := t0.Add(2 * time.Hour)
	mk := func(id int, followers int64, verified bool, vtype int, label string) *Input {
		in := mkIn(id, at.Add(time.Duration(id)*time.Minute), "a", label)
		in.Followers, in.Verified, in.VerifiedType, in.AuthorName = followers, verified, vtype, fmt.Sprint("author", id)
		return in
	}
	ins := []*Input{
		mk(1, 5_000_000, true, 0, post.Positive), // big, but praising
		mk(2, 900_000, true, 0, post.Negative),   // under the bar
		mk(3, 3_000_000, false, -1, post.Negative),
		mk(4, 20_000, true, 1, post.Negative),     // a government account
		mk(5, 80_000_000, true, 0, post.Negative), // worse: an update
	}
	again := *ins[2]
	again.ObservedAt = again.ObservedAt.Add(20 * time.Minute)
	ins = append(ins, &again)
	got := run(e, ins)
	if len(got) != 2 || got[0].State != StateFiring || got[1].State != StateUpdate {
		t.Fatalf("got %v", got)
	}
	if got[0].Post == nil || got[0].Post.ID != "weibo:3" || got[1].Post.ID != "weibo:5" || got[1].Severity <= got[0].Severity {
		t.Errorf("posts %+v %+v", got[0].Post, got[1].Post)
	}
	if got[1].Total != 3 {
		t.Errorf("%d qualifying posts in the alert, want 3", got[1].Total)
	}
	// No qualifying post for an hour: resolved.
	out := e.Observe(mkIn(99, at.Add(3*time.Hour), "other", post.Neutral), 99)
	if len(out) != 1 || out[0].State != StateResolved {
		t.Errorf("not resolved: %v", out)
	}
}

// velocity: a post observed repeatedly whose reposts+comments take off
// fires once; slow growth and the first observation do not; repeated
// observations are not counted again in the volumes.
func TestVelocity(t *testing.T) {
	rs := mustRules(t, `
version: 1
rules:
  - name: viral
    kind: velocity
    min_growth: 3000
    min_relative: 1
    min_total: 2000
    track: 50
  - name: volume
    kind: volume_spike
    window: 10m
    min_count: 20
    min_ratio: 2
    min_z: 5
`)
	e := mustEngine(t, rs)
	created := t0.Add(5 * time.Hour)
	obs := func(id int, after time.Duration, eng int64) *Input {
		in := mkIn(id, created, "a", post.Negative)
		in.ObservedAt = created.Add(after)
		in.Reposts, in.Comments = eng*2/3, eng-eng*2/3
		return in
	}
	var ins []*Input
	g := newGen(4)
	ins = append(ins, g.stream("a", t0, created.Add(4*time.Hour), 1, 0.1)...)
	for k := 0; k <= 24; k++ {
		d := time.Duration(k) * 10 * time.Minute
		ins = append(ins, obs(1000001, d, int64(60000/(1+math.Exp(-(d.Minutes()-100)/25)))))
		ins = append(ins, obs(1000002, d, 5000+int64(k)*300)) // big but slow: +1800/h, 6%/h
	}
	sort.SliceStable(ins, func(i, j int) bool { return ins[i].ObservedAt.Before(ins[j].ObservedAt) })
	got := run(e, ins)
	var viral []*Alert
	for _, a := range got {
		if a.Rule == "volume" {
			t.Errorf("re-observations counted as volume: %s", a)
		}
		if a.Rule == "viral" {
			viral = append(viral, a)
		}
	}
	if len(viral) < 2 || viral[0].State != StateFiring || viral[0].Post == nil || viral[0].Post.ID != "weibo:1000001" {
		t.Fatalf("viral alerts %v", viral)
	}
	if viral[0].ID != "a:viral:weibo:1000001" || viral[0].Post.Observations < 2 {
		t.Errorf("id %s observations %d", viral[0].ID, viral[0].Post.Observations)
	}
	if d := viral[0].EventTime.Sub(created); d > time.Hour {
		t.Errorf("detected %s after the post", d)
	}
	if last := viral[len(viral)-1]; last.State != StateResolved {
		t.Errorf("viral alert not resolved once it slowed down: %v", states(viral))
	}
}

func TestNegativeRatio(t *testing.T) {
	rs := mustRules(t, `
version: 1
rules:
  - name: share
    kind: negative_ratio
    window: 1h
    min_count: 60
    min_share: 0.4
    resolve_after: 30m
`)
	e := mustEngine(t, rs)
	g := newGen(5)
	d0 := t0.Add(4 * time.Hour)
	ins := merge(g.stream("a", t0, d0, 2, 0.15), g.stream("a", d0, d0.Add(2*time.Hour), 2, 0.7), g.stream("a", d0.Add(2*time.Hour), d0.Add(5*time.Hour), 2, 0.15),
		g.stream("small", t0, d0.Add(5*time.Hour), 0.3, 0.7)) // mostly negative, too few posts
	got := run(e, ins)
	if len(got) < 2 || got[0].State != StateFiring || got[len(got)-1].State != StateResolved {
		t.Fatalf("got %v", got)
	}
	for _, a := range got {
		if a.Brand != "a" {
			t.Errorf("fired under min_count: %s", a)
		}
	}
	if got[0].Observed < 0.4 || got[0].Baseline > 0.3 || got[0].Total < 60 {
		t.Errorf("firing %+v", got[0])
	}
}

// Keyword rules match the query on the post's tokens: a crisis term inside
// another word (爆炸头 is a hairstyle) does not match.
func TestKeywordMatchesTokens(t *testing.T) {
	rs := mustRules(t, `
version: 1
rules:
  - name: kw
    kind: keyword
    query: '(爆炸 OR 召回) NOT 演习'
    brand_query: {b: '冰箱门 NEAR/2 坏'}
    window: 10m
    min_count: 3
`)
	e := mustEngine(t, rs)
	at := t0.Add(time.Hour)
	var ins []*Input
	add := func(brand string, tokens ...string) {
		in := mkIn(len(ins)+1, at.Add(time.Duration(len(ins))*time.Second), brand, post.Negative)
		in.Tokens = tokens
		ins = append(ins, in)
	}
	for i := 0; i < 5; i++ {
		add("a", "a", "新", "爆炸头", "好看")     // no
		add("a", "a", "消防", "演习", "爆炸")     // NOT
		add("b", "b", "冰箱门", "又", "坏", "了") // brand query
		add("b", "b", "冰箱", "爆炸")           // not b's query
	}
	add("a", "a", "冰箱", "爆炸")
	add("a", "a", "宣布", "召回")
	got := run(e, ins)
	if len(got) != 1 || got[0].Brand != "b" || got[0].Query != "冰箱门 NEAR/2 坏" || got[0].Observed != 3 {
		t.Fatalf("got %v", got)
	}
	add("a", "a", "电池", "爆炸")
	if got := e.Observe(ins[len(ins)-1], uint64(len(ins))); len(got) != 1 || got[0].Brand != "a" {
		t.Fatalf("third match for a: %v", got)
	}
}

// The engine is a function of its input: the same posts give the same
// alerts.
func TestDeterministic(t *testing.T) {
	rs, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	mk := func() []*Alert {
		g := newGen(6)
		storm := t0.Add(5 * time.Hour)
		return run(mustEngine(t, rs), merge(g.stream("a", t0, t0.Add(8*time.Hour), 5, 0.2), g.stream("b", t0, t0.Add(8*time.Hour), 3, 0.2),
			g.burst("a", storm, 20*time.Minute, 300, post.Negative)))
	}
	a, b := mk(), mk()
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs differ (%d and %d alerts)", len(a), len(b))
	}
}

// An engine restored from its stored state continues exactly as one that
// never stopped, and skips the inputs its state already includes.
func TestSnapshotRestore(t *testing.T) {
	rs, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	g := newGen(7)
	storm := t0.Add(5 * time.Hour)
	ins := merge(g.stream("a", t0, t0.Add(8*time.Hour), 5, 0.2), g.stream("b", t0, t0.Add(8*time.Hour), 3, 0.2),
		g.burst("a", storm, 20*time.Minute, 300, post.Negative))
	want := run(mustEngine(t, rs), ins)

	e1 := mustEngine(t, rs)
	cut := 0
	for i, in := range ins {
		if in.CreatedAt.After(storm.Add(5 * time.Minute)) {
			cut = i
			break
		}
	}
	var got []*Alert
	for i, in := range ins[:cut] {
		got = append(got, e1.Observe(in, uint64(i+1))...)
	}
	stored := map[string][]byte{}
	for _, b := range e1.DirtyBrands() {
		data, err := e1.EncodeBrand(b)
		if err != nil {
			t.Fatal(err)
		}
		stored[b] = data
	}
	meta, _ := e1.EncodeMeta(uint64(cut))
	e2 := mustEngine(t, rs)
	if _, err := e2.RestoreMeta(meta); err != nil {
		t.Fatal(err)
	}
	for _, data := range stored {
		if err := e2.RestoreBrand(data); err != nil {
			t.Fatal(err)
		}
	}
	// The redelivered tail of the batch is skipped: replay from cut-50.
	for i := cut - 50; i < len(ins); i++ {
		got = append(got, e2.Observe(ins[i], uint64(i+1))...)
	}
	if e2.Stats().Reobserved != 50 {
		t.Errorf("%d inputs counted before, want 50", e2.Stats().Reobserved)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("restored engine differs:\n got %v\nwant %v", got, want)
	}
}

// Engines fed per brand partition, with the watermark ticks the router
// sends, give the single engine's alerts.
func TestPartitionsEqualSingle(t *testing.T) {
	rs, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	g := newGen(8)
	var parts [][]*Input
	for i, b := range []string{"a", "b", "c", "d", "e"} {
		parts = append(parts, g.stream(b, t0, t0.Add(8*time.Hour), 3, 0.2), g.burst(b, t0.Add(time.Duration(3+i)*time.Hour), 20*time.Minute, 150, post.Negative))
	}
	ins := merge(parts...)
	want := run(mustEngine(t, rs), ins)
	const n = 3
	engines := make([]*Engine, n)
	for k := range engines {
		engines[k] = mustEngine(t, rs)
	}
	probe := mustEngine(t, rs)
	var got []*Alert
	maxSeen, tick := int64(math.MinInt64), int64(-1)
	for i, in := range ins {
		if ct := probe.eventTime(in); ct > maxSeen {
			maxSeen = ct
			if tk := probe.tickAt(ct); tk > tick {
				tick = tk
				for _, pe := range engines {
					got = append(got, pe.AdvanceTo(tick)...)
				}
			}
		}
		k := Partition(in.Brands[0], n)
		got = append(got, engines[k].Apply(in, uint64(i+1))...)
	}
	key := func(as []*Alert) []string {
		var out []string
		for _, a := range as {
			data, _ := json.Marshal(a)
			out = append(out, string(data))
		}
		sort.Strings(out)
		return out
	}
	if len(want) == 0 || !reflect.DeepEqual(key(got), key(want)) {
		t.Errorf("partitioned engines differ from the single one: %d vs %d alerts", len(got), len(want))
	}
}

// Hot reload: a changed threshold keeps the windows; a removed rule
// resolves its open alerts.
func TestSetRules(t *testing.T) {
	e := mustEngine(t, mustRules(t, spikeRules))
	g := newGen(9)
	storm := t0.Add(3 * time.Hour)
	got := run(e, merge(g.stream("a", t0, storm.Add(5*time.Minute), 2, 0.2), g.burst("a", storm, 5*time.Minute, 40, post.Negative)))
	if len(got) != 1 || got[0].State != StateFiring {
		t.Fatalf("got %v", got)
	}
	stricter := mustRules(t, spikeRules)
	stricter.Rules[0].MinZ = 5
	if out, err := e.SetRules(stricter); err != nil || len(out) != 0 {
		t.Fatalf("SetRules: %v %v", out, err)
	}
	if st := e.brands["a"].Rules["negative_spike"]; st == nil || len(st.Open) != 1 {
		t.Fatalf("the open alert was lost on reload")
	}
	out, err := e.SetRules(mustRules(t, "version: 1\nrules: []\n"))
	if err != nil || len(out) != 1 || out[0].State != StateResolved || out[0].ID != got[0].ID {
		t.Fatalf("removing the rule: %v %v", out, err)
	}
}

// A post from the far future (a wrong or hostile clock, created_at and
// ingested_at in 2099) neither blinds a brand nor stops resolution for the
// others: event times never pass the server's clock plus MaxSkew.
func TestFuturePostDoesNotMoveTheWatermark(t *testing.T) {
	rs, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	var now time.Time
	mk := func(poison bool) []*Alert {
		e, err := NewEngine(rs, Options{Slot: time.Minute, Lateness: 2 * time.Minute, Clock: func() time.Time { return t0 }, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		g := newGen(6)
		storm := t0.Add(5 * time.Hour)
		ins := merge(g.stream("a", t0, t0.Add(8*time.Hour), 5, 0.2), g.stream("b", t0, t0.Add(8*time.Hour), 3, 0.2),
			g.burst("a", storm, 20*time.Minute, 300, post.Negative))
		if poison {
			far := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
			bad := mkIn(999999, far, "a", post.Negative)
			bad.ObservedAt = far
			nobrand := mkIn(999998, far, "a", post.Neutral)
			nobrand.Brands, nobrand.Labels, nobrand.ObservedAt = nil, nil, far
			ins = append([]*Input{bad, nobrand}, ins...)
		}
		// Replayed as in real time: the server's clock follows the posts.
		now = t0
		var out []*Alert
		for i, in := range ins {
			if in.ObservedAt.Year() < 2099 {
				now = in.ObservedAt
			}
			out = append(out, e.Observe(in, uint64(i+1))...)
			if wm := e.Watermark(); wm.After(now) {
				t.Fatalf("watermark %s is past the server clock %s", wm, now)
			}
		}
		return out
	}
	clean, poisoned := mk(false), mk(true)
	count := func(as []*Alert, brand, state string) int {
		n := 0
		for _, a := range as {
			if a.Brand == brand && a.State == state {
				n++
			}
		}
		return n
	}
	if count(clean, "a", StateFiring) == 0 {
		t.Fatal("the scenario fires nothing for a")
	}
	for _, st := range []string{StateFiring, StateResolved} {
		if c, p := count(clean, "a", st), count(poisoned, "a", st); p < c {
			t.Errorf("brand a %s alerts: %d with a post from 2099 first, %d without", st, p, c)
		}
	}
}
