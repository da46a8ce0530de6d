package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/post"
)

func sample(id string) *post.Post {
	return &post.Post{Platform: "weibo", ID: id, Text: "西门子冰箱不错", CreatedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), Author: post.Author{ID: "a"}}
}

// Clients do not set server time: whatever ingested_at a post carries, the
// publisher stamps its own clock (it is the post's stored version).
func TestPrepareStampsServerTime(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	p := &JetStreamPublisher{Source: "test", RawMax: 1 << 20, EnrichedMax: 1<<20 + 64<<10, Limits: post.Limits{Now: func() time.Time { return now }}}
	ps := sample("1")
	ps.IngestedAt = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	msg, err := p.prepare(ps)
	if err != nil {
		t.Fatal(err)
	}
	var got post.Post
	if err := json.Unmarshal(msg.Data, &got); err != nil {
		t.Fatal(err)
	}
	if !got.IngestedAt.Equal(now) || got.Source != "test" || got.Version != post.SchemaVersion {
		t.Errorf("published ingested_at %s source %q v %d, want the server's %s", got.IngestedAt, got.Source, got.Version, now)
	}
}

// Nothing is accepted that cannot be stored: every field within its bound,
// the encoded raw post within the raw stream, and a bound of its enriched
// form within the enriched stream.
func TestPrepareRefusesWhatCannotFit(t *testing.T) {
	const rawMax, enrMax = 1 << 20, 1<<20 + 64<<10
	p := &JetStreamPublisher{Source: "test", RawMax: rawMax, EnrichedMax: enrMax}
	long := sample("long")
	long.Text = strings.Repeat("冰箱门关不上", 3640) // 65,520 bytes of Chinese: a long article, must pass
	if _, err := p.prepare(long); err != nil {
		t.Fatalf("a 64 KB Chinese text was refused: %v", err)
	}
	cases := map[string]struct {
		mod  func(*post.Post)
		want string
		big  bool
	}{
		"850 KB url": {func(x *post.Post) {
			x.Text = strings.Repeat("长", 21000)
			x.URL = "http://x/" + strings.Repeat("a", 850<<10)
		}, "url is", false},
		"raw over limit":  {func(x *post.Post) { x.Text = strings.Repeat("a", rawMax-300) }, "raw stream", true},
		"enriched bound":  {func(x *post.Post) { x.Text = strings.Repeat("<a ", 60000) }, "enriched", true},
		"nfkc expansion":  {func(x *post.Post) { x.Text = strings.Repeat("\ufdfa", 20000) }, "enriched", true},
		"count":           {func(x *post.Post) { x.Metrics.Likes = 1<<63 - 1 }, "metrics.likes", false},
		"verified_type":   {func(x *post.Post) { x.Author.VerifiedType = 99999 }, "verified_type", false},
		"before 1970":     {func(x *post.Post) { x.CreatedAt = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC) }, "created_at", false},
		"after 2106":      {func(x *post.Post) { x.CreatedAt = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC) }, "created_at", false},
		"author.name":     {func(x *post.Post) { x.Author.Name = strings.Repeat("名", 200) }, "author.name", false},
		"kind":            {func(x *post.Post) { x.Kind = "poll" }, "kind", false},
		"source":          {func(x *post.Post) { x.Source = strings.Repeat("s", 200) }, "source", false},
		"reply_to":        {func(x *post.Post) { x.ReplyTo = strings.Repeat("1", 300) }, "reply_to", false},
		"location":        {func(x *post.Post) { x.Author.Location = strings.Repeat("北", 100) }, "location", false},
		"invalid utf8 id": {func(x *post.Post) { x.RepostOf = "\xff" }, "UTF-8", false},
	}
	for name, c := range cases {
		ps := sample("x")
		c.mod(ps)
		_, err := p.prepare(ps)
		if !errors.Is(err, post.ErrInvalid) || !strings.Contains(err.Error(), c.want) || errors.Is(err, post.ErrTooLarge) != c.big {
			t.Errorf("%s: %v, want invalid (too large: %v) naming %q", name, err, c.big, c.want)
		}
	}
	future := sample("f")
	future.CreatedAt = time.Now().Add(time.Hour)
	p.Limits.MaxFutureSkew = 15 * time.Minute
	if _, err := p.prepare(future); !errors.Is(err, post.ErrInvalid) || !strings.Contains(err.Error(), "ahead of the server clock") {
		t.Errorf("created_at an hour ahead: %v", err)
	}
}

// FuzzPrepare: a post the publisher accepts fits its raw stream and the
// bound of its enriched form fits the enriched stream; anything else is
// refused as invalid.
func FuzzPrepare(f *testing.F) {
	f.Add(`{"platform":"weibo","id":"1","text":"x","created_at":"2026-11-20T10:00:00Z","url":"http://a"}`, 4096)
	f.Add(`{"platform":"weibo","id":"1","text":"<<<<&&&\u2028","created_at":"2026-11-20T10:00:00Z"}`, 2048)
	f.Fuzz(func(t *testing.T, data string, rawMax int) {
		if rawMax < 0 || rawMax > 1<<22 {
			return
		}
		ps, err := post.Decode([]byte(data), post.Limits{})
		if err != nil {
			return
		}
		p := &JetStreamPublisher{Source: "fuzz", RawMax: rawMax, EnrichedMax: rawMax + 64<<10}
		msg, err := p.prepare(ps)
		if err != nil {
			if !errors.Is(err, post.ErrInvalid) {
				t.Fatalf("refused without ErrInvalid: %v", err)
			}
			return
		}
		if rawMax > 0 && len(msg.Data)+post.HeaderAllowance > rawMax {
			t.Fatalf("accepted %d bytes for a raw limit of %d", len(msg.Data), rawMax)
		}
	})
}

func openBus(t *testing.T) *bus.Bus {
	t.Helper()
	cfg := config.Default().NATS
	cfg.EmbeddedListen = ""
	b, err := bus.Open(context.Background(), cfg, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// Store answers for each post: stored, duplicate (the PubAck says so), or
// refused (dead-lettered with the line it came from).
func TestStoreCountsDuplicatesAndDeadLettersWithLine(t *testing.T) {
	b := openBus(t)
	p := &JetStreamPublisher{Bus: b, Source: "test", Log: zerolog.Nop()}
	ctx := context.Background()
	bad := sample("bad")
	bad.URL = strings.Repeat("u", 5000)
	res := p.Store(WithLine(ctx, 7), []*post.Post{sample("1"), sample("1"), bad, sample("2")})
	if res[0].Err != nil || res[0].Duplicate || res[1].Err != nil || !res[1].Duplicate || !errors.Is(res[2].Err, post.ErrInvalid) || res[3].Err != nil || res[3].Duplicate {
		t.Fatalf("results %+v", res)
	}
	if st := p.Stats(); st.Published != 2 || st.Duplicates != 1 || st.Invalid != 1 {
		t.Errorf("stats %+v", st)
	}
	var lines []string
	if err := b.ReadAll(ctx, bus.StreamDLQ, bus.DLQSubject("test"), func(m jetstream.Msg) error {
		lines = append(lines, m.Headers().Get(bus.HdrDLQLine)+" "+m.Headers().Get(bus.HdrDLQError))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "7 ") || !strings.Contains(lines[0], "url is 5000 bytes") {
		t.Errorf("dead letters %q", lines)
	}
}

// BenchmarkPrepare is the door's cost per post: validation, stamping,
// encoding and the size bounds (a long article is normalised to bound its
// enriched form; a Weibo-length post is not).
func BenchmarkPrepare(b *testing.B) {
	p := &JetStreamPublisher{Source: "bench", RawMax: 1 << 20, EnrichedMax: 1<<20 + 64<<10}
	for _, c := range []struct {
		name string
		text string
	}{{"weibo-140", strings.Repeat("西门子冰箱门关不上，客服投诉无门！", 8)}, {"article-20KB", strings.Repeat("西门子冰箱门关不上，客服投诉无门！", 400)}} {
		b.Run(c.name, func(b *testing.B) {
			ps := sample("b")
			ps.Text = c.text
			b.SetBytes(int64(len(c.text)))
			for i := 0; i < b.N; i++ {
				if _, err := p.prepare(ps); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
