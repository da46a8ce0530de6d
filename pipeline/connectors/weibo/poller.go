package weibo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/post"
)

// Connector polls the Open API.
type Connector struct {
	cfg    Config
	env    kit.Env
	client *client
	instr  *kit.Instr
	health *kit.Health
	log    zerolog.Logger
	// Posts that matter, found in the timelines: their comments and
	// reposts are polled too.
	followComments *kit.Tracked[struct{}]
	followReposts  *kit.Tracked[struct{}]
}

// New checks cfg and builds the connector.
func New(cfg Config, env kit.Env) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	env = env.Fill()
	instr := env.Metrics.For(cfg.Name, env.Now)
	c := &Connector{
		cfg:    cfg,
		env:    env,
		client: &client{base: cfg.BaseURL, token: cfg.AccessToken, http: kit.NewHTTP(cfg.Timeout, cfg.UserAgent)},
		instr:  instr,
		health: kit.NewHealth(instr),
		log:    env.Log.With().Str("connector", cfg.Name).Logger(),
	}
	mk := func(what string) *kit.Tracked[struct{}] {
		return &kit.Tracked[struct{}]{Store: env.Store, Key: kit.Key(cfg.Name, "follow", what), Max: cfg.FollowMax, TTL: cfg.FollowFor, Now: env.Now}
	}
	if cfg.FollowMinComments > 0 {
		c.followComments = mk(SourceComments)
	}
	if cfg.FollowMinReposts > 0 {
		c.followReposts = mk(SourceReposts)
	}
	return c, nil
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Ready reports nil while the connector runs and no source has stopped.
func (c *Connector) Ready() error { return c.health.Ready() }

// Run polls every configured source until ctx ends (or, with once, until
// each is caught up).
func (c *Connector) Run(ctx context.Context, pub connectors.Publisher) error {
	return kit.Poll(ctx, pub, c.groups(pub), c.cfg.Once, c.health, c.log)
}

// target is one thing to page through: a timeline, a search, the
// comments or reposts of one status.
type target struct {
	key      string // cursor key
	resource string
	params   url.Values
	list     string // envelope field holding the items
	parent   string // comments, reposts: the status id
	paged    bool   // page numbers (search) rather than since_id/max_id
}

func (c *Connector) groups(pub connectors.Publisher) []kit.Group {
	var gs []kit.Group
	add := func(source string, targets func(context.Context) ([]target, error)) {
		gs = append(gs, kit.Group{Name: source, Interval: c.cfg.interval(source), Cycle: c.cycle(source, pub, targets)})
	}
	name := c.cfg.Name
	if c.cfg.HomeTimeline {
		add(SourceHome, func(context.Context) ([]target, error) {
			return []target{{key: kit.Key(name, "home"), resource: "statuses/home_timeline", params: url.Values{}, list: "statuses"}}, nil
		})
	}
	if len(c.cfg.Users) > 0 {
		add(SourceUser, func(context.Context) ([]target, error) {
			ts := make([]target, 0, len(c.cfg.Users))
			for _, uid := range c.cfg.Users {
				ts = append(ts, target{key: kit.Key(name, "user", uid), resource: "statuses/user_timeline", params: url.Values{"uid": {uid}}, list: "statuses"})
			}
			return ts, nil
		})
	}
	if len(c.cfg.Search) > 0 {
		add(SourceSearch, func(context.Context) ([]target, error) {
			ts := make([]target, 0, len(c.cfg.Search))
			for _, q := range c.cfg.Search {
				ts = append(ts, target{key: kit.Key(name, "search", q), resource: "search/topics", params: url.Values{"q": {q}}, list: "statuses", paged: true})
			}
			return ts, nil
		})
	}
	perStatus := func(source, resource, list string, ids []string, follow *kit.Tracked[struct{}]) {
		if len(ids) == 0 && follow == nil {
			return
		}
		add(source, func(ctx context.Context) ([]target, error) {
			all := append([]string(nil), ids...)
			if follow != nil {
				items, err := follow.List(ctx)
				if err != nil {
					return nil, fmt.Errorf("reading followed posts: %w", err)
				}
				for _, it := range items {
					all = append(all, it.ID)
				}
			}
			seen := map[string]bool{}
			var ts []target
			for _, id := range all {
				if seen[id] {
					continue
				}
				seen[id] = true
				ts = append(ts, target{key: kit.Key(name, source, id), resource: resource, params: url.Values{"id": {id}}, list: list, parent: id})
			}
			return ts, nil
		})
	}
	perStatus(SourceComments, "comments/show", "comments", c.cfg.CommentsOf, c.followComments)
	perStatus(SourceReposts, "statuses/repost_timeline", "reposts", c.cfg.RepostsOf, c.followReposts)
	return gs
}

// cycle polls every target of a source once.
func (c *Connector) cycle(source string, pub connectors.Publisher, targets func(context.Context) ([]target, error)) func(context.Context) error {
	retry := c.cfg.Retry(source, c.instr, c.log, c.env.Now)
	return func(ctx context.Context) error {
		ts, err := targets(ctx)
		if err != nil {
			return err
		}
		return kit.Each(ctx, ts, c.log, func(t target) string { return t.resource + "?" + t.params.Encode() },
			func(ctx context.Context, t target) error {
				if t.paged {
					return c.walkPages(ctx, pub, t, retry)
				}
				return c.walkIDs(ctx, pub, t, retry)
			})
	}
}

// item is one status or comment of a page.
type item struct {
	id   int64 // 0 when it has no usable id
	raw  json.RawMessage
	post *post.Post
	err  error // why it could not be mapped
	st   *Status
}

type page struct {
	items      []item
	hasVisible bool
}

func (c *Connector) fetch(ctx context.Context, t target, q url.Values) (page, error) {
	body, err := c.client.get(ctx, t.resource, q)
	if err != nil {
		return page{}, err
	}
	var env struct {
		Statuses   *[]json.RawMessage `json:"statuses"`
		Reposts    *[]json.RawMessage `json:"reposts"`
		Comments   *[]json.RawMessage `json:"comments"`
		HasVisible kit.Bool           `json:"hasvisible"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return page{}, kit.Errf(kit.Transient, "malformed", "%s: decoding answer: %v", t.resource, err)
	}
	var list *[]json.RawMessage
	switch t.list {
	case "statuses":
		list = env.Statuses
	case "reposts":
		list = env.Reposts
	case "comments":
		list = env.Comments
	}
	if list == nil {
		return page{}, kit.Errf(kit.Transient, "malformed", "%s: answer has no %q list: %s", t.resource, t.list, kit.Snippet(body))
	}
	pg := page{hasVisible: bool(env.HasVisible), items: make([]item, 0, len(*list))}
	for _, raw := range *list {
		pg.items = append(pg.items, c.mapItem(t, raw))
	}
	c.instr.Fetched(len(pg.items))
	c.instr.Success()
	return pg, nil
}

func (c *Connector) mapItem(t target, raw json.RawMessage) item {
	it := item{raw: raw}
	if t.list == "comments" {
		var cm Comment
		if err := json.Unmarshal(raw, &cm); err != nil {
			it.err = fmt.Errorf("%w: %v", ErrMalformed, err)
			return it
		}
		it.post, it.err = MapComment(&cm, t.parent)
	} else {
		st, err := DecodeStatus(raw)
		if err != nil {
			it.err = err
			return it
		}
		it.st = st
		it.post, it.err = MapStatus(st)
		if it.err == nil && t.list == "reposts" && it.post.RepostOf == "" {
			it.post.RepostOf = t.parent
		}
	}
	if it.post != nil {
		it.id, _ = strconv.ParseInt(it.post.ID, 10, 64)
	}
	return it
}

// emit publishes one item (dead-lettering it when it could not be mapped)
// and follows the posts that matter.
func (c *Connector) emit(ctx context.Context, pub connectors.Publisher, it item, seen map[int64]bool) error {
	if it.err != nil {
		return c.instr.Reject(ctx, pub, it.raw, it.err)
	}
	if seen[it.id] {
		c.instr.Post(kit.OutcomeDeduplicated)
		return nil
	}
	seen[it.id] = true
	if it.st != nil {
		if c.followComments != nil && int64(it.st.CommentsCount) >= c.cfg.FollowMinComments {
			if err := c.followComments.Add(ctx, it.post.ID, struct{}{}); err != nil {
				return err
			}
		}
		if c.followReposts != nil && int64(it.st.RepostsCount) >= c.cfg.FollowMinReposts {
			if err := c.followReposts.Add(ctx, it.post.ID, struct{}{}); err != nil {
				return err
			}
		}
	}
	return c.instr.Publish(ctx, pub, it.post)
}

// commit makes what was published durable, then records the follow sets
// and the cursor, in that order: a crash in between fetches the page
// again (JetStream drops the duplicates) and never skips it.
func (c *Connector) commit(ctx context.Context, pub connectors.Publisher, key string, cursor any) error {
	if err := pub.Flush(ctx); err != nil {
		return fmt.Errorf("flushing posts: %w", err)
	}
	for _, f := range []*kit.Tracked[struct{}]{c.followComments, c.followReposts} {
		if f != nil {
			if err := f.Save(ctx); err != nil {
				return fmt.Errorf("saving followed posts: %w", err)
			}
		}
	}
	return c.env.Store.Save(ctx, key, cursor)
}

// idCursor is where a since_id/max_id walk stands. A walk starts at the
// newest status and pages down with max_id until it meets Since; then
// Since becomes the newest id the walk saw. Top and Max let a walk cut
// short (page budget, restart) resume where it stopped.
type idCursor struct {
	Since int64 `json:"since"`
	Top   int64 `json:"top,omitempty"`
	Max   int64 `json:"max,omitempty"`
}

func (c *Connector) walkIDs(ctx context.Context, pub connectors.Publisher, t target, retry *kit.Retry) error {
	var cur idCursor
	if _, err := c.env.Store.Load(ctx, t.key, &cur); err != nil {
		return err
	}
	seen := map[int64]bool{}
	// A walk that resumes (after a restart or a spent page budget) ends at
	// the old Since; with once, a fresh walk then fetches what came since.
	resumed := cur.Max > 0
	for pages := 1; ; pages++ {
		q := cloneValues(t.params)
		q.Set("count", strconv.Itoa(c.cfg.Count))
		if cur.Since > 0 {
			q.Set("since_id", strconv.FormatInt(cur.Since, 10))
		}
		if cur.Max > 0 {
			q.Set("max_id", strconv.FormatInt(cur.Max, 10))
		}
		var pg page
		err := retry.Do(ctx, "polling "+t.resource, func(ctx context.Context) error {
			var err error
			pg, err = c.fetch(ctx, t, q)
			return err
		})
		if err != nil {
			return fmt.Errorf("polling %s %s: %w", t.resource, t.params.Encode(), err)
		}
		var lo, hi int64
		for _, it := range pg.items {
			if it.id > 0 {
				if lo == 0 || it.id < lo {
					lo = it.id
				}
				hi = max(hi, it.id)
				if it.id <= cur.Since || cur.Max > 0 && it.id > cur.Max {
					// Outside the window asked for: already ingested.
					c.instr.Post(kit.OutcomeDeduplicated)
					continue
				}
			}
			if err := c.emit(ctx, pub, it, seen); err != nil {
				return err
			}
		}
		// Done at the end of the list, at statuses already ingested (an
		// API ignoring since_id), or when max_id made no progress.
		done := len(pg.items) == 0 || len(pg.items) < c.cfg.Count && !pg.hasVisible ||
			lo == 0 || lo <= cur.Since || cur.Max > 0 && lo > cur.Max
		cur.Top = max(cur.Top, hi)
		if done {
			cur = idCursor{Since: max(cur.Since, cur.Top)}
		} else {
			cur.Max = lo - 1
		}
		if err := c.commit(ctx, pub, t.key, cur); err != nil {
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

// pageCursor is where a page-numbered walk (search) stands: newest first,
// down to Since.
type pageCursor struct {
	Since int64 `json:"since"`
	Top   int64 `json:"top,omitempty"`
	Page  int   `json:"page,omitempty"`
}

func (c *Connector) walkPages(ctx context.Context, pub connectors.Publisher, t target, retry *kit.Retry) error {
	var cur pageCursor
	if _, err := c.env.Store.Load(ctx, t.key, &cur); err != nil {
		return err
	}
	seen := map[int64]bool{}
	resumed := cur.Page > 0
	for pages := 1; ; pages++ {
		n := max(cur.Page, 1)
		q := cloneValues(t.params)
		q.Set("count", strconv.Itoa(c.cfg.Count))
		q.Set("page", strconv.Itoa(n))
		var pg page
		err := retry.Do(ctx, "polling "+t.resource, func(ctx context.Context) error {
			var err error
			pg, err = c.fetch(ctx, t, q)
			return err
		})
		if err != nil {
			return fmt.Errorf("polling %s %s: %w", t.resource, t.params.Encode(), err)
		}
		reachedOld := false
		for _, it := range pg.items {
			if it.id > 0 {
				cur.Top = max(cur.Top, it.id)
				if it.id <= cur.Since {
					reachedOld = true
					continue
				}
			}
			if err := c.emit(ctx, pub, it, seen); err != nil {
				return err
			}
		}
		done := reachedOld || len(pg.items) == 0 || len(pg.items) < c.cfg.Count && !pg.hasVisible
		if done {
			cur = pageCursor{Since: max(cur.Since, cur.Top)}
		} else {
			cur.Page = n + 1
		}
		if err := c.commit(ctx, pub, t.key, cur); err != nil {
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

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+3)
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
