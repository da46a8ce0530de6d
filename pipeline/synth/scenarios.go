package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

// Alert-evaluation scenarios: background traffic with daily and weekly
// seasonality for the watch-list brands, and injected incidents whose truth
// (Truth.Incidents) `iwomlab eval alerts` scores the alert rules against. Their
// volumes and lengths are part of their definition (Options.Count and Span
// are ignored); End places them in time.
const (
	ScenarioSpikes = "spikes" // volume and negative spikes of several sizes, and a complaint wave (2 days)
	ScenarioDrift  = "drift"  // a slow-burn rise of the negative share (1 day)
	ScenarioViral  = "viral"  // a post observed repeatedly with growing reposts/comments (1 day)
	ScenarioKOL    = "kol"    // negative mentions by top-tier accounts (1 day)
	ScenarioNoise  = "noise"  // 8 days of seasonal traffic and nothing else
)

// EvalScenarios lists the evaluation scenarios.
var EvalScenarios = []string{ScenarioSpikes, ScenarioDrift, ScenarioViral, ScenarioKOL, ScenarioNoise}

// Incident kinds.
const (
	IncidentVolumeSpike   = "volume_spike"   // more posts than usual (× Magnitude)
	IncidentNegativeSpike = "negative_spike" // more negative posts than usual (× Magnitude)
	IncidentNegativeDrift = "negative_drift" // the negative share rises slowly (to × Magnitude)
	IncidentComplaintWave = "complaint_wave" // posts with crisis terms (投诉) about the brand
	IncidentKOL           = "kol_mention"    // a negative post by a top-tier account
	IncidentViral         = "viral"          // one post's reposts and comments take off
)

// Incident is an injected event, for scoring alerts.
type Incident struct {
	Kind  string    `json:"kind"`
	Brand string    `json:"brand"`
	Start time.Time `json:"start"` // when it begins (a drift: when its share reaches twice the usual)
	End   time.Time `json:"end"`
	// Magnitude: the rate during the incident over the usual rate at that
	// hour (spikes), or the peak negative share over the usual one (drift);
	// 0 for single-post incidents.
	Magnitude float64 `json:"magnitude,omitempty"`
	Posts     int     `json:"posts"`             // posts (or observations) injected
	PostID    string  `json:"post_id,omitempty"` // kol_mention, viral: <platform>:<id>
	Note      string  `json:"note,omitempty"`
}

func isEvalScenario(s string) bool {
	for _, x := range EvalScenarios {
		if x == s {
			return true
		}
	}
	return false
}

// scenarioSpan is how long each evaluation scenario lasts.
func scenarioSpan(s string) time.Duration {
	switch s {
	case ScenarioNoise:
		return 8 * 24 * time.Hour
	case ScenarioSpikes:
		return 48 * time.Hour
	}
	return 24 * time.Hour
}

// usualNegShare is the negative share of background traffic (one template
// label in six is negative).
const usualNegShare = 1.0 / 6

// Background volumes, posts per day on average.
var evalVolumes = map[string]float64{
	"tmall": 7000, "taobao": 6000, "alipay": 5000, "weibo": 4000, "cmb": 4000, "cocacola": 3000,
	"csair": 2000, "siemens": 1500, "nike": 1200, "dell": 800, "intel": 600, "durex": 400, "xerox": 150,
}

// noiseScale shrinks the noise scenario's volumes (it lasts 8 days);
// sideScale the brands a scenario's incidents do not need at full volume.
const (
	noiseScale = 0.35
	sideScale  = 0.3
)

// dayProfile is the relative volume per local hour (Asia/Shanghai): quiet
// before dawn, busy in the evening; interpolated between hours.
var dayProfile = [24]float64{0.9, 0.6, 0.4, 0.25, 0.2, 0.2, 0.3, 0.55, 0.9, 1.1, 1.2, 1.25, 1.35, 1.2, 1.1, 1.1, 1.15, 1.2, 1.3, 1.45, 1.6, 1.75, 1.7, 1.3}

var cst = time.FixedZone("CST", 8*3600)

// seasonal is the relative volume at t: the daily profile times the weekly
// one (weekends ×1.25).
func seasonal(t time.Time) float64 {
	lt := t.In(cst)
	h := float64(lt.Hour()) + float64(lt.Minute())/60
	i := int(h) % 24
	f := h - math.Floor(h)
	d := dayProfile[i]*(1-f) + dayProfile[(i+1)%24]*f
	var mean float64
	for _, v := range dayProfile {
		mean += v
	}
	d /= mean / 24
	switch lt.Weekday() {
	case time.Saturday, time.Sunday:
		return d * 1.25
	}
	return d * 0.9
}

// evalPlan is one post of an evaluation scenario.
type evalPlan struct {
	at        time.Time
	brand     string
	label     string
	tpl       string // fixed template, or "" to draw by label
	author    *post.Author
	incident  int // index+1 into the incidents, 0 for background
	engage    int64
	reobserve []reobs // later observations of the same post
}

type reobs struct {
	after time.Duration
	eng   int64
}

// evalAll generates an evaluation scenario.
func (g *Generator) evalAll() []*post.Post {
	span := scenarioSpan(g.opts.Scenario)
	g.truth.Start = g.opts.End.Add(-span)
	start := g.truth.Start
	rng := g.rng
	scale := func(brand string) float64 {
		switch g.opts.Scenario {
		case ScenarioNoise:
			return noiseScale
		case ScenarioSpikes:
			return 1
		case ScenarioDrift:
			if brand == "cmb" {
				return 1
			}
		}
		return sideScale
	}
	var plans []evalPlan
	// Background: a Poisson number of posts per minute at the seasonal rate.
	ids := make([]string, 0, len(g.wl.Brands))
	for _, b := range g.wl.Brands {
		if evalVolumes[b.ID] > 0 {
			ids = append(ids, b.ID)
		}
	}
	for _, b := range ids {
		perMin := evalVolumes[b] * scale(b) / 1440
		for t := start; t.Before(g.opts.End); t = t.Add(time.Minute) {
			n := poisson(rng, perMin*seasonal(t))
			for k := 0; k < n; k++ {
				at := t.Add(time.Duration(rng.Int64N(int64(time.Minute))))
				plans = append(plans, evalPlan{at: at, brand: b, label: backgroundLabel(rng)})
			}
		}
	}
	var incs []Incident
	day := func(d int, hh, mm int) time.Time {
		// Local (CST) clock time on the scenario's day d (0-based).
		s := start.In(cst)
		base := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, cst)
		return base.AddDate(0, 0, d).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute).UTC()
	}
	spike := func(kind, brand string, at time.Time, dur time.Duration, m float64, negOnly bool) {
		idx := len(incs) + 1
		n := 0
		perMin := evalVolumes[brand] * scale(brand) / 1440
		if negOnly {
			perMin *= usualNegShare
		}
		for t := at; t.Before(at.Add(dur)); t = t.Add(time.Minute) {
			c := poisson(rng, (m-1)*perMin*seasonal(t))
			for k := 0; k < c; k++ {
				label := post.Negative
				if !negOnly {
					label = []string{post.Positive, post.Positive, post.Neutral}[rng.IntN(3)]
				}
				plans = append(plans, evalPlan{at: t.Add(time.Duration(rng.Int64N(int64(time.Minute)))), brand: brand, label: label, incident: idx})
				n++
			}
		}
		incs = append(incs, Incident{Kind: kind, Brand: brand, Start: at, End: at.Add(dur), Magnitude: m, Posts: n})
	}
	switch g.opts.Scenario {
	case ScenarioSpikes:
		spike(IncidentVolumeSpike, "tmall", day(1, 10, 0), 30*time.Minute, 10, false)
		spike(IncidentVolumeSpike, "taobao", day(1, 14, 30), 40*time.Minute, 5, false)
		spike(IncidentVolumeSpike, "alipay", day(1, 20, 0), 40*time.Minute, 3, false)
		spike(IncidentVolumeSpike, "cocacola", day(0, 11, 0), 40*time.Minute, 3, false)
		spike(IncidentVolumeSpike, "weibo", day(1, 16, 0), 40*time.Minute, 2, false)
		spike(IncidentNegativeSpike, "cmb", day(0, 9, 30), 30*time.Minute, 20, true)
		spike(IncidentNegativeSpike, "alipay", day(1, 13, 0), 30*time.Minute, 10, true)
		spike(IncidentNegativeSpike, "taobao", day(0, 19, 0), 30*time.Minute, 5, true)
		spike(IncidentNegativeSpike, "csair", day(0, 21, 0), 30*time.Minute, 5, true)
		spike(IncidentNegativeSpike, "tmall", day(1, 22, 0), 40*time.Minute, 3, true)
		spike(IncidentNegativeSpike, "taobao", day(1, 21, 0), 40*time.Minute, 3, true)
		spike(IncidentNegativeSpike, "alipay", day(0, 20, 30), 40*time.Minute, 3, true)
		spike(IncidentNegativeSpike, "cocacola", day(1, 15, 0), 40*time.Minute, 2, true)
		// A complaint wave: few posts, each naming 投诉.
		at := day(1, 17, 0)
		idx := len(incs) + 1
		n := 45
		for k := 0; k < n; k++ {
			plans = append(plans, evalPlan{at: at.Add(time.Duration(rng.Int64N(int64(25 * time.Minute)))), brand: "csair", label: post.Negative, tpl: negativeTemplates[1], incident: idx})
		}
		incs = append(incs, Incident{Kind: IncidentComplaintWave, Brand: "csair", Start: at, End: at.Add(25 * time.Minute), Posts: n, Note: "posts naming 投诉"})
	case ScenarioDrift:
		// cmb's negative share climbs from 1/6 to 0.6 over 3 hours, holds 2
		// hours and falls back in one; the volume does not change.
		rampStart := day(0, 10, 0)
		ramp, hold, fall := 3*time.Hour, 2*time.Hour, time.Hour
		share := func(t time.Time) float64 {
			d := t.Sub(rampStart)
			switch {
			case d < 0 || d >= ramp+hold+fall:
				return usualNegShare
			case d < ramp:
				return usualNegShare + (0.6-usualNegShare)*float64(d)/float64(ramp)
			case d < ramp+hold:
				return 0.6
			default:
				return 0.6 - (0.6-usualNegShare)*float64(d-ramp-hold)/float64(fall)
			}
		}
		n := 0
		for i := range plans {
			p := &plans[i]
			if p.brand != "cmb" {
				continue
			}
			if s := share(p.at); s > usualNegShare {
				// Redraw the label with the drifted share.
				if rng.Float64() < s {
					p.label = post.Negative
				} else {
					p.label = []string{post.Positive, post.Neutral, post.Neutral}[rng.IntN(3)]
				}
				p.incident = 1
				n++
			}
		}
		// The incident starts when the share reaches twice the usual one.
		onset := rampStart.Add(time.Duration(float64(ramp) * (usualNegShare) / (0.6 - usualNegShare)))
		incs = append(incs, Incident{Kind: IncidentNegativeDrift, Brand: "cmb", Start: onset, End: rampStart.Add(ramp + hold + fall),
			Magnitude: math.Round(0.6/usualNegShare*10) / 10, Posts: n, Note: "ramp from " + rampStart.Format(time.RFC3339)})
	case ScenarioViral:
		// One ordinary author's post about nike takes off: observed every
		// 10 minutes for 5 hours, reposts + comments follow a logistic curve
		// to 60,000.
		at := day(0, 12, 7)
		a := g.authors[7]
		a.Followers = 3200
		final, mid, width := 60000.0, 100*time.Minute, 25*time.Minute
		var obs []reobs
		for d := 10 * time.Minute; d <= 5*time.Hour; d += 10 * time.Minute {
			e := final / (1 + math.Exp(-float64(d-mid)/float64(width)))
			obs = append(obs, reobs{after: d, eng: int64(e)})
		}
		first := int64(final / (1 + math.Exp(float64(mid)/float64(width))))
		plans = append(plans, evalPlan{at: at, brand: "nike", label: post.Negative, author: &a, engage: first, reobserve: obs, incident: 1})
		incs = append(incs, Incident{Kind: IncidentViral, Brand: "nike", Start: at, End: at.Add(5 * time.Hour), Posts: len(obs) + 1, Note: "logistic growth to 60000 reposts+comments"})
	case ScenarioKOL:
		kols := []struct {
			brand     string
			at        time.Time
			name      string
			followers int64
			vtype     int
			note      string
		}{
			{"dell", day(0, 11, 20), "新闻头条", 120_000_000, 3, "national media, 120M followers"},
			{"durex", day(0, 15, 40), "市场监管", 2_300_000, 1, "a government account (verified_type 1)"},
			{"cocacola", day(0, 21, 10), "明星工作室", 65_000_000, 0, "a celebrity, 65M followers"},
		}
		for i, k := range kols {
			a := post.Author{ID: strconv.Itoa(900_000_000 + i), Name: k.name, Followers: k.followers, Verified: true, VerifiedType: k.vtype, Location: "北京"}
			plans = append(plans, evalPlan{at: k.at, brand: k.brand, label: post.Negative, author: &a, incident: len(incs) + 1, engage: k.followers / 2000})
			incs = append(incs, Incident{Kind: IncidentKOL, Brand: k.brand, Start: k.at, End: k.at.Add(time.Hour), Posts: 1, Note: k.note})
		}
		// Top-tier accounts that praise brands are not incidents.
		fan := post.Author{ID: "900000100", Name: "超级明星", Followers: 88_000_000, Verified: true, VerifiedType: 0, Location: "上海"}
		for i, b := range []string{"nike", "alipay", "siemens"} {
			plans = append(plans, evalPlan{at: day(0, 9+3*i, 5), brand: b, label: post.Positive, author: &fan, engage: 40000})
		}
	}
	if g.opts.Scenario != ScenarioViral {
		// Re-observations of ordinary posts: their counts grow slowly.
		for i := range plans {
			if plans[i].incident == 0 && rng.IntN(20) == 0 {
				plans[i].reobserve = []reobs{{after: time.Duration(15+rng.IntN(60)) * time.Minute}}
			}
		}
	}
	sort.SliceStable(plans, func(i, j int) bool { return plans[i].at.Before(plans[j].at) })
	g.truth.Incidents = incs
	return g.makeEval(plans)
}

func backgroundLabel(r *rand.Rand) string {
	return []string{post.Positive, post.Positive, post.Neutral, post.Neutral, post.Neutral, post.Negative}[r.IntN(6)]
}

// makeEval turns the plans into posts (and their later observations), in
// order of observation.
func (g *Generator) makeEval(plans []evalPlan) []*post.Post {
	type obs struct {
		at time.Time
		p  *post.Post
	}
	var out []obs
	sc := 0
	for i, s := range EvalScenarios {
		if s == g.opts.Scenario {
			sc = i + 1
		}
	}
	for i := range plans {
		pl := &plans[i]
		p := g.makeEvalPost(sc, i, pl)
		out = append(out, obs{p.IngestedAt, p})
		prev := p
		for _, ro := range pl.reobserve {
			q := *prev
			q.IngestedAt = p.CreatedAt.Add(ro.after)
			eng := ro.eng
			if eng == 0 {
				// Slow growth: up to 25% of the count per hour.
				cur := prev.Metrics.Reposts + prev.Metrics.Comments
				el := q.IngestedAt.Sub(prev.IngestedAt).Hours()
				eng = cur + int64(float64(cur)*g.rng.Float64()*0.25*el)
			}
			// Split the new count between reposts and comments as before.
			q.Metrics.Reposts = eng * 2 / 3
			q.Metrics.Comments = eng - q.Metrics.Reposts
			q.Metrics.Likes = prev.Metrics.Likes + (eng-prev.Metrics.Reposts-prev.Metrics.Comments)*2
			out = append(out, obs{q.IngestedAt, &q})
			prev = &q
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	posts := make([]*post.Post, len(out))
	for i, o := range out {
		posts[i] = o.p
	}
	return posts
}

// makeEvalPost writes one post from the generator's templates. Unlike the
// steady and crisis posts it adds no random @mentions or links, so that its
// text repeats often (the evaluation enriches each distinct text once).
func (g *Generator) makeEvalPost(sc, i int, pl *evalPlan) *post.Post {
	r := g.rng
	platform := pick(r, platforms)
	a := g.authors[int(math.Floor(math.Pow(r.Float64(), 2)*float64(len(g.authors))))]
	if pl.author != nil {
		a = *pl.author
		platform = post.PlatformWeibo
	}
	topics := brandTopics[pl.brand]
	if len(topics) == 0 {
		topics = []string{"产品", "服务", "新品"}
	}
	topic := pick(r, topics)
	fill := func(tpl string, trad bool) string {
		return strings.NewReplacer("{b}", g.name(pl.brand, trad), "{t}", topic).Replace(tpl)
	}
	var text string
	switch {
	case pl.tpl != "":
		text = fill(pl.tpl, false)
	case platform == post.PlatformWeibo && pl.author == nil && r.IntN(8) == 0:
		orig := fill(pick(r, append(append([]string{}, positiveTemplates...), negativeTemplates...)), false)
		chain := "//@" + g.authors[r.IntN(20)].Name + ":" + orig
		text = repostText(r, pl.label, chain)
	case r.IntN(12) == 0 && pl.label != post.Neutral:
		text = tradText(r, pl.label, fill)
	default:
		text = plainText(r, pl.label, fill)
		if r.IntN(4) == 0 {
			text = "#" + g.wl.Brand(pl.brand).Name + topic + "# " + text
		}
	}
	created := pl.at.Truncate(time.Second)
	ps := &post.Post{
		Version:    post.SchemaVersion,
		Platform:   platform,
		Text:       text,
		CreatedAt:  created,
		IngestedAt: created.Add(time.Duration(5+r.IntN(55)) * time.Second),
		Author:     a,
		Source:     "gen",
		Metrics: post.Metrics{
			Reposts:  int64(math.Floor(math.Pow(r.Float64(), 6) * float64(a.Followers) / 50)),
			Comments: int64(math.Floor(math.Pow(r.Float64(), 5) * float64(a.Followers) / 80)),
			Likes:    int64(math.Floor(math.Pow(r.Float64(), 4) * float64(a.Followers) / 20)),
		},
	}
	if pl.engage > 0 {
		ps.Metrics.Reposts = pl.engage * 2 / 3
		ps.Metrics.Comments = pl.engage - ps.Metrics.Reposts
	}
	seed := int64(g.opts.Seed % 1000)
	if platform == post.PlatformWeibo {
		ps.ID = strconv.FormatInt(4_700_000_000_000_000+int64(sc)*100_000_000_000+seed*100_000_000+int64(i), 10)
		ps.URL = "https://weibo.com/" + a.ID + "/" + ps.ID
	} else {
		ps.ID = fmt.Sprintf("mp-e%d-%d-%d", sc, seed, i)
		ps.Kind = "comment"
		ps.URL = "https://mp.weixin.qq.com/s/e" + strconv.Itoa(sc) + strconv.FormatUint(g.opts.Seed, 36) + strconv.Itoa(i)
		ps.Metrics.Reads = ps.Metrics.Likes * 20
		ps.Author.VerifiedType = 0
		ps.Author.Verified = false
	}
	if pl.incident > 0 && pl.incident <= len(g.truth.Incidents) {
		inc := &g.truth.Incidents[pl.incident-1]
		if inc.Kind == IncidentKOL || inc.Kind == IncidentViral {
			inc.PostID = ps.Key()
		}
	}
	g.truth.count(platform, pl.brand, pl.label)
	return ps
}

// poisson draws from a Poisson distribution with mean l.
func poisson(r *rand.Rand, l float64) int {
	if l <= 0 {
		return 0
	}
	if l > 40 {
		n := int(math.Round(l + r.NormFloat64()*math.Sqrt(l)))
		return max(n, 0)
	}
	lim, k, p := math.Exp(-l), 0, 1.0
	for {
		p *= r.Float64()
		if p <= lim {
			return k
		}
		k++
	}
}
