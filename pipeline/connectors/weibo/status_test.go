package weibo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/post"
)

// A status as the Open API documents it, with a repost.
const sampleStatus = `{
  "created_at": "Wed Apr 18 14:00:30 +0800 2012",
  "id": 4900000000000123, "idstr": "4900000000000123", "mid": "4900000000000123",
  "text": "转发微博//@小王子:西门子的冰箱门又坏了[怒]",
  "source": "<a href=\"http://app.weibo.com/t/feed/5yiHuw\" rel=\"nofollow\">iPhone客户端</a>",
  "favorited": false, "truncated": false, "geo": null, "pic_urls": [],
  "reposts_count": 3, "comments_count": "12", "attitudes_count": 40,
  "user": {"id": 1000000123, "idstr": "1000000123", "screen_name": "阿花", "name": "阿花", "location": "广东 广州",
           "followers_count": 12345, "friends_count": 10, "verified": true, "verified_type": 3},
  "retweeted_status": {"created_at": "Wed Apr 18 13:00:00 +0800 2012", "id": 4800000000000001, "idstr": "4800000000000001",
                       "text": "西门子的冰箱门又坏了[怒]", "user": {"id": 42, "screen_name": "原博主"}}
}`

func TestMapStatus(t *testing.T) {
	st, err := DecodeStatus([]byte(sampleStatus))
	if err != nil {
		t.Fatal(err)
	}
	p, err := MapStatus(st)
	if err != nil {
		t.Fatal(err)
	}
	want := post.Post{
		Platform: "weibo", ID: "4900000000000123", Kind: "post",
		URL:       "https://weibo.com/1000000123/4900000000000123",
		Text:      "转发微博//@小王子:西门子的冰箱门又坏了[怒]",
		CreatedAt: time.Date(2012, 4, 18, 6, 0, 30, 0, time.UTC),
		Author:    post.Author{ID: "1000000123", Name: "阿花", Followers: 12345, Verified: true, VerifiedType: 3, Location: "广东 广州"},
		RepostOf:  "4800000000000001",
		Metrics:   post.Metrics{Reposts: 3, Comments: 12, Likes: 40},
	}
	if got := *p; !equalPost(got, want) {
		t.Errorf("mapped\n%+v\nwant\n%+v", got, want)
	}
}

func equalPost(a, b post.Post) bool {
	return a.Platform == b.Platform && a.ID == b.ID && a.Kind == b.Kind && a.URL == b.URL && a.Text == b.Text &&
		a.CreatedAt.Equal(b.CreatedAt) && a.Author == b.Author && a.RepostOf == b.RepostOf && a.ReplyTo == b.ReplyTo && a.Metrics == b.Metrics
}

func TestMapStatusVariants(t *testing.T) {
	cases := []struct {
		name, json string
		check      func(*post.Post) bool
		err        bool
	}{
		{"id only as a number", `{"id": 4900000000000124, "created_at": "Wed Apr 18 14:00:30 +0800 2012", "text": "hi"}`,
			func(p *post.Post) bool {
				return p.ID == "4900000000000124" && p.Author.ID == "" && p.URL == "https://m.weibo.cn/detail/4900000000000124"
			}, false},
		{"id as a float", `{"id": 4.9e15, "created_at": "Wed Apr 18 14:00:30 +0800 2012", "text": "hi"}`,
			func(p *post.Post) bool { return p.ID == "4900000000000000" }, false},
		{"no attitudes_count", `{"idstr": "1", "created_at": "Wed Apr 18 14:00:30 +0800 2012", "text": "hi", "reposts_count": 1}`,
			func(p *post.Post) bool { return p.Metrics == post.Metrics{Reposts: 1} }, false},
		{"long text", `{"idstr": "1", "created_at": "Wed Apr 18 14:00:30 +0800 2012", "text": "短...全文： http://m.weibo.cn/1/1", "isLongText": true, "longText": {"longTextContent": "很长的全文"}}`,
			func(p *post.Post) bool { return p.Text == "很长的全文" }, false},
		{"deleted original", `{"idstr": "2", "created_at": "Wed Apr 18 14:00:30 +0800 2012", "text": "转发微博", "retweeted_status": {"idstr": "1", "deleted": "1", "text": "抱歉，此微博已被作者删除。"}}`,
			func(p *post.Post) bool { return p.RepostOf == "1" }, false},
		{"negative count clamped", `{"idstr": "3", "created_at": "Wed Apr 18 14:00:30 +0800 2012", "text": "x", "reposts_count": -5}`,
			func(p *post.Post) bool { return p.Metrics.Reposts == 0 }, false},
		{"missing id", `{"created_at": "Wed Apr 18 14:00:30 +0800 2012", "text": "hi"}`, nil, true},
		{"non-numeric id", `{"idstr": "12a", "created_at": "Wed Apr 18 14:00:30 +0800 2012", "text": "hi"}`, nil, true},
		{"bad created_at", `{"idstr": "1", "created_at": "2012-04-18", "text": "hi"}`, nil, true},
		{"missing text", `{"idstr": "1", "created_at": "Wed Apr 18 14:00:30 +0800 2012"}`, nil, true},
		{"wrong type", `{"idstr": "1", "created_at": "Wed Apr 18 14:00:30 +0800 2012", "text": "x", "reposts_count": "many"}`, nil, true},
		{"not an object", `[1,2]`, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := DecodeStatus([]byte(c.json))
			var p *post.Post
			if err == nil {
				p, err = MapStatus(st)
			}
			if c.err {
				if err == nil || !errors.Is(err, ErrMalformed) {
					t.Fatalf("got %v, want an error wrapping ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(p) {
				t.Errorf("unexpected post %+v", p)
			}
		})
	}
}

func TestMapComment(t *testing.T) {
	raw := `{"created_at": "Wed Apr 18 15:00:00 +0800 2012", "id": 4900000000009999, "text": "回复@阿花:同感[泪]", "like_count": 2,
	  "user": {"idstr": "77", "screen_name": "路人"}, "status": {"idstr": "4900000000000123"},
	  "reply_comment": {"id": 4900000000009000}}`
	var c Comment
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	p, err := MapComment(&c, "1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != "comment" || p.ID != "4900000000009999" || p.ReplyTo != "4900000000009000" || p.Metrics.Likes != 2 || p.Author.Name != "路人" {
		t.Errorf("unexpected comment post %+v", p)
	}
	c.ReplyComment = nil
	if p, _ = MapComment(&c, "1"); p.ReplyTo != "4900000000000123" {
		t.Errorf("reply_to %q, want the status", p.ReplyTo)
	}
	c.Status = nil
	if p, _ = MapComment(&c, "1"); p.ReplyTo != "1" {
		t.Errorf("reply_to %q, want the status polled", p.ReplyTo)
	}
}

func TestClassify(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":"User requests out of rate limit!","error_code":10023,"request":"/2/statuses/home_timeline.json"}`: "rate-limited",
		`{"error":"IP requests out of rate limit!","error_code":"10022","request":"/2/x.json"}`:                      "rate-limited",
		`{"error":"expired_token","error_code":21327,"request":"/2/x.json"}`:                                         "fatal",
		`{"error":"invalid_access_token","error_code":"21332","request":"/2/x.json"}`:                                "fatal",
		`{"error":"system error!","error_code":10001}`:                                                               "transient",
		`{"error":"service unavailable!","error_code":"10002"}`:                                                      "transient",
		`{"error":"target weibo does not exist!","error_code":20101}`:                                                "skip",
	} {
		_, err := checkAnswer("x", &kitAnswer{Status: 403, Body: []byte(body)})
		var ke interface{ Error() string }
		if err == nil {
			t.Errorf("%s: no error", body)
			continue
		}
		ke = err
		if got := classOf(err); got != want {
			t.Errorf("%s: class %s, want %s (%v)", body, got, want, ke)
		}
	}
	if _, err := checkAnswer("x", &kitAnswer{Status: 200, Body: []byte(`{"statuses":[]}`)}); err != nil {
		t.Errorf("a good answer is an error: %v", err)
	}
}

// FuzzMapStatus: no input makes the mapper panic, and what it accepts is
// a valid post with a numeric id.
func FuzzMapStatus(f *testing.F) {
	f.Add([]byte(sampleStatus))
	f.Add([]byte(`{"id": 1, "created_at": "Wed Apr 18 14:00:30 +0800 2012", "text": "x", "user": null}`))
	f.Add([]byte(`{"idstr": "", "id": "007", "created_at": "Mon Jan 02 15:04:05 -0700 2006", "text": " "}`))
	f.Add([]byte(`{"id": 1e400}`))
	f.Add([]byte(`{"retweeted_status": {"retweeted_status": {"id": "x"}}}`))
	f.Add([]byte(`{"idstr":"1","created_at":"Wed Apr 18 14:00:30 +0800 2012","text":"\ud800","user":{"followers_count":"-3"}}`))
	f.Add([]byte(`{"idstr":"1","created_at":"Sat Apr 01 00:00:00 +0000 0000","text":"x"}`)) // year 0: not storable
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := DecodeStatus(data)
		if err != nil {
			return
		}
		p, err := MapStatus(st)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if !digits(p.ID) || p.CreatedAt.IsZero() || strings.TrimSpace(p.Text) == "" || !utf8.ValidString(p.Text) {
			t.Fatalf("accepted an unusable post: %+v", p)
		}
		if err := p.Validate(post.Limits{}); err != nil {
			t.Fatalf("accepted an invalid post: %v", err)
		}
		if p.RepostOf != "" && !digits(p.RepostOf) {
			t.Fatalf("repost_of %q is not numeric", p.RepostOf)
		}
	})
}

type kitAnswer = kit.Answer

func classOf(err error) string {
	c, ok := kit.ClassOf(err)
	if !ok {
		return "unclassified"
	}
	return c.String()
}
