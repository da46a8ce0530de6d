package report

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // --tz works in images without /usr/share/zoneinfo
	"unicode/utf8"

	"github.com/iwom/iwom/analyzers/brands"
)

// ErrBadParam is wrapped by every parameter error (HTTP 400).
var ErrBadParam = errors.New("bad parameter")

// ErrUnknownReport is returned for a report name that does not exist (HTTP 404).
var ErrUnknownReport = errors.New("unknown report")

func badParam(name, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrBadParam, name, fmt.Sprintf(format, args...))
}

// Intervals are the accepted --interval values and their widths (day and
// hour buckets follow --tz; 5m and 15m buckets are the same in every zone).
var Intervals = map[string]time.Duration{"5m": 5 * time.Minute, "15m": 15 * time.Minute, "hour": time.Hour, "day": 24 * time.Hour}

var intervalAliases = map[string]string{"5min": "5m", "15min": "15m", "1h": "hour", "60m": "hour", "hourly": "hour", "1d": "day", "24h": "day", "daily": "day"}

// Formats are the accepted --format values.
var Formats = []string{"table", "json", "csv"}

// Labels are the sentiment labels.
var Labels = []string{"positive", "neutral", "negative"}

// Limits on what a request may ask for.
const (
	MaxValues      = 50                   // brands or platforms in one request
	MaxValueBytes  = 200                  // bytes in one brand or platform value
	MaxWindow      = 400 * 24 * time.Hour // longest --from/--to window
	MaxBuckets     = 20000                // buckets in one time series
	DefaultSince   = 24 * time.Hour
	DefaultSpikeBL = 12
)

// Params are a report's parameters, validated. Times are UTC; Loc is the
// zone of day and hour buckets and of the times printed.
type Params struct {
	Brands    []string
	Platforms []string
	From, To  time.Time
	Interval  string
	TZ        string
	Loc       *time.Location
	Format    string
	Limit     int
	Sort      string
	Label     string
	// Term, on top-posts, keeps the posts that have this keyword or
	// #hashtag# (as the keywords report writes terms).
	Term     string
	Baseline int
	Ratio    float64
	Min      int
}

// common parameters every report takes.
var common = []string{"brand", "platform", "from", "to", "since", "interval", "tz", "format"}

var tzName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$`)

// location loads time zone tz for a report, accepting only the IANA zone
// names that ClickHouse takes as well: the zone goes into the queries
// (toStartOfDay(t, tz)), so a name only Go understands would fail there
// (HTTP 500) instead of here (400). Refused: "Local" and "localtime" (the
// zone of whichever machine runs the code), the right/ (leap-second) and
// posix/ copies of the database and posixrules, paths (".."), and what
// time.LoadLocation does not know.
func location(tz string) (*time.Location, error) {
	lower := strings.ToLower(tz)
	switch {
	case len(tz) > 64 || !tzName.MatchString(tz) || strings.Contains(tz, ".."):
		return nil, badParam("tz", "%q is not a time zone name (like Asia/Shanghai or UTC)", tz)
	case lower == "local" || lower == "localtime":
		return nil, badParam("tz", "%q is the server's own zone, not a zone name: give one (like Asia/Shanghai or UTC)", tz)
	case strings.HasPrefix(lower, "right/") || strings.HasPrefix(lower, "posix/"):
		_, plain, _ := strings.Cut(tz, "/")
		return nil, badParam("tz", "%q: the right/ and posix/ copies of the zone database are not supported; give the plain name %q", tz, plain)
	case lower == "posixrules":
		return nil, badParam("tz", "%q is not a time zone name (like Asia/Shanghai or UTC)", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, badParam("tz", "unknown time zone %q (give an IANA name like Asia/Shanghai or UTC)", tz)
	}
	return loc, nil
}

// Parse validates v (the query string of GET /v1/reports/<name>, or the
// CLI flags) for report s, at time now. wl (may be nil) maps brand names
// and aliases to brand ids. Values are only ever bound as query
// parameters, so any brand or platform string is allowed; names of
// intervals, zones, sorts, labels and formats must come from allow-lists.
func (s *Spec) Parse(v url.Values, now time.Time, wl *brands.WatchList) (Params, error) {
	p := Params{Interval: s.DefaultInterval, TZ: "UTC", Format: "json", Limit: s.DefaultLimit, Sort: s.DefaultSort,
		Baseline: DefaultSpikeBL, Ratio: 3, Min: 20}
	for k, vals := range v {
		if !slices.Contains(common, k) && !slices.Contains(s.Extra, k) {
			return p, badParam(k, "not a parameter of %s (it takes %s)", s.Name, strings.Join(append(append([]string{}, common...), s.Extra...), ", "))
		}
		if len(vals) > 1 && k != "brand" && k != "platform" {
			return p, badParam(k, "given %d times", len(vals))
		}
		for _, x := range vals {
			if !utf8.ValidString(x) {
				return p, badParam(k, "not valid UTF-8")
			}
		}
	}
	one := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	var err error
	if p.Brands, err = list(v["brand"], "brand"); err != nil {
		return p, err
	}
	if wl != nil {
		for i, b := range p.Brands {
			p.Brands[i] = brandID(wl, b)
		}
	}
	p.Brands = dedup(p.Brands)
	if p.Platforms, err = list(v["platform"], "platform"); err != nil {
		return p, err
	}
	p.Platforms = dedup(p.Platforms)
	if tz := one("tz"); tz != "" { // tz= given empty is the default, UTC
		p.TZ = tz
	}
	if p.Loc, err = location(p.TZ); err != nil {
		return p, err
	}
	if f := one("format"); f != "" {
		if !slices.Contains(Formats, f) {
			return p, badParam("format", "%q is not one of %s", f, strings.Join(Formats, ", "))
		}
		p.Format = f
	}
	if iv := one("interval"); iv != "" {
		if a, ok := intervalAliases[strings.ToLower(iv)]; ok {
			iv = a
		}
		if _, ok := Intervals[iv]; !ok {
			return p, badParam("interval", "%q is not one of 5m, 15m, hour, day", iv)
		}
		p.Interval = iv
	}
	if err := p.window(one("from"), one("to"), one("since"), now); err != nil {
		return p, err
	}
	if s.Series {
		if n := len(Buckets(p.From, p.To, p.Interval, p.Loc)); n > MaxBuckets {
			return p, badParam("interval", "%d buckets of %s in the window; at most %d", n, p.Interval, MaxBuckets)
		}
	}
	if x := one("limit"); x != "" {
		n, err := strconv.Atoi(x)
		if err != nil || n < 1 || n > s.MaxLimit {
			return p, badParam("limit", "%q is not a number from 1 to %d", x, s.MaxLimit)
		}
		p.Limit = n
	}
	if x := one("sort"); x != "" {
		if !slices.Contains(s.Sorts, x) {
			return p, badParam("sort", "%q is not one of %s", x, strings.Join(s.Sorts, ", "))
		}
		p.Sort = x
	}
	if x := one("label"); x != "" {
		if !slices.Contains(Labels, x) {
			return p, badParam("label", "%q is not one of %s", x, strings.Join(Labels, ", "))
		}
		p.Label = x
	}
	if x := one("term"); x != "" {
		if len(x) > MaxValueBytes {
			return p, badParam("term", "longer than %d bytes", MaxValueBytes)
		}
		p.Term = x
	}
	if x := one("baseline"); x != "" {
		n, err := strconv.Atoi(x)
		if err != nil || n < 1 || n > 500 {
			return p, badParam("baseline", "%q is not a number of buckets from 1 to 500", x)
		}
		p.Baseline = n
	}
	if x := one("ratio"); x != "" {
		r, err := strconv.ParseFloat(x, 64)
		if err != nil || !(r >= 1 && r <= 1000) {
			return p, badParam("ratio", "%q is not a number from 1 to 1000", x)
		}
		p.Ratio = r
	}
	if x := one("min"); x != "" {
		n, err := strconv.Atoi(x)
		if err != nil || n < 1 || n > 1_000_000_000 {
			return p, badParam("min", "%q is not a positive number of posts", x)
		}
		p.Min = n
	}
	return p, nil
}

// list splits repeated and comma-separated values.
func list(vals []string, name string) ([]string, error) {
	var out []string
	for _, v := range vals {
		for _, x := range strings.Split(v, ",") {
			x = strings.TrimSpace(x)
			if x == "" {
				continue
			}
			if len(x) > MaxValueBytes {
				return nil, badParam(name, "longer than %d bytes", MaxValueBytes)
			}
			out = append(out, x)
		}
	}
	if len(out) > MaxValues {
		return nil, badParam(name, "%d values; at most %d", len(out), MaxValues)
	}
	return out, nil
}

func dedup(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// brandID maps a brand's name or alias to its id; anything else is kept
// as given (and matches nothing if no post names it).
func brandID(wl *brands.WatchList, s string) string {
	if wl.Brand(s) != nil {
		return s
	}
	ls := strings.ToLower(s)
	for _, b := range wl.Brands {
		for _, n := range wl.Names(b.ID) {
			if n == s || strings.ToLower(n) == ls {
				return b.ID
			}
		}
	}
	return s
}

// window sets From and To from --from, --to and --since.
func (p *Params) window(from, to, since string, now time.Time) error {
	if since != "" && from != "" {
		return badParam("since", "give --since or --from, not both")
	}
	p.To = now.UTC().Truncate(time.Second)
	if to != "" {
		t, err := parseTime(to, p.Loc)
		if err != nil {
			return badParam("to", "%v", err)
		}
		p.To = t
	}
	switch {
	case from != "":
		t, err := parseTime(from, p.Loc)
		if err != nil {
			return badParam("from", "%v", err)
		}
		p.From = t
	case since != "":
		d, err := parseSpan(since)
		if err != nil {
			return badParam("since", "%v", err)
		}
		p.From = p.To.Add(-d)
	default:
		p.From = p.To.Add(-DefaultSince)
	}
	switch {
	case !p.From.Before(p.To):
		return badParam("from", "must be before to (%s)", p.To.Format(time.RFC3339))
	case p.To.Sub(p.From) > MaxWindow:
		return badParam("from", "the window is longer than %d days", int(MaxWindow.Hours()/24))
	case p.From.Year() < 1971 || p.To.Year() > 2105:
		return badParam("from", "outside the years 1971–2105")
	}
	return nil
}

var timeLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// parseTime reads RFC 3339, a local date-time or date in loc, or Unix
// seconds.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Truncate(time.Second), nil
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && n < 1<<32 {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time (RFC 3339, 2006-01-02 15:04, 2006-01-02 or Unix seconds)", s)
}

// parseSpan reads a Go duration or a number of days ("7d").
func parseSpan(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%q is not a span (24h, 90m, 7d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("%q is not a span (24h, 90m, 7d)", s)
	}
	return d, nil
}

// Buckets lists the starts of the interval buckets that [from, to)
// touches, in loc for hour and day buckets (as ClickHouse's toStartOfHour
// and toStartOfDay with a zone).
func Buckets(from, to time.Time, interval string, loc *time.Location) []time.Time {
	var out []time.Time
	for t := floorBucket(from, interval, loc); t.Before(to); t = nextBucket(t, interval, loc) {
		out = append(out, t)
		if len(out) > MaxBuckets {
			break
		}
	}
	return out
}

func floorBucket(t time.Time, interval string, loc *time.Location) time.Time {
	switch interval {
	case "hour":
		lt := t.In(loc)
		return t.Add(-time.Duration(lt.Minute())*time.Minute - time.Duration(lt.Second())*time.Second - time.Duration(lt.Nanosecond())).UTC()
	case "day":
		lt := t.In(loc)
		return time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc).UTC()
	default:
		return t.UTC().Truncate(Intervals[interval])
	}
}

func nextBucket(t time.Time, interval string, loc *time.Location) time.Time {
	if interval == "day" {
		lt := t.In(loc)
		return time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc).UTC()
	}
	return t.Add(Intervals[interval])
}

// BrandList parses brand values as reports do (repeated or
// comma-separated; names and aliases mapped to ids when wl is not nil;
// duplicates dropped).
func BrandList(vals []string, wl *brands.WatchList) ([]string, error) {
	out, err := list(vals, "brand")
	if err != nil {
		return nil, err
	}
	if wl != nil {
		for i, b := range out {
			out[i] = brandID(wl, b)
		}
	}
	return dedup(out), nil
}
