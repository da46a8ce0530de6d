// Package forward delivers alerts to a webhook (chat tools, incident
// systems): each alert is POSTed as JSON with an HMAC-SHA256 signature,
// retried with exponential backoff while the endpoint is unavailable, and
// dead-lettered when the endpoint rejects it.
//
// Verifying a delivery: compute HMAC-SHA256 with the shared secret over
// "<X-Iwom-Timestamp>.<body>" and compare it, in constant time, with the hex
// digest in "X-Iwom-Signature: sha256=<hex>"; refuse timestamps more than a
// few minutes old. X-Iwom-Alert-Id (<id>#<seq>, also Idempotency-Key)
// identifies the message: a redelivery carries the same one.
package forward

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/backoff"
	"github.com/iwom/iwom/pipeline/post"
)

// Headers of a delivery.
const (
	HdrSignature = "X-Iwom-Signature"
	HdrTimestamp = "X-Iwom-Timestamp"
	HdrAlertID   = "X-Iwom-Alert-Id"
)

// Body formats.
const (
	BodyAlert = "alert" // the alert JSON as published
	BodyText  = "text"  // {"text": "<one-line summary>"}, for chat webhooks
)

// Sign returns the hex HMAC-SHA256 of "<timestamp>.<body>".
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's signature and that its timestamp is within
// maxAge of now.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, maxAge time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("bad %s %q", HdrTimestamp, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxAge || d < -maxAge {
		return fmt.Errorf("%s %s is %s away from now", HdrTimestamp, timestamp, d.Round(time.Second))
	}
	want := "sha256=" + Sign(secret, timestamp, body)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// ErrRejected marks a delivery the endpoint refused (a 4xx other than 408
// and 429): sending it again cannot succeed.
var ErrRejected = errors.New("webhook rejected the alert")

// Forwarder posts alerts to URL.
type Forwarder struct {
	URL         string
	Secret      []byte
	Body        string // BodyAlert (default) or BodyText
	Client      *http.Client
	MinSeverity int
	// Attempts per delivery before the message goes back to the stream
	// (which redelivers it up to nats.max_deliver times).
	Attempts   int
	BackoffMin time.Duration
	BackoffMax time.Duration
	Log        zerolog.Logger
	Delivered  prometheus.Counter // optional
	Failed     prometheus.Counter // optional
	now        func() time.Time
	sleep      func(context.Context, time.Duration) bool
}

func (f *Forwarder) defaults() {
	if f.Client == nil {
		f.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if f.Attempts <= 0 {
		f.Attempts = 5
	}
	if f.BackoffMin <= 0 {
		f.BackoffMin = 500 * time.Millisecond
	}
	if f.BackoffMax < f.BackoffMin {
		f.BackoffMax = 30 * time.Second
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.sleep == nil {
		f.sleep = backoff.Sleep
	}
	if f.Body == "" {
		f.Body = BodyAlert
	}
}

// Deliver posts one alert message (data: its JSON) and retries transient
// failures (network errors, 408, 429, 5xx) with exponential backoff and
// jitter, honouring Retry-After. It returns an error wrapping ErrRejected
// when the endpoint refuses the alert.
func (f *Forwarder) Deliver(ctx context.Context, data []byte) error {
	f.defaults()
	var al alerts.Alert
	if err := json.Unmarshal(data, &al); err != nil {
		return fmt.Errorf("%w: decoding alert: %v", ErrRejected, err)
	}
	body := data
	if f.Body == BodyText {
		body, _ = json.Marshal(map[string]string{"text": Summary(&al)})
	}
	var last error
	for attempt := 1; attempt <= f.Attempts; attempt++ {
		wait, err := f.post(ctx, &al, body)
		if err == nil {
			if f.Delivered != nil {
				f.Delivered.Inc()
			}
			return nil
		}
		last = err
		if errors.Is(err, ErrRejected) || ctx.Err() != nil {
			break
		}
		if attempt == f.Attempts {
			break
		}
		// Jittered, so that replicas do not retry in step.
		d := backoff.Jitter(backoff.Delay(attempt, f.BackoffMin, f.BackoffMax))
		if wait > d {
			d = min(wait, f.BackoffMax)
		}
		f.Log.Debug().Err(err).Int("attempt", attempt).Dur("retry_in", d).Str("alert", al.MsgID()).Msg("webhook delivery failed")
		if !f.sleep(ctx, d) {
			break
		}
	}
	if f.Failed != nil {
		f.Failed.Inc()
	}
	return fmt.Errorf("delivering alert %s to %s: %w", al.MsgID(), redact(f.URL), last)
}

// post makes one attempt; wait is the endpoint's Retry-After, if any.
func (f *Forwarder) post(ctx context.Context, al *alerts.Alert, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	ts := strconv.FormatInt(f.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "iwom-alerts")
	req.Header.Set(HdrTimestamp, ts)
	req.Header.Set(HdrAlertID, al.MsgID())
	req.Header.Set("Idempotency-Key", al.MsgID())
	if len(f.Secret) > 0 {
		req.Header.Set(HdrSignature, "sha256="+Sign(f.Secret, ts, body))
	}
	resp, err := f.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("webhook answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	default:
		return 0, fmt.Errorf("%w: %s: %s", ErrRejected, resp.Status, strings.TrimSpace(string(msg)))
	}
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// redact drops a URL's query (webhook tokens often live there).
func redact(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// Summary is a one-line description of an alert, for people.
func Summary(a *alerts.Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s sev %d] %s %s", strings.ToUpper(a.State), a.Severity, a.Brand, a.Rule)
	switch a.Kind {
	case alerts.KindKOLMention:
		if a.Post != nil {
			fmt.Fprintf(&b, ": %s (%d followers)", a.Post.AuthorName, a.Post.Followers)
		}
	case alerts.KindVelocity:
		fmt.Fprintf(&b, ": +%.0f reposts/comments per hour", a.Observed)
	case alerts.KindKeyword:
		if a.State != alerts.StateDigest {
			fmt.Fprintf(&b, ": %.0f posts match the crisis terms (threshold %.0f)", a.Observed, a.Threshold)
		} else {
			fmt.Fprintf(&b, ": %d held alerts", len(a.Items))
		}
	case alerts.KindNegativeRatio:
		fmt.Fprintf(&b, ": %.0f%% negative of %d posts (usual %.0f%%)", a.Observed*100, a.Total, a.Baseline*100)
	default:
		if a.State == alerts.StateDigest {
			fmt.Fprintf(&b, ": %d held alerts", len(a.Items))
		} else {
			fmt.Fprintf(&b, ": %.0f posts vs %.1f expected", a.Observed, a.Baseline)
		}
	}
	fmt.Fprintf(&b, " in %s–%s UTC", a.WindowStart.UTC().Format("01-02 15:04"), a.WindowEnd.UTC().Format("15:04"))
	if len(a.TopKeywords) > 0 {
		fmt.Fprintf(&b, "; keywords %s", strings.Join(a.TopKeywords, "、"))
	}
	if len(a.SampleTexts) > 0 {
		s := []rune(a.SampleTexts[0])
		if len(s) > 60 {
			s = append(s[:60], '…')
		}
		fmt.Fprintf(&b, "; e.g. %s", string(s))
	}
	return b.String()
}

// Stage delivers the alerts of a JetStream consumer (stage.Stage): an alert
// below MinSeverity or unreadable is skipped, one the endpoint refuses is
// dead-lettered (iwom.dlq.<durable>) at once, one that still fails after
// the retries is handed back to the stream for a later redelivery.
type Stage struct{ F *Forwarder }

// Process implements stage.Stage.
func (s Stage) Process(ctx context.Context, msgs []jetstream.Msg) []error {
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		if sev, err := strconv.Atoi(m.Headers().Get(alerts.HdrSeverity)); err == nil && sev < s.F.MinSeverity {
			continue
		}
		if s.F.MinSeverity > 0 && m.Headers().Get(alerts.HdrSeverity) == "" {
			var al alerts.Alert
			if json.Unmarshal(m.Data(), &al) == nil && al.Severity < s.F.MinSeverity {
				continue
			}
		}
		err := s.F.Deliver(ctx, m.Data())
		if errors.Is(err, ErrRejected) {
			err = fmt.Errorf("%w: %v", post.ErrInvalid, err)
		}
		errs[i] = err
	}
	return errs
}
