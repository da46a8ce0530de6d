// Package weibomobile is the m.weibo.cn poller (`iwom connector
// weibo-mobile`): user timelines and keyword search through
// api/container/getIndex, long texts through statuses/extend, HTML text
// cleaned to plain text, relative dates and "100万+" counts parsed. It
// copes with ok:0 pages and backs off on captcha and 418 answers.
package weibomobile

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/iwom/iwom/pipeline/connectors/kit"
)

// DefaultBaseURL is the real mobile site.
const DefaultBaseURL = "https://m.weibo.cn"

// Sources.
const (
	SourceUser   = "user_timeline"
	SourceSearch = "search"
)

// Config is one `kind: weibo-mobile` entry of connectors:.
type Config struct {
	Name        string   `mapstructure:"name"`
	BaseURL     string   `mapstructure:"base_url"`
	Users       []string `mapstructure:"users"`            // uids: containerid=107603{uid}
	Search      []string `mapstructure:"search"`           // queries: containerid=100103type=1&q=…
	SearchWatch bool     `mapstructure:"search_watchlist"` // also search every watch-list keyword
	Cookie      string   `mapstructure:"cookie"`           // optional Cookie header (search often needs a logged-in SUB cookie); secret
	LongText    bool     `mapstructure:"long_text"`        // fetch statuses/extend for truncated texts

	Interval  time.Duration            `mapstructure:"interval"`
	Intervals map[string]time.Duration `mapstructure:"intervals"` // per source: user_timeline, search
	MaxPages  int                      `mapstructure:"max_pages"`
	Once      bool                     `mapstructure:"once"`

	// Back-off on captcha, 418 and 403 answers; retries of network
	// errors, malformed answers and ok:0 pages.
	kit.Policy   `mapstructure:",squash"`
	EmptyRetries int    `mapstructure:"empty_retries"` // ok:0 answers for a page before it counts as the end
	UserAgent    string `mapstructure:"user_agent"`
}

// DefaultConfig is a Config with every default set.
func DefaultConfig() Config {
	return Config{
		BaseURL:  DefaultBaseURL,
		LongText: true,
		Interval: 3 * time.Minute,
		MaxPages: 10,
		Policy: kit.Policy{
			Timeout:    20 * time.Second,
			BackoffMin: 2 * time.Minute,
			BackoffMax: time.Hour,
			RetryMin:   2 * time.Second,
			RetryMax:   time.Minute,
			Retries:    5,
		},
		EmptyRetries: 2,
		UserAgent:    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
	}
}

// Validate checks the values and names the bad key.
func (c *Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("base_url: %q is not an http(s) URL", c.BaseURL)
	case len(c.Users) == 0 && len(c.Search) == 0:
		return fmt.Errorf("users, search: nothing to poll")
	case c.Interval <= 0:
		return fmt.Errorf("interval: must be positive")
	case c.MaxPages < 1:
		return fmt.Errorf("max_pages: must be at least 1")
	}
	if err := c.Policy.Validate(); err != nil {
		return err
	}
	switch {
	case c.EmptyRetries < 0 || c.EmptyRetries >= c.Retries:
		return fmt.Errorf("empty_retries: must be 0 to retries-1 (%d)", c.Retries-1)
	}
	for k, d := range c.Intervals {
		if k != SourceUser && k != SourceSearch {
			return fmt.Errorf("intervals.%s: unknown source (user_timeline, search)", k)
		}
		if d <= 0 {
			return fmt.Errorf("intervals.%s: must be positive", k)
		}
	}
	for i, uid := range c.Users {
		if !digits(uid) {
			return fmt.Errorf("users[%d]: %q is not a numeric uid", i, uid)
		}
	}
	for i, q := range c.Search {
		if strings.TrimSpace(q) == "" {
			return fmt.Errorf("search[%d]: empty query", i)
		}
	}
	return nil
}

func (c *Config) interval(source string) time.Duration {
	if d, ok := c.Intervals[source]; ok {
		return d
	}
	return c.Interval
}
