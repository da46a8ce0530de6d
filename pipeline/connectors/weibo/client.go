package weibo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/iwom/iwom/pipeline/connectors/kit"
)

// APIError is an error answer of the Open API:
// {"error":"...","error_code":21332,"request":"/2/statuses/home_timeline.json"}
// (error_code comes as a number or as a string).
type APIError struct {
	Code    int64
	Message string
	Request string
	Status  int // HTTP status of the answer
}

func (e *APIError) Error() string {
	return fmt.Sprintf("weibo error %d (%s) on %s, HTTP %d", e.Code, e.Message, e.Request, e.Status)
}

// Error codes that decide what the poller does.
const (
	CodeSystemError        = 10001
	CodeServiceUnavailable = 10002
	CodeIPRateLimit        = 10022
	CodeUserRateLimit      = 10023
	CodeUserAPIRateLimit   = 10024
	CodeTokenExpired       = 21327
	CodeTokenInvalid       = 21332
)

// classify turns an API error into what the poller does about it:
// rate limits back off and resume; token errors stop the source; system
// errors retry; a bad target (deleted status, bad parameter) is skipped.
func classify(e *APIError) *kit.Error {
	ke := &kit.Error{Err: e}
	switch c := e.Code; {
	case c == CodeIPRateLimit || c == CodeUserRateLimit || c == CodeUserAPIRateLimit:
		ke.Class, ke.Kind = kit.RateLimited, "rate_limit"
	case c == CodeTokenExpired || c == CodeTokenInvalid || c >= 21314 && c <= 21319 || c == 21301 || c == 21501 || c == 10006:
		// Expired, invalid, revoked or missing token: an operator must
		// issue a new one.
		ke.Class, ke.Kind = kit.Fatal, "auth"
		ke.Err = fmt.Errorf("%w: the access_token is expired or invalid; issue a new one and restart", e)
	case c == 10004 || c == 10013 || c == 10014 || c == 10016:
		// IP or app blocked, or no permission for this API.
		ke.Class, ke.Kind = kit.Fatal, "auth"
	case c == 10008 || c == 10017 || c >= 20000 && c < 30000:
		// A parameter or a target the platform refuses (deleted status,
		// unknown user): skip that target.
		ke.Class, ke.Kind = kit.Skip, "platform"
	default:
		// 10001 system error, 10002 service unavailable, 10009 too many
		// pending tasks, and anything unknown: retry.
		ke.Class, ke.Kind = kit.Transient, "platform"
	}
	return ke
}

type client struct {
	base  string
	token string
	http  *kit.HTTP
}

// get calls GET <base>/<resource>.json and returns the body of a
// successful answer. Every failure is a classified *kit.Error.
func (c *client) get(ctx context.Context, resource string, q url.Values) ([]byte, error) {
	q.Set("access_token", c.token)
	u := strings.TrimRight(c.base, "/") + "/" + resource + ".json?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", resource, err)
	}
	ans, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	return checkAnswer(resource, ans)
}

// checkAnswer finds an error answer whatever the HTTP status: any body
// with a non-zero error_code is an error.
func checkAnswer(resource string, ans *kit.Answer) ([]byte, error) {
	body := bytes.TrimSpace(ans.Body)
	if len(body) > 0 && body[0] == '{' {
		var eb struct {
			Error     string  `json:"error"`
			ErrorCode kit.Int `json:"error_code"`
			Request   string  `json:"request"`
		}
		if json.Unmarshal(body, &eb) == nil && (eb.ErrorCode != 0 || eb.Error != "") {
			return nil, classify(&APIError{Code: int64(eb.ErrorCode), Message: eb.Error, Request: eb.Request, Status: ans.Status})
		}
	}
	switch {
	case ans.Status == http.StatusTooManyRequests:
		return nil, kit.Errf(kit.RateLimited, "rate_limit", "%s: HTTP 429 without an error body", resource)
	case ans.Status >= 300:
		return nil, kit.Errf(kit.Transient, "http", "%s: HTTP %d: %s", resource, ans.Status, kit.Snippet(body))
	case len(body) == 0 || body[0] != '{':
		return nil, kit.Errf(kit.Transient, "malformed", "%s: answer is not a JSON object: %s", resource, kit.Snippet(body))
	}
	return body, nil
}
