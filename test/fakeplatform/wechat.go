package fakeplatform

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/iwom/iwom/pipeline/post"
)

// article is an Official Account article (published, or an older news
// material) with its readers' comments.
type article struct {
	id       string // article_id, or media_id of a material
	msgData  int64  // msg_data_id (the mid of its URL)
	title    string
	digest   string
	content  string // HTML
	url      string
	author   string
	updated  time.Time
	material bool
	text     string // the generated words it carries
	comments []*mcomment
}

type mcomment struct {
	id      int64
	p       *post.Post // the generated post
	openid  string
	reply   string
	replyAt time.Time
}

const accountReply = "感谢您的反馈，我们已转交相关部门尽快处理。"

func (s *Server) buildWechat() {
	var arts []*article
	k := 0
	for _, gp := range s.posts {
		if gp.Platform != post.PlatformWechat {
			continue
		}
		if k%s.opts.ArticleEvery == 0 || len(arts) == 0 {
			n := len(arts)
			rs := []rune(gp.Text)
			title := string(rs[:min(len(rs), 16)])
			a := &article{
				id:      fmt.Sprintf("Bkh%06d_%d", s.opts.Seed%1_000_000, n),
				msgData: 2_650_000_000 + int64(n),
				title:   title,
				digest:  string(rs[:min(len(rs), 54)]),
				content: `<section style="margin: 0px;"><p><span>` + html.EscapeString(gp.Text) + `</span></p><p><img data-src="https://mmbiz.qpic.cn/mmbiz_jpg/x/0?wx_fmt=jpeg" alt="" /></p></section>`,
				author:  gp.Author.Name,
				updated: gp.CreatedAt,
				text:    gp.Text,
			}
			a.url = fmt.Sprintf("http://mp.weixin.qq.com/s?__biz=MzA3ODAwMDAwMA==&mid=%d&idx=1&sn=%08x&chksm=0#rd", a.msgData, uint32(a.msgData*2654435761))
			arts = append(arts, a)
		} else {
			a := arts[len(arts)-1]
			c := &mcomment{id: int64(len(a.comments) + 1), p: gp, openid: "oAbC" + gp.Author.ID}
			if s.opts.ReplyEvery > 0 && int(c.id)%s.opts.ReplyEvery == 0 {
				c.reply, c.replyAt = accountReply, gp.CreatedAt.Add(time.Hour)
			}
			a.comments = append(a.comments, c)
		}
		k++
	}
	s.byMsgData = map[int64]*article{}
	for i, a := range arts {
		a.material = i < len(arts)/3
		if a.material {
			a.id = "media" + a.id
		}
		s.byMsgData[a.msgData] = a
	}
	// Newest first, as the APIs list them.
	sort.Slice(arts, func(i, j int) bool { return arts[i].updated.After(arts[j].updated) })
	for _, a := range arts {
		if a.material {
			s.materials = append(s.materials, a)
		} else {
			s.articles = append(s.articles, a)
		}
	}
	for i, gp := range s.posts {
		if gp.Platform != post.PlatformWechat {
			continue
		}
		s.pushes = append(s.pushes, PushMessage{
			ToUserName: "gh_fa4e00000001", FromUserName: "oAbC" + gp.Author.ID, CreateTime: gp.CreatedAt.Unix(),
			MsgType: "text", Content: gp.Text, MsgID: 24_000_000_000_000_000 + int64(i),
		})
	}
}

// WechatMPPosts are the ids ("wechat:<id>") of the articles, comments and
// the account's replies a wechat-mp connector should publish at the
// current Reveal, with the materials when materials is set.
func (s *Server) WechatMPPosts(materials bool) []string {
	keys := map[string]bool{}
	add := func(list []*article, prefix string) {
		for _, a := range list {
			if !s.visible(a.updated) {
				continue
			}
			keys["wechat:"+prefix+"-"+a.id+"-0"] = true
			for _, c := range a.comments {
				if !s.visible(c.p.CreatedAt) {
					continue
				}
				id := fmt.Sprintf("wechat:cmt-%d-0-%d", a.msgData, c.id)
				keys[id] = true
				if c.reply != "" {
					keys[id+"-reply"] = true
				}
			}
		}
	}
	add(s.articles, "art")
	if materials {
		add(s.materials, "mat")
	}
	return sortedKeys(keys)
}

// PushMessages are text messages from the generated WeChat posts, as
// WeChat would push them to the account's server.
func (s *Server) PushMessages() []PushMessage { return append([]PushMessage(nil), s.pushes...) }

// WechatTokenCalls is how many access tokens were issued.
func (s *Server) WechatTokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls
}

// ExpireWechatTokens makes every access token issued so far expired
// (42001).
func (s *Server) ExpireWechatTokens() {
	s.mu.Lock()
	now := s.opts.Now()
	for t := range s.tokens {
		s.tokens[t] = now.Add(-time.Second)
	}
	s.mu.Unlock()
}

func (s *Server) routesWechat(mux *http.ServeMux) {
	mux.HandleFunc("/cgi-bin/token", s.wechatToken)
	mux.HandleFunc("/cgi-bin/freepublish/batchget", s.wechatAPI("/cgi-bin/freepublish/batchget", "item", func(body map[string]any) (map[string]any, int) {
		return s.articleList(s.articles, body, false)
	}))
	mux.HandleFunc("/cgi-bin/material/batchget_material", s.wechatAPI("/cgi-bin/material/batchget_material", "item", func(body map[string]any) (map[string]any, int) {
		if body["type"] != "news" {
			return nil, 40007
		}
		return s.articleList(s.materials, body, true)
	}))
	mux.HandleFunc("/cgi-bin/comment/list", s.wechatAPI("/cgi-bin/comment/list", "comment", s.commentList))
}

var wechatMessages = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest rid: 6560a1b2-0c1d2e3f-4a5b6c7d",
	40007: "invalid media_id rid: 6560a1b2-0c1d2e3f-4a5b6c7d",
	40013: "invalid appid rid: 6560a1b2-0c1d2e3f-4a5b6c7d",
	40014: "invalid access_token rid: 6560a1b2-0c1d2e3f-4a5b6c7d",
	40097: "invalid args rid: 6560a1b2-0c1d2e3f-4a5b6c7d",
	40125: "invalid appsecret rid: 6560a1b2-0c1d2e3f-4a5b6c7d",
	41001: "access_token missing rid: 6560a1b2-0c1d2e3f-4a5b6c7d",
	42001: "access_token expired rid: 6560a1b2-0c1d2e3f-4a5b6c7d",
	45009: "reach max api daily quota limit rid: 6560a1b2-0c1d2e3f-4a5b6c7d",
	45011: "api minute-quota reach limit  mustslower  retry next minute rid: 6560a1b2-0c1d2e3f-4a5b6c7d",
	88001: "msg_data is not exists",
	88010: "count out of range",
}

// wechatError answers an errcode with HTTP 200, as WeChat does.
func wechatError(w http.ResponseWriter, code int) {
	writeJSON(w, http.StatusOK, map[string]any{"errcode": code, "errmsg": wechatMessages[code]})
}

func (s *Server) wechatToken(w http.ResponseWriter, r *http.Request) {
	const path = "/cgi-bin/token"
	switch s.enter(path) {
	case FaultDrop:
		drop(w)
		return
	case FaultHTML:
		writeRaw(w, http.StatusBadGateway, "text/html", []byte(nginx502))
		return
	case FaultServerError, FaultServerString:
		wechatError(w, -1)
		return
	case FaultTruncated:
		writeRaw(w, http.StatusOK, "application/json", []byte(`{"access_token":"ACCESS_TO`))
		return
	}
	q := r.URL.Query()
	switch {
	case q.Get("grant_type") != "client_credential":
		wechatError(w, 40097)
		return
	case q.Get("appid") != s.opts.WechatAppID:
		wechatError(w, 40013)
		return
	case q.Get("secret") != s.opts.WechatSecret:
		wechatError(w, 40125)
		return
	}
	s.mu.Lock()
	s.tokenSeq++
	s.tokenCalls++
	tok := fmt.Sprintf("ACCESS_TOKEN_%04d_%s", s.tokenSeq, strings.Repeat("x", 40))
	s.tokens[tok] = s.opts.Now().Add(s.opts.WechatTokenTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": int(math.Ceil(s.opts.WechatTokenTTL.Seconds()))})
}

// wechatAPI wraps a POST API: injected faults, the access token, the
// quota, the JSON body, then the answer.
func (s *Server) wechatAPI(path, list string, fn func(map[string]any) (map[string]any, int)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := s.enter(path)
		switch f {
		case FaultDrop:
			drop(w)
			return
		case FaultHTML:
			writeRaw(w, http.StatusBadGateway, "text/html", []byte(nginx502))
			return
		case FaultServerError, FaultServerString:
			wechatError(w, -1)
			return
		case FaultRateLimit:
			wechatError(w, 45011)
			return
		case FaultQuota:
			wechatError(w, 45009)
			return
		case FaultTokenExpired:
			wechatError(w, 42001)
			return
		case FaultTokenInvalid:
			wechatError(w, 40001)
			return
		}
		if r.Method != http.MethodPost {
			wechatError(w, 43002)
			return
		}
		tok := r.URL.Query().Get("access_token")
		s.mu.Lock()
		exp, known := s.tokens[tok]
		now := s.opts.Now()
		code := 0
		switch {
		case tok == "":
			code = 41001
		case !known:
			code = 40001
		case !now.Before(exp):
			code = 42001
		case !s.wechatLimit.allow(s.opts.WechatQuota, now):
			code = 45009
			if s.opts.WechatQuota.Code != 0 {
				code = s.opts.WechatQuota.Code
			}
		}
		s.mu.Unlock()
		if code != 0 {
			wechatError(w, code)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
			writeJSON(w, http.StatusOK, map[string]any{"errcode": 47001, "errmsg": "data format error rid: 6560a1b2"})
			return
		}
		ans, code := fn(body)
		if code != 0 {
			wechatError(w, code)
			return
		}
		switch f {
		case FaultWrongTypes:
			ans[list] = map[string]any{"oops": true}
		case FaultMissing:
			delete(ans, list)
		case FaultBadItem:
			if items, ok := ans[list].([]map[string]any); ok && len(items) > 0 {
				bad := map[string]any{}
				for k, v := range items[0] {
					bad[k] = v
				}
				for _, k := range []string{"update_time", "create_time", "user_comment_id"} {
					if _, ok := bad[k]; ok {
						bad[k] = "yesterday"
					}
				}
				items[0] = bad
			}
		}
		data, _ := json.Marshal(ans)
		if f == FaultTruncated {
			data = data[:len(data)/2]
		}
		writeRaw(w, http.StatusOK, "application/json; encoding=utf-8", data)
	}
}

func intArg(body map[string]any, key string) (int, bool) {
	f, ok := body[key].(float64)
	if !ok || f != math.Trunc(f) {
		return 0, false
	}
	return int(f), true
}

func (s *Server) articleList(list []*article, body map[string]any, material bool) (map[string]any, int) {
	offset, ok1 := intArg(body, "offset")
	count, ok2 := intArg(body, "count")
	if !ok1 || !ok2 || offset < 0 || count < 1 || count > 20 {
		return nil, 40097
	}
	noContent, _ := intArg(body, "no_content")
	var vis []*article
	for _, a := range list {
		if s.visible(a.updated) {
			vis = append(vis, a)
		}
	}
	start := min(offset, len(vis))
	end := min(start+count, len(vis))
	items := make([]map[string]any, 0, end-start)
	for _, a := range vis[start:end] {
		news := map[string]any{
			"title": a.title, "author": a.author, "digest": a.digest, "content": a.content,
			"content_source_url": "", "thumb_media_id": "thumb-" + a.id, "show_cover_pic": 0,
			"url": a.url, "thumb_url": "http://mmbiz.qpic.cn/mmbiz_jpg/x/0?wx_fmt=jpeg",
			"need_open_comment": 1, "only_fans_can_comment": 0, "is_deleted": false,
		}
		if noContent == 1 {
			delete(news, "content")
		}
		content := map[string]any{"news_item": []any{news}}
		item := map[string]any{"content": content, "update_time": a.updated.Unix()}
		if material {
			item["media_id"] = a.id
			content["create_time"] = a.updated.Unix()
			content["update_time"] = a.updated.Unix()
		} else {
			item["article_id"] = a.id
		}
		items = append(items, item)
	}
	return map[string]any{"total_count": len(vis), "item_count": len(items), "item": items}, 0
}

func (s *Server) commentList(body map[string]any) (map[string]any, int) {
	id, ok1 := intArg(body, "msg_data_id")
	begin, ok2 := intArg(body, "begin")
	count, ok3 := intArg(body, "count")
	index, _ := intArg(body, "index")
	switch {
	case !ok1 || !ok2 || !ok3 || begin < 0:
		return nil, 40097
	case count < 1 || count >= 50:
		return nil, 88010
	}
	a := s.byMsgData[int64(id)]
	if a == nil || index != 0 || !s.visible(a.updated) {
		return nil, 88001
	}
	var vis []*mcomment
	for _, c := range a.comments {
		if s.visible(c.p.CreatedAt) {
			vis = append(vis, c)
		}
	}
	start := min(begin, len(vis))
	end := min(start+count, len(vis))
	list := make([]map[string]any, 0, end-start)
	for _, c := range vis[start:end] {
		m := map[string]any{"user_comment_id": c.id, "openid": c.openid, "create_time": c.p.CreatedAt.Unix(), "content": c.p.Text, "comment_type": 0}
		if c.reply != "" {
			// Shown with its comment: the connector reads a comment once.
			m["reply"] = map[string]any{"content": c.reply, "create_time": c.replyAt.Unix()}
		}
		list = append(list, m)
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "total": len(vis), "comment": list}, 0
}
