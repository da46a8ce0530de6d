// Package wechatmp is the WeChat Official Account articles and comments
// poller (`iwom connector wechat-mp`): it keeps an access token from
// /cgi-bin/token (refreshed before expiry and on 40001/40014/42001, one
// refresh at a time), reads published articles (freepublish/batchget) and
// optionally older news materials (material/batchget_material), and the
// readers' comments of each article (comment/list). A 45009 daily quota
// answer pauses the poller until the quota resets.
package wechatmp

import (
	"fmt"
	"net/url"
	"time"

	"github.com/iwom/iwom/pipeline/connectors/kit"
)

// DefaultBaseURL is the real API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Sources.
const (
	SourceArticles = "articles"
	SourceComments = "comments"
)

// Config is one `kind: wechat-mp` entry of connectors:.
type Config struct {
	Name      string `mapstructure:"name"`
	BaseURL   string `mapstructure:"base_url"`
	AppID     string `mapstructure:"appid"`
	Secret    string `mapstructure:"secret"`    // AppSecret; never logged
	Articles  bool   `mapstructure:"articles"`  // freepublish/batchget
	Materials bool   `mapstructure:"materials"` // material/batchget_material (type news)
	Comments  bool   `mapstructure:"comments"`  // comment/list of each article with comments open
	// Articles whose comments are polled: at most CommentArticles, for
	// CommentFor after the poller first saw them.
	CommentArticles int           `mapstructure:"comment_articles"`
	CommentFor      time.Duration `mapstructure:"comment_for"`

	Interval  time.Duration            `mapstructure:"interval"`
	Intervals map[string]time.Duration `mapstructure:"intervals"` // per source: articles, comments
	PageSize  int                      `mapstructure:"page_size"` // articles per call (1–20)
	// CommentPage is comments per call (1–49: WeChat refuses 50 and more).
	CommentPage int  `mapstructure:"comment_page"`
	MaxPages    int  `mapstructure:"max_pages"`
	Once        bool `mapstructure:"once"`

	RefreshBefore time.Duration `mapstructure:"refresh_before"` // renew the token this long before it expires
	// QuotaPause is how long a 45009 (daily quota) answer pauses the
	// poller; 0 waits until midnight Asia/Shanghai, when WeChat resets it.
	QuotaPause time.Duration `mapstructure:"quota_pause"`
	// Back-off on 45011 (minute quota); retries of -1 (busy), network
	// errors and malformed answers.
	kit.Policy `mapstructure:",squash"`
}

// DefaultConfig is a Config with every default set.
func DefaultConfig() Config {
	return Config{
		BaseURL:         DefaultBaseURL,
		Articles:        true,
		Comments:        true,
		CommentArticles: 50,
		CommentFor:      30 * 24 * time.Hour,
		Interval:        5 * time.Minute,
		PageSize:        20,
		CommentPage:     49,
		MaxPages:        10,
		RefreshBefore:   5 * time.Minute,
		Policy: kit.Policy{
			Timeout:    30 * time.Second,
			BackoffMin: time.Minute,
			BackoffMax: 10 * time.Minute,
			RetryMin:   2 * time.Second,
			RetryMax:   time.Minute,
			Retries:    5,
		},
	}
}

// Validate checks the values and names the bad key.
func (c *Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("base_url: %q is not an http(s) URL", c.BaseURL)
	case c.AppID == "":
		return fmt.Errorf("appid: must be set")
	case c.Secret == "":
		return fmt.Errorf("secret: must be set (the account's AppSecret)")
	case !c.Articles && !c.Materials:
		return fmt.Errorf("articles, materials: nothing to poll")
	case c.CommentArticles < 1:
		return fmt.Errorf("comment_articles: must be at least 1")
	case c.CommentFor <= 0:
		return fmt.Errorf("comment_for: must be positive")
	case c.Interval <= 0:
		return fmt.Errorf("interval: must be positive")
	case c.PageSize < 1 || c.PageSize > 20:
		return fmt.Errorf("page_size: must be 1 to 20")
	case c.CommentPage < 1 || c.CommentPage > 49:
		return fmt.Errorf("comment_page: must be 1 to 49")
	case c.MaxPages < 1:
		return fmt.Errorf("max_pages: must be at least 1")
	case c.RefreshBefore < 0:
		return fmt.Errorf("refresh_before: must not be negative")
	case c.QuotaPause < 0:
		return fmt.Errorf("quota_pause: must not be negative")
	}
	if err := c.Policy.Validate(); err != nil {
		return err
	}
	for k, d := range c.Intervals {
		if k != SourceArticles && k != SourceComments {
			return fmt.Errorf("intervals.%s: unknown source (articles, comments)", k)
		}
		if d <= 0 {
			return fmt.Errorf("intervals.%s: must be positive", k)
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
