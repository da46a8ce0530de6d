// Package weibo is the Sina Weibo Open API v2 poller (`iwom connector
// weibo`): it polls statuses/home_timeline, statuses/user_timeline,
// search/topics, statuses/repost_timeline and comments/show, pages with
// since_id/max_id so that nothing is skipped or fetched twice, keeps its
// cursors in NATS KV, and backs off on the rate-limit codes.
package weibo

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/iwom/iwom/pipeline/connectors/kit"
)

// DefaultBaseURL is the real Open API.
const DefaultBaseURL = "https://api.weibo.com/2"

// Sources, also the keys of Config.Intervals and the "source" label of the
// back-off metric.
const (
	SourceHome     = "home_timeline"
	SourceUser     = "user_timeline"
	SourceSearch   = "search"
	SourceComments = "comments"
	SourceReposts  = "reposts"
)

// Config is one `kind: weibo` entry of connectors:.
type Config struct {
	Name        string `mapstructure:"name"`
	BaseURL     string `mapstructure:"base_url"`
	AccessToken string `mapstructure:"access_token"`

	HomeTimeline bool     `mapstructure:"home_timeline"`    // poll statuses/home_timeline
	Users        []string `mapstructure:"users"`            // uids for statuses/user_timeline
	Search       []string `mapstructure:"search"`           // search/topics queries (the registry adds the watch-list's when search_watchlist is set)
	SearchWatch  bool     `mapstructure:"search_watchlist"` // also search every watch-list keyword
	CommentsOf   []string `mapstructure:"comments_of"`      // status ids whose comments to poll
	RepostsOf    []string `mapstructure:"reposts_of"`       // status ids whose reposts to poll
	// Posts that matter: statuses seen with at least this many comments
	// (reposts) get their comments (reposts) polled too, up to FollowMax
	// posts for FollowFor. 0 disables.
	FollowMinComments int64         `mapstructure:"follow_min_comments"`
	FollowMinReposts  int64         `mapstructure:"follow_min_reposts"`
	FollowMax         int           `mapstructure:"follow_max"`
	FollowFor         time.Duration `mapstructure:"follow_for"`

	Interval  time.Duration            `mapstructure:"interval"`  // every source, unless in Intervals
	Intervals map[string]time.Duration `mapstructure:"intervals"` // per source: home_timeline, user_timeline, search, comments, reposts
	Count     int                      `mapstructure:"count"`     // statuses per page (<= 100)
	MaxPages  int                      `mapstructure:"max_pages"` // pages per target per cycle; the rest waits for the next cycle
	Once      bool                     `mapstructure:"once"`      // fetch every source until caught up, then return

	// Back-off on rate limits (10022/10023/10024), retries of transient
	// errors (10001/10002, network, malformed answers).
	kit.Policy `mapstructure:",squash"`
	UserAgent  string `mapstructure:"user_agent"`
}

// DefaultConfig is a Config with every default set.
func DefaultConfig() Config {
	return Config{
		BaseURL:      DefaultBaseURL,
		HomeTimeline: true,
		FollowMax:    20,
		FollowFor:    72 * time.Hour,
		Interval:     3 * time.Minute,
		Count:        100,
		MaxPages:     10,
		Policy: kit.Policy{
			Timeout:    30 * time.Second,
			BackoffMin: time.Minute,
			BackoffMax: 30 * time.Minute,
			RetryMin:   2 * time.Second,
			RetryMax:   time.Minute,
			Retries:    5,
		},
		UserAgent: "iwom-weibo/1",
	}
}

// Validate checks the values and names the bad key.
func (c *Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("base_url: %q is not an http(s) URL", c.BaseURL)
	case c.AccessToken == "":
		return fmt.Errorf("access_token: must be set (OAuth2 token of the app)")
	case c.Interval <= 0:
		return fmt.Errorf("interval: must be positive")
	case c.Count < 1 || c.Count > 100:
		return fmt.Errorf("count: must be 1 to 100")
	case c.MaxPages < 1:
		return fmt.Errorf("max_pages: must be at least 1")
	case c.FollowMinComments < 0 || c.FollowMinReposts < 0:
		return fmt.Errorf("follow_min_comments, follow_min_reposts: must not be negative")
	case c.FollowMax < 1:
		return fmt.Errorf("follow_max: must be at least 1")
	case c.FollowFor <= 0:
		return fmt.Errorf("follow_for: must be positive")
	}
	if err := c.Policy.Validate(); err != nil {
		return err
	}
	for k, d := range c.Intervals {
		switch k {
		case SourceHome, SourceUser, SourceSearch, SourceComments, SourceReposts:
		default:
			return fmt.Errorf("intervals.%s: unknown source (home_timeline, user_timeline, search, comments, reposts)", k)
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
	for i, id := range c.CommentsOf {
		if !digits(id) {
			return fmt.Errorf("comments_of[%d]: %q is not a numeric status id", i, id)
		}
	}
	for i, id := range c.RepostsOf {
		if !digits(id) {
			return fmt.Errorf("reposts_of[%d]: %q is not a numeric status id", i, id)
		}
	}
	for i, q := range c.Search {
		if strings.TrimSpace(q) == "" {
			return fmt.Errorf("search[%d]: empty query", i)
		}
	}
	if !c.HomeTimeline && len(c.Users) == 0 && len(c.Search) == 0 && len(c.CommentsOf) == 0 && len(c.RepostsOf) == 0 {
		return fmt.Errorf("home_timeline, users, search, comments_of, reposts_of: nothing to poll")
	}
	return nil
}

func (c *Config) interval(source string) time.Duration {
	if d, ok := c.Intervals[source]; ok {
		return d
	}
	return c.Interval
}

func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
