package weibomobile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

// Shanghai is China Standard Time (UTC+8, no daylight saving since 1991),
// the zone m.weibo.cn writes its dates in.
var Shanghai = time.FixedZone("CST", 8*3600)

// ErrDate marks a created_at the parser does not understand.
var ErrDate = errors.New("unrecognised m.weibo.cn date")

// V2Layout is the Open API date format, which m.weibo.cn also uses.
const V2Layout = "Mon Jan 02 15:04:05 -0700 2006"

// ParseDate parses an m.weibo.cn created_at against the fetch time now:
// "刚刚", "30秒前", "15分钟前", "3小时前", "今天 12:30", "昨天 12:30",
// "前天 12:30", "06-27" and "06-27 12:30" (this year, or last year when that
// would be in the future), "2023-06-27" with an optional time, and the
// Open API form "Wed Apr 18 14:00:30 +0800 2012". Wall-clock forms are in
// Asia/Shanghai. The result is in UTC.
func ParseDate(s string, now time.Time) (time.Time, error) {
	t, err := parseDate(s, now)
	if err != nil {
		return t, err
	}
	if err := post.CheckCreatedAt(t); err != nil {
		return time.Time{}, fmt.Errorf("%w: %.40q: %w", ErrDate, s, err)
	}
	return t, nil
}

func parseDate(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	now = now.In(Shanghai)
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("%w: %.40q", ErrDate, s) }
	if s == "" {
		return bad()
	}
	if s == "刚刚" {
		return now.UTC(), nil
	}
	for _, u := range []struct {
		suffix string
		unit   time.Duration
		limit  int64
	}{{"秒前", time.Second, 86400}, {"分钟前", time.Minute, 7 * 1440}, {"小时前", time.Hour, 31 * 24}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			if err != nil || n < 0 || n > u.limit {
				return bad()
			}
			return now.Add(-time.Duration(n) * u.unit).UTC(), nil
		}
	}
	for _, d := range []struct {
		prefix string
		days   int
	}{{"今天", 0}, {"昨天", 1}, {"前天", 2}} {
		if rest, ok := strings.CutPrefix(s, d.prefix); ok {
			h, m, ok := clock(strings.TrimSpace(rest))
			if !ok {
				return bad()
			}
			y, mo, day := now.AddDate(0, 0, -d.days).Date()
			return time.Date(y, mo, day, h, m, 0, 0, Shanghai).UTC(), nil
		}
	}
	if t, err := time.Parse(V2Layout, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, Shanghai); err == nil {
			return t.UTC(), nil
		}
	}
	// "06-27" or "06-27 12:30": this year, unless that is in the future.
	date, hm, _ := strings.Cut(s, " ")
	h, m := 0, 0
	if hm != "" {
		var ok bool
		if h, m, ok = clock(hm); !ok {
			return bad()
		}
	}
	if len(date) != 5 || date[2] != '-' {
		return bad()
	}
	mo, err1 := strconv.Atoi(date[:2])
	day, err2 := strconv.Atoi(date[3:])
	if err1 != nil || err2 != nil || mo < 1 || mo > 12 || day < 1 || day > 31 {
		return bad()
	}
	t := time.Date(now.Year(), time.Month(mo), day, h, m, 0, 0, Shanghai)
	if t.Month() != time.Month(mo) {
		return bad() // 02-30
	}
	if t.After(now.Add(24 * time.Hour)) {
		t = time.Date(now.Year()-1, time.Month(mo), day, h, m, 0, 0, Shanghai)
		if t.Month() != time.Month(mo) {
			return bad() // 02-29 of a common year
		}
	}
	return t.UTC(), nil
}

// clock parses "HH:MM".
func clock(s string) (h, m int, ok bool) {
	hs, ms, found := strings.Cut(s, ":")
	if !found || len(hs) == 0 || len(hs) > 2 || len(ms) != 2 {
		return 0, 0, false
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, 0, false
	}
	return h, m, true
}
