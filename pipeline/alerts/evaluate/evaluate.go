// Package evaluate scores the alert rules against generated scenarios with
// known incidents (`iwomlab eval alerts`): per rule, precision, recall and the
// delay from an incident's start to its first alert, and the alerts raised
// on days of pure noise. Everything runs in event time in one process, so a
// run is deterministic and takes seconds.
package evaluate

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/enrich"
	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/synth"
)

// ScenarioCrisis is the generator's crisis scenario (the 西门子 冰箱门
// storm), scored as a negative spike, a volume spike and a complaint wave.
const ScenarioCrisis = synth.ScenarioCrisis

// Standard is the suite `iwomlab eval alerts` runs without --scenario.
var Standard = []string{ScenarioCrisis, synth.ScenarioSpikes, synth.ScenarioDrift, synth.ScenarioViral, synth.ScenarioKOL, synth.ScenarioNoise}

// DefaultEnd places the scenarios in time (a Monday, 00:00 UTC).
var DefaultEnd = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// Targets are what the standard suite must meet.
var (
	TargetRecall       = 0.95 // on incidents of at least MinMagnitude (and single-post incidents)
	TargetNoiseAlerts  = 0    // alerts during the noise scenario
	TargetDelayWindows = 1.0  // median delay, in windows of the rule
	MinMagnitude       = 3.0
)

// ruleIncidents maps a rule kind to the incident kinds it is meant to
// catch.
var ruleIncidents = map[string][]string{
	alerts.KindVolumeSpike:   {synth.IncidentVolumeSpike},
	alerts.KindNegativeSpike: {synth.IncidentNegativeSpike},
	alerts.KindNegativeRatio: {synth.IncidentNegativeDrift},
	alerts.KindKeyword:       {synth.IncidentComplaintWave},
	alerts.KindKOLMention:    {synth.IncidentKOL},
	alerts.KindVelocity:      {synth.IncidentViral},
}

// Options configure an evaluation.
type Options struct {
	Scenarios []string // default Standard
	Seed      uint64   // default 1
	End       time.Time
	// CrisisCount is the size of the crisis scenario (default 20000, as in
	// make demo).
	CrisisCount int
	Rules       *alerts.Rules
	Engine      alerts.Options
	Enricher    *enrich.Enricher
	WatchList   *brands.WatchList
	Workers     int // enrichment workers; 0: every CPU
}

// Report is the result.
type Report struct {
	Seed        uint64                 `json:"seed"`
	Rules       map[string]*RuleReport `json:"rules"`
	NoiseAlerts int                    `json:"noise_alerts"`
	Scenarios   []*ScenarioReport      `json:"scenarios"`
	Targets     Targets                `json:"targets"`
	Posts       int                    `json:"posts"`
	Seconds     float64                `json:"seconds"`
}

// RuleReport scores one rule. Incidents and Detected count the incidents
// the rule is meant to catch of at least MinMagnitude × the usual rate
// (single-post incidents always count); weaker ones are in Weak*. Alerts
// are the rule's alerts (one per incident id), TrueAlerts those that
// overlap an injected incident of their brand.
type RuleReport struct {
	Kind          string   `json:"kind"`
	WindowS       float64  `json:"window_s"`
	Incidents     int      `json:"incidents"`
	Detected      int      `json:"detected"`
	Alerts        int      `json:"alerts"`
	TrueAlerts    int      `json:"true_alerts"`
	Precision     *float64 `json:"precision"`      // null without alerts
	Recall        *float64 `json:"recall"`         // null without incidents
	MedianDelayS  *float64 `json:"median_delay_s"` // null without detections
	WeakIncidents int      `json:"weak_incidents"`
	WeakDetected  int      `json:"weak_detected"`
	delays        []float64
}

// ScenarioReport is one scenario's incidents and alerts.
type ScenarioReport struct {
	Name      string            `json:"name"`
	Posts     int               `json:"posts"`
	Start     time.Time         `json:"start"`
	End       time.Time         `json:"end"`
	Incidents []*IncidentResult `json:"incidents"`
	Alerts    []*AlertResult    `json:"alerts"`
}

// IncidentResult is an incident and, per rule, the delay to its first
// alert.
type IncidentResult struct {
	synth.Incident
	DetectedBy map[string]float64 `json:"detected_by"` // rule -> delay in seconds
}

// AlertResult is one alert of a scenario.
type AlertResult struct {
	ID        string    `json:"id"`
	Rule      string    `json:"rule"`
	Brand     string    `json:"brand"`
	FirstSeen time.Time `json:"first_seen"`
	Severity  int       `json:"peak_severity"`
	Messages  int       `json:"messages"`
	Resolved  bool      `json:"resolved"`
	Held      bool      `json:"held,omitempty"`
	True      bool      `json:"true"`
}

// Targets says whether the report meets the targets, and if not why.
type Targets struct {
	Recall       float64  `json:"recall"`
	NoiseAlerts  int      `json:"noise_alerts"`
	DelayWindows float64  `json:"median_delay_windows"`
	Met          bool     `json:"met"`
	Failures     []string `json:"failures,omitempty"`
}

// Run evaluates the rules on the scenarios.
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	if len(o.Scenarios) == 0 {
		o.Scenarios = Standard
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.End.IsZero() {
		o.End = DefaultEnd
	}
	if o.CrisisCount == 0 {
		o.CrisisCount = 20000
	}
	if o.Rules == nil {
		rs, err := alerts.DefaultRules()
		if err != nil {
			return nil, err
		}
		o.Rules = rs
	}
	if o.Enricher == nil {
		e, err := enrich.Default()
		if err != nil {
			return nil, fmt.Errorf("loading the enricher: %w", err)
		}
		o.Enricher = e
	}
	if o.WatchList == nil {
		o.WatchList = o.Enricher.Brands
	}
	rep := &Report{Seed: o.Seed, Rules: map[string]*RuleReport{}}
	for _, r := range o.Rules.Enabled() {
		rep.Rules[r.Name] = &RuleReport{Kind: r.Kind, WindowS: r.Window.D().Seconds()}
	}
	// Scenarios are independent: run them side by side, then add up in
	// order (the report does not depend on the timing).
	parts := make([]*Report, len(o.Scenarios))
	srs := make([]*ScenarioReport, len(o.Scenarios))
	errs := make([]error, len(o.Scenarios))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, sc := range o.Scenarios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			part := &Report{Rules: map[string]*RuleReport{}}
			for n, rr := range rep.Rules {
				part.Rules[n] = &RuleReport{Kind: rr.Kind, WindowS: rr.WindowS}
			}
			srs[i], errs[i] = runScenario(ctx, o, sc, part)
			parts[i] = part
		}()
	}
	wg.Wait()
	for i, sc := range o.Scenarios {
		if errs[i] != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc, errs[i])
		}
		rep.Scenarios = append(rep.Scenarios, srs[i])
		rep.Posts += srs[i].Posts
		rep.NoiseAlerts += parts[i].NoiseAlerts
		for n, p := range parts[i].Rules {
			rr := rep.Rules[n]
			rr.Incidents += p.Incidents
			rr.Detected += p.Detected
			rr.Alerts += p.Alerts
			rr.TrueAlerts += p.TrueAlerts
			rr.WeakIncidents += p.WeakIncidents
			rr.WeakDetected += p.WeakDetected
			rr.delays = append(rr.delays, p.delays...)
		}
	}
	for _, rr := range rep.Rules {
		if rr.Alerts > 0 {
			rr.Precision = ptr(round3(float64(rr.TrueAlerts) / float64(rr.Alerts)))
		}
		if rr.Incidents > 0 {
			rr.Recall = ptr(round3(float64(rr.Detected) / float64(rr.Incidents)))
		}
		if len(rr.delays) > 0 {
			rr.MedianDelayS = ptr(median(rr.delays))
		}
	}
	rep.Targets = check(rep)
	rep.Seconds = round3(time.Since(start).Seconds())
	return rep, nil
}

func check(rep *Report) Targets {
	t := Targets{Recall: TargetRecall, NoiseAlerts: TargetNoiseAlerts, DelayWindows: TargetDelayWindows, Met: true}
	names := make([]string, 0, len(rep.Rules))
	for n := range rep.Rules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rr := rep.Rules[n]
		if rr.Incidents == 0 {
			continue
		}
		if *rr.Recall < TargetRecall {
			t.Failures = append(t.Failures, fmt.Sprintf("%s: recall %.3f < %.2f", n, *rr.Recall, TargetRecall))
		}
		if rr.MedianDelayS != nil && *rr.MedianDelayS > TargetDelayWindows*rr.WindowS {
			t.Failures = append(t.Failures, fmt.Sprintf("%s: median delay %.0fs > %.0f window (%.0fs)", n, *rr.MedianDelayS, TargetDelayWindows, rr.WindowS))
		}
	}
	if rep.NoiseAlerts > TargetNoiseAlerts {
		t.Failures = append(t.Failures, fmt.Sprintf("%d alerts on the noise days", rep.NoiseAlerts))
	}
	t.Met = len(t.Failures) == 0
	return t
}

func runScenario(ctx context.Context, o Options, sc string, rep *Report) (*ScenarioReport, error) {
	g, err := synth.New(synth.Options{Count: o.CrisisCount, Seed: o.Seed, Scenario: sc, End: o.End}, o.WatchList)
	if err != nil {
		return nil, err
	}
	posts := g.All()
	truth := g.Truth()
	incs := truth.Incidents
	if truth.Crisis != nil {
		incs = append(incs, crisisIncidents(truth)...)
	}
	enriched, err := enrichAll(ctx, o.Enricher, posts, o.Workers)
	if err != nil {
		return nil, err
	}
	eng, err := alerts.NewEngine(o.Rules, o.Engine)
	if err != nil {
		return nil, err
	}
	var msgs []*alerts.Alert
	for i, p := range enriched {
		msgs = append(msgs, eng.Observe(alerts.FromEnriched(p), uint64(i+1))...)
	}
	sr := &ScenarioReport{Name: sc, Posts: len(posts), Start: truth.Start, End: truth.End}
	for _, in := range incs {
		sr.Incidents = append(sr.Incidents, &IncidentResult{Incident: in, DetectedBy: map[string]float64{}})
	}
	// One alert per incident id; a digest delivers its held alerts. Every
	// firing or update (live, or in a digest) is a notification.
	type note struct {
		rule, brand string
		at          time.Time
	}
	var notes []note
	byID := map[string]*AlertResult{}
	var order []*AlertResult
	add := func(id, rule, brand, state string, at time.Time, sev int, held bool) {
		ar := byID[id]
		if ar == nil {
			ar = &AlertResult{ID: id, Rule: rule, Brand: brand, FirstSeen: at, Held: held}
			byID[id] = ar
			order = append(order, ar)
		}
		ar.Messages++
		ar.Severity = max(ar.Severity, sev)
		ar.Resolved = ar.Resolved || state == alerts.StateResolved
		if state == alerts.StateFiring || state == alerts.StateUpdate {
			notes = append(notes, note{rule, brand, at})
		}
	}
	for _, m := range msgs {
		if m.State == alerts.StateDigest {
			for _, it := range m.Items {
				add(it.ID, m.Rule, m.Brand, it.State, m.EventTime, it.Severity, true)
			}
			continue
		}
		add(m.ID, m.Rule, m.Brand, m.State, m.EventTime, m.PeakSeverity, false)
	}
	for _, ar := range order {
		r := o.Rules.Rule(ar.Rule)
		win := r.Window.D()
		slack := max(win, r.ResolveAfter.D()) + win
		for _, in := range sr.Incidents {
			if in.Brand == ar.Brand && !ar.FirstSeen.Before(in.Start.Add(-win)) && !ar.FirstSeen.After(in.End.Add(slack)) {
				ar.True = true
			}
		}
		rr := rep.Rules[ar.Rule]
		rr.Alerts++
		if ar.True {
			rr.TrueAlerts++
		}
		if sc == synth.ScenarioNoise {
			rep.NoiseAlerts++
		}
	}
	sr.Alerts = order
	// Detection: the rule's first notification (firing or update) for the
	// incident's brand between the incident's start (less a slot) and its
	// end plus a window.
	for _, r := range o.Rules.Enabled() {
		rr := rep.Rules[r.Name]
		kinds := ruleIncidents[r.Kind]
		for _, in := range sr.Incidents {
			if !contains(kinds, in.Kind) || !r.InScope(in.Brand, "") && !r.InScope(in.Brand, post.PlatformWeibo) {
				continue
			}
			target := in.Magnitude == 0 || in.Magnitude >= MinMagnitude
			var first *time.Time
			for i := range notes {
				n := &notes[i]
				if n.rule != r.Name || n.brand != in.Brand || n.at.Before(in.Start.Add(-o.engineSlot())) || n.at.After(in.End.Add(r.Window.D())) {
					continue
				}
				if first == nil || n.at.Before(*first) {
					first = &n.at
				}
			}
			if target {
				rr.Incidents++
			} else {
				rr.WeakIncidents++
			}
			if first == nil {
				continue
			}
			d := math.Max(0, first.Sub(in.Start).Seconds())
			in.DetectedBy[r.Name] = d
			if target {
				rr.Detected++
				rr.delays = append(rr.delays, d)
			} else {
				rr.WeakDetected++
			}
		}
	}
	return sr, nil
}

func (o Options) engineSlot() time.Duration {
	if o.Engine.Slot > 0 {
		return o.Engine.Slot
	}
	return time.Minute
}

// crisisIncidents describes the crisis scenario's storm: a negative spike, a
// volume spike and (its posts name 投诉 and 维权) a complaint wave.
func crisisIncidents(t synth.Truth) []synth.Incident {
	c := t.Crisis
	span := t.End.Sub(t.Start)
	// The brand's usual rate, outside the storm, per minute.
	bt := t.Brands[c.Brand]
	usualTotal := float64(bt["total"]-c.Posts) / span.Minutes()
	usualNeg := float64(bt[post.Negative]-c.Posts) / span.Minutes()
	rate := float64(c.Posts) / c.End.Sub(c.Start).Minutes()
	mag := func(usual float64) float64 {
		if usual <= 0 {
			return 0
		}
		return math.Round((usual+rate)/usual*10) / 10
	}
	return []synth.Incident{
		{Kind: synth.IncidentNegativeSpike, Brand: c.Brand, Start: c.Start, End: c.End, Magnitude: mag(usualNeg), Posts: c.Posts, Note: "crisis storm"},
		{Kind: synth.IncidentVolumeSpike, Brand: c.Brand, Start: c.Start, End: c.End, Magnitude: mag(usualTotal), Posts: c.Posts, Note: "crisis storm"},
		{Kind: synth.IncidentComplaintWave, Brand: c.Brand, Start: c.Start, End: c.End, Posts: c.Posts, Note: "crisis storm"},
	}
}

// enrichAll enriches the posts, analysing each distinct text once (in
// parallel); the result is the same as enriching every post.
func enrichAll(ctx context.Context, e *enrich.Enricher, posts []*post.Post, workers int) ([]*post.Enriched, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	texts := map[string]*post.Enriched{}
	var uniq []string
	for _, p := range posts {
		if _, ok := texts[p.Text]; !ok {
			texts[p.Text] = nil
			uniq = append(uniq, p.Text)
		}
	}
	res := make([]*post.Enriched, len(uniq))
	var wg sync.WaitGroup
	next := make(chan int)
	now := time.Unix(0, 0).UTC()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res[i] = e.Analyze(uniq[i], now)
			}
		}()
	}
	for i := range uniq {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, t := range uniq {
		texts[t] = res[i]
	}
	out := make([]*post.Enriched, len(posts))
	for i, p := range posts {
		en := *texts[p.Text]
		en.Post = *p
		en.EnrichedAt = p.IngestedAt
		out[i] = &en
	}
	return out, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// WriteText prints the report as tables.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "alert evaluation, seed %d: %d posts in %d scenarios, %.1fs\n\n", r.Seed, r.Posts, len(r.Scenarios), r.Seconds)
	fmt.Fprintln(tw, "RULE\tKIND\tINCIDENTS\tDETECTED\tRECALL\tALERTS\tTRUE\tPRECISION\tMEDIAN DELAY\tWINDOW\tWEAK (<3x)")
	names := make([]string, 0, len(r.Rules))
	for n := range r.Rules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rr := r.Rules[n]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t%d/%d\n", n, rr.Kind, rr.Incidents, rr.Detected, frac(rr.Recall),
			rr.Alerts, rr.TrueAlerts, frac(rr.Precision), optSecs(rr.MedianDelayS), secs(rr.WindowS), rr.WeakDetected, rr.WeakIncidents)
	}
	fmt.Fprintf(tw, "\nalerts on the noise days: %d\n\n", r.NoiseAlerts)
	fmt.Fprintln(tw, "SCENARIO\tINCIDENT\tBRAND\tSTART (UTC)\tSIZE\tDETECTED BY (delay)")
	for _, s := range r.Scenarios {
		if len(s.Incidents) == 0 {
			fmt.Fprintf(tw, "%s\t(none)\t\t%s\t\t%d alerts\n", s.Name, s.Start.Format("01-02 15:04"), len(s.Alerts))
		}
		for _, in := range s.Incidents {
			var by []string
			for _, rn := range sortedKeys(in.DetectedBy) {
				by = append(by, fmt.Sprintf("%s (%s)", rn, secs(in.DetectedBy[rn])))
			}
			size := "-"
			if in.Magnitude > 0 {
				size = fmt.Sprintf("%gx", in.Magnitude)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, in.Kind, in.Brand, in.Start.Format("01-02 15:04"), size, strings.Join(by, ", "))
		}
	}
	var false_ []string
	for _, s := range r.Scenarios {
		for _, a := range s.Alerts {
			if !a.True {
				false_ = append(false_, fmt.Sprintf("  %s: %s %s (peak severity %d)", s.Name, a.FirstSeen.Format("01-02 15:04"), a.ID, a.Severity))
			}
		}
	}
	if len(false_) > 0 {
		fmt.Fprintf(tw, "\nalerts matching no incident:\n%s\n", strings.Join(false_, "\n"))
	}
	if r.Targets.Met {
		fmt.Fprintf(tw, "\ntargets met: recall >= %.2f on incidents >= %gx, %d noise alerts, median delay <= %g window\n", r.Targets.Recall, MinMagnitude, r.Targets.NoiseAlerts, r.Targets.DelayWindows)
	} else {
		fmt.Fprintf(tw, "\ntargets NOT met:\n  %s\n", strings.Join(r.Targets.Failures, "\n  "))
	}
	return tw.Flush()
}

func secs(s float64) string { return (time.Duration(s) * time.Second).String() }

func optSecs(s *float64) string {
	if s == nil {
		return "-"
	}
	return secs(*s)
}

func frac(x *float64) string {
	if x == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *x)
}

func ptr(x float64) *float64 { return &x }

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
