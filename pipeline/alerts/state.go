package alerts

import (
	"time"
	"unicode/utf8"

	"github.com/iwom/iwom/pipeline/post"
)

// Input is what the engine needs of one observation of a post. The Router
// sends it (JSON) to the partition consumers; FromEnriched builds it from
// an enriched post.
type Input struct {
	Platform  string    `json:"platform"`
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	// ObservedAt is when the post was fetched (ingested_at): repeated
	// observations of one post have growing ObservedAt and counts.
	ObservedAt   time.Time `json:"observed_at,omitempty"`
	Brands       []string  `json:"brands"`
	Labels       []string  `json:"labels"` // sentiment toward each brand, as Brands
	Tokens       []string  `json:"tokens,omitempty"`
	Keywords     []string  `json:"keywords,omitempty"`
	Text         string    `json:"text"`
	AuthorID     string    `json:"author_id,omitempty"`
	AuthorName   string    `json:"author_name,omitempty"`
	Followers    int64     `json:"followers,omitempty"`
	Verified     bool      `json:"verified,omitempty"`
	VerifiedType int       `json:"verified_type,omitempty"`
	Reposts      int64     `json:"reposts,omitempty"`
	Comments     int64     `json:"comments,omitempty"`
}

// Key is "<platform>:<id>".
func (in *Input) Key() string { return in.Platform + ":" + in.ID }

// maxSampleRunes bounds the sample texts an alert and the state carry.
const maxSampleRunes = 140

// FromEnriched builds the engine's input from an enriched post: the
// sentiment toward each brand is the brand's own when the post scores
// several brands, else the post's.
func FromEnriched(p *post.Enriched) *Input {
	in := &Input{
		Platform: p.Platform, ID: p.ID, CreatedAt: p.CreatedAt, ObservedAt: p.IngestedAt,
		Brands: p.Brands, Tokens: p.Tokens, Keywords: p.Keywords, Text: p.Text,
		AuthorID: p.Author.ID, AuthorName: p.Author.Name, Followers: p.Author.Followers,
		Verified: p.Author.Verified, VerifiedType: p.Author.VerifiedType,
		Reposts: p.Metrics.Reposts, Comments: p.Metrics.Comments,
	}
	in.Labels = make([]string, len(p.Brands))
	for i, b := range p.Brands {
		in.Labels[i] = p.Sentiment.Label
		for _, bs := range p.BrandSentiment {
			if bs.Brand == b {
				in.Labels[i] = bs.Label
			}
		}
	}
	return in
}

// Trimmed returns the input restricted to brands (for one partition), with
// the text shortened to what alerts show.
func (in *Input) Trimmed(keep func(brand string) bool) *Input {
	out := *in
	out.Brands, out.Labels = nil, nil
	for i, b := range in.Brands {
		if keep(b) {
			out.Brands = append(out.Brands, b)
			out.Labels = append(out.Labels, in.Labels[i])
		}
	}
	out.Text = truncateRunes(in.Text, maxSampleRunes)
	return &out
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k] + "…"
		}
		i++
	}
	return s
}

// cell counts posts in one slot (or hour): T all, N negative (or, in a
// keyword ring, matches). S is the slot index; a cell whose S differs from
// the slot asked for is empty (the ring has moved on).
type cell struct {
	S int64 `json:"s"`
	T int32 `json:"t,omitempty"`
	N int32 `json:"n,omitempty"`
}

type ring []cell

func newRing(n int) ring {
	r := make(ring, n)
	for i := range r {
		r[i].S = -1
	}
	return r
}

func (r ring) idx(s int64) int {
	i := int(s % int64(len(r)))
	if i < 0 {
		i += len(r)
	}
	return i
}

// add counts into slot s, unless s is older than what the ring holds.
func (r ring) add(s int64, t, n int32) bool {
	c := &r[r.idx(s)]
	if c.S != s {
		if c.S > s {
			return false
		}
		*c = cell{S: s}
	}
	c.T += t
	c.N += n
	return true
}

func (r ring) get(s int64) (t, n int32) {
	c := r[r.idx(s)]
	if c.S == s {
		return c.T, c.N
	}
	return 0, 0
}

// sum adds slots (end-k, end].
func (r ring) sum(end int64, k int) (t, n int) {
	for s := end - int64(k) + 1; s <= end; s++ {
		a, b := r.get(s)
		t += int(a)
		n += int(b)
	}
	return t, n
}

// resized copies the live cells into a ring of n cells.
func (r ring) resized(n int) ring {
	out := newRing(n)
	for _, c := range r {
		if c.S >= 0 {
			out.add(c.S, c.T, c.N)
		}
	}
	return out
}

// hoursKept is how many hourly cells a brand keeps: a week and a day, for
// the same hour yesterday and last week.
const hoursKept = 24*8 + 2

// recentCap is how many recent posts per brand (and per keyword rule) the
// state keeps for samples and top keywords.
const recentCap = 40

// recentPost is a post kept for samples and keywords.
type recentPost struct {
	Key       string   `json:"k"`
	Text      string   `json:"x"`
	Created   int64    `json:"c"`
	Slot      int64    `json:"s"`
	Author    string   `json:"a,omitempty"`
	Followers int64    `json:"f,omitempty"`
	Neg       bool     `json:"n,omitempty"`
	Eng       int64    `json:"e,omitempty"`
	Keywords  []string `json:"w,omitempty"`
}

// brandState is everything the engine keeps about one brand. It is what
// the Stage stores in KV, one key per brand.
type brandState struct {
	Brand string `json:"brand"`
	// Seq is the highest stream sequence applied (diagnostics).
	Seq uint64 `json:"seq"`
	// Tick is the last slot whose end-of-slot work was done.
	Tick    int64                 `json:"tick"`
	First   int64                 `json:"first"` // first slot seen: history starts here
	MaxSlot int64                 `json:"max_slot"`
	Slots   ring                  `json:"slots"`
	Hours   ring                  `json:"hours"`
	Recent  []recentPost          `json:"recent"`
	Rules   map[string]*ruleState `json:"rules"`
	// Seen: the posts counted, while their slot is in the ring.
	Seen seenSet `json:"seen"`

	// not stored
	late   int64 // late writes into history, invalidating cached baselines
	dirty  bool
	pruned int64 // Seen was last pruned up to this slot
}

// ruleState is one rule's state for one brand.
type ruleState struct {
	FP string `json:"fp"` // the rule's fingerprint when the state was built
	// keyword: matching posts per slot and the latest of them
	Kw       ring         `json:"kw,omitempty"`
	KwRecent []recentPost `json:"kw_recent,omitempty"`
	// ewma baseline: mean and variance of the window count, fed up to slot
	// EwSlot, from EwN windows
	EwMean float64 `json:"ew_mean,omitempty"`
	EwVar  float64 `json:"ew_var,omitempty"`
	EwSlot int64   `json:"ew_slot,omitempty"`
	EwN    int     `json:"ew_n,omitempty"`
	// open incidents: "" for the brand-level rules, the post key for
	// velocity
	Open map[string]*incident `json:"open,omitempty"`
	// cooldown after the last resolved incident, and its peak severity
	CooldownUntil int64 `json:"cooldown_until,omitempty"`
	LastPeak      int   `json:"last_peak,omitempty"`
	// the window-aligned start of the last incident's id, and how many
	// incidents had it
	LastAnchor int64 `json:"last_anchor,omitempty"`
	LastN      int   `json:"last_n,omitempty"`
	// velocity: posts followed, and posts that already alerted (key ->
	// event time until which they may not alert again)
	Tracked map[string]*observation `json:"tracked,omitempty"`
	Done    map[string]int64        `json:"done,omitempty"`
	// messages held during quiet hours, for the next digest
	Held []*DigestItem `json:"held,omitempty"`
	// InQuiet: the last tick was inside the quiet hours
	InQuiet bool `json:"in_quiet,omitempty"`

	// not stored: baseline cache
	cache baselineCache
}

type baselineCache struct {
	ok        bool
	end, late int64
	expected  float64
	sigma     float64
	history   bool
	baselines Baselines
	nwin      int
}

// observation is the last observation of a tracked post.
type observation struct {
	At      int64  `json:"at"` // observed at, unix seconds
	Eng     int64  `json:"eng"`
	First   int64  `json:"first"`
	FirstEn int64  `json:"first_eng"`
	N       int    `json:"n"`
	Created int64  `json:"created"`
	Text    string `json:"text,omitempty"`
}

// incident is an open alert.
type incident struct {
	ID         string  `json:"id"`
	Seq        int     `json:"seq"`
	FirstSeen  int64   `json:"first_seen"`
	LastEvent  int64   `json:"last_event"`
	LastUpdate int64   `json:"last_update"`
	Severity   int     `json:"severity"`          // last sent
	Pending    int     `json:"pending,omitempty"` // a higher severity not sent yet (update_every)
	Peak       int     `json:"peak"`
	PeakObs    float64 `json:"peak_obs"`
	// QuietSince is when the condition was first seen false again (0: it
	// holds).
	QuietSince int64 `json:"quiet_since,omitempty"`
	// LastHit is the event time the condition last held.
	LastHit int64 `json:"last_hit"`
	// Held: the incident started in quiet hours below the severity that
	// may wake people; its messages go to the digest.
	Held bool     `json:"held,omitempty"`
	Post *PostRef `json:"post,omitempty"`
	// Posts: kol_mention posts of the incident (the latest few).
	Posts []recentPost `json:"posts,omitempty"`
	Count int          `json:"count,omitempty"`
	// Spikes: the baseline when the incident opened (expected, spread and
	// the windows behind it).
	Base  float64 `json:"base,omitempty"`
	Sigma float64 `json:"sigma,omitempty"`
	BaseN int     `json:"base_n,omitempty"`
}
