package fakeplatform

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/iwom/iwom/pipeline/post"
)

// MobileSelection says what an m.weibo.cn connector polls.
type MobileSelection struct {
	Users   []string
	Queries []string
}

// MobilePosts are the statuses a connector polling sel sees, at the
// current Reveal (dates and counts as the platform knows them; the mobile
// site only shows them approximately).
func (s *Server) MobilePosts(sel MobileSelection) []*post.Post {
	return s.WeiboPosts(WeiboSelection{Users: sel.Users, Queries: sel.Queries})
}

func (s *Server) routesMobile(mux *http.ServeMux) {
	mux.HandleFunc("/api/container/getIndex", s.getIndex)
	mux.HandleFunc("/statuses/extend", s.extend)
}

// mobileGate applies injected faults and the captcha limit; it reports
// whether the call goes on, with the fault to apply to the items.
func (s *Server) mobileGate(w http.ResponseWriter, path string) (Fault, bool) {
	f := s.enter(path)
	switch f {
	case FaultDrop:
		drop(w)
		return 0, false
	case FaultHTML:
		writeRaw(w, http.StatusBadGateway, "text/html", []byte(nginx502))
		return 0, false
	case FaultEmpty:
		writeJSON(w, http.StatusOK, map[string]any{"ok": 0, "msg": "这里还没有内容", "data": map[string]any{"cards": []any{}}})
		return 0, false
	case FaultCaptcha:
		writeRaw(w, http.StatusOK, "text/html; charset=utf-8", []byte(captchaPage))
		return 0, false
	case FaultTeapot:
		writeRaw(w, http.StatusTeapot, "text/html", []byte("<html><body>418 I'm a teapot</body></html>"))
		return 0, false
	}
	s.mu.Lock()
	ok := s.mobileLimit.allow(s.opts.MobileLimit, s.opts.Now())
	s.mobileSeq++
	seq := s.mobileSeq
	s.mu.Unlock()
	if !ok {
		// The three ways m.weibo.cn says "slow down / prove you are human".
		switch seq % 3 {
		case 0:
			writeRaw(w, http.StatusOK, "text/html; charset=utf-8", []byte(captchaPage))
		case 1:
			writeRaw(w, http.StatusTeapot, "text/html", []byte("<html><body>418 I'm a teapot</body></html>"))
		default:
			writeJSON(w, http.StatusOK, map[string]any{"ok": -100, "url": "https://passport.weibo.cn/signin/welcome?entry=mweibo&r=https%3A%2F%2Fm.weibo.cn%2F"})
		}
		return 0, false
	}
	return f, true
}

const captchaPage = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>微博-安全验证</title></head>
<body><div class="verify"><p>为了您的账号安全，请输入验证码</p><img src="https://passport.weibo.cn/captcha/image?r=1"></div></body></html>`

func (s *Server) getIndex(w http.ResponseWriter, r *http.Request) {
	const path = "/api/container/getIndex"
	f, ok := s.mobileGate(w, path)
	if !ok {
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	empty := s.opts.EmptyEvery > 0 && s.calls[path]%s.opts.EmptyEvery == 0
	s.mu.Unlock()
	if empty {
		// Now and then m.weibo.cn answers ok:0 for a page that exists.
		writeJSON(w, http.StatusOK, map[string]any{"ok": 0, "msg": "这里还没有内容", "data": map[string]any{"cards": []any{}}})
		return
	}
	now := s.opts.Now()
	cid := q.Get("containerid")
	var ans map[string]any
	switch {
	case strings.HasPrefix(cid, "107603"):
		ans = s.userTimeline(cid, cid[len("107603"):], atoi64(q.Get("since_id")), now)
	case strings.HasPrefix(cid, "100103"):
		inner, _ := url.ParseQuery(cid[len("100103"):])
		term := inner.Get("q")
		if term == "" {
			term = q.Get("q")
		}
		page, _ := strconv.Atoi(q.Get("page"))
		ans = s.mobileSearch(cid, term, max(page, 1), now)
	}
	if ans == nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": 0, "msg": "这里还没有内容", "data": map[string]any{"cards": []any{}}})
		return
	}
	data := ans["data"].(map[string]any)
	switch f {
	case FaultWrongTypes:
		data["cards"] = "none"
	case FaultMissing:
		delete(ans, "data")
		ans["ok"] = 1
	case FaultBadItem:
		if cards, ok := data["cards"].([]map[string]any); ok && len(cards) > 0 {
			if mb, ok := cards[0]["mblog"].(map[string]any); ok {
				bad := map[string]any{}
				for k, v := range mb {
					bad[k] = v
				}
				bad["id"], bad["idstr"], bad["mid"] = "x", "x", "x"
				bad["created_at"] = "some day"
				cards[0] = map[string]any{"card_type": 9, "mblog": bad}
			}
		}
	}
	body, _ := json.Marshal(ans)
	if f == FaultTruncated {
		body = body[:len(body)/2]
	}
	writeRaw(w, http.StatusOK, "application/json; charset=utf-8", body)
}

// userTimeline pages a user's statuses with since_id: a page holds the
// statuses at or below since_id, and cardlistInfo.since_id is the first of
// the next page. The first page starts with the user's pinned (oldest)
// status.
func (s *Server) userTimeline(cid, uid string, since int64, now time.Time) map[string]any {
	var mine []*status
	for _, st := range s.statuses {
		if st.p.Author.ID == uid && s.visible(st.p.CreatedAt) {
			mine = append(mine, st)
		}
	}
	var sel []*status
	for _, st := range mine {
		if since == 0 || st.id <= since {
			sel = append(sel, st)
		}
	}
	if len(sel) == 0 {
		return nil
	}
	page := sel[:min(s.opts.MobilePage, len(sel))]
	cards := make([]map[string]any, 0, len(page)+1)
	if since == 0 && len(mine) >= 3 {
		cards = append(cards, s.card(mine[len(mine)-1], now, true))
	}
	for _, st := range page {
		cards = append(cards, s.card(st, now, false))
	}
	info := map[string]any{"containerid": cid, "v_p": 42, "show_style": 1, "total": len(mine), "autoLoadMoreIndex": 30}
	if len(page) < len(sel) {
		info["since_id"] = sel[len(page)].id
	}
	return map[string]any{"ok": 1, "data": map[string]any{"cardlistInfo": info, "cards": cards, "scheme": "sinaweibo://cardlist?containerid=" + cid}}
}

// mobileSearch pages the statuses containing term, newest first, in one
// card_type 11 group per page.
func (s *Server) mobileSearch(cid, term string, page int, now time.Time) map[string]any {
	if term == "" {
		return nil
	}
	var hits []*status
	for _, st := range s.statuses {
		if s.visible(st.p.CreatedAt) && strings.Contains(st.p.Text, term) {
			hits = append(hits, st)
		}
	}
	start := (page - 1) * s.opts.MobilePage
	if start >= len(hits) {
		return nil
	}
	end := min(start+s.opts.MobilePage, len(hits))
	group := make([]map[string]any, 0, end-start)
	for _, st := range hits[start:end] {
		group = append(group, s.card(st, now, false))
	}
	info := map[string]any{"containerid": cid, "v_p": "42", "total": len(hits), "page": nil}
	if end < len(hits) {
		info["page"] = page + 1
	}
	cards := []map[string]any{{"card_type": 11, "show_type": 1, "card_group": group}}
	return map[string]any{"ok": 1, "data": map[string]any{"cardlistInfo": info, "cards": cards}}
}

func (s *Server) card(st *status, now time.Time, pinned bool) map[string]any {
	return map[string]any{"card_type": 9, "itemid": "", "scheme": "https://m.weibo.cn/status/" + bid(st.id), "mblog": s.mblogMap(st, now, pinned)}
}

func (s *Server) mblogMap(st *status, now time.Time, pinned bool) map[string]any {
	p := st.p
	text := renderHTML(p.Text)
	if st.long {
		rs := []rune(p.Text)
		text = renderHTML(string(rs[:len(rs)/2])) + ` ...<a href="/status/` + p.ID + `">全文</a>`
	}
	m := map[string]any{
		"visible":    map[string]any{"type": 0, "list_id": 0},
		"created_at": relDate(p.CreatedAt, now, st.n),
		"id":         p.ID, "idstr": p.ID, "mid": p.ID, "bid": bid(st.id),
		"can_edit": false, "text": text, "textLength": len(p.Text),
		"source": "iPhone客户端", "favorited": false, "isLongText": st.long,
		"pic_num": 0, "is_paid": false,
		"user":            mobileUser(p.Author, st.n),
		"reposts_count":   countValue(p.Metrics.Reposts, st.n),
		"comments_count":  countValue(p.Metrics.Comments, st.n+1),
		"attitudes_count": countValue(p.Metrics.Likes, st.n+2),
	}
	if pinned {
		m["isTop"] = 1
		m["title"] = map[string]any{"text": "置顶", "base_color": 1}
	}
	if p.RepostOf != "" {
		r := s.roots[atoi64(p.RepostOf)]
		m["retweeted_status"] = map[string]any{
			"created_at": relDate(r.created, now, st.n+1), "id": p.RepostOf, "idstr": p.RepostOf, "mid": p.RepostOf,
			"bid": bid(r.id), "text": renderHTML(r.text), "user": mobileUser(r.author, 1),
			"reposts_count": 1, "comments_count": 0, "attitudes_count": 0, "isLongText": false,
		}
	}
	return m
}

func (s *Server) extend(w http.ResponseWriter, r *http.Request) {
	const path = "/statuses/extend"
	f, ok := s.mobileGate(w, path)
	if !ok {
		return
	}
	st := s.byID[atoi64(r.URL.Query().Get("id"))]
	if st == nil || !s.visible(st.p.CreatedAt) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": 0, "msg": "该微博不存在"})
		return
	}
	body, _ := json.Marshal(map[string]any{"ok": 1, "data": map[string]any{
		"ok": 1, "longTextContent": renderHTML(st.p.Text),
		"reposts_count": st.p.Metrics.Reposts, "comments_count": st.p.Metrics.Comments, "attitudes_count": st.p.Metrics.Likes,
	}})
	if f == FaultTruncated {
		body = body[:len(body)/2]
	}
	writeRaw(w, http.StatusOK, "application/json; charset=utf-8", body)
}

func mobileUser(a post.Author, n int) map[string]any {
	return map[string]any{
		"id": atoi64(a.ID), "screen_name": a.Name,
		"profile_image_url": "https://tvax1.sinaimg.cn/crop.0.0.180.180.180/" + a.ID + ".jpg",
		"profile_url":       "https://m.weibo.cn/u/" + a.ID, "statuses_count": 1024,
		"verified": a.Verified, "verified_type": a.VerifiedType, "close_blue_v": false,
		"description": "", "gender": "m", "mbtype": 0, "urank": 20, "mbrank": 0,
		"follow_me": false, "following": false,
		"followers_count": countValue(a.Followers, n), "follow_count": 321,
	}
}

// countValue writes a count the way the mobile site does: plain numbers
// (as JSON numbers or strings) below ten thousand, then "3.5万", "100万+"
// and "1.2亿".
func countValue(n int64, i int) any {
	switch {
	case n >= 100_000_000:
		return fmt.Sprintf("%.1f亿", float64(n)/1e8)
	case n >= 1_000_000:
		return "100万+"
	case n >= 10_000:
		return fmt.Sprintf("%.1f万", float64(n)/1e4)
	case i%2 == 0:
		return n
	}
	return strconv.FormatInt(n, 10)
}

// relDate writes created_at the way the mobile site does relative to now:
// "刚刚", "N分钟前", "N小时前", "昨天 HH:MM", "MM-DD", "YYYY-MM-DD"; some
// statuses come in the Open API format instead.
func relDate(t, now time.Time, i int) string {
	t, now = t.In(cst), now.In(cst)
	d := now.Sub(t)
	ty, tm, td := t.Date()
	yy, ym, yd := now.AddDate(0, 0, -1).Date()
	switch {
	case i%7 == 3 || d < 0:
		return t.Format(weiboLayout)
	case d < time.Minute:
		return "刚刚"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "分钟前"
	case d < 24*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "小时前"
	case ty == yy && tm == ym && td == yd:
		return "昨天 " + t.Format("15:04")
	case ty == now.Year():
		return t.Format("01-02")
	}
	return t.Format("2006-01-02")
}

// renderHTML writes a plain text the way the mobile site shows it:
// topics, mentions, emoticons and links as their HTML.
func renderHTML(text string) string {
	rs := []rune(text)
	var b strings.Builder
	for i := 0; i < len(rs); {
		switch {
		case rs[i] == '#':
			if j := closing(rs, i, '#', 40); j > i+1 {
				topic := string(rs[i : j+1])
				b.WriteString(`<a  href="https://m.weibo.cn/search?containerid=231522type%3D1%26t%3D10%26q%3D` +
					url.QueryEscape(topic) + `&isnewpage=1" data-hide=""><span class="surl-text">` + html.EscapeString(topic) + `</span></a>`)
				i = j + 1
				continue
			}
		case rs[i] == '@':
			j := i + 1
			for j < len(rs) && nameRune(rs[j]) {
				j++
			}
			if j > i+1 {
				name := string(rs[i+1 : j])
				b.WriteString(`<a href='/n/` + html.EscapeString(name) + `'>@` + html.EscapeString(name) + `</a>`)
				i = j
				continue
			}
		case rs[i] == '[':
			if j := closing(rs, i, ']', 10); j > i+1 {
				emo := string(rs[i : j+1])
				b.WriteString(`<span class="url-icon"><img alt=` + html.EscapeString(emo) +
					` src="https://h5.sinaimg.cn/m/emoticon/icon/default/d_x-` + strconv.Itoa(j-i) + `.png" style="width:1em; height:1em;" /></span>`)
				i = j + 1
				continue
			}
		case hasPrefix(rs[i:], "http://") || hasPrefix(rs[i:], "https://"):
			j := i
			for j < len(rs) && rs[j] < 0x80 && !unicode.IsSpace(rs[j]) {
				j++
			}
			link := string(rs[i:j])
			b.WriteString(`<a data-url="` + html.EscapeString(link) + `" href="https://weibo.cn/sinaurl?u=` + url.QueryEscape(link) +
				`" data-hide=""><span class='url-icon'><img style='width: 1rem;height: 1rem' src='https://h5.sinaimg.cn/upload/2015/09/25/3/timeline_card_small_web_default.png'></span><span class="surl-text">网页链接</span></a>`)
			i = j
			continue
		case rs[i] == '\n':
			b.WriteString("<br />")
			i++
			continue
		}
		b.WriteString(html.EscapeString(string(rs[i])))
		i++
	}
	return b.String()
}

func closing(rs []rune, i int, c rune, within int) int {
	for j := i + 1; j < len(rs) && j <= i+within; j++ {
		if rs[j] == c {
			return j
		}
		if unicode.IsSpace(rs[j]) {
			return -1
		}
	}
	return -1
}

func nameRune(r rune) bool {
	return r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func hasPrefix(rs []rune, p string) bool {
	return len(rs) >= len(p) && string(rs[:len(p)]) == p
}

// bid is the base62 form of a status id in mobile URLs: the id in groups
// of seven digits from the right, each written as four base62 digits.
func bid(id int64) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	s := strconv.FormatInt(id, 10)
	var parts []string
	for end := len(s); end > 0; end -= 7 {
		n := atoi64(s[max(end-7, 0):end])
		var g []byte
		for n > 0 {
			g = append([]byte{alphabet[n%62]}, g...)
			n /= 62
		}
		part := string(g)
		if end-7 > 0 {
			for len(part) < 4 {
				part = "0" + part
			}
		}
		parts = append([]string{part}, parts...)
	}
	return strings.Join(parts, "")
}
