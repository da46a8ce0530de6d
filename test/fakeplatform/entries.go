package fakeplatform

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/iwom/iwom/pipeline/post"
)

// Push-receiver credentials the fake uses with its Pusher.
const (
	PushToken = "fake-wechat-push-token"
	// IngestToken is a bearer token for the HTTP ingest connector.
	IngestToken = "fake-ingest-token-0123456789abcdef"
)

// PushAESKey is the EncodingAESKey the fake's Pusher uses (fixed, so that
// a config file can name it).
var PushAESKey = strings.TrimSuffix(base64.StdEncoding.EncodeToString([]byte("iwom-fakeplatform-aes-key-32byte")), "=")

// Entry is a connectors: entry for kind that points at this server, for
// the demo and the tests (with once, a poller stops when caught up):
// weibo, weibo-mobile, wechat-mp, wechat-push (listening on listen) or
// http. Intervals and back-offs are short.
func (s *Server) Entry(kind, name string, once bool, listen string) map[string]any {
	e := map[string]any{"kind": kind, "name": name}
	fast := func() {
		e["once"] = once
		e["interval"] = "2s"
		e["retry_min"] = "20ms"
		e["retry_max"] = "200ms"
		e["backoff_min"] = "50ms"
		e["backoff_max"] = "1s"
	}
	switch kind {
	case "weibo":
		fast()
		e["base_url"] = s.WeiboURL()
		e["access_token"] = s.opts.WeiboToken
		e["home_timeline"] = true
		e["comments_of"] = s.HotStatusIDs()
		e["reposts_of"] = s.RootIDs()[:min(3, len(s.RootIDs()))]
	case "weibo-mobile":
		fast()
		e["base_url"] = s.URL()
		e["users"] = s.TopAuthors(5)
		e["search"] = []string{"西门子"}
	case "wechat-mp":
		fast()
		e["base_url"] = s.URL()
		e["appid"] = s.opts.WechatAppID
		e["secret"] = s.opts.WechatSecret
		e["materials"] = true
	case "wechat-push":
		e["listen"] = listen
		e["token"] = PushToken
		e["encoding_aes_key"] = PushAESKey
		e["mode"] = "compatible" // the Pusher sends in all three modes
		e["appid"] = s.opts.WechatAppID
	case "http":
		e["listen"] = listen
		e["tokens"] = []string{IngestToken}
	}
	return e
}

// Pusher returns a client that pushes to a receiver configured with
// Entry("wechat-push", …) at url.
func (s *Server) Pusher(url string) *Pusher {
	return &Pusher{URL: url, Token: PushToken, EncodingAESKey: PushAESKey, AppID: s.opts.WechatAppID, Now: s.opts.Now, Retries: 3}
}

// PostPosts plays a third-party crawler: it POSTs posts as JSONL to an
// HTTP ingest at baseURL (…/v1/posts) and returns the status and answer.
func PostPosts(ctx context.Context, baseURL, token string, posts []*post.Post) (int, []byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, p := range posts {
		if err := enc.Encode(p); err != nil {
			return 0, nil, fmt.Errorf("encoding post: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/v1/posts", &buf)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, body, err
}
