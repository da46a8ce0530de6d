package wechatmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/analyzers/normalize"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/post"
)

// Connector polls one Official Account.
type Connector struct {
	cfg     Config
	env     kit.Env
	http    *kit.HTTP
	instr   *kit.Instr
	health  *kit.Health
	log     zerolog.Logger
	tokens  *tokens
	tracked *kit.Tracked[commentTarget]
}

// commentTarget is an article whose comments are polled.
type commentTarget struct {
	MsgDataID int64  `json:"msg_data_id"`
	Index     int    `json:"index"`
	Article   string `json:"article"` // the article's post id
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
		http:   kit.NewHTTP(cfg.Timeout, "iwom-wechat/1"),
		instr:  instr,
		health: kit.NewHealth(instr),
		log:    env.Log.With().Str("connector", cfg.Name).Logger(),
		tracked: &kit.Tracked[commentTarget]{Store: env.Store, Key: kit.Key(cfg.Name, "comment_articles"),
			Max: cfg.CommentArticles, TTL: cfg.CommentFor, Now: env.Now},
	}
	c.tokens = &tokens{c: c, sem: make(chan struct{}, 1)}
	return c, nil
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return c.cfg.Name }

// Ready reports nil while the connector runs and no source has stopped.
func (c *Connector) Ready() error { return c.health.Ready() }

// TokenRefreshes is how many access tokens the connector fetched.
func (c *Connector) TokenRefreshes() int {
	c.tokens.mu.Lock()
	defer c.tokens.mu.Unlock()
	return c.tokens.hits
}

// Run polls until ctx ends (or, with once, until everything is caught up).
func (c *Connector) Run(ctx context.Context, pub connectors.Publisher) error {
	arts := c.cfg.Retry(SourceArticles, c.instr, c.log, c.env.Now)
	articles := func(ctx context.Context) error {
		var errs []error
		if c.cfg.Articles {
			errs = append(errs, c.walkList(ctx, pub, arts, "/cgi-bin/freepublish/batchget", "art", kit.Key(c.cfg.Name, "freepublish")))
		}
		if c.cfg.Materials {
			errs = append(errs, c.walkList(ctx, pub, arts, "/cgi-bin/material/batchget_material", "mat", kit.Key(c.cfg.Name, "materials")))
		}
		return errors.Join(errs...)
	}
	groups := []kit.Group{{Name: SourceArticles, Interval: c.cfg.interval(SourceArticles), Cycle: articles}}
	if c.cfg.Comments {
		cmts := c.cfg.Retry(SourceComments, c.instr, c.log, c.env.Now)
		groups = append(groups, kit.Group{Name: SourceComments, Interval: c.cfg.interval(SourceComments),
			Cycle: func(ctx context.Context) error { return c.comments(ctx, pub, cmts) }})
	}
	return kit.Poll(ctx, pub, groups, c.cfg.Once, c.health, c.log)
}

type newsItem struct {
	Title           string   `json:"title"`
	Author          string   `json:"author"`
	Digest          string   `json:"digest"`
	Content         string   `json:"content"`
	URL             string   `json:"url"`
	NeedOpenComment kit.Int  `json:"need_open_comment"`
	IsDeleted       kit.Bool `json:"is_deleted"`
	// MsgDataID is not documented for freepublish items; when an answer
	// has it, it wins over the mid parameter of the article URL.
	MsgDataID kit.ID `json:"msg_data_id"`
}

type listItem struct {
	ArticleID  string  `json:"article_id"`
	MediaID    string  `json:"media_id"`
	UpdateTime kit.Int `json:"update_time"`
	Content    struct {
		NewsItem   []newsItem `json:"news_item"`
		UpdateTime kit.Int    `json:"update_time"`
	} `json:"content"`
}

type listAnswer struct {
	TotalCount kit.Int            `json:"total_count"`
	ItemCount  kit.Int            `json:"item_count"`
	Item       *[]json.RawMessage `json:"item"`
}

// listCursor is where a walk of an article list (newest first) stands:
// items updated before Mark, and those at Mark listed in MarkIDs, are
// ingested; Top/TopIDs/Offset belong to the walk in progress.
type listCursor struct {
	Mark    int64    `json:"mark"`
	MarkIDs []string `json:"mark_ids,omitempty"`
	Top     int64    `json:"top,omitempty"`
	TopIDs  []string `json:"top_ids,omitempty"`
	Offset  int      `json:"offset,omitempty"`
}

func (c *Connector) walkList(ctx context.Context, pub connectors.Publisher, retry *kit.Retry, path, prefix, key string) error {
	var cur listCursor
	if _, err := c.env.Store.Load(ctx, key, &cur); err != nil {
		return err
	}
	// A walk that resumes ends at the old Mark; with once, a fresh walk
	// then fetches what came since.
	resumed := cur.Offset > 0
	for pages := 1; ; pages++ {
		body := map[string]any{"offset": cur.Offset, "count": c.cfg.PageSize, "no_content": 0}
		if prefix == "mat" {
			body = map[string]any{"type": "news", "offset": cur.Offset, "count": c.cfg.PageSize}
		}
		var ans listAnswer
		err := retry.Do(ctx, "polling "+path, func(ctx context.Context) error {
			ans = listAnswer{}
			if err := c.call(ctx, path, body, &ans); err != nil {
				return err
			}
			if ans.Item == nil {
				return kit.Errf(kit.Transient, "malformed", "%s: answer has no item list", path)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("polling %s: %w", path, err)
		}
		items := *ans.Item
		c.instr.Fetched(len(items))
		reachedOld := false
		for _, raw := range items {
			var it listItem
			if err := json.Unmarshal(raw, &it); err != nil {
				if err := c.instr.Reject(ctx, pub, raw, fmt.Errorf("%w: %s item: %v", post.ErrInvalid, path, err)); err != nil {
					return err
				}
				continue
			}
			id := it.ArticleID
			if id == "" {
				id = it.MediaID
			}
			ut := int64(it.UpdateTime)
			if ut == 0 {
				ut = int64(it.Content.UpdateTime)
			}
			if ut < cur.Mark || ut == cur.Mark && slices.Contains(cur.MarkIDs, id) {
				reachedOld = true
				continue
			}
			switch {
			case ut > cur.Top:
				cur.Top, cur.TopIDs = ut, []string{id}
			case ut == cur.Top && !slices.Contains(cur.TopIDs, id):
				cur.TopIDs = append(cur.TopIDs, id)
			}
			if err := c.article(ctx, pub, prefix, id, ut, it.Content.NewsItem, raw); err != nil {
				return err
			}
		}
		if err := pub.Flush(ctx); err != nil {
			return fmt.Errorf("flushing posts: %w", err)
		}
		if err := c.tracked.Save(ctx); err != nil {
			return fmt.Errorf("saving articles to follow: %w", err)
		}
		// total_count ends the walk; without it, a short page does.
		total := int(ans.TotalCount)
		done := reachedOld || len(items) == 0 || total > 0 && cur.Offset+len(items) >= total ||
			total <= 0 && len(items) < c.cfg.PageSize
		if done {
			next := listCursor{Mark: cur.Mark, MarkIDs: cur.MarkIDs}
			switch {
			case cur.Top > cur.Mark:
				next = listCursor{Mark: cur.Top, MarkIDs: cur.TopIDs}
			case cur.Top == cur.Mark && cur.Top > 0:
				for _, id := range cur.TopIDs {
					if !slices.Contains(next.MarkIDs, id) {
						next.MarkIDs = append(next.MarkIDs, id)
					}
				}
			}
			cur = next
		} else {
			cur.Offset += len(items)
		}
		if err := c.env.Store.Save(ctx, key, cur); err != nil {
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

// article publishes the news items of one published article (or
// material) and follows those with comments open.
func (c *Connector) article(ctx context.Context, pub connectors.Publisher, prefix, id string, updated int64, news []newsItem, raw []byte) error {
	if id == "" || strings.ContainsAny(id, " \t\r\n") || updated <= 0 {
		return c.instr.Reject(ctx, pub, raw, fmt.Errorf("%w: article without id or update_time", post.ErrInvalid))
	}
	for i, n := range news {
		if n.IsDeleted {
			continue
		}
		p := &post.Post{
			Platform:  post.PlatformWechat,
			ID:        fmt.Sprintf("%s-%s-%d", prefix, id, i),
			Kind:      "article",
			URL:       n.URL,
			Text:      ArticleText(n.Title, n.Digest, n.Content, c.env.Limits.MaxTextBytes),
			CreatedAt: time.Unix(updated, 0).UTC(),
			Author:    post.Author{ID: c.cfg.AppID, Name: n.Author},
		}
		if err := c.instr.Publish(ctx, pub, p); err != nil {
			return err
		}
		if !c.cfg.Comments || n.NeedOpenComment != 1 {
			continue
		}
		t, ok := commentTargetOf(n, i)
		if !ok {
			c.log.Debug().Str("article", p.ID).Msg("no msg_data_id for the article's comments")
			continue
		}
		t.Article = p.ID
		if err := c.tracked.Add(ctx, fmt.Sprintf("%d-%d", t.MsgDataID, t.Index), t); err != nil {
			return err
		}
	}
	return nil
}

// commentTargetOf finds the msg_data_id and index comment/list wants: an
// explicit msg_data_id, else the article URL's mid (the appmsgid, which is
// the msg_data_id of mass sends) and idx (1-based).
func commentTargetOf(n newsItem, i int) (commentTarget, bool) {
	if id, err := strconv.ParseInt(string(n.MsgDataID), 10, 64); err == nil && id > 0 {
		return commentTarget{MsgDataID: id, Index: i}, true
	}
	u, err := url.Parse(n.URL)
	if err != nil {
		return commentTarget{}, false
	}
	q := u.Query()
	mid, err := strconv.ParseInt(q.Get("mid"), 10, 64)
	if err != nil || mid <= 0 {
		return commentTarget{}, false
	}
	idx := i
	if v, err := strconv.Atoi(q.Get("idx")); err == nil && v >= 1 {
		idx = v - 1
	}
	return commentTarget{MsgDataID: mid, Index: idx}, true
}

// ArticleText is an article's text: its title, then its HTML body as
// text (or the digest when the body was not sent), cut at a rune boundary
// to fit limit bytes when limit > 0.
func ArticleText(title, digest, html string, limit int) string {
	body := foldSpace(normalize.StripHTML(html))
	if body == "" {
		body = foldSpace(digest)
	}
	text := strings.TrimSpace(foldSpace(title) + "\n" + body)
	if limit > 0 && len(text) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	return text
}

// foldSpace trims s and folds each run of white space into one space.
func foldSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// comment is a comment/list entry.
type comment struct {
	UserCommentID kit.Int `json:"user_comment_id"`
	OpenID        string  `json:"openid"`
	CreateTime    kit.Int `json:"create_time"`
	Content       string  `json:"content"`
	CommentType   kit.Int `json:"comment_type"`
	Reply         *struct {
		Content    string  `json:"content"`
		CreateTime kit.Int `json:"create_time"`
	} `json:"reply"`
}

// commentCursor is how far the comments of one article were read.
type commentCursor struct {
	Begin int   `json:"begin"`
	MaxID int64 `json:"max_id"`
}

func (c *Connector) comments(ctx context.Context, pub connectors.Publisher, retry *kit.Retry) error {
	// The token first, even with nothing to read: bad credentials stop
	// this source too.
	if err := retry.Do(ctx, "fetching an access token", func(ctx context.Context) error {
		_, err := c.tokens.get(ctx, "")
		return err
	}); err != nil {
		return fmt.Errorf("polling comments: %w", err)
	}
	targets, err := c.tracked.List(ctx)
	if err != nil {
		return fmt.Errorf("reading articles to follow: %w", err)
	}
	return kit.Each(ctx, targets, c.log, func(t kit.TrackedItem[commentTarget]) string { return t.Value.Article },
		func(ctx context.Context, t kit.TrackedItem[commentTarget]) error {
			return c.walkComments(ctx, pub, retry, t.Value)
		})
}

// walkComments reads the comments of one article, oldest first from where
// it stopped. Comments with an id at or below MaxID (offsets that moved
// because comments were deleted) are not published again.
func (c *Connector) walkComments(ctx context.Context, pub connectors.Publisher, retry *kit.Retry, t commentTarget) error {
	key := kit.Key(c.cfg.Name, "comments", fmt.Sprintf("%d-%d", t.MsgDataID, t.Index))
	var cur commentCursor
	if _, err := c.env.Store.Load(ctx, key, &cur); err != nil {
		return err
	}
	for pages := 1; ; pages++ {
		body := map[string]any{"msg_data_id": t.MsgDataID, "index": t.Index, "begin": cur.Begin, "count": c.cfg.CommentPage, "type": 0}
		var ans struct {
			Total   kit.Int            `json:"total"`
			Comment *[]json.RawMessage `json:"comment"`
		}
		err := retry.Do(ctx, "polling comment/list", func(ctx context.Context) error {
			ans.Total, ans.Comment = 0, nil
			if err := c.call(ctx, "/cgi-bin/comment/list", body, &ans); err != nil {
				return err
			}
			if ans.Comment == nil {
				// An article without comments may leave the list out.
				ans.Comment = &[]json.RawMessage{}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("polling comments of %s: %w", t.Article, err)
		}
		list := *ans.Comment
		c.instr.Fetched(len(list))
		for _, raw := range list {
			if err := c.comment(ctx, pub, t, raw, &cur); err != nil {
				return err
			}
		}
		if err := pub.Flush(ctx); err != nil {
			return fmt.Errorf("flushing posts: %w", err)
		}
		cur.Begin += len(list)
		if err := c.env.Store.Save(ctx, key, cur); err != nil {
			return err
		}
		total := int(ans.Total)
		done := len(list) == 0 || total > 0 && cur.Begin >= total || total <= 0 && len(list) < c.cfg.CommentPage
		if done || !c.cfg.Once && pages >= c.cfg.MaxPages {
			return nil
		}
	}
}

func (c *Connector) comment(ctx context.Context, pub connectors.Publisher, t commentTarget, raw []byte, cur *commentCursor) error {
	var cm comment
	if err := json.Unmarshal(raw, &cm); err != nil {
		return c.instr.Reject(ctx, pub, raw, fmt.Errorf("%w: comment: %v", post.ErrInvalid, err))
	}
	id := int64(cm.UserCommentID)
	if id <= 0 || cm.CreateTime <= 0 || strings.TrimSpace(cm.Content) == "" {
		return c.instr.Reject(ctx, pub, raw, fmt.Errorf("%w: comment without user_comment_id, create_time or content", post.ErrInvalid))
	}
	if id <= cur.MaxID {
		c.instr.Post(kit.OutcomeDeduplicated)
		return nil
	}
	cur.MaxID = id
	p := &post.Post{
		Platform:  post.PlatformWechat,
		ID:        fmt.Sprintf("cmt-%d-%d-%d", t.MsgDataID, t.Index, id),
		Kind:      "comment",
		Text:      cm.Content,
		CreatedAt: time.Unix(int64(cm.CreateTime), 0).UTC(),
		Author:    post.Author{ID: cm.OpenID},
		ReplyTo:   t.Article,
	}
	if err := c.instr.Publish(ctx, pub, p); err != nil {
		return err
	}
	if r := cm.Reply; r != nil && strings.TrimSpace(r.Content) != "" && r.CreateTime > 0 {
		// The account's answer to the comment.
		rp := &post.Post{
			Platform:  post.PlatformWechat,
			ID:        p.ID + "-reply",
			Kind:      "comment",
			Text:      r.Content,
			CreatedAt: time.Unix(int64(r.CreateTime), 0).UTC(),
			Author:    post.Author{ID: c.cfg.AppID},
			ReplyTo:   p.ID,
		}
		if err := c.instr.Publish(ctx, pub, rp); err != nil {
			return err
		}
	}
	return nil
}
