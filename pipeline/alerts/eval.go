package alerts

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// evalResult is one evaluation of a rule's condition.
type evalResult struct {
	breakout  bool
	measure   float64 // what the severity maps
	observed  float64
	baseline  float64
	ratio, z  float64
	threshold float64
	total     int
	negative  int
	winStart  int64 // unix seconds
	winEnd    int64
	baselines *Baselines
	metricNeg bool // samples: negative posts only
	post      *PostRef
	kol       *recentPost
	// spikes: the baseline behind ratio and z
	expected, sigma float64
	nwin            int
}

// spike evaluates a volume or negative spike for the window ending at slot
// end.
func (e *Engine) spike(r *Rule, bs *brandState, st *ruleState, end int64) evalResult {
	k := e.slots(r.Window.D())
	neg := r.Kind == KindNegativeSpike
	t, n := bs.Slots.sum(end, k)
	obs := t
	if neg {
		obs = n
	}
	res := evalResult{observed: float64(obs), total: t, negative: n, metricNeg: neg,
		winStart: (end - int64(k) + 1) * e.slot, winEnd: (end + 1) * e.slot, threshold: r.MinRatio}
	c := e.baseline(r, bs, st, end, k, neg)
	bl := c.baselines
	res.baselines = &bl
	expected, sigma, nwin := c.expected, c.sigma, c.nwin
	if inc := st.Open[""]; inc != nil && inc.BaseN > 0 && res.winEnd-inc.FirstSeen < int64(r.Baseline.Windows)*int64(k)*e.slot {
		// While an incident is open its pre-incident baseline holds, so
		// that the storm does not become its own norm (until it has lasted
		// as long as the baseline looks back: then it is the new normal).
		expected, sigma, nwin = inc.Base, inc.Sigma, inc.BaseN
	} else if !c.history {
		res.baseline = round2(expected)
		return res
	}
	res.expected, res.sigma, res.nwin = expected, sigma, nwin
	res.baseline = round2(expected)
	res.ratio = float64(obs) / math.Max(expected, 1)
	res.z = zScore(float64(obs), expected, sigma, nwin)
	res.measure = res.ratio
	res.breakout = obs >= r.MinCount && (r.MinRatio == 0 || res.ratio >= r.MinRatio) && (r.MinZ == 0 || res.z >= r.MinZ)
	res.ratio, res.z = round2(res.ratio), round2(res.z)
	return res
}

// baseline computes (or returns the cached) expected count of a spike rule
// for the window ending at end: the larger of the recent baseline (median
// of the previous windows, or their EWMA) and the seasonal one (the median
// of the same hour over the past days that history covers); before there is
// seasonal history, the larger of the recent baseline and the level of the
// last few windows.
func (e *Engine) baseline(r *Rule, bs *brandState, st *ruleState, end int64, k int, neg bool) *baselineCache {
	c := &st.cache
	if c.ok && c.end == end && c.late == bs.late {
		return c
	}
	*c = baselineCache{ok: true, end: end, late: bs.late}
	b := r.Baseline
	pick := func(t, n int) float64 {
		if neg {
			return float64(n)
		}
		return float64(t)
	}
	var recent, spread float64
	nwin := 0
	if b.Method == "ewma" {
		e.feedEWMA(r, bs, st, end, k, neg)
		recent, spread, nwin = st.EwMean, math.Sqrt(st.EwVar), st.EwN
	} else {
		vals := e.scratch[:0]
		for j := 1; j <= b.Windows; j++ {
			we := end - int64(j*k)
			if we-int64(k)+1 < bs.First {
				break
			}
			vals = append(vals, pick(bs.Slots.sum(we, k)))
		}
		e.scratch = vals
		nwin = len(vals)
		if nwin > 0 {
			var mad float64
			recent, mad = medianMAD(vals, &e.scratch2)
			spread = 1.4826 * mad
		}
	}
	c.nwin = nwin
	c.history = nwin > 0 && (end-bs.First+1)*e.slot >= int64(b.MinHistory.D()/time.Second)
	c.baselines = Baselines{Recent: round2(recent), Windows: nwin}
	expected := recent
	if *b.Seasonal {
		w := int64(k) * e.slot
		vals := e.scratch[:0]
		for d := int64(1); d <= 7; d++ {
			center := (end+1)*e.slot - w/2 - d*86400
			h := floorDiv(center, 3600)
			if (h-1)*3600 < bs.First*e.slot {
				continue
			}
			a := pick(hour(bs.Hours, h-1))
			m := pick(hour(bs.Hours, h))
			z := pick(hour(bs.Hours, h+1))
			v := (a + 2*m + z) / 4 * float64(w) / 3600
			vals = append(vals, v)
			vv := round2(v)
			switch d {
			case 1:
				c.baselines.Yesterday = &vv
			case 7:
				c.baselines.LastWeek = &vv
			}
		}
		e.scratch = vals
		if len(vals) > 0 {
			s, _ := medianMAD(vals, &e.scratch2)
			sv := round2(s)
			c.baselines.Seasonal = &sv
			if s > expected {
				expected = s
			}
		}
	}
	if l := *b.Level; l > 0 && c.baselines.Seasonal == nil {
		// No seasonal history yet (the first day): guard against the daily
		// ramp with the level of the last few windows.
		var sum float64
		n := 0
		for j := 1; j <= l; j++ {
			we := end - int64(j*k)
			if we-int64(k)+1 < bs.First {
				break
			}
			sum += pick(bs.Slots.sum(we, k))
			n++
		}
		if n > 0 {
			lv := round2(sum / float64(n))
			c.baselines.Level = &lv
			expected = math.Max(expected, sum/float64(n))
		}
	}
	c.expected = expected
	c.sigma = math.Max(spread, math.Sqrt(math.Max(expected, 1)))
	c.baselines.Spread = round2(c.sigma)
	return c
}

func hour(r ring, h int64) (int, int) {
	t, n := r.get(h)
	return int(t), int(n)
}

// feedEWMA brings the EWMA of the window count up to the window ending
// just before the current one. While an incident is open the baseline is
// frozen, so that the storm does not become the norm.
func (e *Engine) feedEWMA(r *Rule, bs *brandState, st *ruleState, end int64, k int, neg bool) {
	last := end - int64(k)
	from := st.EwSlot + 1
	if st.EwN == 0 || from < bs.First+int64(k)-1 {
		from = max(from, bs.First+int64(k)-1)
	}
	if from > last {
		return
	}
	bs.dirty = true
	if len(st.Open) > 0 {
		st.EwSlot = last
		return
	}
	if last-from > int64(e.ringLen) {
		from = last - int64(e.ringLen)
	}
	a := 1 - math.Pow(1-r.Baseline.Alpha, 1/float64(k))
	for j := from; j <= last; j++ {
		t, n := bs.Slots.sum(j, k)
		x := float64(t)
		if neg {
			x = float64(n)
		}
		if st.EwN == 0 {
			st.EwMean, st.EwVar = x, x
		} else {
			d := x - st.EwMean
			st.EwMean += a * d
			st.EwVar = (1 - a) * (st.EwVar + a*d*d)
		}
		st.EwN++
	}
	st.EwSlot = last
}

// zScore measures how far obs is above expected. Counts are Poisson-like,
// so the normal score comes from Anscombe's variance-stabilising transform,
// 2(√(x+3/8) − √(λ+3/8)), which stays honest for small counts where
// (x−λ)/√λ would fire on noise; when the previous windows vary more than a
// Poisson count would (spread), the plain score against that spread is used
// if it is smaller.
//
// The expected value is itself estimated from n previous windows, so the
// score is shrunk by the prediction error of that estimate (a median of n
// Poisson counts has about π/2 the variance of their mean).
func zScore(obs, expected, spread float64, n int) float64 {
	z := 2 * (math.Sqrt(obs+0.375) - math.Sqrt(expected+0.375))
	if n > 0 {
		z /= math.Sqrt(1 + math.Pi/2/float64(n))
	}
	if spread > math.Sqrt(math.Max(expected, 1)) {
		z = math.Min(z, (obs-expected)/spread)
	}
	return z
}

// medianMAD returns the median of vals and the median absolute deviation.
func medianMAD(vals []float64, scratch *[]float64) (float64, float64) {
	s := append((*scratch)[:0], vals...)
	sort.Float64s(s)
	med := median(s)
	for i := range s {
		s[i] = math.Abs(s[i] - med)
	}
	sort.Float64s(s)
	mad := median(s)
	*scratch = s
	return med, mad
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// ratio evaluates the negative share of the window ending at end.
func (e *Engine) ratio(r *Rule, bs *brandState, end int64) evalResult {
	k := e.slots(r.Window.D())
	t, n := bs.Slots.sum(end, k)
	res := evalResult{total: t, negative: n, metricNeg: true, threshold: r.MinShare,
		winStart: (end - int64(k) + 1) * e.slot, winEnd: (end + 1) * e.slot}
	if t > 0 {
		res.observed = round3(float64(n) / float64(t))
	}
	// The brand's usual share: the 24 hours before the window.
	h0 := floorDiv(res.winStart, 3600) - 1
	var bt, bn int
	for h := h0 - 23; h <= h0; h++ {
		a, b := hour(bs.Hours, h)
		bt += a
		bn += b
	}
	if bt > 0 {
		res.baseline = round3(float64(bn) / float64(bt))
	}
	res.measure = res.observed
	res.ratio = round2(res.observed / r.MinShare)
	res.breakout = t >= r.MinCount && res.observed >= r.MinShare
	return res
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// keyword evaluates a keyword rule: matching posts in the window ending at
// end.
func (e *Engine) keyword(r *Rule, bs *brandState, st *ruleState, end int64) evalResult {
	k := e.slots(r.Window.D())
	_, m := st.Kw.sum(end, k)
	t, n := bs.Slots.sum(end, k)
	res := evalResult{observed: float64(m), total: t, negative: n, baseline: float64(r.MinCount), threshold: float64(r.MinCount),
		winStart: (end - int64(k) + 1) * e.slot, winEnd: (end + 1) * e.slot, measure: float64(m)}
	res.ratio = round2(float64(m) / float64(r.MinCount))
	res.breakout = m >= r.MinCount
	return res
}

// hit handles a breakout of rule r for a brand (key: the post of a velocity
// alert, else ""): it opens an incident (firing) unless a cooldown holds it
// back, or updates the open one when it has worsened.
func (e *Engine) hit(r *Rule, bs *brandState, st *ruleState, key string, t int64, res *evalResult, out []*Alert) []*Alert {
	bs.dirty = true
	sev := severity(r, res.measure)
	inc := st.Open[key]
	if res.kol != nil {
		st.Done[res.kol.Key] = t + 86400
	}
	if inc == nil {
		if r.Kind != KindVelocity && t < st.CooldownUntil && !escalates(sev, st.LastPeak, r.Severity.Max) {
			e.stats.Suppressed++
			return out
		}
		inc = &incident{Seq: 1, FirstSeen: t, LastEvent: t, LastUpdate: t, LastHit: t, Severity: sev, Peak: sev, PeakObs: res.observed, Post: res.post,
			Base: res.expected, Sigma: res.sigma, BaseN: res.nwin}
		switch r.Kind {
		case KindVelocity:
			inc.ID = fmt.Sprintf("%s:%s:%s", bs.Brand, r.Name, key)
		default:
			// The id names the window-aligned start, so that posts applied
			// in a slightly different order (a batch redelivered after a
			// crash) give the same id, and the stream drops the copy.
			w := int64(r.Window.D() / time.Second)
			anchor := floorDiv(res.winStart, w) * w
			inc.ID = fmt.Sprintf("%s:%s:%d", bs.Brand, r.Name, anchor)
			if anchor == st.LastAnchor {
				// A second alert in the same window (no cooldown).
				st.LastN++
				inc.ID += "-" + strconv.Itoa(st.LastN+1)
			} else {
				st.LastAnchor, st.LastN = anchor, 0
			}
		}
		if res.kol != nil {
			inc.Posts = append(inc.Posts, *res.kol)
			inc.Count = 1
		}
		inc.Held = r.QuietHours != nil && sev < r.QuietHours.Below && inQuiet(r, t)
		st.Open[key] = inc
		return e.emit(st, inc, e.alert(r, bs, st, inc, StateFiring, t, res), out)
	}
	inc.LastHit = t
	inc.QuietSince = 0
	if t > inc.LastEvent {
		inc.LastEvent = t
	}
	if res.post != nil {
		inc.Post = res.post
	}
	if res.kol != nil {
		inc.Count++
		inc.Posts = append(inc.Posts, *res.kol)
		if len(inc.Posts) > 5 {
			inc.Posts = inc.Posts[len(inc.Posts)-5:]
		}
	}
	if res.observed > inc.PeakObs {
		inc.PeakObs = res.observed
	}
	if sev > inc.Peak {
		inc.Peak = sev
	}
	if inc.Held && sev >= r.QuietHours.Below {
		// Severe enough to wake people: deliver it now (and not again in
		// the digest).
		inc.Held = false
		kept := st.Held[:0]
		for _, it := range st.Held {
			if it.ID != inc.ID {
				kept = append(kept, it)
			}
		}
		st.Held = kept
		inc.Seq++
		inc.Severity, inc.LastUpdate = sev, t
		return e.emit(st, inc, e.alert(r, bs, st, inc, StateFiring, t, res), out)
	}
	if sev > inc.Severity {
		if t-inc.LastUpdate >= int64(r.UpdateEvery.D()/time.Second) {
			inc.Seq++
			inc.Severity, inc.LastUpdate, inc.Pending = sev, t, 0
			return e.emit(st, inc, e.alert(r, bs, st, inc, StateUpdate, t, res), out)
		}
		// Too soon after the last message: the end-of-slot work sends it
		// once update_every has passed.
		inc.Pending = max(inc.Pending, sev)
	}
	return out
}

// escalates reports whether a breakout of severity sev inside a cooldown is
// worse enough than the last alert's peak to be announced: two levels
// more, or the top of the scale.
func escalates(sev, lastPeak, top int) bool {
	return sev > lastPeak && (sev >= lastPeak+2 || sev == top)
}

// resolve closes an incident.
func (e *Engine) resolve(r *Rule, bs *brandState, st *ruleState, key string, inc *incident, tt int64, res *evalResult, out []*Alert) []*Alert {
	bs.dirty = true
	inc.Seq++
	a := e.alert(r, bs, st, inc, StateResolved, tt, res)
	out = e.emit(st, inc, a, out)
	delete(st.Open, key)
	cool := int64(r.Cooldown.D() / time.Second)
	if r.Kind == KindVelocity {
		st.Done[key] = tt + max(cool, int64(r.Window.D()/time.Second))
		return out
	}
	st.CooldownUntil = tt + cool
	st.LastPeak = inc.Peak
	return out
}

func (e *Engine) emit(st *ruleState, inc *incident, a *Alert, out []*Alert) []*Alert {
	if inc.Held {
		a.Held = true
		item := &DigestItem{ID: a.ID, Seq: a.Seq, State: a.State, Severity: a.Severity, EventTime: a.EventTime, Observed: a.Observed, Baseline: a.Baseline}
		if len(a.SampleTexts) > 0 {
			item.Sample = a.SampleTexts[0]
		}
		st.Held = append(st.Held, item)
		e.stats.Held++
		return out
	}
	e.stats.Emitted++
	return append(out, a)
}

// digest sends the messages held during quiet hours as one alert.
func (e *Engine) digest(r *Rule, bs *brandState, st *ruleState, tt int64, out []*Alert) []*Alert {
	bs.dirty = true
	items := st.Held
	st.Held = nil
	for _, inc := range st.Open {
		inc.Held = false
	}
	a := &Alert{Version: SchemaVersion, ID: fmt.Sprintf("%s:%s:digest:%d", bs.Brand, r.Name, tt), Seq: 1, Rule: r.Name, Kind: r.Kind,
		Brand: bs.Brand, State: StateDigest, WindowStart: items[0].EventTime, WindowEnd: unix(tt), FirstSeen: items[0].EventTime,
		EventTime: unix(tt), Items: items, TopKeywords: []string{}, Samples: []Sample{}, SampleIDs: []string{}, SampleTexts: []string{},
		EmittedAt: e.opts.Clock().UTC()}
	for _, it := range items {
		a.Severity = max(a.Severity, it.Severity)
		if it.State == StateFiring {
			a.Observed++
		}
		if it.Sample != "" && len(a.SampleTexts) < r.Samples {
			a.SampleTexts = append(a.SampleTexts, it.Sample)
		}
	}
	a.PeakSeverity = a.Severity
	e.stats.Emitted++
	return append(out, a)
}

func unix(t int64) time.Time { return time.Unix(t, 0).UTC() }

// alert builds the message for an incident.
func (e *Engine) alert(r *Rule, bs *brandState, st *ruleState, inc *incident, state string, t int64, res *evalResult) *Alert {
	a := &Alert{Version: SchemaVersion, ID: inc.ID, Seq: inc.Seq, Rule: r.Name, Kind: r.Kind, Brand: bs.Brand, State: state,
		Severity: inc.Severity, PeakSeverity: inc.Peak, FirstSeen: unix(inc.FirstSeen), EventTime: unix(t),
		EmittedAt: e.opts.Clock().UTC()}
	var pool []recentPost
	if res != nil {
		a.Observed, a.Baseline, a.Ratio, a.Z, a.Threshold = res.observed, res.baseline, res.ratio, res.z, res.threshold
		a.Total, a.Negative, a.Baselines = res.total, res.negative, res.baselines
		a.WindowStart, a.WindowEnd = unix(res.winStart), unix(res.winEnd)
		switch r.Kind {
		case KindVolumeSpike, KindNegativeSpike, KindNegativeRatio:
			pool = inWindow(bs.Recent, res.winStart, res.winEnd, res.metricNeg)
		case KindKeyword:
			pool = inWindow(st.KwRecent, res.winStart, res.winEnd, false)
		}
	} else {
		a.WindowStart, a.WindowEnd = unix(inc.FirstSeen), unix(t)
		a.Observed = inc.PeakObs
	}
	switch r.Kind {
	case KindKOLMention:
		pool = inc.Posts
		a.Post = inc.Post
		a.Observed = float64(inc.Post.Followers)
		a.Total = inc.Count
		a.Threshold, a.Baseline = float64(r.MinFollowers), float64(r.MinFollowers)
	case KindVelocity:
		a.Post = inc.Post
		if res == nil {
			a.Threshold, a.Baseline = r.MinGrowth, r.MinGrowth
		}
	case KindKeyword:
		a.Query = r.Query
		if q, ok := r.BrandQuery[bs.Brand]; ok {
			a.Query = q
		}
	}
	a.TopKeywords = topKeywords(pool, 5)
	a.Samples = samples(pool, r.Samples)
	if a.Post != nil && len(a.Samples) == 0 && r.Samples > 0 {
		a.Samples = []Sample{{ID: a.Post.ID, Text: a.Post.Text, CreatedAt: a.Post.CreatedAt, Author: a.Post.AuthorName, Followers: a.Post.Followers}}
	}
	a.SampleIDs = make([]string, len(a.Samples))
	a.SampleTexts = make([]string, len(a.Samples))
	for i, s := range a.Samples {
		a.SampleIDs[i], a.SampleTexts[i] = s.ID, s.Text
	}
	return a
}

func inWindow(q []recentPost, from, to int64, negOnly bool) []recentPost {
	var out []recentPost
	for _, p := range q {
		if p.Created >= from && p.Created < to && (!negOnly || p.Neg) {
			out = append(out, p)
		}
	}
	return out
}

// topKeywords are the most frequent keywords of the posts, most frequent
// first (ties alphabetical).
func topKeywords(pool []recentPost, n int) []string {
	counts := map[string]int{}
	for _, p := range pool {
		for _, k := range p.Keywords {
			counts[k]++
		}
	}
	out := make([]string, 0, len(counts))
	for k := range counts {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if counts[out[i]] != counts[out[j]] {
			return counts[out[i]] > counts[out[j]]
		}
		return out[i] < out[j]
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// samples picks the most engaging posts (then the earliest).
func samples(pool []recentPost, n int) []Sample {
	s := append([]recentPost(nil), pool...)
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].Eng != s[j].Eng {
			return s[i].Eng > s[j].Eng
		}
		if s[i].Created != s[j].Created {
			return s[i].Created < s[j].Created
		}
		return s[i].Key < s[j].Key
	})
	// Different texts first, so that a storm of copies shows its variety.
	seen, texts := map[string]bool{}, map[string]bool{}
	out := []Sample{}
	for pass := 0; pass < 2; pass++ {
		for _, p := range s {
			if len(out) >= n {
				break
			}
			if seen[p.Key] || pass == 0 && texts[p.Text] {
				continue
			}
			seen[p.Key], texts[p.Text] = true, true
			out = append(out, Sample{ID: p.Key, Text: p.Text, CreatedAt: unix(p.Created), Author: p.Author, Followers: p.Followers})
		}
	}
	return out
}
