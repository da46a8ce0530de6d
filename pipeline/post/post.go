// Package post defines iwom's canonical record: the raw Post a connector
// publishes and the Enriched post the enrich stage produces.
//
// The JSON shape is versioned (SchemaVersion) and described by
// schemas/post.schema.json; a test keeps the two in step.
package post

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// SchemaVersion is the version of the Post JSON record.
const SchemaVersion = 1

// Known platforms. Others are accepted if they are valid subject tokens.
const (
	PlatformWeibo  = "weibo"
	PlatformWechat = "wechat"
)

// Author is who wrote a post.
type Author struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	Followers    int64  `json:"followers,omitempty"`
	Verified     bool   `json:"verified,omitempty"`
	VerifiedType int    `json:"verified_type,omitempty"`
	Location     string `json:"location,omitempty"`
}

// Metrics are the engagement counts observed when the post was fetched.
type Metrics struct {
	Reposts  int64 `json:"reposts"`
	Comments int64 `json:"comments"`
	Likes    int64 `json:"likes"`
	Reads    int64 `json:"reads,omitempty"`
}

// Post is the canonical raw record, as published on iwom.raw.<platform>.
type Post struct {
	Version    int       `json:"v,omitempty"`
	Platform   string    `json:"platform"`
	ID         string    `json:"id"`
	Kind       string    `json:"kind,omitempty"` // post (default), comment, article, message
	URL        string    `json:"url,omitempty"`
	Text       string    `json:"text"`
	CreatedAt  time.Time `json:"created_at"`
	Author     Author    `json:"author"`
	RepostOf   string    `json:"repost_of,omitempty"`
	ReplyTo    string    `json:"reply_to,omitempty"`
	Metrics    Metrics   `json:"metrics"`
	Source     string    `json:"source,omitempty"`
	IngestedAt time.Time `json:"ingested_at"`
}

// Sentiment is a polarity score in [-1, 1] with its label.
type Sentiment struct {
	Score   float64 `json:"score"`
	Label   string  `json:"label"` // positive | neutral | negative
	Emotion string  `json:"emotion,omitempty"`
}

// BrandSentiment is the sentiment toward one brand within a post.
type BrandSentiment struct {
	Brand string  `json:"brand"`
	Score float64 `json:"score"`
	Label string  `json:"label"`
}

// Sentiment labels.
const (
	Positive = "positive"
	Neutral  = "neutral"
	Negative = "negative"
)

// Enriched is a Post with what the enrich stage derived from it, as
// published on iwom.enriched.<platform> and stored in iwom.posts.
type Enriched struct {
	Post
	NormText  string    `json:"norm_text"`
	OwnText   string    `json:"own_text,omitempty"` // the author's own words, repost chain removed
	Tokens    []string  `json:"tokens"`
	Keywords  []string  `json:"keywords"`
	Hashtags  []string  `json:"hashtags"`
	Mentions  []string  `json:"mentions"`
	Emoticons []string  `json:"emoticons"`
	URLs      []string  `json:"urls,omitempty"`
	Brands    []string  `json:"brands"`
	Sentiment Sentiment `json:"sentiment"`
	// BrandSentiment scores each matched brand on the clauses that name it
	// ("可口可乐比百事好喝多了，百事太甜了": 可口可乐 positive, 百事
	// negative); empty when the post names one brand or none.
	BrandSentiment []BrandSentiment `json:"brand_sentiment,omitempty"`
	EnrichedAt     time.Time        `json:"enriched_at"`
}

// Key is the post's identity across the pipeline: "<platform>:<id>". It is
// the Nats-Msg-Id used for JetStream de-duplication.
func (p *Post) Key() string { return p.Platform + ":" + p.ID }

// ErrInvalid marks a record that can never be processed (bad input, not a
// transient failure). Stages dead-letter such records at once.
var ErrInvalid = errors.New("invalid post")

// Bounds of the fields of a post. A real post is far inside each; what
// is outside is refused at the door as invalid, so that no stage or column
// meets a value it cannot hold.
const (
	MaxIDBytes       = 256  // id, author.id, repost_of, reply_to
	MaxURLBytes      = 4096 // url
	MaxNameBytes     = 512  // author.name
	MaxLocationBytes = 256  // author.location
	MaxSourceBytes   = 128  // source
	// MaxCount bounds every count (followers, reposts, comments, likes,
	// reads): sums of millions of posts stay far from 2^63.
	MaxCount = 1_000_000_000_000
	// MinVerifiedType and MaxVerifiedType: verified_type is stored as Int16.
	MinVerifiedType = -32768
	MaxVerifiedType = 32767
)

// Times a created_at may take: ClickHouse stores it as DateTime (unsigned
// seconds since 1970 up to 2106-02-07); a day of margin at each end keeps
// every time-zone conversion of the reports inside the type.
var (
	MinCreatedAt = time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)
	MaxCreatedAt = time.Date(2106, 2, 6, 0, 0, 0, 0, time.UTC)
)

// Kinds a post may be; empty means KindPost.
const (
	KindPost    = "post"
	KindComment = "comment"
	KindArticle = "article"
	KindMessage = "message"
)

// Limits bound what a post may be, beyond the fixed field bounds.
type Limits struct {
	MaxTextBytes int // 0 means no limit of its own
	// MaxFutureSkew: a created_at later than now plus this is refused;
	// 0 means no check.
	MaxFutureSkew time.Duration
	// Now is the server's clock (nil: time.Now).
	Now func() time.Time
}

func (l Limits) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Validate checks every field against its bound. The returned error wraps
// ErrInvalid and names the field.
func (p *Post) Validate(l Limits) error {
	switch {
	case p.Platform == "":
		return fmt.Errorf("%w: missing platform", ErrInvalid)
	case !ValidToken(p.Platform):
		return fmt.Errorf("%w: platform %q is not a lower-case subject token", ErrInvalid, truncate(p.Platform, 80))
	case p.ID == "":
		return fmt.Errorf("%w: missing id", ErrInvalid)
	case p.Text == "":
		return fmt.Errorf("%w: missing text", ErrInvalid)
	case l.MaxTextBytes > 0 && len(p.Text) > l.MaxTextBytes:
		return fmt.Errorf("%w: text is %d bytes, over the limit of %d", ErrInvalid, len(p.Text), l.MaxTextBytes)
	}
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{
		{"id", p.ID, MaxIDBytes}, {"text", p.Text, 0}, {"url", p.URL, MaxURLBytes},
		{"author.id", p.Author.ID, MaxIDBytes}, {"author.name", p.Author.Name, MaxNameBytes},
		{"author.location", p.Author.Location, MaxLocationBytes},
		{"repost_of", p.RepostOf, MaxIDBytes}, {"reply_to", p.ReplyTo, MaxIDBytes},
		{"source", p.Source, MaxSourceBytes},
	} {
		if f.max > 0 && len(f.v) > f.max {
			return fmt.Errorf("%w: %s is %d bytes, over the limit of %d", ErrInvalid, f.name, len(f.v), f.max)
		}
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, f.name)
		}
	}
	if strings.ContainsAny(p.ID, " \t\r\n") {
		return fmt.Errorf("%w: id contains white space", ErrInvalid)
	}
	switch p.Kind {
	case "", KindPost, KindComment, KindArticle, KindMessage:
	default:
		return fmt.Errorf("%w: kind %q is not post, comment, article or message", ErrInvalid, truncate(p.Kind, 40))
	}
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"author.followers", p.Author.Followers}, {"metrics.reposts", p.Metrics.Reposts},
		{"metrics.comments", p.Metrics.Comments}, {"metrics.likes", p.Metrics.Likes}, {"metrics.reads", p.Metrics.Reads},
	} {
		if c.v < 0 {
			return fmt.Errorf("%w: negative count %s", ErrInvalid, c.name)
		}
		if c.v > MaxCount {
			return fmt.Errorf("%w: %s %d is over the limit of %d", ErrInvalid, c.name, c.v, int64(MaxCount))
		}
	}
	if p.Author.VerifiedType < MinVerifiedType || p.Author.VerifiedType > MaxVerifiedType {
		return fmt.Errorf("%w: author.verified_type %d is outside %d..%d", ErrInvalid, p.Author.VerifiedType, MinVerifiedType, MaxVerifiedType)
	}
	return p.validateTime(l)
}

// validateTime checks created_at: present, storable, and not later than
// the server's clock allows.
func (p *Post) validateTime(l Limits) error {
	t := p.CreatedAt
	if t.IsZero() {
		return fmt.Errorf("%w: missing created_at", ErrInvalid)
	}
	if err := CheckCreatedAt(t); err != nil {
		return err
	}
	if l.MaxFutureSkew > 0 {
		if lim := l.now().Add(l.MaxFutureSkew); t.After(lim) {
			return fmt.Errorf("%w: created_at %s is more than %s ahead of the server clock", ErrInvalid, t.UTC().Format(time.RFC3339), l.MaxFutureSkew)
		}
	}
	return nil
}

// CheckCreatedAt reports whether t can be a post's created_at: within
// MinCreatedAt..MaxCreatedAt. Connectors check the times they parse with
// it, so that what they map is storable.
func CheckCreatedAt(t time.Time) error {
	if t.Before(MinCreatedAt) || t.After(MaxCreatedAt) {
		return fmt.Errorf("%w: created_at %s is outside %s..%s", ErrInvalid, t.UTC().Format(time.RFC3339), MinCreatedAt.Format(time.DateOnly), MaxCreatedAt.Format(time.DateOnly))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ValidToken reports whether s can be one NATS subject token in iwom's
// subjects: lower-case ASCII letters, digits, '-' and '_'.
func ValidToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Decode parses one raw Post from JSON and validates it. Invalid UTF-8 in
// the raw bytes is rejected before parsing (encoding/json would silently
// replace it). Errors wrap ErrInvalid.
func Decode(data []byte, l Limits) (*Post, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrInvalid)
	}
	var p Post
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: malformed JSON: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalid)
	}
	if err := p.Validate(l); err != nil {
		return nil, err
	}
	return &p, nil
}

// DecodeEnriched parses an enriched post.
func DecodeEnriched(data []byte) (*Enriched, error) {
	var e Enriched
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%w: malformed enriched JSON: %v", ErrInvalid, err)
	}
	if e.Platform == "" || e.ID == "" {
		return nil, fmt.Errorf("%w: enriched post without platform or id", ErrInvalid)
	}
	return &e, nil
}
