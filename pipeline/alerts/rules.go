package alerts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/iwom/iwom/configs"
	"github.com/iwom/iwom/pipeline/post"
)

// Rule kinds.
const (
	KindVolumeSpike   = "volume_spike"
	KindNegativeSpike = "negative_spike"
	KindNegativeRatio = "negative_ratio"
	KindKeyword       = "keyword"
	KindKOLMention    = "kol_mention"
	KindVelocity      = "velocity"
)

// Kinds lists every rule kind.
var Kinds = []string{KindVolumeSpike, KindNegativeSpike, KindNegativeRatio, KindKeyword, KindKOLMention, KindVelocity}

// RulesVersion is the version of the rules file format.
const RulesVersion = 1

// Rules is a parsed and validated rules file (configs/alerts.yaml).
type Rules struct {
	Version int     `yaml:"version"`
	Rules   []*Rule `yaml:"rules"`
	// Source names where the rules came from (a path, or "embedded").
	Source string `yaml:"-"`
	// Hash identifies the file's content (hot reload compares it).
	Hash string `yaml:"-"`
}

// Rule is one alert rule. Which keys apply depends on Kind; the zero value of
// an optional key means "off" (see the README section "Alerts").
type Rule struct {
	Name    string   `yaml:"name"`
	Kind    string   `yaml:"kind"`
	Enabled *bool    `yaml:"enabled"`
	Scope   Scope    `yaml:"scope"`
	Window  Duration `yaml:"window"`
	// Cooldown: after an alert of this rule and brand resolves, a new one is
	// held back this long (event time) unless it is at least two severity
	// levels worse than the last one's peak (or at the top of the scale).
	Cooldown Duration `yaml:"cooldown"`
	// ResolveAfter: how long the condition must stay false before the alert
	// is resolved (default: one window).
	ResolveAfter Duration `yaml:"resolve_after"`
	// UpdateEvery: the shortest event time between two updates of one alert.
	UpdateEvery Duration  `yaml:"update_every"`
	Severity    Severity  `yaml:"severity"`
	QuietHours  *Quiet    `yaml:"quiet_hours"`
	Samples     int       `yaml:"samples"`
	Baseline    *Baseline `yaml:"baseline"`

	// volume_spike, negative_spike, keyword: the window must hold at least
	// this many posts; negative_ratio: at least this many posts in all.
	MinCount int `yaml:"min_count"`
	// Spikes: observed / expected and (observed - expected) / sigma.
	MinRatio float64 `yaml:"min_ratio"`
	MinZ     float64 `yaml:"min_z"`
	// negative_ratio: share of negative posts.
	MinShare float64 `yaml:"min_share"`
	// keyword: a boolean query on the post's tokens, and per-brand queries
	// that replace it for those brands.
	Query      string            `yaml:"query"`
	BrandQuery map[string]string `yaml:"brand_query"`
	// kol_mention: an author with at least MinFollowers followers, or
	// verified with a VerifiedType in VerifiedTypes.
	MinFollowers  int64    `yaml:"min_followers"`
	VerifiedTypes []int    `yaml:"verified_types"`
	Sentiment     []string `yaml:"sentiment"`
	// velocity: reposts+comments gained per hour between two observations of
	// one post, at least MinGrowth, and at least MinRelative × the earlier
	// count per hour; the post has at least MinTotal; the observations at
	// least MinInterval apart. Posts are tracked while they
	// have at least Track interactions, for Window after their last
	// observation, at most MaxTracked per brand.
	MinGrowth   float64  `yaml:"min_growth"`
	MinRelative float64  `yaml:"min_relative"`
	MinTotal    int64    `yaml:"min_total"`
	MinInterval Duration `yaml:"min_interval"`
	Track       int64    `yaml:"track"`
	MaxTracked  int      `yaml:"max_tracked"`

	// compiled
	matcher  Matcher
	brandMat map[string]Matcher
	quietLoc *time.Location
	sentSet  map[string]bool
	index    int
}

// Scope limits a rule to brands and platforms (empty: all).
type Scope struct {
	Brands    []string `yaml:"brands"`
	Platforms []string `yaml:"platforms"`
}

// Baseline configures the expected value of the spike rules.
type Baseline struct {
	// Method: median (median and MAD of the previous windows) or ewma.
	Method string `yaml:"method"`
	// Windows: how many previous windows the median looks at.
	Windows int `yaml:"windows"`
	// Alpha: the EWMA weight of the newest window.
	Alpha float64 `yaml:"alpha"`
	// Level: until there is seasonal history (a day), also expect at least
	// the mean of the last Level windows, so that a steep daily ramp
	// (mornings) is not a spike; 0 disables it.
	Level *int `yaml:"level"`
	// Seasonal: also expect the same hour of the previous days (yesterday …
	// last week) when that history exists.
	Seasonal *bool `yaml:"seasonal"`
	// MinHistory: no alert before the brand has been seen this long.
	MinHistory Duration `yaml:"min_history"`
}

// Severity maps the size of the break (the rule's measure) to 1–10,
// log-linearly from Low (→ Min) to High (→ Max).
type Severity struct {
	Min  int     `yaml:"min"`
	Max  int     `yaml:"max"`
	Low  float64 `yaml:"low"`
	High float64 `yaml:"high"`
}

// Quiet hours: alerts below Below severity that start between Start and End
// (local time of Timezone) are held and sent as one digest when the quiet
// hours end.
type Quiet struct {
	Start    string `yaml:"start"`
	End      string `yaml:"end"`
	Timezone string `yaml:"timezone"`
	Below    int    `yaml:"below"`

	startMin, endMin int
}

// Duration is a time.Duration written as "10m" in YAML.
type Duration time.Duration

// D is the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses "90s", "10m", "1h30m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration like 10m", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// IsEnabled reports whether the rule runs.
func (r *Rule) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// InScope reports whether the rule watches brand on platform.
func (r *Rule) InScope(brand, platform string) bool {
	if len(r.Scope.Brands) > 0 && !contains(r.Scope.Brands, brand) {
		return false
	}
	if len(r.Scope.Platforms) > 0 && !contains(r.Scope.Platforms, platform) {
		return false
	}
	return true
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// RuleError is a validation error that names the rule and the key.
type RuleError struct {
	Rule string // rule name, or rules[i] when it has none
	Key  string
	Msg  string
}

func (e *RuleError) Error() string {
	if e.Rule == "" {
		return fmt.Sprintf("alert rules: %s: %s", e.Key, e.Msg)
	}
	return fmt.Sprintf("alert rule %s: %s: %s", e.Rule, e.Key, e.Msg)
}

// ErrRules is wrapped by every error about a rules file.
var ErrRules = errors.New("invalid alert rules")

// Is lets errors.Is(err, ErrRules) match a RuleError.
func (e *RuleError) Is(target error) bool { return target == ErrRules }

// DefaultRules parses the embedded configs/alerts.yaml.
func DefaultRules() (*Rules, error) {
	return ParseRules(configs.AlertsYAML, "embedded configs/alerts.yaml")
}

// LoadRules reads a rules file, or the embedded default when path is "".
func LoadRules(path string) (*Rules, error) {
	if path == "" {
		return DefaultRules()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading alert rules: %w", err)
	}
	return ParseRules(data, path)
}

// ParseRules parses and validates a rules file. Unknown keys are errors that
// name the rule; so are bad values.
func ParseRules(data []byte, source string) (*Rules, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%w: parsing %s: %v", ErrRules, source, err)
	}
	rs := &Rules{Source: source, Hash: hashBytes(data)}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, &RuleError{Key: "rules", Msg: "the file is empty"}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, &RuleError{Key: "(top level)", Msg: "must be a mapping with version and rules"}
	}
	if err := checkKeys(doc, reflect.TypeOf(Rules{}), "", ""); err != nil {
		return nil, err
	}
	var rawRules []yaml.Node
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i].Value, doc.Content[i+1]
		switch k {
		case "version":
			if err := v.Decode(&rs.Version); err != nil {
				return nil, &RuleError{Key: "version", Msg: err.Error()}
			}
		case "rules":
			if v.Kind != yaml.SequenceNode {
				return nil, &RuleError{Key: "rules", Msg: "must be a list"}
			}
			for _, n := range v.Content {
				rawRules = append(rawRules, *n)
			}
		}
	}
	if rs.Version != RulesVersion {
		return nil, &RuleError{Key: "version", Msg: fmt.Sprintf("%d is not a supported version (want %d)", rs.Version, RulesVersion)}
	}
	seen := map[string]bool{}
	for i := range rawRules {
		n := &rawRules[i]
		label := fmt.Sprintf("rules[%d]", i)
		if n.Kind != yaml.MappingNode {
			return nil, &RuleError{Rule: label, Key: "(rule)", Msg: "must be a mapping"}
		}
		if name := mapValue(n, "name"); name != "" {
			label = name
		}
		if err := checkKeys(n, reflect.TypeOf(Rule{}), label, ""); err != nil {
			return nil, err
		}
		r := &Rule{}
		if err := n.Decode(r); err != nil {
			return nil, &RuleError{Rule: label, Key: "(rule)", Msg: cleanYAMLError(err)}
		}
		r.index = i
		if err := r.validate(label); err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, &RuleError{Rule: label, Key: "name", Msg: "is used by another rule"}
		}
		seen[r.Name] = true
		rs.Rules = append(rs.Rules, r)
	}
	return rs, nil
}

func mapValue(n *yaml.Node, key string) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i+1].Kind == yaml.ScalarNode {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func cleanYAMLError(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: unmarshal errors:\n")
	return strings.TrimSpace(s)
}

// checkKeys rejects keys that the struct type does not have, recursing into
// nested structs, so that a typo names its rule and key.
func checkKeys(n *yaml.Node, t reflect.Type, rule, prefix string) error {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = f.Type
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		ft, ok := fields[k]
		if !ok {
			return &RuleError{Rule: rule, Key: prefix + k, Msg: "unknown key"}
		}
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Time{}) {
			if err := checkKeys(n.Content[i+1], ft, rule, prefix+k+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// kindDefaults are the values a rule of a kind gets for keys it leaves out.
func (r *Rule) applyDefaults() {
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	switch r.Kind {
	case KindVolumeSpike, KindNegativeSpike:
		def(&r.Window, 10*time.Minute)
		if r.Baseline == nil {
			r.Baseline = &Baseline{}
		}
		b := r.Baseline
		if b.Method == "" {
			b.Method = "median"
		}
		if b.Windows == 0 {
			b.Windows = 12
		}
		if b.Alpha == 0 {
			b.Alpha = 0.2
		}
		if b.Level == nil {
			l := 3
			b.Level = &l
		}
		if b.Seasonal == nil {
			t := true
			b.Seasonal = &t
		}
		def(&b.MinHistory, time.Duration(b.Windows/2)*r.Window.D())
		if r.MinRatio == 0 && r.MinZ == 0 {
			r.MinRatio = 3
		}
		if r.Severity.Low == 0 {
			r.Severity.Low = math2(r.MinRatio, 2)
		}
		if r.Severity.High == 0 {
			r.Severity.High = 10 * r.Severity.Low
		}
	case KindNegativeRatio:
		def(&r.Window, 30*time.Minute)
		if r.Severity.Low == 0 {
			r.Severity.Low = r.MinShare
		}
		if r.Severity.High == 0 {
			r.Severity.High = 1
		}
	case KindKeyword:
		def(&r.Window, 10*time.Minute)
		if r.MinCount == 0 {
			r.MinCount = 1
		}
		if r.Severity.Low == 0 {
			r.Severity.Low = float64(r.MinCount)
		}
		if r.Severity.High == 0 {
			r.Severity.High = 10 * r.Severity.Low
		}
	case KindKOLMention:
		def(&r.Window, time.Hour)
		if r.Severity.Low == 0 {
			r.Severity.Low = 1e6
		}
		if r.Severity.High == 0 {
			r.Severity.High = 1e8
		}
	case KindVelocity:
		def(&r.Window, 6*time.Hour)
		def(&r.MinInterval, 5*time.Minute)
		def(&r.ResolveAfter, time.Hour)
		if r.MaxTracked == 0 {
			r.MaxTracked = 2000
		}
		if r.Severity.Low == 0 {
			r.Severity.Low = r.MinGrowth
		}
		if r.Severity.High == 0 {
			r.Severity.High = 20 * r.Severity.Low
		}
	}
	def(&r.ResolveAfter, r.Window.D())
	if r.Kind != KindKOLMention && r.Kind != KindVelocity {
		// (Single-post rules: each worse post is news at once.)
		def(&r.UpdateEvery, r.Window.D()/2)
	}
	if r.Severity.Min == 0 {
		r.Severity.Min = 3
	}
	if r.Severity.Max == 0 {
		r.Severity.Max = 10
	}
	if r.Samples == 0 {
		r.Samples = 5
	}
}

func math2(v, d float64) float64 {
	if v > 0 {
		return v
	}
	return d
}

func (r *Rule) validate(label string) error {
	bad := func(key, format string, args ...any) error {
		return &RuleError{Rule: label, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if r.Name == "" {
		return bad("name", "is required")
	}
	if !post.ValidToken(r.Name) {
		return bad("name", "%q must be a lower-case subject token (a-z, 0-9, - and _)", r.Name)
	}
	if !contains(Kinds, r.Kind) {
		return bad("kind", "%q is not one of %s", r.Kind, strings.Join(Kinds, ", "))
	}
	r.applyDefaults()
	type check struct {
		ok       bool
		key, msg string
	}
	checks := []check{
		{r.Window.D() >= time.Second, "window", "must be at least 1s"},
		{r.Cooldown.D() >= 0, "cooldown", "must not be negative"},
		{r.ResolveAfter.D() > 0, "resolve_after", "must be positive"},
		{r.UpdateEvery.D() >= 0, "update_every", "must not be negative"},
		{r.Samples >= 0 && r.Samples <= 50, "samples", "must be 0 to 50"},
		{r.MinCount >= 0, "min_count", "must not be negative"},
		{r.MinRatio >= 0, "min_ratio", "must not be negative"},
		{r.MinZ >= 0, "min_z", "must not be negative"},
	}
	for _, b := range r.Scope.Brands {
		if !post.ValidToken(b) {
			checks = append(checks, check{false, "scope.brands", fmt.Sprintf("%q is not a brand id", b)})
		}
	}
	for _, p := range r.Scope.Platforms {
		if !post.ValidToken(p) {
			checks = append(checks, check{false, "scope.platforms", fmt.Sprintf("%q is not a platform", p)})
		}
	}
	notFor := func(key string, set bool, kinds ...string) {
		if set && !contains(kinds, r.Kind) {
			checks = append(checks, check{false, key, fmt.Sprintf("does not apply to kind %s (only %s)", r.Kind, strings.Join(kinds, ", "))})
		}
	}
	notFor("baseline", r.Baseline != nil, KindVolumeSpike, KindNegativeSpike)
	notFor("min_ratio", r.MinRatio != 0, KindVolumeSpike, KindNegativeSpike)
	notFor("min_z", r.MinZ != 0, KindVolumeSpike, KindNegativeSpike)
	notFor("min_share", r.MinShare != 0, KindNegativeRatio)
	notFor("query", r.Query != "", KindKeyword)
	notFor("brand_query", len(r.BrandQuery) > 0, KindKeyword)
	notFor("min_followers", r.MinFollowers != 0, KindKOLMention)
	notFor("verified_types", len(r.VerifiedTypes) > 0, KindKOLMention)
	notFor("sentiment", len(r.Sentiment) > 0, KindKOLMention, KindKeyword)
	notFor("min_growth", r.MinGrowth != 0, KindVelocity)
	notFor("min_total", r.MinTotal != 0, KindVelocity)
	notFor("min_relative", r.MinRelative != 0, KindVelocity)
	notFor("track", r.Track != 0, KindVelocity)
	notFor("min_count", r.MinCount != 0, KindVolumeSpike, KindNegativeSpike, KindNegativeRatio, KindKeyword)
	for _, c := range checks {
		if !c.ok {
			return bad(c.key, "%s", c.msg)
		}
	}
	switch r.Kind {
	case KindVolumeSpike, KindNegativeSpike:
		b := r.Baseline
		switch {
		case b.Method != "median" && b.Method != "ewma":
			return bad("baseline.method", "%q is not median or ewma", b.Method)
		case b.Windows < 2 || b.Windows > 288:
			return bad("baseline.windows", "must be 2 to 288")
		case b.Alpha <= 0 || b.Alpha > 1:
			return bad("baseline.alpha", "must be in (0, 1]")
		case *b.Level < 0 || *b.Level > b.Windows:
			return bad("baseline.level", "must be 0 to baseline.windows")
		case b.MinHistory.D() < 0:
			return bad("baseline.min_history", "must not be negative")
		case r.MinCount < 1:
			return bad("min_count", "must be at least 1")
		case r.MinRatio != 0 && r.MinRatio < 1:
			return bad("min_ratio", "must be at least 1 (or 0 to use min_z alone)")
		}
	case KindNegativeRatio:
		switch {
		case r.MinShare <= 0 || r.MinShare > 1:
			return bad("min_share", "must be in (0, 1]")
		case r.MinCount < 1:
			return bad("min_count", "must be at least 1 (the smallest window volume that counts)")
		}
	case KindKeyword:
		if strings.TrimSpace(r.Query) == "" && len(r.BrandQuery) == 0 {
			return bad("query", "is required")
		}
		if r.Query != "" {
			m, err := compileQuery(r.Query)
			if err != nil {
				return bad("query", "%v", err)
			}
			r.matcher = m
		}
		r.brandMat = map[string]Matcher{}
		brands := make([]string, 0, len(r.BrandQuery))
		for b := range r.BrandQuery {
			brands = append(brands, b)
		}
		sort.Strings(brands)
		for _, b := range brands {
			if !post.ValidToken(b) {
				return bad("brand_query", "%q is not a brand id", b)
			}
			m, err := compileQuery(r.BrandQuery[b])
			if err != nil {
				return bad("brand_query."+b, "%v", err)
			}
			r.brandMat[b] = m
		}
	case KindKOLMention:
		if r.MinFollowers < 0 {
			return bad("min_followers", "must not be negative")
		}
		if r.MinFollowers == 0 && len(r.VerifiedTypes) == 0 {
			return bad("min_followers", "set min_followers or verified_types")
		}
	case KindVelocity:
		switch {
		case r.MinGrowth <= 0:
			return bad("min_growth", "must be positive (interactions per hour)")
		case r.MinTotal < 0:
			return bad("min_total", "must not be negative")
		case r.MinRelative < 0:
			return bad("min_relative", "must not be negative")
		case r.MinInterval.D() <= 0:
			return bad("min_interval", "must be positive")
		case r.Track < 0:
			return bad("track", "must not be negative")
		case r.MaxTracked < 1 || r.MaxTracked > 100000:
			return bad("max_tracked", "must be 1 to 100000")
		}
	}
	for _, c := range []check{
		{r.Severity.Min >= 1 && r.Severity.Min <= 10, "severity.min", "must be 1 to 10"},
		{r.Severity.Max >= r.Severity.Min && r.Severity.Max <= 10, "severity.max", "must be severity.min to 10"},
		{r.Severity.Low > 0, "severity.low", "must be positive"},
		{r.Severity.High > r.Severity.Low, "severity.high", "must be greater than severity.low"},
	} {
		if !c.ok {
			return bad(c.key, "%s", c.msg)
		}
	}
	if len(r.Sentiment) > 0 {
		r.sentSet = map[string]bool{}
		for _, s := range r.Sentiment {
			if s != post.Positive && s != post.Neutral && s != post.Negative {
				return bad("sentiment", "%q is not positive, neutral or negative", s)
			}
			r.sentSet[s] = true
		}
	}
	if q := r.QuietHours; q != nil {
		var err error
		if q.startMin, err = clockMinutes(q.Start); err != nil {
			return bad("quiet_hours.start", "%v", err)
		}
		if q.endMin, err = clockMinutes(q.End); err != nil {
			return bad("quiet_hours.end", "%v", err)
		}
		if q.startMin == q.endMin {
			return bad("quiet_hours.end", "must differ from start")
		}
		if q.Timezone == "" {
			q.Timezone = "UTC"
		}
		if r.quietLoc, err = time.LoadLocation(q.Timezone); err != nil {
			return bad("quiet_hours.timezone", "%q is not a time zone (e.g. Asia/Shanghai)", q.Timezone)
		}
		if q.Below < 1 || q.Below > 11 {
			return bad("quiet_hours.below", "must be 1 to 11 (alerts below this severity are held)")
		}
	}
	return nil
}

func clockMinutes(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh == 24 && mm != 0 {
		return 0, fmt.Errorf("%q is not a time of day like 23:30", s)
	}
	return hh*60 + mm, nil
}

// checkSlot verifies every window is a whole number of slots.
func (rs *Rules) checkSlot(slot time.Duration) error {
	for _, r := range rs.Rules {
		for _, c := range []struct {
			key string
			d   time.Duration
		}{{"window", r.Window.D()}, {"resolve_after", r.ResolveAfter.D()}} {
			if c.d%slot != 0 {
				return &RuleError{Rule: r.Name, Key: c.key, Msg: fmt.Sprintf("%s is not a multiple of alerts.slot (%s)", c.d, slot)}
			}
		}
		if r.Window.D() > 24*time.Hour {
			return &RuleError{Rule: r.Name, Key: "window", Msg: "must be at most 24h"}
		}
	}
	return nil
}

// Rule returns the rule named name, or nil.
func (rs *Rules) Rule(name string) *Rule {
	for _, r := range rs.Rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Enabled lists the enabled rules.
func (rs *Rules) Enabled() []*Rule {
	var out []*Rule
	for _, r := range rs.Rules {
		if r.IsEnabled() {
			out = append(out, r)
		}
	}
	return out
}

// fingerprint identifies what a rule's state depends on: a reload that
// changes it resets the rule's windows; other changes (thresholds, severity,
// quiet hours) keep them.
func (r *Rule) fingerprint() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s|%s|%d", r.Kind, r.Window.D(), r.MaxTracked)
	if r.Kind == KindKeyword {
		fmt.Fprintf(&b, "|%s", r.Query)
		keys := make([]string, 0, len(r.BrandQuery))
		for k := range r.BrandQuery {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "|%s=%s", k, r.BrandQuery[k])
		}
	}
	if r.Baseline != nil {
		fmt.Fprintf(&b, "|%s|%d|%g", r.Baseline.Method, r.Baseline.Windows, r.Baseline.Alpha)
	}
	return b.String()
}

func hashBytes(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}
