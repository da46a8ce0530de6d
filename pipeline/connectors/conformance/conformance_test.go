package conformance_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/conformance"
	"github.com/iwom/iwom/pipeline/connectors/registry"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/test/fakeplatform"
)

func newFake(t *testing.T, opts fakeplatform.Options) *fakeplatform.Server {
	t.Helper()
	if opts.Count == 0 {
		opts.Count = 600
	}
	if opts.Seed == 0 {
		opts.Seed = 7
	}
	fp, err := fakeplatform.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fp.Close)
	return fp
}

// pollerCase is the suite for a poller: half the data visible, the
// connector cut once it published some of it, then all the data and a new
// instance with once: true.
func pollerCase(fp *fakeplatform.Server, kind string, want []string, tweak func(registry.Entry), cutAfter, maxAgain int) conformance.Case {
	return conformance.Case{
		Want: want,
		Entry: func(phase int) registry.Entry {
			e := registry.Entry(fp.Entry(kind, "conf-"+kind, phase == 1, ""))
			e["interval"] = "50ms"
			if tweak != nil {
				tweak(e)
			}
			return e
		},
		Feed: func(ctx context.Context, t *testing.T, _ connectors.Connector, phase int, pub *conformance.Counter) error {
			if phase == 0 {
				fp.Reveal(0.5)
				return pub.WaitCalls(ctx, cutAfter)
			}
			fp.Reveal(1)
			return nil
		},
		Finite:         func(phase int) bool { return phase == 1 },
		MaxRepublished: maxAgain,
	}
}

func TestWeibo(t *testing.T) {
	fp := newFake(t, fakeplatform.Options{})
	sel := fakeplatform.WeiboSelection{Home: true, CommentsOf: fp.HotStatusIDs(), RepostsOf: fp.RootIDs()[:3]}
	want := fakeplatform.Keys(fp.WeiboPosts(sel))
	conformance.Run(t, pollerCase(fp, "weibo", want, func(e registry.Entry) {
		e["count"] = 20
		e["max_pages"] = 3
	}, 50, 3*20))
}

func TestWeiboMobile(t *testing.T) {
	fp := newFake(t, fakeplatform.Options{EmptyEvery: 9})
	users := fp.TopAuthors(5)
	want := fakeplatform.Keys(fp.MobilePosts(fakeplatform.MobileSelection{Users: users, Queries: []string{"西门子"}}))
	conformance.Run(t, pollerCase(fp, "weibo-mobile", want, func(e registry.Entry) {
		e["users"] = users
		e["max_pages"] = 2
	}, 15, 3*11))
}

func TestWechatMP(t *testing.T) {
	fp := newFake(t, fakeplatform.Options{WechatTokenTTL: 2 * time.Second})
	want := fp.WechatMPPosts(true)
	conformance.Run(t, pollerCase(fp, "wechat-mp", want, func(e registry.Entry) {
		e["page_size"] = 3
		e["comment_page"] = 4
		e["max_pages"] = 2
	}, 10, 3*4))
}

func TestWechatPush(t *testing.T) {
	fp := newFake(t, fakeplatform.Options{})
	msgs := fp.PushMessages()
	var want []string
	for _, m := range msgs {
		want = append(want, m.Key())
	}
	half := len(msgs) / 2
	conformance.Run(t, conformance.Case{
		Want: want,
		Entry: func(int) registry.Entry {
			return registry.Entry(fp.Entry("wechat-push", "conf-push", false, "127.0.0.1:0"))
		},
		Feed: func(ctx context.Context, t *testing.T, c connectors.Connector, phase int, _ *conformance.Counter) error {
			addr, err := waitAddr(ctx, c)
			if err != nil {
				return err
			}
			p := fp.Pusher("http://" + addr + "/")
			batch := msgs[:half]
			if phase == 1 {
				// The rest, and WeChat retrying some it already sent.
				batch = append(append([]fakeplatform.PushMessage(nil), msgs[half:]...), msgs[:10]...)
			}
			for i, m := range batch {
				status, body, err := p.Push(ctx, m, fakeplatform.Mode(i%3))
				if err != nil || status != http.StatusOK || body != "success" {
					return fmt.Errorf("push %d (%s): %d %q %v", i, fakeplatform.Mode(i%3), status, body, err)
				}
			}
			return nil
		},
		Finite: func(int) bool { return false },
		// The new instance does not remember the MsgIds of the first:
		// JetStream's duplicate window drops the 10 retried messages.
		MaxRepublished: 10,
	})
}

func TestHTTPIngest(t *testing.T) {
	fp := newFake(t, fakeplatform.Options{})
	posts := fp.Posts()
	half := len(posts) / 2
	conformance.Run(t, conformance.Case{
		Want: fakeplatform.Keys(posts),
		Entry: func(int) registry.Entry {
			return registry.Entry(fp.Entry("http", "conf-http", false, "127.0.0.1:0"))
		},
		Feed: func(ctx context.Context, t *testing.T, c connectors.Connector, phase int, _ *conformance.Counter) error {
			addr, err := waitAddr(ctx, c)
			if err != nil {
				return err
			}
			batch := posts[:half]
			if phase == 1 {
				// The rest, and a batch the crawler sends again.
				batch = append(append([]*post.Post(nil), posts[half:]...), posts[:50]...)
			}
			for i := 0; i < len(batch); i += 64 {
				status, body, err := fakeplatform.PostPosts(ctx, "http://"+addr, fakeplatform.IngestToken, batch[i:min(i+64, len(batch))])
				if err != nil || status != http.StatusAccepted {
					return fmt.Errorf("posting batch %d: %d %s %v", i/64, status, body, err)
				}
			}
			return nil
		},
		Finite:         func(int) bool { return false },
		MaxRepublished: 50,
	})
}

// waitAddr waits until a server connector listens.
func waitAddr(ctx context.Context, c connectors.Connector) (string, error) {
	a, ok := c.(interface{ Addr() string })
	if !ok {
		return "", fmt.Errorf("%s does not say where it listens", c.Name())
	}
	for {
		if addr := a.Addr(); addr != "" {
			return addr, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
