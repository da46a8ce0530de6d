package wechatmp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/iwom/iwom/pipeline/connectors/kit"
)

// APIError is an errcode answer: {"errcode":40013,"errmsg":"invalid appid"}.
type APIError struct {
	Code    int64
	Message string
	Path    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat error %d (%s) on %s", e.Code, e.Message, e.Path)
}

// Error codes that decide what the poller does.
const (
	CodeBusy          = -1
	CodeInvalidCred   = 40001
	CodeInvalidToken  = 40014
	CodeTokenExpired  = 42001
	CodeDailyQuota    = 45009
	CodeMinuteQuota   = 45011
	CodeIPNotAllowed  = 40164
	CodeUnauthorized  = 48001
	CodeNoComment     = 88000
	CodeMsgNotFound   = 88001
	CodeCountTooLarge = 88010
)

// tokenError reports whether code says the access token is bad.
func tokenError(code int64) bool {
	return code == CodeInvalidCred || code == CodeInvalidToken || code == CodeTokenExpired
}

// classify turns an API error into what the poller does about it.
func (c *Connector) classify(e *APIError) *kit.Error {
	ke := &kit.Error{Err: e}
	switch e.Code {
	case CodeBusy:
		ke.Class, ke.Kind = kit.Transient, "platform"
	case CodeDailyQuota:
		ke.Class, ke.Kind, ke.Until = kit.Paused, "quota", c.quotaReset()
		ke.Err = fmt.Errorf("%w: daily quota reached; paused until %s", e, ke.Until.Format(time.RFC3339))
	case CodeMinuteQuota:
		ke.Class, ke.Kind = kit.RateLimited, "rate_limit"
	case CodeInvalidCred, CodeInvalidToken, CodeTokenExpired:
		// Still bad after a fresh token: retry later.
		ke.Class, ke.Kind = kit.Transient, "auth"
	case CodeIPNotAllowed, CodeUnauthorized, 40013, 40125, 41002, 41004, 61024:
		ke.Class, ke.Kind = kit.Fatal, "auth"
		ke.Err = fmt.Errorf("%w: check appid, secret, the IP whitelist and the account's API permissions", e)
	case CodeNoComment, CodeMsgNotFound, CodeCountTooLarge:
		ke.Class, ke.Kind = kit.Skip, "platform"
	default:
		ke.Class, ke.Kind = kit.Transient, "platform"
	}
	return ke
}

// quotaReset is when a 45009 pause ends.
func (c *Connector) quotaReset() time.Time {
	now := c.env.Now()
	if c.cfg.QuotaPause > 0 {
		return now.Add(c.cfg.QuotaPause)
	}
	cst := time.FixedZone("CST", 8*3600)
	y, m, d := now.In(cst).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, cst)
}

// errHead is the error part every answer may have.
type errHead struct {
	ErrCode *kit.Int `json:"errcode"`
	ErrMsg  string   `json:"errmsg"`
}

// do sends a request and returns the JSON body, or an *APIError for an
// errcode answer (WeChat answers errors with HTTP 200), or a classified
// transport error.
func (c *Connector) do(ctx context.Context, method, path string, q url.Values, body any) ([]byte, error) {
	var rd *bytes.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding request for %s: %w", path, err)
		}
		rd = bytes.NewReader(data)
	}
	u := strings.TrimRight(c.cfg.BaseURL, "/") + path + "?" + q.Encode()
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequestWithContext(ctx, method, u, rd)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", path, err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	ans, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	b := bytes.TrimSpace(ans.Body)
	if len(b) == 0 || b[0] != '{' {
		if ans.Status >= 300 {
			return nil, kit.Errf(kit.Transient, "http", "%s: HTTP %d: %s", path, ans.Status, kit.Snippet(b))
		}
		return nil, kit.Errf(kit.Transient, "malformed", "%s: answer is not a JSON object: %s", path, kit.Snippet(b))
	}
	var h errHead
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, kit.Errf(kit.Transient, "malformed", "%s: decoding answer: %v", path, err)
	}
	if h.ErrCode != nil && *h.ErrCode != 0 {
		return nil, &APIError{Code: int64(*h.ErrCode), Message: h.ErrMsg, Path: path}
	}
	if ans.Status >= 300 {
		return nil, kit.Errf(kit.Transient, "http", "%s: HTTP %d: %s", path, ans.Status, kit.Snippet(b))
	}
	return b, nil
}

// tokens keeps the access token: one refresh at a time across
// goroutines, renewed RefreshBefore its expiry or when an API call says it
// is bad.
type tokens struct {
	c    *Connector
	sem  chan struct{}
	mu   sync.Mutex
	tok  string
	exp  time.Time // renew after this
	hits int       // refreshes so far (tests)
}

// get returns a valid token. stale is a token an API call refused: when it
// is still the current one, it is renewed.
func (t *tokens) get(ctx context.Context, stale string) (string, error) {
	if tok, ok := t.current(stale); ok {
		return tok, nil
	}
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-t.sem }()
	// Another goroutine may have renewed it while this one waited.
	if tok, ok := t.current(stale); ok {
		return tok, nil
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {t.c.cfg.AppID}, "secret": {t.c.cfg.Secret}}
	body, err := t.c.do(ctx, http.MethodGet, "/cgi-bin/token", q, nil)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			return "", t.c.classify(ae)
		}
		return "", err
	}
	var a struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   kit.Int `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.AccessToken == "" || a.ExpiresIn <= 0 {
		return "", kit.Errf(kit.Transient, "malformed", "/cgi-bin/token: answer without access_token/expires_in: %s", kit.Snippet(body))
	}
	life := time.Duration(a.ExpiresIn) * time.Second
	early := min(t.c.cfg.RefreshBefore, life/2)
	t.mu.Lock()
	t.tok, t.exp = a.AccessToken, t.c.env.Now().Add(life-early)
	t.hits++
	t.mu.Unlock()
	return a.AccessToken, nil
}

func (t *tokens) current(stale string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != "" && t.tok != stale && t.c.env.Now().Before(t.exp) {
		return t.tok, true
	}
	return "", false
}

// call POSTs body to an API path with the access token and decodes the
// answer into out. A token error renews the token (once) and tries again.
func (c *Connector) call(ctx context.Context, path string, body, out any) error {
	stale := ""
	for attempt := 1; ; attempt++ {
		tok, err := c.tokens.get(ctx, stale)
		if err != nil {
			return err
		}
		b, err := c.do(ctx, http.MethodPost, path, url.Values{"access_token": {tok}}, body)
		var ae *APIError
		if errors.As(err, &ae) {
			if tokenError(ae.Code) && attempt == 1 {
				c.instr.Error("token")
				stale = tok
				continue
			}
			return c.classify(ae)
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, out); err != nil {
			return kit.Errf(kit.Transient, "malformed", "%s: decoding answer: %v", path, err)
		}
		c.instr.Success()
		return nil
	}
}
