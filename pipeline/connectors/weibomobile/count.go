package weibomobile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrCount marks a count the parser does not understand.
var ErrCount = errors.New("unrecognised count")

// maxCount bounds parsed counts (far above any real one).
const maxCount = 1e15

// ParseCount parses the counts m.weibo.cn shows: "123", "1,234", "3.5万",
// "100万+", "1.2亿", "1.2w"; an empty string is 0. A trailing "+" (a
// lower bound) is dropped.
func ParseCount(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(t, "+")
	t = strings.ReplaceAll(t, ",", "")
	if t == "" {
		return 0, nil
	}
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"亿", 1e8}, {"万", 1e4}, {"w", 1e4}, {"W", 1e4}, {"千", 1e3}, {"k", 1e3}, {"K", 1e3}} {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	if t == "" || strings.ContainsAny(t, "eE_xXpP") || strings.HasPrefix(t, "+") || strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("%w: %.40q", ErrCount, s)
	}
	if mult == 1 {
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n > maxCount {
			return 0, fmt.Errorf("%w: %.40q", ErrCount, s)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f*mult > maxCount {
		return 0, fmt.Errorf("%w: %.40q", ErrCount, s)
	}
	return int64(math.Round(f * mult)), nil
}

// Count is a count in an m.weibo.cn answer: a number, or a string such as
// "100万+". One that cannot be read is 0 (a count is not worth losing the
// post over); Bad says so.
type Count struct {
	N   int64
	Bad bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Count) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*c = Count{}
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if json.Unmarshal(b, &s) != nil {
			c.Bad = true
			return nil
		}
		n, err := ParseCount(s)
		c.N, c.Bad = n, err != nil
		return nil
	}
	n, err := ParseCount(string(b))
	if err != nil {
		// 1.5e4 or a fraction as a JSON number.
		var f float64
		if json.Unmarshal(b, &f) == nil && f >= 0 && f <= maxCount {
			c.N = int64(f)
			return nil
		}
		c.Bad = true
		return nil
	}
	c.N = n
	return nil
}
