package weibomobile

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/post"
)

// ErrMalformed marks an mblog the mapper cannot turn into a Post.
var ErrMalformed = errors.New("malformed mblog")

// User is the m.weibo.cn user object (the fields iwom keeps).
type User struct {
	ID             kit.ID   `json:"id"`
	ScreenName     string   `json:"screen_name"`
	FollowersCount Count    `json:"followers_count"`
	Verified       kit.Bool `json:"verified"`
	VerifiedType   kit.Int  `json:"verified_type"`
}

// Mblog is the m.weibo.cn status object.
type Mblog struct {
	CreatedAt       string   `json:"created_at"`
	ID              kit.ID   `json:"id"`
	IDStr           string   `json:"idstr"`
	MID             kit.ID   `json:"mid"`
	BID             string   `json:"bid"`
	Text            string   `json:"text"` // HTML
	IsLongText      kit.Bool `json:"isLongText"`
	IsTop           kit.Int  `json:"isTop"` // pinned: may be old
	RepostsCount    Count    `json:"reposts_count"`
	CommentsCount   Count    `json:"comments_count"`
	AttitudesCount  Count    `json:"attitudes_count"`
	User            *User    `json:"user"`
	RetweetedStatus *Mblog   `json:"retweeted_status"`
}

func (m *Mblog) id() string {
	for _, s := range []string{m.IDStr, string(m.ID), string(m.MID)} {
		if s != "" {
			return s
		}
	}
	return ""
}

// MapMblog turns an mblog into a Post. html is its text (the long text
// when it was fetched); dates are read against now, the fetch time.
func MapMblog(m *Mblog, html string, now time.Time) (*post.Post, error) {
	id := m.id()
	if !digits(id) {
		return nil, fmt.Errorf("%w: id %.30q is not numeric", ErrMalformed, id)
	}
	created, err := ParseDate(m.CreatedAt, now)
	if err != nil {
		return nil, fmt.Errorf("%w: mblog %s: %v", ErrMalformed, id, err)
	}
	text := CleanHTML(html)
	if text == "" {
		return nil, fmt.Errorf("%w: mblog %s has no text", ErrMalformed, id)
	}
	p := &post.Post{
		Platform:  post.PlatformWeibo,
		ID:        id,
		Kind:      "post",
		Text:      text,
		CreatedAt: created,
		Metrics: post.Metrics{
			Reposts:  m.RepostsCount.N,
			Comments: m.CommentsCount.N,
			Likes:    m.AttitudesCount.N,
		},
	}
	if u := m.User; u != nil {
		p.Author = post.Author{
			ID:           string(u.ID),
			Name:         u.ScreenName,
			Followers:    u.FollowersCount.N,
			Verified:     bool(u.Verified),
			VerifiedType: int(u.VerifiedType),
		}
	}
	if p.Author.ID != "" {
		p.URL = "https://weibo.com/" + p.Author.ID + "/" + id
	} else {
		p.URL = "https://m.weibo.cn/detail/" + id
	}
	if rt := m.RetweetedStatus; rt != nil && digits(rt.id()) {
		p.RepostOf = rt.id()
	}
	return p, nil
}

// card is an entry of data.cards: an mblog (card_type 9) or a group of
// cards (card_type 11, as in search results).
type card struct {
	CardType  kit.Int         `json:"card_type"`
	Mblog     json.RawMessage `json:"mblog"`
	CardGroup []card          `json:"card_group"`
}

// mblogs flattens cards into their mblogs' raw JSON, in order.
func mblogs(cards []card, out []json.RawMessage) []json.RawMessage {
	for _, c := range cards {
		if len(c.Mblog) > 0 && string(c.Mblog) != "null" {
			out = append(out, c.Mblog)
		}
		out = mblogs(c.CardGroup, out)
	}
	return out
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

// looksLikeCaptcha reports whether a non-JSON answer is a verification
// page rather than an error page.
func looksLikeCaptcha(body []byte) bool {
	s := string(body)
	return strings.Contains(s, "验证码") || strings.Contains(strings.ToLower(s), "captcha") ||
		strings.Contains(s, "passport.weibo") || strings.Contains(s, "安全验证")
}

// decodeMblog parses one mblog object.
func decodeMblog(raw []byte) (*Mblog, error) {
	var m Mblog
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &m, nil
}
