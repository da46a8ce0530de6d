package weibomobile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/kit"
)

// Connector polls m.weibo.cn.
type Connector struct {
	cfg    Config
	env    kit.Env
	http   *kit.HTTP
	instr  *kit.Instr
	health *kit.Health
	log    zerolog.Logger
}

// New checks cfg and builds the connector.
func New(cfg Config, env kit.Env) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env = env.Fill()
	instr := env.Metrics.For(cfg.Name, env.Now)
	return &Connector{
		cfg:    cfg,
		env:    env,
		http:   kit.NewHTTP(cfg.Timeout, cfg.UserAgent),
		instr:  instr,
		health: kit.NewHealth(instr),
		log:    env.Log.With().Str("connector", cfg.Name).Logger(),
	}, nil
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Ready reports nil while the connector runs and no source has stopped.
func (c *Connector) Ready() error { return c.health.Ready() }

// Run polls until ctx ends (or, with once, until every source is caught up).
func (c *Connector) Run(ctx context.Context, pub connectors.Publisher) error {
	var groups []kit.Group
	if len(c.cfg.Users) > 0 {
		var ts []target
		for _, uid := range c.cfg.Users {
			ts = append(ts, target{source: SourceUser, key: kit.Key(c.cfg.Name, "user", uid), params: url.Values{"containerid": {"107603" + uid}}})
		}
		groups = append(groups, kit.Group{Name: SourceUser, Interval: c.cfg.interval(SourceUser), Cycle: c.cycle(SourceUser, pub, ts)})
	}
	if len(c.cfg.Search) > 0 {
		var ts []target
		for _, q := range c.cfg.Search {
			ts = append(ts, target{source: SourceSearch, key: kit.Key(c.cfg.Name, "search", q), paged: true,
				params: url.Values{"containerid": {"100103type=1&q=" + q}, "page_type": {"searchall"}}})
		}
		groups = append(groups, kit.Group{Name: SourceSearch, Interval: c.cfg.interval(SourceSearch), Cycle: c.cycle(SourceSearch, pub, ts)})
	}
	return kit.Poll(ctx, pub, groups, c.cfg.Once, c.health, c.log)
}

type target struct {
	source string
	key    string
	params url.Values
	paged  bool // page numbers (search) rather than the since_id cursor (timelines)
}

func (c *Connector) cycle(source string, pub connectors.Publisher, ts []target) func(context.Context) error {
	retry := c.cfg.Retry(source, c.instr, c.log, c.env.Now)
	return func(ctx context.Context) error {
		return kit.Each(ctx, ts, c.log, func(t target) string { return t.params.Get("containerid") },
			func(ctx context.Context, t target) error { return c.walk(ctx, pub, t, retry) })
	}
}

// get calls the mobile site and returns a JSON answer's body. Blocks
// (418, 403), verification pages and ok:-100 answers are RateLimited
// "captcha" errors: the poller backs off and reports them.
func (c *Connector) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := strings.TrimRight(c.cfg.BaseURL, "/") + path + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json, text/plain, */*")
	req.Header.Set("X-Requested-With", "XMLHttpRequest")
	req.Header.Set("MWeibo-Pwa", "1")
	req.Header.Set("Referer", strings.TrimRight(c.cfg.BaseURL, "/")+"/")
	if c.cfg.Cookie != "" {
		req.Header.Set("Cookie", c.cfg.Cookie)
	}
	ans, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	body := bytes.TrimSpace(ans.Body)
	isJSON := len(body) > 0 && body[0] == '{'
	switch {
	case ans.Status == http.StatusTeapot || ans.Status == http.StatusTooManyRequests:
		return nil, kit.Errf(kit.RateLimited, "rate_limit", "%s: HTTP %d: m.weibo.cn is throttling this address", path, ans.Status)
	case ans.Status == http.StatusForbidden || !isJSON && looksLikeCaptcha(body):
		return nil, kit.Errf(kit.RateLimited, "captcha", "%s: HTTP %d: verification page (captcha); backing off — a logged-in cookie may be needed", path, ans.Status)
	case ans.Status >= 300:
		return nil, kit.Errf(kit.Transient, "http", "%s: HTTP %d: %s", path, ans.Status, kit.Snippet(body))
	case !isJSON:
		return nil, kit.Errf(kit.Transient, "malformed", "%s: answer is not JSON: %s", path, kit.Snippet(body))
	}
	var head struct {
		OK  kit.Int `json:"ok"`
		Msg string  `json:"msg"`
		URL string  `json:"url"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, kit.Errf(kit.Transient, "malformed", "%s: decoding answer: %v", path, err)
	}
	if head.OK < 0 {
		return nil, kit.Errf(kit.RateLimited, "captcha", "%s: ok:%d (login or verification required at %s); backing off", path, head.OK, head.URL)
	}
	return body, nil
}

type indexAnswer struct {
	OK   kit.Int `json:"ok"`
	Msg  string  `json:"msg"`
	Data *struct {
		CardlistInfo struct {
			SinceID kit.ID  `json:"since_id"` // timelines: the next page's cursor
			Page    kit.ID  `json:"page"`     // search: the next page, null on the last
			Total   kit.Int `json:"total"`
		} `json:"cardlistInfo"`
		Cards []card `json:"cards"`
	} `json:"data"`
}

func (c *Connector) index(ctx context.Context, q url.Values) (*indexAnswer, error) {
	body, err := c.get(ctx, "/api/container/getIndex", q)
	if err != nil {
		return nil, err
	}
	var a indexAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, kit.Errf(kit.Transient, "malformed", "getIndex: decoding answer: %v", err)
	}
	if a.OK == 1 && a.Data == nil {
		return nil, kit.Errf(kit.Transient, "malformed", "getIndex: ok:1 without data: %s", kit.Snippet(body))
	}
	return &a, nil
}

// longText fetches the whole HTML text of a truncated mblog.
func (c *Connector) longText(ctx context.Context, id string) (string, error) {
	body, err := c.get(ctx, "/statuses/extend", url.Values{"id": {id}})
	if err != nil {
		return "", err
	}
	var a struct {
		OK   kit.Int `json:"ok"`
		Data *struct {
			LongTextContent string `json:"longTextContent"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return "", kit.Errf(kit.Transient, "malformed", "statuses/extend: decoding answer: %v", err)
	}
	if a.OK != 1 || a.Data == nil || a.Data.LongTextContent == "" {
		return "", kit.Errf(kit.Transient, "empty", "statuses/extend %s: no long text (ok:%d)", id, a.OK)
	}
	return a.Data.LongTextContent, nil
}

// cursor is where a walk stands: newest first down to Since; Top is the
// newest id the walk in progress saw, Next/Page where it resumes.
type cursor struct {
	Since int64  `json:"since"`
	Top   int64  `json:"top,omitempty"`
	Next  string `json:"next,omitempty"` // since_id of the next timeline page
	Page  int    `json:"page,omitempty"` // next search page
}

func (c *Connector) walk(ctx context.Context, pub connectors.Publisher, t target, retry *kit.Retry) error {
	var cur cursor
	if _, err := c.env.Store.Load(ctx, t.key, &cur); err != nil {
		return err
	}
	seen := map[string]bool{}
	// A walk that resumes ends at the old Since; with once, a fresh walk
	// then fetches what came since.
	resumed := cur.Next != "" || cur.Page > 0
	for pages := 1; ; pages++ {
		q := url.Values{}
		for k, v := range t.params {
			q[k] = v
		}
		n := max(cur.Page, 1)
		if t.paged {
			q.Set("page", strconv.Itoa(n))
		} else if cur.Next != "" {
			q.Set("since_id", cur.Next)
		}
		var ans *indexAnswer
		empties := 0
		err := retry.Do(ctx, "polling getIndex", func(ctx context.Context) error {
			a, err := c.index(ctx, q)
			if err != nil {
				return err
			}
			if a.OK != 1 {
				// ok:0 comes for the end of a list and, now and then, for
				// a page that exists: ask again before believing it.
				empties++
				if empties <= c.cfg.EmptyRetries {
					e := kit.Errf(kit.Transient, "empty", "getIndex %s: ok:%d %q", t.params.Get("containerid"), a.OK, a.Msg)
					e.Quiet = true
					return e
				}
			}
			ans = a
			return nil
		})
		if err != nil {
			return fmt.Errorf("polling %s %s: %w", t.source, t.params.Get("containerid"), err)
		}
		fetched := c.env.Now()
		var raws []json.RawMessage
		if ans.OK == 1 {
			raws = mblogs(ans.Data.Cards, nil)
		}
		c.instr.Fetched(len(raws))
		c.instr.Success()
		reachedOld := false
		for _, raw := range raws {
			old, err := c.handle(ctx, pub, raw, fetched, &cur, seen, retry)
			if err != nil {
				return err
			}
			reachedOld = reachedOld || old
		}
		if err := pub.Flush(ctx); err != nil {
			return fmt.Errorf("flushing posts: %w", err)
		}
		var next string
		if ans.OK == 1 && t.paged {
			next = string(ans.Data.CardlistInfo.Page)
		} else if ans.OK == 1 {
			next = string(ans.Data.CardlistInfo.SinceID)
		}
		// The last page has no next cursor.
		done := reachedOld || len(raws) == 0 || next == "" || next == "0" || !t.paged && next == cur.Next
		if done {
			cur = cursor{Since: max(cur.Since, cur.Top)}
		} else if t.paged {
			cur.Page = n + 1
		} else {
			cur.Next = next
		}
		if err := c.env.Store.Save(ctx, t.key, cur); err != nil {
			return err
		}
		if done && c.cfg.Once && resumed {
			resumed = false
			continue
		}
		if done || !c.cfg.Once && pages >= c.cfg.MaxPages {
			return nil
		}
	}
}

// handle publishes one mblog (fetching its long text first) and reports
// whether it is older than the cursor, which ends the walk. A pinned
// mblog may be old without ending it.
func (c *Connector) handle(ctx context.Context, pub connectors.Publisher, raw json.RawMessage, fetched time.Time, cur *cursor, seen map[string]bool, retry *kit.Retry) (old bool, err error) {
	m, err := decodeMblog(raw)
	if err != nil {
		return false, c.instr.Reject(ctx, pub, raw, err)
	}
	id, _ := strconv.ParseInt(m.id(), 10, 64)
	if id > 0 {
		cur.Top = max(cur.Top, id)
		if id <= cur.Since {
			c.instr.Post(kit.OutcomeDeduplicated)
			return m.IsTop != 1, nil
		}
	}
	if seen[m.id()] {
		c.instr.Post(kit.OutcomeDeduplicated)
		return false, nil
	}
	text := m.Text
	if c.cfg.LongText && bool(m.IsLongText) && id > 0 {
		err := retry.Do(ctx, "fetching long text", func(ctx context.Context) error {
			var err error
			text, err = c.longText(ctx, m.id())
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			// Keep the truncated text rather than lose the post.
			c.instr.Error("long_text")
			text = m.Text
		}
	}
	p, err := MapMblog(m, text, fetched)
	if err != nil {
		return false, c.instr.Reject(ctx, pub, raw, err)
	}
	seen[p.ID] = true
	return false, c.instr.Publish(ctx, pub, p)
}
