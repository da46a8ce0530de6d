package weibo

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/post"
)

// CreatedAtLayout is the Open API's created_at format
// ("Wed Apr 18 14:00:30 +0800 2012").
const CreatedAtLayout = "Mon Jan 02 15:04:05 -0700 2006"

// ErrMalformed marks an item the mapper cannot turn into a Post.
var ErrMalformed = errors.New("malformed weibo item")

// User is the Open API user object (the fields iwom keeps).
type User struct {
	ID             kit.ID   `json:"id"`
	IDStr          string   `json:"idstr"`
	ScreenName     string   `json:"screen_name"`
	Name           string   `json:"name"`
	Location       string   `json:"location"`
	FollowersCount kit.Int  `json:"followers_count"`
	Verified       kit.Bool `json:"verified"`
	VerifiedType   kit.Int  `json:"verified_type"`
}

// Status is the Open API status object (the fields iwom keeps).
type Status struct {
	CreatedAt  string   `json:"created_at"`
	ID         kit.ID   `json:"id"`
	IDStr      string   `json:"idstr"`
	MID        kit.ID   `json:"mid"`
	Text       string   `json:"text"`
	IsLongText kit.Bool `json:"isLongText"`
	LongText   *struct {
		Content string `json:"longTextContent"`
	} `json:"longText"`
	RepostsCount    kit.Int  `json:"reposts_count"`
	CommentsCount   kit.Int  `json:"comments_count"`
	AttitudesCount  kit.Int  `json:"attitudes_count"`
	Deleted         kit.Bool `json:"deleted"`
	User            *User    `json:"user"`
	RetweetedStatus *Status  `json:"retweeted_status"`
}

// Comment is the Open API comment object.
type Comment struct {
	CreatedAt    string  `json:"created_at"`
	ID           kit.ID  `json:"id"`
	IDStr        string  `json:"idstr"`
	Text         string  `json:"text"`
	LikeCount    kit.Int `json:"like_count"`
	User         *User   `json:"user"`
	Status       *Status `json:"status"`
	ReplyComment *struct {
		ID    kit.ID `json:"id"`
		IDStr string `json:"idstr"`
	} `json:"reply_comment"`
}

// id is the status id as a string: idstr, else id.
func (s *Status) id() string {
	if s.IDStr != "" {
		return s.IDStr
	}
	return string(s.ID)
}

func (u *User) id() string {
	if u.IDStr != "" {
		return u.IDStr
	}
	return string(u.ID)
}

func (u *User) author() post.Author {
	name := u.ScreenName
	if name == "" {
		name = u.Name
	}
	return post.Author{
		ID:           u.id(),
		Name:         name,
		Followers:    max(int64(u.FollowersCount), 0),
		Verified:     bool(u.Verified),
		VerifiedType: int(u.VerifiedType),
		Location:     u.Location,
	}
}

// ParseCreatedAt parses the Open API's created_at.
func ParseCreatedAt(s string) (time.Time, error) {
	t, err := time.Parse(CreatedAtLayout, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: created_at %.40q is not like %q", ErrMalformed, s, CreatedAtLayout)
	}
	if err := post.CheckCreatedAt(t); err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return t.UTC(), nil
}

// DecodeStatus parses one status object.
func DecodeStatus(raw []byte) (*Status, error) {
	var s Status
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &s, nil
}

// MapStatus turns a status into a Post: the user into the author,
// retweeted_status into repost_of, the counts into metrics. It needs an id
// made of digits, a created_at and a text.
func MapStatus(s *Status) (*post.Post, error) {
	id := s.id()
	if !digits(id) {
		return nil, fmt.Errorf("%w: status id %.30q is not numeric", ErrMalformed, id)
	}
	created, err := ParseCreatedAt(s.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("status %s: %w", id, err)
	}
	text := s.Text
	if s.LongText != nil && strings.TrimSpace(s.LongText.Content) != "" {
		text = s.LongText.Content
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%w: status %s has no text", ErrMalformed, id)
	}
	p := &post.Post{
		Platform:  post.PlatformWeibo,
		ID:        id,
		Kind:      "post",
		Text:      text,
		CreatedAt: created,
		Metrics: post.Metrics{
			Reposts:  max(int64(s.RepostsCount), 0),
			Comments: max(int64(s.CommentsCount), 0),
			Likes:    max(int64(s.AttitudesCount), 0),
		},
	}
	if s.User != nil {
		p.Author = s.User.author()
	}
	p.URL = statusURL(p.Author.ID, id)
	if rt := s.RetweetedStatus; rt != nil {
		if rid := rt.id(); digits(rid) {
			p.RepostOf = rid
		}
	}
	return p, nil
}

// MapComment turns a comment into a Post of kind comment that replies to
// the comment it answers, else to its status, else to statusID.
func MapComment(c *Comment, statusID string) (*post.Post, error) {
	id := c.IDStr
	if id == "" {
		id = string(c.ID)
	}
	if !digits(id) {
		return nil, fmt.Errorf("%w: comment id %.30q is not numeric", ErrMalformed, id)
	}
	created, err := ParseCreatedAt(c.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("comment %s: %w", id, err)
	}
	if strings.TrimSpace(c.Text) == "" {
		return nil, fmt.Errorf("%w: comment %s has no text", ErrMalformed, id)
	}
	p := &post.Post{
		Platform:  post.PlatformWeibo,
		ID:        id,
		Kind:      "comment",
		Text:      c.Text,
		CreatedAt: created,
		ReplyTo:   statusID,
		Metrics:   post.Metrics{Likes: max(int64(c.LikeCount), 0)},
	}
	if c.Status != nil && digits(c.Status.id()) {
		p.ReplyTo = c.Status.id()
	}
	if rc := c.ReplyComment; rc != nil {
		rid := rc.IDStr
		if rid == "" {
			rid = string(rc.ID)
		}
		if digits(rid) {
			p.ReplyTo = rid
		}
	}
	if c.User != nil {
		p.Author = c.User.author()
	}
	if p.ReplyTo != "" {
		p.URL = "https://m.weibo.cn/detail/" + p.ReplyTo
	}
	return p, nil
}

func statusURL(uid, id string) string {
	if uid == "" {
		return "https://m.weibo.cn/detail/" + id
	}
	return "https://weibo.com/" + uid + "/" + id
}
