package fakeplatform

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

// cst is Beijing time, in which Weibo writes created_at.
var cst = time.FixedZone("CST", 8*3600)

const weiboLayout = "Mon Jan 02 15:04:05 -0700 2006"

// status is a Weibo status the platform holds.
type status struct {
	p    *post.Post // as the connector should publish it
	id   int64
	n    int  // position, oldest first
	long bool // truncated on m.weibo.cn, whole through statuses/extend
}

// root is the original of reposts: it is only seen as retweeted_status.
type root struct {
	id      int64
	text    string
	author  post.Author
	created time.Time
}

// wcomm is a comment on a status.
type wcomm struct {
	p  *post.Post
	id int64
}

func (s *Server) buildWeibo() {
	s.byID = map[int64]*status{}
	s.roots = map[int64]*root{}
	s.comments = map[int64][]*wcomm{}
	var asc []*status
	i := 0
	for _, gp := range s.posts {
		if gp.Platform != post.PlatformWeibo {
			continue
		}
		p := *gp
		p.Source = ""
		p.Kind = "post"
		id := atoi64(p.ID)
		isComment := s.opts.CommentEvery > 0 && i%s.opts.CommentEvery == s.opts.CommentEvery-1 &&
			p.RepostOf == "" && len(asc) >= s.opts.HotStatuses
		i++
		if isComment {
			hot := asc[(i/s.opts.CommentEvery)%s.opts.HotStatuses]
			p.Kind = "comment"
			p.ReplyTo = hot.p.ID
			p.URL = "https://m.weibo.cn/detail/" + hot.p.ID
			p.Metrics = post.Metrics{Likes: p.Metrics.Likes}
			s.comments[hot.id] = append(s.comments[hot.id], &wcomm{p: &p, id: id})
			continue
		}
		st := &status{p: &p, id: id, n: len(asc)}
		if st.n%13 == 7 {
			// Served without attitudes_count, as in some old answers.
			p.Metrics.Likes = 0
		}
		st.long = s.opts.LongTextEvery > 0 && st.n%s.opts.LongTextEvery == s.opts.LongTextEvery-1
		asc = append(asc, st)
		s.byID[id] = st
		if p.RepostOf != "" {
			rid := atoi64(p.RepostOf)
			if s.roots[rid] == nil {
				s.roots[rid] = &root{id: rid, text: rootText(p.Text), created: p.CreatedAt.Add(-time.Hour),
					author: post.Author{ID: strconv.FormatInt(1_900_000_000+rid%1_000_000, 10), Name: "原博主" + strconv.FormatInt(rid%10000, 10), Followers: 12345, VerifiedType: -1}}
			}
		}
	}
	s.hot = asc[:min(s.opts.HotStatuses, len(asc))]
	for _, h := range s.hot {
		cs := s.comments[h.id]
		h.p.Metrics.Comments = max(h.p.Metrics.Comments, int64(len(cs)))
		// Newest first, as the API answers.
		sort.Slice(cs, func(a, b int) bool { return cs[a].id > cs[b].id })
	}
	s.statuses = make([]*status, len(asc))
	for k, st := range asc {
		s.statuses[len(asc)-1-k] = st
	}
}

// rootText is the original's words in a repost chain "mine//@a:theirs".
func rootText(text string) string {
	i := strings.LastIndex(text, "//@")
	if i < 0 {
		return text
	}
	if j := strings.IndexAny(text[i:], ":："); j > 0 {
		return strings.TrimSpace(text[i+j+len(":"):])
	}
	return text
}

// HotStatusIDs are the statuses that receive comments.
func (s *Server) HotStatusIDs() []string {
	out := make([]string, len(s.hot))
	for i, h := range s.hot {
		out[i] = h.p.ID
	}
	return out
}

// RootIDs are the originals of reposts (for statuses/repost_timeline),
// those with the most reposts first.
func (s *Server) RootIDs() []string {
	count := map[int64]int{}
	for _, st := range s.statuses {
		if st.p.RepostOf != "" {
			count[atoi64(st.p.RepostOf)]++
		}
	}
	ids := make([]int64, 0, len(count))
	for id := range count {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool {
		if count[ids[a]] != count[ids[b]] {
			return count[ids[a]] > count[ids[b]]
		}
		return ids[a] < ids[b]
	})
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatInt(id, 10)
	}
	return out
}

// TopAuthors are the uids with the most statuses, most first.
func (s *Server) TopAuthors(n int) []string {
	count := map[string]int{}
	for _, st := range s.statuses {
		count[st.p.Author.ID]++
	}
	ids := make([]string, 0, len(count))
	for id := range count {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool {
		if count[ids[a]] != count[ids[b]] {
			return count[ids[a]] > count[ids[b]]
		}
		return ids[a] < ids[b]
	})
	return ids[:min(n, len(ids))]
}

// WeiboSelection says what a Weibo connector polls.
type WeiboSelection struct {
	Home       bool
	Users      []string // uids
	Queries    []string // search
	CommentsOf []string // status ids
	RepostsOf  []string // status ids
}

// WeiboPosts are the posts (as a connector should publish them) that a
// connector polling sel sees, at the current Reveal.
func (s *Server) WeiboPosts(sel WeiboSelection) []*post.Post {
	keep := map[string]*post.Post{}
	users := map[string]bool{}
	for _, u := range sel.Users {
		users[u] = true
	}
	roots := map[string]bool{}
	for _, r := range sel.RepostsOf {
		roots[r] = true
	}
	for _, st := range s.statuses {
		if !s.visible(st.p.CreatedAt) {
			continue
		}
		match := sel.Home || users[st.p.Author.ID] || roots[st.p.RepostOf]
		for _, q := range sel.Queries {
			match = match || strings.Contains(st.p.Text, q)
		}
		if match {
			keep[st.p.Key()] = st.p
		}
	}
	for _, id := range sel.CommentsOf {
		for _, c := range s.comments[atoi64(id)] {
			if s.visible(c.p.CreatedAt) {
				keep[c.p.Key()] = c.p
			}
		}
	}
	out := make([]*post.Post, 0, len(keep))
	for _, p := range keep {
		out = append(out, p)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

func (s *Server) routesWeibo(mux *http.ServeMux) {
	timeline := func(filter func(*status, url.Values) bool) func(url.Values) (map[string]any, error) {
		return func(q url.Values) (map[string]any, error) {
			var ids []int64
			for _, st := range s.statuses {
				if s.visible(st.p.CreatedAt) && filter(st, q) {
					ids = append(ids, st.id)
				}
			}
			return s.idPage(q, ids, 100, 20, "statuses", func(id int64) map[string]any { return s.statusMap(s.byID[id]) })
		}
	}
	all := func(*status, url.Values) bool { return true }
	home := timeline(all)
	mux.HandleFunc("/2/statuses/home_timeline.json", s.weiboAPI("statuses/home_timeline", "statuses", home))
	mux.HandleFunc("/2/statuses/friends_timeline.json", s.weiboAPI("statuses/friends_timeline", "statuses", home))
	mux.HandleFunc("/2/statuses/user_timeline.json", s.weiboAPI("statuses/user_timeline", "statuses", timeline(func(st *status, q url.Values) bool {
		return st.p.Author.ID == q.Get("uid") || q.Get("uid") == "" && st.p.Author.Name == q.Get("screen_name")
	})))
	mux.HandleFunc("/2/statuses/public_timeline.json", s.weiboAPI("statuses/public_timeline", "statuses", func(q url.Values) (map[string]any, error) {
		q.Del("since_id")
		q.Del("max_id")
		if q.Get("count") == "" {
			q.Set("count", "50")
		}
		return home(q)
	}))
	mux.HandleFunc("/2/search/topics.json", s.weiboAPI("search/topics", "statuses", func(q url.Values) (map[string]any, error) {
		term := q.Get("q")
		if term == "" {
			return nil, fmt.Errorf("q is required")
		}
		var ids []int64
		for _, st := range s.statuses {
			if s.visible(st.p.CreatedAt) && strings.Contains(st.p.Text, term) {
				ids = append(ids, st.id)
			}
		}
		// Pages only: no since_id/max_id on this API.
		q.Del("since_id")
		q.Del("max_id")
		return s.idPage(q, ids, 50, 10, "statuses", func(id int64) map[string]any { return s.statusMap(s.byID[id]) })
	}))
	mux.HandleFunc("/2/statuses/repost_timeline.json", s.weiboAPI("statuses/repost_timeline", "reposts", func(q url.Values) (map[string]any, error) {
		id := q.Get("id")
		if id == "" {
			return nil, fmt.Errorf("id is required")
		}
		if s.roots[atoi64(id)] == nil && s.byID[atoi64(id)] == nil {
			return nil, errNotFound
		}
		var ids []int64
		for _, st := range s.statuses {
			if s.visible(st.p.CreatedAt) && st.p.RepostOf == id {
				ids = append(ids, st.id)
			}
		}
		return s.idPage(q, ids, 200, 20, "reposts", func(id int64) map[string]any { return s.statusMap(s.byID[id]) })
	}))
	mux.HandleFunc("/2/comments/show.json", s.weiboAPI("comments/show", "comments", func(q url.Values) (map[string]any, error) {
		id := atoi64(q.Get("id"))
		st := s.byID[id]
		if st == nil {
			return nil, errNotFound
		}
		byID := map[int64]*wcomm{}
		var ids []int64
		for _, c := range s.comments[id] {
			if s.visible(c.p.CreatedAt) {
				ids = append(ids, c.id)
				byID[c.id] = c
			}
		}
		ans, err := s.idPage(q, ids, 200, 50, "comments", func(cid int64) map[string]any { return s.commentMap(byID[cid], st) })
		if ans != nil {
			ans["marks"] = []any{}
		}
		return ans, err
	}))
	mux.HandleFunc("/2/account/rate_limit_status.json", s.weiboAPI("account/rate_limit_status", "", func(url.Values) (map[string]any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		l := s.opts.WeiboRateLimit
		ans := map[string]any{"ip_limit": 10000, "limit_time_unit": "HOURS", "remaining_ip_hits": 10000, "remaining_user_hits": 150, "reset_time": s.opts.Now().Add(time.Hour).Format("2006-01-02 15:04:05"), "reset_time_in_seconds": 3600, "user_limit": 150}
		if l != nil {
			ans["user_limit"] = l.Calls
			ans["remaining_user_hits"] = max(l.Calls-s.weiboLimit.used, 0)
			ans["reset_time_in_seconds"] = int(max(l.Per-s.opts.Now().Sub(s.weiboLimit.start), 0).Seconds())
		}
		return ans, nil
	}))
	mux.HandleFunc("/oauth2/access_token", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			s.weiboError(w, http.StatusBadRequest, 21323, "HTTP_METHOD_NOT_SUPPORTED", "/oauth2/access_token")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"access_token": s.opts.WeiboToken, "expires_in": 157679999, "remind_in": "157679999", "uid": "1000000000"})
	})
}

// weiboAPI wraps an Open API resource: injected faults, the token, the
// rate limit, then the answer (with the item-level faults applied).
func (s *Server) weiboAPI(resource, list string, fn func(url.Values) (map[string]any, error)) http.HandlerFunc {
	path := "/2/" + resource + ".json"
	return func(w http.ResponseWriter, r *http.Request) {
		f := s.enter(path)
		switch f {
		case FaultDrop:
			drop(w)
			return
		case FaultHTML:
			writeRaw(w, http.StatusBadGateway, "text/html", []byte(nginx502))
			return
		case FaultServerError:
			s.weiboError(w, http.StatusInternalServerError, 10001, "system error!", path)
			return
		case FaultServerString:
			s.weiboErrorString(w, http.StatusOK, 10002, "service unavailable!", path)
			return
		case FaultRateLimit:
			s.weiboError(w, http.StatusForbidden, 10023, "User requests out of rate limit!", path)
			return
		case FaultTokenExpired:
			s.weiboError(w, http.StatusUnauthorized, 21327, "expired_token", path)
			return
		case FaultTokenInvalid:
			s.weiboError(w, http.StatusUnauthorized, 21332, "invalid_access_token", path)
			return
		}
		q := r.URL.Query()
		s.mu.Lock()
		expired := s.weiboExpired
		s.mu.Unlock()
		switch {
		case q.Get("access_token") != s.opts.WeiboToken:
			s.weiboError(w, http.StatusUnauthorized, 21332, "invalid_access_token", path)
			return
		case expired:
			s.weiboError(w, http.StatusUnauthorized, 21327, "expired_token", path)
			return
		}
		s.mu.Lock()
		ok := s.weiboLimit.allow(s.opts.WeiboRateLimit, s.opts.Now())
		s.mu.Unlock()
		if !ok {
			code := s.opts.WeiboRateLimit.Code
			if code == 0 {
				code = 10023
			}
			msg := map[int]string{10022: "IP requests out of rate limit!", 10024: "User requests for (" + resource + ") out of rate limit!"}[code]
			if msg == "" {
				msg = "User requests out of rate limit!"
			}
			s.weiboError(w, http.StatusForbidden, code, msg, path)
			return
		}
		ans, err := fn(q)
		switch {
		case err == errNotFound:
			s.weiboError(w, http.StatusBadRequest, 20101, "target weibo does not exist!", path)
			return
		case err != nil:
			s.weiboError(w, http.StatusBadRequest, 10008, "param error, see doc for more info: "+err.Error(), path)
			return
		}
		applyItemFault(ans, list, f)
		data, _ := json.Marshal(ans)
		if f == FaultTruncated {
			data = data[:len(data)/2]
		}
		writeRaw(w, http.StatusOK, "application/json;charset=UTF-8", data)
	}
}

// applyItemFault damages a JSON answer's item list.
func applyItemFault(ans map[string]any, list string, f Fault) {
	switch f {
	case FaultWrongTypes:
		ans[list] = "unavailable"
		ans["total_number"] = "many"
	case FaultMissing:
		delete(ans, list)
	case FaultBadItem:
		if items, ok := ans[list].([]map[string]any); ok && len(items) > 0 {
			bad := map[string]any{}
			for k, v := range items[0] {
				bad[k] = v
			}
			bad["id"], bad["idstr"], bad["mid"] = "not-a-number", "not a number", nil
			delete(bad, "created_at")
			items[0] = bad
		}
	}
}

// idPage pages ids (newest first) the Open API way: since_id (ids above
// it), max_id (ids at or below it), count (capped) and page.
func (s *Server) idPage(q url.Values, ids []int64, maxCount, defCount int, list string, render func(int64) map[string]any) (map[string]any, error) {
	since, maxID := atoi64(q.Get("since_id")), atoi64(q.Get("max_id"))
	count := defCount
	if c := q.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("count %q", c)
		}
		count = min(n, maxCount)
	}
	page := 1
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("page %q", p)
		}
		page = n
	}
	var sel []int64
	for _, id := range ids {
		if id > since && (maxID == 0 || id <= maxID) {
			sel = append(sel, id)
		}
	}
	total := len(sel)
	start := min((page-1)*count, total)
	end := min(start+count, total)
	items := make([]map[string]any, 0, end-start)
	for _, id := range sel[start:end] {
		items = append(items, render(id))
	}
	var next int64
	if end < total {
		next = sel[end]
	}
	return map[string]any{list: items, "hasvisible": false, "previous_cursor": 0, "next_cursor": next, "total_number": total, "interval": 0}, nil
}

func weiboUser(a post.Author) map[string]any {
	gender := "m"
	if atoi64(a.ID)%2 == 1 {
		gender = "f"
	}
	return map[string]any{
		"id": atoi64(a.ID), "idstr": a.ID, "class": 1, "screen_name": a.Name, "name": a.Name,
		"province": "44", "city": "1", "location": a.Location, "description": "", "url": "",
		"profile_image_url": "https://tvax1.sinaimg.cn/crop.0.0.180.180.50/" + a.ID + ".jpg",
		"domain":            "", "gender": gender, "followers_count": a.Followers, "friends_count": 321,
		"statuses_count": 1024, "favourites_count": 0, "bi_followers_count": 12,
		"created_at": "Mon Mar 01 10:00:00 +0800 2010", "verified": a.Verified, "verified_type": a.VerifiedType,
		"verified_reason": "", "allow_all_comment": true, "geo_enabled": true,
	}
}

func (s *Server) statusMap(st *status) map[string]any {
	p := st.p
	m := map[string]any{
		"created_at": p.CreatedAt.In(cst).Format(weiboLayout),
		"id":         st.id, "idstr": p.ID, "mid": p.ID,
		"text":      p.Text,
		"source":    `<a href="http://app.weibo.com/t/feed/5yiHuw" rel="nofollow">iPhone客户端</a>`,
		"favorited": false, "truncated": false, "isLongText": false,
		"in_reply_to_status_id": "", "in_reply_to_user_id": "", "in_reply_to_screen_name": "",
		"pic_urls": []any{}, "geo": nil,
		"user":          weiboUser(p.Author),
		"reposts_count": p.Metrics.Reposts, "comments_count": p.Metrics.Comments,
		"visible": map[string]any{"type": 0, "list_id": 0},
	}
	// Some old answers have no attitudes_count.
	if st.n%13 != 7 {
		m["attitudes_count"] = p.Metrics.Likes
	}
	if p.RepostOf != "" {
		r := s.roots[atoi64(p.RepostOf)]
		m["retweeted_status"] = map[string]any{
			"created_at": r.created.In(cst).Format(weiboLayout), "id": r.id, "idstr": p.RepostOf, "mid": p.RepostOf,
			"text": r.text, "user": weiboUser(r.author), "reposts_count": 1, "comments_count": 0, "attitudes_count": 0,
			"source": `<a href="http://weibo.com/" rel="nofollow">微博 weibo.com</a>`, "pic_urls": []any{}, "geo": nil,
		}
	}
	return m
}

func (s *Server) commentMap(c *wcomm, st *status) map[string]any {
	p := c.p
	return map[string]any{
		"created_at": p.CreatedAt.In(cst).Format(weiboLayout),
		"id":         c.id, "idstr": p.ID, "mid": p.ID, "text": p.Text,
		"source":     `<a href="http://weibo.com/" rel="nofollow">微博 weibo.com</a>`,
		"like_count": p.Metrics.Likes,
		"user":       weiboUser(p.Author),
		"status":     s.statusMap(st),
	}
}

// weiboError answers {"error","error_code","request"} with a numeric
// error_code or, every other time, a string one: both occur.
func (s *Server) weiboError(w http.ResponseWriter, status, code int, msg, request string) {
	s.mu.Lock()
	s.errSeq++
	asString := s.errSeq%2 == 0
	s.mu.Unlock()
	if asString {
		s.weiboErrorString(w, status, code, msg, request)
		return
	}
	writeJSON(w, status, map[string]any{"error": msg, "error_code": code, "request": request})
}

func (s *Server) weiboErrorString(w http.ResponseWriter, status, code int, msg, request string) {
	writeJSON(w, status, map[string]any{"error": msg, "error_code": strconv.Itoa(code), "request": request})
}

// ExpireWeiboToken makes every Open API call answer 21327 (expired token).
func (s *Server) ExpireWeiboToken() {
	s.mu.Lock()
	s.weiboExpired = true
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, "application/json;charset=UTF-8", data)
}
