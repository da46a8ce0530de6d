package alerts

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

// Options are the engine's event-time settings (alerts.slot and
// alerts.allowed_lateness in iwom.yaml).
type Options struct {
	// Slot is the granularity of windows, baselines and the watermark:
	// windows slide by one slot and end-of-slot work (resolution, digests)
	// runs once per slot.
	Slot time.Duration
	// Lateness: the watermark is the newest created_at seen minus this; a
	// slot is complete, and resolution runs for it, once the watermark has
	// passed its end.
	Lateness time.Duration
	// MaxSkew: a created_at more than this after the post's ingested_at is
	// taken to be ingested_at (a wrong clock must not push the watermark).
	MaxSkew time.Duration
	// Clock gives EmittedAt; the default is time.Now.
	Clock func() time.Time
	// Now is the server's clock: no event time counts as later than Now,
	// whatever a post says. The default is time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Slot <= 0 {
		o.Slot = time.Minute
	}
	if o.Lateness < 0 {
		o.Lateness = 0
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = 10 * time.Minute
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Stats count what the engine did.
type Stats struct {
	Inputs     int64 // observations applied
	Reobserved int64 // (input, brand) pairs of posts already counted (re-fetched or redelivered)
	Suppressed int64 // breakouts held back by a cooldown
	Emitted    int64
	Held       int64 // messages held for a digest
}

// Engine evaluates the rules per brand in event time. It is not safe for
// concurrent use: one goroutine (a stage) drives it.
type Engine struct {
	opts     Options
	slot     int64 // seconds
	late     int64 // seconds
	rules    *Rules
	enabled  []*Rule
	ringLen  int
	brands   map[string]*brandState
	active   map[string]bool // brands with open incidents, held messages or tracked posts
	maxSeen  int64           // newest event time seen (unix s)
	tick     int64           // last slot whose end-of-slot work is done
	scratch  []float64
	scratch2 []float64
	stats    Stats
}

// NewEngine builds an engine for rules.
func NewEngine(rules *Rules, opts Options) (*Engine, error) {
	opts.defaults()
	if opts.Slot%time.Second != 0 {
		return nil, fmt.Errorf("alerts.slot %s: must be whole seconds", opts.Slot)
	}
	e := &Engine{opts: opts, slot: int64(opts.Slot / time.Second), late: int64(opts.Lateness / time.Second),
		brands: map[string]*brandState{}, active: map[string]bool{}, maxSeen: math.MinInt64, tick: -1}
	if _, err := e.SetRules(rules); err != nil {
		return nil, err
	}
	return e, nil
}

// Rules returns the rules in force.
func (e *Engine) Rules() *Rules { return e.rules }

// Stats returns the counts so far.
func (e *Engine) Stats() Stats { return e.stats }

// Options are the engine's options, defaults applied: an engine built with
// the same Rules and Options starts where this one started.
func (e *Engine) Options() Options { return e.opts }

// Slot is the engine's slot.
func (e *Engine) Slot() time.Duration { return e.opts.Slot }

// Watermark is the newest event time seen minus the allowed lateness.
func (e *Engine) Watermark() time.Time {
	if e.maxSeen == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(e.maxSeen-e.late, 0).UTC()
}

// Tick is the last complete slot (-1 before any input).
func (e *Engine) Tick() int64 { return e.tick }

// SetRules replaces the rules (hot reload). A rule whose kind, window,
// baseline or query changed starts its windows afresh; a rule that is
// removed or disabled resolves its open alerts. It returns those resolved
// messages.
func (e *Engine) SetRules(rs *Rules) ([]*Alert, error) {
	if err := rs.checkSlot(e.opts.Slot); err != nil {
		return nil, err
	}
	enabled := rs.Enabled()
	n := 2
	for _, r := range enabled {
		k := e.slots(r.Window.D())
		need := k + 1
		if r.Kind == KindVolumeSpike || r.Kind == KindNegativeSpike {
			need = (r.Baseline.Windows+1)*k + 1
		}
		need += int(e.late/e.slot) + 2
		if need > n {
			n = need
		}
	}
	var out []*Alert
	if e.rules != nil {
		keep := map[string]*Rule{}
		for _, r := range enabled {
			keep[r.Name] = r
		}
		tt := (e.tick + 1) * e.slot
		for _, b := range e.sortedBrands() {
			bs := e.brands[b]
			for name, st := range bs.Rules {
				nr := keep[name]
				if nr == nil {
					old := e.rules.Rule(name)
					if old != nil {
						for _, key := range sortedKeys(st.Open) {
							out = e.resolve(old, bs, st, key, st.Open[key], tt, nil, out)
						}
					}
					delete(bs.Rules, name)
					bs.dirty = true
					continue
				}
				if st.FP != nr.fingerprint() {
					fresh := e.newRuleState(nr)
					fresh.Open, fresh.CooldownUntil, fresh.LastPeak, fresh.Done, fresh.Held = st.Open, st.CooldownUntil, st.LastPeak, st.Done, st.Held
					bs.Rules[name] = fresh
					bs.dirty = true
				}
			}
		}
	}
	e.rules, e.enabled = rs, enabled
	if n != e.ringLen {
		for _, bs := range e.brands {
			bs.Slots = bs.Slots.resized(n)
			bs.dirty = true
		}
		e.ringLen = n
	}
	return out, nil
}

func (e *Engine) slots(d time.Duration) int { return int(int64(d/time.Second) / e.slot) }

func (e *Engine) newRuleState(r *Rule) *ruleState {
	st := &ruleState{FP: r.fingerprint(), Open: map[string]*incident{}}
	if r.Kind == KindKeyword {
		st.Kw = newRing(e.slots(r.Window.D()) + int(e.late/e.slot) + 2)
	}
	if r.Kind == KindVelocity || r.Kind == KindKOLMention {
		st.Done = map[string]int64{}
	}
	if r.Kind == KindVelocity {
		st.Tracked = map[string]*observation{}
	}
	return st
}

func (e *Engine) brand(b string) *brandState {
	bs := e.brands[b]
	if bs == nil {
		bs = &brandState{Brand: b, Tick: -1, First: -1, MaxSlot: -1, Slots: newRing(e.ringLen), Hours: newRing(hoursKept), Rules: map[string]*ruleState{}, Seen: seenSet{}}
		e.brands[b] = bs
	}
	return bs
}

func (e *Engine) ruleState(bs *brandState, r *Rule) *ruleState {
	st := bs.Rules[r.Name]
	if st == nil {
		st = e.newRuleState(r)
		bs.Rules[r.Name] = st
	}
	if st.Open == nil {
		st.Open = map[string]*incident{}
	}
	return st
}

// eventTime is the input's created_at in unix seconds, clamped to its
// ingested_at plus MaxSkew, and to the server's clock: nothing a client
// sends moves the watermark or a brand's windows past the server's time.
func (e *Engine) eventTime(in *Input) int64 {
	ct := in.CreatedAt.Unix()
	if !in.ObservedAt.IsZero() {
		if lim := in.ObservedAt.Add(e.opts.MaxSkew).Unix(); ct > lim {
			ct = lim
		}
	}
	if lim := e.opts.Now().Unix(); ct > lim {
		ct = lim
	}
	return ct
}

// EventTime is the event time the engine gives in (its created_at, clamped
// as for counting): what the partition router feeds to TickFor to send the
// watermark ticks a single engine would reach.
func (e *Engine) EventTime(in *Input) time.Time { return time.Unix(e.eventTime(in), 0).UTC() }

// TickFor is the last complete slot once an event at t has been seen.
func (e *Engine) TickFor(t time.Time) int64 { return e.tickAt(t.Unix()) }

func (e *Engine) tickAt(maxSeen int64) int64 {
	wm := maxSeen - e.late
	return floorDiv(wm, e.slot) - 1
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Observe applies one observation in a single engine: it first advances the
// watermark (running the end-of-slot work of every slot it completes), then
// counts the post. seq is the input's stream sequence (kept with the brand's
// state, for diagnostics). Inputs may come more than once and out of order:
// a post already counted (by its key, while its slot is in the windows) is
// not counted again.
func (e *Engine) Observe(in *Input, seq uint64) []*Alert {
	var out []*Alert
	ct := e.eventTime(in)
	if ct > e.maxSeen {
		e.maxSeen = ct
		if t := e.tickAt(ct); t > e.tick {
			out = e.advance(t, out)
		}
	}
	return e.apply(in, seq, ct, out)
}

// Apply counts an observation without moving the watermark: a partition
// engine gets the watermark from the router's ticks (AdvanceTo).
func (e *Engine) Apply(in *Input, seq uint64) []*Alert {
	ct := e.eventTime(in)
	if ct > e.maxSeen {
		e.maxSeen = ct
	}
	return e.apply(in, seq, ct, nil)
}

// AdvanceTo runs the end-of-slot work of every slot up to tick.
func (e *Engine) AdvanceTo(tick int64) []*Alert {
	if tick <= e.tick {
		return nil
	}
	if m := (tick+1)*e.slot + e.late; m > e.maxSeen {
		e.maxSeen = m
	}
	return e.advance(tick, nil)
}

func (e *Engine) advance(to int64, out []*Alert) []*Alert {
	from := e.tick + 1
	if e.tick < 0 || to-from > int64(hoursKept*3600)/e.slot {
		// The first input, or a jump of more than the history kept: only
		// the last slot's work matters.
		from = to
	}
	brands := e.activeBrands()
	for s := from; s <= to; s++ {
		for _, b := range brands {
			out = e.tickBrand(e.brands[b], s, out)
		}
	}
	e.tick = to
	for _, b := range brands {
		e.updateActive(e.brands[b])
	}
	return out
}

func (e *Engine) activeBrands() []string {
	out := make([]string, 0, len(e.active))
	for b := range e.active {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

func (e *Engine) sortedBrands() []string {
	out := make([]string, 0, len(e.brands))
	for b := range e.brands {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

func (e *Engine) updateActive(bs *brandState) {
	for _, st := range bs.Rules {
		if len(st.Open) > 0 || len(st.Held) > 0 || len(st.Tracked) > 0 || len(st.Done) > 0 {
			e.active[bs.Brand] = true
			return
		}
	}
	delete(e.active, bs.Brand)
}

func (e *Engine) apply(in *Input, seq uint64, ct int64, out []*Alert) []*Alert {
	if len(in.Brands) == 0 {
		return out
	}
	s := floorDiv(ct, e.slot)
	for i, b := range in.Brands {
		bs := e.brand(b)
		if seq > bs.Seq {
			bs.Seq = seq
		}
		e.stats.Inputs++
		bs.dirty = true
		label := post.Neutral
		if i < len(in.Labels) {
			label = in.Labels[i]
		}
		neg := label == post.Negative
		h := keyHash(in.Key())
		if _, again := bs.Seen[h]; again {
			// A later observation of a post already counted, or the same
			// one delivered again (a restart, a retried batch): only the
			// velocity rules look at it, and they ignore an observation
			// that is not newer than the last.
			e.stats.Reobserved++
			rp := e.recent(in, ct, s, neg)
			for _, r := range e.enabled {
				if r.Kind == KindVelocity && r.InScope(b, in.Platform) {
					out = e.velocity(r, bs, in, label, &rp, ct, out)
				}
			}
			e.updateActive(bs)
			continue
		}
		if bs.First < 0 || s < bs.First {
			bs.First = s
		}
		if s > bs.MaxSlot {
			bs.MaxSlot = s
			// Forget posts that left the ring, a quarter of a ring at a time.
			if from := bs.MaxSlot - int64(len(bs.Slots)); from-bs.pruned >= int64(len(bs.Slots)/4) {
				bs.Seen.prune(from)
				bs.pruned = from
			}
		} else if s < bs.MaxSlot {
			bs.late++
		}
		if s > bs.MaxSlot-int64(len(bs.Slots)) {
			bs.Seen[h] = s
		}
		nv := int32(0)
		if neg {
			nv = 1
		}
		bs.Slots.add(s, 1, nv)
		bs.Hours.add(floorDiv(ct, 3600), 1, nv)
		rp := e.recent(in, ct, s, neg)
		bs.Recent = pushRecent(bs.Recent, rp)
		for _, r := range e.enabled {
			if !r.InScope(b, in.Platform) {
				continue
			}
			out = e.evalPost(r, bs, in, label, &rp, ct, out)
		}
		e.updateActive(bs)
	}
	return out
}

func (e *Engine) recent(in *Input, ct, s int64, neg bool) recentPost {
	return recentPost{Key: in.Key(), Text: truncateRunes(in.Text, maxSampleRunes), Created: ct, Slot: s,
		Author: in.AuthorName, Followers: in.Followers, Neg: neg, Eng: in.Reposts + in.Comments, Keywords: in.Keywords}
}

func pushRecent(q []recentPost, p recentPost) []recentPost {
	if len(q) >= recentCap {
		copy(q, q[1:])
		q = q[:len(q)-1]
	}
	return append(q, p)
}

// evalPost runs one rule for one brand of a post.
func (e *Engine) evalPost(r *Rule, bs *brandState, in *Input, label string, rp *recentPost, ct int64, out []*Alert) []*Alert {
	switch r.Kind {
	case KindVolumeSpike, KindNegativeSpike:
		if r.Kind == KindNegativeSpike && !rp.Neg {
			return out
		}
		st := e.ruleState(bs, r)
		res := e.spike(r, bs, st, bs.MaxSlot)
		if res.breakout {
			out = e.hit(r, bs, st, "", ct, &res, out)
		}
	case KindNegativeRatio:
		st := e.ruleState(bs, r)
		res := e.ratio(r, bs, bs.MaxSlot)
		if res.breakout {
			out = e.hit(r, bs, st, "", ct, &res, out)
		}
	case KindKeyword:
		if r.sentSet != nil && !r.sentSet[label] {
			return out
		}
		m := r.matcher
		if bm, ok := r.brandMat[bs.Brand]; ok {
			m = bm
		}
		if m == nil || !m.Match(in.Tokens) {
			return out
		}
		st := e.ruleState(bs, r)
		st.Kw.add(rp.Slot, 0, 1)
		st.KwRecent = pushRecent(st.KwRecent, *rp)
		res := e.keyword(r, bs, st, bs.MaxSlot)
		if res.breakout {
			out = e.hit(r, bs, st, "", ct, &res, out)
		}
	case KindKOLMention:
		if !kolQualifies(r, in, label) {
			return out
		}
		st := e.ruleState(bs, r)
		if until, ok := st.Done[rp.Key]; ok && ct < until {
			return out
		}
		res := evalResult{breakout: true, measure: math.Max(float64(in.Followers), r.Severity.Low),
			observed: float64(in.Followers), baseline: float64(r.MinFollowers), threshold: float64(r.MinFollowers)}
		res.winStart, res.winEnd = floorDiv(ct, e.slot)*e.slot, floorDiv(ct, e.slot)*e.slot+e.slot
		res.kol = rp
		res.post = postRef(in, label, 1)
		out = e.hit(r, bs, st, "", ct, &res, out)
	case KindVelocity:
		out = e.velocity(r, bs, in, label, rp, ct, out)
	}
	return out
}

func kolQualifies(r *Rule, in *Input, label string) bool {
	if r.sentSet != nil && !r.sentSet[label] {
		return false
	}
	if r.MinFollowers > 0 && in.Followers >= r.MinFollowers {
		return true
	}
	if in.Verified {
		for _, t := range r.VerifiedTypes {
			if t == in.VerifiedType {
				return true
			}
		}
	}
	return false
}

func postRef(in *Input, label string, n int) *PostRef {
	return &PostRef{ID: in.Key(), Text: truncateRunes(in.Text, maxSampleRunes), CreatedAt: in.CreatedAt.UTC(),
		AuthorID: in.AuthorID, AuthorName: in.AuthorName, Followers: in.Followers, Verified: in.Verified,
		VerifiedType: in.VerifiedType, Sentiment: label, Reposts: in.Reposts, Comments: in.Comments, Observations: n}
}

func (e *Engine) velocity(r *Rule, bs *brandState, in *Input, label string, rp *recentPost, ct int64, out []*Alert) []*Alert {
	st := e.ruleState(bs, r)
	key := rp.Key
	at := ct
	if !in.ObservedAt.IsZero() {
		at = min(in.ObservedAt.Unix(), e.opts.Now().Unix())
	}
	eng := in.Reposts + in.Comments
	o := st.Tracked[key]
	if o == nil {
		if eng < r.Track {
			return out
		}
		if len(st.Tracked) >= r.MaxTracked {
			evictOldest(st.Tracked, max(1, r.MaxTracked/4))
		}
		st.Tracked[key] = &observation{At: at, Eng: eng, First: at, FirstEn: eng, N: 1, Created: ct, Text: rp.Text}
		return out
	}
	if at <= o.At {
		return out
	}
	o.N++
	dt := at - o.At
	if dt < int64(r.MinInterval.D()/time.Second) {
		return out
	}
	rate := float64(eng-o.Eng) / (float64(dt) / 3600)
	rel := rate / math.Max(float64(o.Eng), 1)
	prevAt := o.At
	o.At, o.Eng = at, eng
	if rate < r.MinGrowth || eng < r.MinTotal || rel < r.MinRelative {
		return out
	}
	if until, ok := st.Done[key]; ok && at < until {
		return out
	}
	res := evalResult{breakout: true, measure: rate, observed: math.Round(rate), baseline: r.MinGrowth, threshold: r.MinGrowth,
		winStart: prevAt, winEnd: at}
	res.post = postRef(in, label, o.N)
	return e.hit(r, bs, st, key, at, &res, out)
}

// evictOldest forgets the n posts observed longest ago (ties by key), in
// one pass, so that a full tracking set is not scanned for every new post.
func evictOldest(m map[string]*observation, n int) {
	type kv struct {
		k  string
		at int64
	}
	all := make([]kv, 0, len(m))
	for k, o := range m {
		all = append(all, kv{k, o.At})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].at != all[j].at {
			return all[i].at < all[j].at
		}
		return all[i].k < all[j].k
	})
	for _, x := range all[:min(n, len(all))] {
		delete(m, x.k)
	}
}

// tickBrand does the end-of-slot work of slot s for one brand: resolve
// incidents whose condition has stopped, send digests when quiet hours end,
// forget old tracked posts.
func (e *Engine) tickBrand(bs *brandState, s int64, out []*Alert) []*Alert {
	if s <= bs.Tick {
		return out
	}
	bs.Tick = s
	tt := (s + 1) * e.slot
	for _, r := range e.enabled {
		st := bs.Rules[r.Name]
		if st == nil {
			continue
		}
		for _, key := range sortedKeys(st.Open) {
			inc := st.Open[key]
			var res *evalResult
			switch r.Kind {
			case KindVolumeSpike, KindNegativeSpike:
				x := e.spike(r, bs, st, s)
				res = &x
			case KindNegativeRatio:
				x := e.ratio(r, bs, s)
				res = &x
			case KindKeyword:
				x := e.keyword(r, bs, st, s)
				res = &x
			}
			if res != nil && res.breakout {
				if inc.QuietSince != 0 {
					inc.QuietSince = 0
					bs.dirty = true
				}
				out = e.pendingUpdate(r, bs, st, inc, tt, res, out)
				continue
			}
			if res != nil {
				if inc.QuietSince == 0 {
					inc.QuietSince = tt - e.slot
					bs.dirty = true
				}
				if tt-inc.QuietSince < int64(r.ResolveAfter.D()/time.Second) {
					continue
				}
			} else if tt-inc.LastHit < int64(r.ResolveAfter.D()/time.Second) {
				out = e.pendingUpdate(r, bs, st, inc, tt, nil, out)
				continue
			}
			out = e.resolve(r, bs, st, key, inc, tt, res, out)
		}
		if q := r.QuietHours; q != nil && len(st.Held) > 0 && !inQuiet(r, tt) {
			out = e.digest(r, bs, st, tt, out)
		}
		if len(st.Tracked) > 0 && s%60 == 0 {
			horizon := tt - int64(r.Window.D()/time.Second)
			for k, o := range st.Tracked {
				if o.At < horizon {
					delete(st.Tracked, k)
					bs.dirty = true
				}
			}
		}
		for k, until := range st.Done {
			if until <= tt {
				delete(st.Done, k)
				bs.dirty = true
			}
		}
	}
	return out
}

// pendingUpdate sends the update update_every held back, once it may.
func (e *Engine) pendingUpdate(r *Rule, bs *brandState, st *ruleState, inc *incident, tt int64, res *evalResult, out []*Alert) []*Alert {
	if inc.Pending <= inc.Severity || tt-inc.LastUpdate < int64(r.UpdateEvery.D()/time.Second) {
		return out
	}
	bs.dirty = true
	inc.Seq++
	inc.Severity, inc.LastUpdate, inc.Pending = inc.Pending, tt, 0
	return e.emit(st, inc, e.alert(r, bs, st, inc, StateUpdate, tt, res), out)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func inQuiet(r *Rule, t int64) bool {
	q := r.QuietHours
	if q == nil {
		return false
	}
	lt := time.Unix(t, 0).In(r.quietLoc)
	m := lt.Hour()*60 + lt.Minute()
	if q.startMin < q.endMin {
		return m >= q.startMin && m < q.endMin
	}
	return m >= q.startMin || m < q.endMin
}

func severity(r *Rule, m float64) int {
	sv := r.Severity
	if !(m > sv.Low) {
		return sv.Min
	}
	if m >= sv.High {
		return sv.Max
	}
	f := math.Log(m/sv.Low) / math.Log(sv.High/sv.Low)
	return sv.Min + int(math.Round(f*float64(sv.Max-sv.Min)))
}

// OpenAlerts counts the open alerts.
func (e *Engine) OpenAlerts() int {
	n := 0
	for _, bs := range e.brands {
		for _, st := range bs.Rules {
			n += len(st.Open)
		}
	}
	return n
}
