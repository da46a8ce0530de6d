package weibomobile

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iwom/iwom/pipeline/post"
)

func TestCleanHTML(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "今天天气不错", "今天天气不错"},
		{"emoticon unquoted alt", `好开心<span class="url-icon"><img alt=[哈哈] src="https://h5.sinaimg.cn/m/emoticon/icon/default/d_haha-bdd6ceb619.png" style="width:1em; height:1em;" /></span>`, "好开心[哈哈]"},
		{"emoticon quoted alt", `<span class="url-icon"><img alt="[doge]" src="x.png"></span>`, "[doge]"},
		{"mention", `<a href='/n/小王子'>@小王子</a> 你好`, "@小王子 你好"},
		{"topic", `<a  href="https://m.weibo.cn/search?containerid=231522type%3D1%26t%3D10%26q%3D%23%E8%A5%BF%E9%97%A8%E5%AD%90%23&extparam=%23%E8%A5%BF%E9%97%A8%E5%AD%90%23" data-hide=""><span class="surl-text">#西门子#</span></a>冰箱门坏了`, "#西门子#冰箱门坏了"},
		{"super topic with icon", `<a href="https://m.weibo.cn/p/index?containerid=100808abc"><span class='url-icon'><img style='width: 1rem;height: 1rem' src='https://n.sinaimg.cn/photo/5213b46e/20180926/timeline_card_small_super_default.png'></span><span class="surl-text">耐克超话</span></a>`, "耐克超话"},
		{"link with data-url", `看这个<a data-url="http://t.cn/A6Pq1x2z" href="https://weibo.cn/sinaurl?u=http%3A%2F%2Ft.cn%2FA6Pq1x2z" data-hide=""><span class='url-icon'><img style='width: 1rem;height: 1rem' src='web.png'></span><span class="surl-text">网页链接</span></a>`, "看这个http://t.cn/A6Pq1x2z"},
		{"link via sinaurl only", `<a href="https://weibo.cn/sinaurl?u=https%3A%2F%2Fexample.com%2Fa%3Fb%3D1"><span class="surl-text">网页链接</span></a>`, "https://example.com/a?b=1"},
		{"external href", `<a href="https://example.com/x">网页链接</a>`, "https://example.com/x"},
		{"internal link keeps its label", `<a href="/status/123">某条微博</a>`, "某条微博"},
		{"line breaks", `第一行<br />第二行<br>第三行`, "第一行\n第二行\n第三行"},
		{"entities", `A&amp;B &lt;tag&gt; &quot;q&quot; &#39;s&#39; &#x4E2D;`, `A&B <tag> "q" 's' 中`},
		{"truncated", `西门子的冰箱门又坏了，客服 ...<a href="/status/4900000000000123">全文</a>`, "西门子的冰箱门又坏了，客服"},
		{"ellipsis kept without 全文", `说到一半...`, "说到一半..."},
		{"repost chain", `转发微博//<a href='/n/阿花'>@阿花</a>:好用<span class="url-icon"><img alt=[赞] src="z.png" /></span>`, "转发微博//@阿花:好用[赞]"},
		{"script dropped", `a<script>alert(1)</script>b`, "ab"},
		{"lone angle bracket", `1 < 2`, "1 < 2"},
		{"unclosed anchor", `<a href="/n/x">@x`, "@x"},
		{"invalid utf-8", "ok\xff\xfe!", "ok!"},
	}
	for _, c := range cases {
		if got := CleanHTML(c.in); got != c.want {
			t.Errorf("%s: CleanHTML(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func FuzzCleanHTML(f *testing.F) {
	for _, s := range []string{
		`好开心<span class="url-icon"><img alt=[哈哈] src="x" /></span>`,
		`<a href='/n/小王子'>@小王子</a>`,
		`<a data-url="http://t.cn/A6" href="https://weibo.cn/sinaurl?u=http%3A%2F%2Ft.cn%2FA6"><span class="surl-text">网页链接</span></a>`,
		`x ...<a href="/status/1">全文</a>`,
		`<a><a><a href="`, `<img alt=`, `<img alt='`, `&#x110000;&amp`, "<br/>\xff", `<scrip<script>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := CleanHTML(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		if len(out) > len(s) {
			t.Fatalf("CleanHTML grew %q (%d bytes) into %q (%d bytes)", s, len(s), out, len(out))
		}
		if !strings.ContainsAny(s, "<&") && utf8.ValidString(s) && !strings.HasSuffix(strings.TrimSpace(s), "...") {
			if out != strings.TrimSpace(s) {
				t.Fatalf("plain text changed: %q -> %q", s, out)
			}
		}
	})
}

var fetch = time.Date(2026, 6, 28, 10, 30, 0, 0, Shanghai) // 02:30 UTC

func TestParseDate(t *testing.T) {
	at := func(y int, mo time.Month, d, h, mi int) time.Time {
		return time.Date(y, mo, d, h, mi, 0, 0, Shanghai).UTC()
	}
	cases := []struct {
		in   string
		want time.Time
	}{
		{"刚刚", fetch.UTC()},
		{"30秒前", fetch.Add(-30 * time.Second).UTC()},
		{"15分钟前", fetch.Add(-15 * time.Minute).UTC()},
		{" 3小时前 ", fetch.Add(-3 * time.Hour).UTC()},
		{"今天 08:05", at(2026, 6, 28, 8, 5)},
		{"昨天 12:30", at(2026, 6, 27, 12, 30)},
		{"昨天 23:59", at(2026, 6, 27, 23, 59)},
		{"前天 00:00", at(2026, 6, 26, 0, 0)},
		{"06-27", at(2026, 6, 27, 0, 0)},
		{"01-05 09:10", at(2026, 1, 5, 9, 10)},
		{"12-31", at(2025, 12, 31, 0, 0)}, // later in the year than now: last year
		{"2023-06-27", at(2023, 6, 27, 0, 0)},
		{"2023-06-27 08:00", at(2023, 6, 27, 8, 0)},
		{"Wed Apr 18 14:00:30 +0800 2012", time.Date(2012, 4, 18, 6, 0, 30, 0, time.UTC)},
	}
	for _, c := range cases {
		got, err := ParseDate(c.in, fetch)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	// Midnight in Shanghai is still the previous day in UTC: "昨天" counts
	// from the Shanghai date.
	early := time.Date(2026, 6, 28, 0, 30, 0, 0, Shanghai)
	if got, _ := ParseDate("昨天 23:00", early); !got.Equal(at(2026, 6, 27, 23, 0)) {
		t.Errorf("昨天 at 00:30 CST = %v", got)
	}
	if got, _ := ParseDate("02-29", time.Date(2024, 3, 1, 12, 0, 0, 0, Shanghai)); !got.Equal(at(2024, 2, 29, 0, 0)) {
		t.Errorf("02-29 of a leap year = %v", got)
	}
	for _, bad := range []string{"", "昨天", "昨天 25:00", "-3分钟前", "3天前", "99999999小时前", "13-01", "02-30", "2023/06/27", "06-27 1230", "now", "分钟前"} {
		if _, err := ParseDate(bad, fetch); !errors.Is(err, ErrDate) {
			t.Errorf("ParseDate(%q) = %v, want ErrDate", bad, err)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"刚刚", "5秒前", "15分钟前", "23小时前", "今天 12:30", "昨天 12:30", "前天 1:05", "06-27", "02-29", "12-31 23:59", "2023-06-27", "Wed Apr 18 14:00:30 +0800 2012", "0分钟前", "744小时前"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDate(s, fetch)
		if err != nil {
			if !errors.Is(err, ErrDate) {
				t.Fatalf("error does not wrap ErrDate: %v", err)
			}
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q: not UTC", s)
		}
		absolute := strings.Count(s, "-") == 2 || strings.Contains(s, "+") || strings.Contains(s, ":") && len(strings.Fields(s)) >= 5
		if !absolute && (got.After(fetch.Add(24*time.Hour)) || got.Before(fetch.AddDate(-1, 0, -2))) {
			t.Fatalf("%q parsed to %v, more than a year from the fetch time %v", s, got, fetch)
		}
	})
}

func TestParseCount(t *testing.T) {
	for in, want := range map[string]int64{
		"": 0, "0": 0, "123": 123, " 45 ": 45, "1,234": 1234, "3.5万": 35000, "100万+": 1_000_000, "1.2亿": 120_000_000,
		"10万+": 100_000, "2w": 20000, "1.5W": 15000, "8千": 8000, "2.5k": 2500, "999+": 999, "0.1万": 1000,
	} {
		got, err := ParseCount(in)
		if err != nil || got != want {
			t.Errorf("ParseCount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"abc", "万", "-1", "+5", "1e5", "1.2.3万", "NaN万", "Inf亿", "9999999999亿", "0x10", "评论"} {
		if _, err := ParseCount(bad); !errors.Is(err, ErrCount) {
			t.Errorf("ParseCount(%q) = %v, want ErrCount", bad, err)
		}
	}
}

func FuzzParseCount(f *testing.F) {
	for _, s := range []string{"123", "3.5万", "100万+", "1.2亿", "1,234", "", "1e5", "0.00001亿", "1_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseCount(s)
		if err != nil {
			if !errors.Is(err, ErrCount) {
				t.Fatalf("error does not wrap ErrCount: %v", err)
			}
			return
		}
		if n < 0 || n > maxCount {
			t.Fatalf("ParseCount(%q) = %d out of range", s, n)
		}
		if v, perr := strconv.ParseInt(s, 10, 64); perr == nil && v >= 0 && v <= maxCount && v != n {
			t.Fatalf("ParseCount(%q) = %d, want %d", s, n, v)
		}
	})
}

func FuzzMapMblog(f *testing.F) {
	f.Add([]byte(`{"id":"4900000000000001","created_at":"15分钟前","text":"<a href='/n/x'>@x</a> 好","reposts_count":"100万+","user":{"id":1,"followers_count":"12.3万"}}`))
	f.Add([]byte(`{"idstr":"1","created_at":"刚刚","text":"<br/>","retweeted_status":{"id":"2"}}`))
	f.Add([]byte(`{"mid":12,"created_at":"06-27","text":"x","attitudes_count":1.5e4}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMblog(data)
		if err != nil {
			return
		}
		p, err := MapMblog(m, m.Text, fetch)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if err := p.Validate(postLimits); err != nil || p.CreatedAt.IsZero() {
			t.Fatalf("accepted an invalid post %+v: %v", p, err)
		}
		if p.Metrics.Reposts < 0 || p.Metrics.Likes < 0 || p.Author.Followers < 0 {
			t.Fatalf("negative count: %+v", p)
		}
	})
}

var postLimits = post.Limits{}
