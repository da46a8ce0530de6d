// Package forward delivers alerts to a webhook (chat tools, incident
// systems): each alert is POSTed as JSON with an HMAC-SHA256 signature.
//
// Failures are sorted in two: a transient one (network error, timeout, 408,
// 429, 5xx) is retried with capped, jittered exponential backoff, honouring
// Retry-After up to the cap, for RetryFor (default 1h) while the JetStream
// message is kept in progress; a definite rejection (another 4xx, an
// undecodable alert) is dead-lettered at once. An alert still undelivered
// after RetryFor is dead-lettered too, as "webhook unavailable for <RetryFor>:
// <last error>", so that `iwom dlq replay` can send it again once the
// endpoint is back. Alerts go out in order, one at a time: while one is
// retried the ones behind it wait in the stream, which is what a webhook
// reader expects (an outage of N × RetryFor dead-letters about N alerts; the
// others are delivered, late and in order, when the endpoint recovers).
//
// The webhook URL is a secret (tokens in its query, its path or its
// userinfo): errors, dead-letter reasons and logs show it only as
// scheme://host/path with the opaque path segments masked, and the parts of
// it that an endpoint echoes in its answer are masked too.
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
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/alerts"
	"github.com/iwom/iwom/pipeline/backoff"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/stage"
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

// Defaults of a Forwarder.
const (
	DefaultRetryFor  = time.Hour
	DefaultKeepAlive = 10 * time.Second
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
// and 429) or an alert that cannot be sent: sending it again cannot succeed.
var ErrRejected = errors.New("webhook rejected the alert")

// ErrUnavailable marks a delivery that still failed, transiently, after
// RetryFor: the alert is dead-lettered, to be replayed later.
var ErrUnavailable = errors.New("webhook unavailable")

// Forwarder posts alerts to URL. Set its fields before the first Deliver;
// Deliver may then be called from several goroutines.
type Forwarder struct {
	URL         string
	Secret      []byte
	Body        string // BodyAlert (default) or BodyText
	Client      *http.Client
	MinSeverity int
	// RetryFor is how long one alert is retried while the endpoint fails
	// transiently (default DefaultRetryFor); then it is dead-lettered
	// (ErrUnavailable).
	RetryFor   time.Duration
	BackoffMin time.Duration // first retry delay (default 500ms)
	BackoffMax time.Duration // cap of the retry delay and of Retry-After (default 30s)
	// KeepAlive is how often Deliver calls its inProgress callback while it
	// works on an alert (default DefaultKeepAlive): keep it well under
	// nats.ack_wait so that JetStream does not redeliver the message.
	KeepAlive time.Duration
	Log       zerolog.Logger
	Delivered prometheus.Counter // optional
	Failed    prometheus.Counter // optional

	now   func() time.Time
	sleep func(context.Context, time.Duration) bool

	once sync.Once
	red  redactor // the URL's secrets, for errors and logs
}

func (f *Forwarder) defaults() {
	f.once.Do(func() {
		if f.Client == nil {
			f.Client = &http.Client{Timeout: 10 * time.Second}
		}
		if f.RetryFor <= 0 {
			f.RetryFor = DefaultRetryFor
		}
		if f.BackoffMin <= 0 {
			f.BackoffMin = 500 * time.Millisecond
		}
		if f.BackoffMax <= 0 {
			f.BackoffMax = 30 * time.Second
		}
		f.BackoffMax = max(f.BackoffMax, f.BackoffMin)
		if f.KeepAlive <= 0 {
			f.KeepAlive = DefaultKeepAlive
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
		f.red = newRedactor(f.URL)
	})
}

// CheckURL reports whether u can be a webhook URL (absolute http or https).
// Its error shows u redacted.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("webhook URL %s: want http(s)://host/path", redactURL(u))
	}
	return nil
}

// Deliver posts one alert message (data: its JSON). Transient failures
// (network errors, timeouts, 408, 429, 5xx) are retried with capped,
// jittered exponential backoff, honouring Retry-After up to BackoffMax,
// until RetryFor has passed: then the error wraps ErrUnavailable. An error
// wrapping ErrRejected means the endpoint refused the alert (or it cannot be
// decoded); any other error means ctx ended first. inProgress, when not nil,
// is called every KeepAlive until Deliver returns (to keep the message from
// being redelivered meanwhile). Errors show the URL redacted.
func (f *Forwarder) Deliver(ctx context.Context, data []byte, inProgress func()) error {
	f.defaults()
	if inProgress != nil {
		defer f.keepAlive(inProgress)()
	}
	var al alerts.Alert
	if err := json.Unmarshal(data, &al); err != nil {
		f.failed()
		return fmt.Errorf("%w: decoding alert: %v", ErrRejected, err)
	}
	body := data
	if f.Body == BodyText {
		body, _ = json.Marshal(map[string]string{"text": Summary(&al)})
	}
	id := al.MsgID()
	start := f.now()
	var warned time.Time // last warning, zero: none yet
	for attempt := 1; ; attempt++ {
		wait, err := f.post(ctx, id, body)
		if err == nil {
			if f.Delivered != nil {
				f.Delivered.Inc()
			}
			if !warned.IsZero() {
				f.Log.Info().Str("alert", id).Str("webhook", f.red.safe).Int("attempts", attempt).Dur("after", f.now().Sub(start)).Msg("webhook delivery recovered")
			}
			return nil
		}
		if errors.Is(err, ErrRejected) {
			f.failed()
			return fmt.Errorf("delivering alert %s to %s: %w", id, f.red.safe, err)
		}
		if ctx.Err() != nil {
			f.failed()
			return fmt.Errorf("delivering alert %s to %s: interrupted after %d attempts: %w", id, f.red.safe, attempt, err)
		}
		now := f.now()
		elapsed := now.Sub(start)
		if elapsed >= f.RetryFor {
			f.failed()
			return fmt.Errorf("%w for %s: delivering alert %s to %s (%d attempts): %w", ErrUnavailable, f.RetryFor, id, f.red.safe, attempt, err)
		}
		// Jittered, so that replicas do not retry in step; never beyond
		// RetryFor, so that the last attempt is made at RetryFor.
		d := backoff.Jitter(backoff.Delay(attempt, f.BackoffMin, f.BackoffMax))
		if wait > d {
			d = min(wait, f.BackoffMax)
		}
		d = min(d, f.RetryFor-elapsed)
		if warned.IsZero() || now.Sub(warned) >= 10*time.Minute {
			warned = now
			f.Log.Warn().Err(err).Str("alert", id).Str("webhook", f.red.safe).Int("attempt", attempt).Dur("failing_for", elapsed).Dur("retry_for", f.RetryFor).
				Msg("webhook delivery failed; holding the alert (and the ones behind it) and retrying")
		} else {
			f.Log.Debug().Err(err).Str("alert", id).Int("attempt", attempt).Dur("retry_in", d).Msg("webhook delivery failed")
		}
		if !f.sleep(ctx, d) {
			f.failed()
			return fmt.Errorf("delivering alert %s to %s: interrupted after %d attempts: %w", id, f.red.safe, attempt, err)
		}
	}
}

func (f *Forwarder) failed() {
	if f.Failed != nil {
		f.Failed.Inc()
	}
}

// keepAlive calls fn every KeepAlive (wall clock: it is JetStream's ack
// timer that it resets) until the returned stop is called.
func (f *Forwarder) keepAlive(fn func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(f.KeepAlive)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fn()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// post makes one attempt; wait is the endpoint's Retry-After, if any. Its
// errors carry no secret of the URL.
func (f *Forwarder) post(ctx context.Context, id string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%w: building the request: %w", ErrRejected, f.red.err(err))
	}
	ts := strconv.FormatInt(f.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "iwom-alerts")
	req.Header.Set(HdrTimestamp, ts)
	req.Header.Set(HdrAlertID, id)
	req.Header.Set("Idempotency-Key", id)
	if len(f.Secret) > 0 {
		req.Header.Set(HdrSignature, "sha256="+Sign(f.Secret, ts, body))
	}
	resp, err := f.Client.Do(req)
	if err != nil {
		return 0, f.red.err(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead+1))
	excerpt := f.red.excerpt(msg, len(msg) > maxBodyRead)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return retryAfter(resp.Header.Get("Retry-After"), f.now()), fmt.Errorf("webhook answered %s: %s", safeStatus(resp), excerpt)
	default:
		return 0, fmt.Errorf("%w: %s: %s", ErrRejected, safeStatus(resp), excerpt)
	}
}

// safeStatus is the status code and its standard text: the reason phrase
// an endpoint sends is its own and could echo anything.
func safeStatus(resp *http.Response) string {
	return strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
}

func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// Redaction.

const (
	maxBodyRead = 4 << 10 // of an answer, for the excerpt
	maxExcerpt  = 200     // bytes of an answer shown in an error
	mask        = "***"
	minSecret   = 4 // shorter parts of a URL are not looked for in answers
)

// redactor hides the secrets of a webhook URL.
type redactor struct {
	safe    string   // the URL redacted
	secrets []string // its secret parts, raw and unescaped, longest first
}

func newRedactor(raw string) redactor {
	r := redactor{safe: redactURL(raw)}
	u, err := url.Parse(raw)
	if err != nil {
		// Nothing to pick apart: hide the URL itself wherever it shows.
		r.add(raw)
	} else {
		r.addParts(u)
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

func (r *redactor) add(s ...string) {
	for _, v := range s {
		if len(v) >= minSecret && !contains(r.secrets, v) {
			r.secrets = append(r.secrets, v)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

// addParts collects the userinfo (and its Basic-auth form), the opaque path
// segments, the query values and the fragment.
func (r *redactor) addParts(u *url.URL) {
	if u.User != nil {
		name := u.User.Username()
		pass, _ := u.User.Password()
		r.add(u.User.String(), name, url.PathEscape(name), url.QueryEscape(name), pass, url.PathEscape(pass), url.QueryEscape(pass),
			base64.StdEncoding.EncodeToString([]byte(name+":"+pass)))
	}
	segs, masked := pathSegments(u)
	for i, seg := range segs {
		if masked[i] {
			plain, err := url.PathUnescape(seg)
			if err != nil {
				plain = seg
			}
			r.add(seg, plain, url.QueryEscape(plain))
		}
	}
	for _, kv := range strings.FieldsFunc(u.RawQuery, func(c rune) bool { return c == '&' || c == ';' }) {
		_, v, _ := strings.Cut(kv, "=")
		plain, err := url.QueryUnescape(v)
		if err != nil {
			plain = v
		}
		r.add(v, plain, url.PathEscape(plain))
	}
	r.add(u.RawQuery, u.Fragment, u.RawFragment)
	if u.Opaque != "" {
		r.add(u.Opaque)
	}
}

// text masks the secrets in s.
func (r *redactor) text(s string) string {
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, mask)
	}
	return s
}

// err is err with the secrets masked; a *url.Error (whose message holds
// the whole URL it was about, perhaps a redirect's) shows its URL redacted.
// It unwraps to the cause, so that timeouts and context errors still match.
func (r *redactor) err(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &redactedError{msg: fmt.Sprintf("%s %q: %s", ue.Op, redactURL(ue.URL), r.text(ue.Err.Error())), cause: ue.Err}
	}
	return &redactedError{msg: r.text(err.Error())}
}

type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// excerpt is the start of an endpoint's answer, redacted, on one line and
// short. truncated: body is the start of a longer answer, which may end
// with the start of a secret.
func (r *redactor) excerpt(body []byte, truncated bool) string {
	s := string(body)
	if truncated {
		s = s[:maxBodyRead]
	}
	s = r.text(s)
	if truncated {
		for _, v := range r.secrets {
			for k := len(v) - 1; k >= minSecret; k-- {
				if strings.HasSuffix(s, v[:k]) {
					s = s[:len(s)-k] + mask
					break
				}
			}
		}
	}
	s = strings.ToValidUTF8(s, "?")
	s = strings.Join(strings.FieldsFunc(s, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }), " ")
	if len(s) > maxExcerpt {
		cut := maxExcerpt
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	} else if truncated {
		s += "…"
	}
	if s == "" {
		return "(empty answer)"
	}
	return s
}

// redactURL shows a URL as scheme://host/path, without its userinfo, query
// and fragment, and with its opaque path segments (tokens) masked:
// https://hooks.slack.com/services/***/***/***.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "(unparsable URL)"
	}
	segs, masked := pathSegments(u)
	for i := range segs {
		if masked[i] {
			segs[i] = mask
		}
	}
	s := u.Scheme + "://" + u.Host + strings.Join(segs, "/")
	if u.RawQuery != "" || u.ForceQuery {
		s += "?" + mask
	}
	return s
}

// pathSegments splits u's escaped path and tells which segments to mask:
// the opaque ones and all that follow one (a hook's token comes after its
// id: /api/webhooks/<id>/<token>).
func pathSegments(u *url.URL) (segs []string, masked []bool) {
	segs = strings.Split(u.EscapedPath(), "/")
	masked = make([]bool, len(segs))
	hide := false
	for i, seg := range segs {
		plain, err := url.PathUnescape(seg)
		hide = hide || err != nil || opaque(plain)
		masked[i] = hide && seg != ""
	}
	return segs, masked
}

// opaque reports whether a path segment looks like a token rather than a
// word: 16 characters or more, or 8 or more of which a quarter are digits
// (Slack's T0123ABCD, a DingTalk or Feishu hook, a UUID, a hex digest).
func opaque(seg string) bool {
	n := utf8.RuneCountInString(seg)
	if n >= 16 {
		return true
	}
	if n < 8 {
		return false
	}
	digits := 0
	for _, c := range seg {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	return digits*4 >= n
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

// Stage delivers the alerts of a JetStream consumer (stage.Stage), one at a
// time and in order: an alert below MinSeverity is skipped; one the
// endpoint refuses, one that cannot be decoded and one still undelivered
// after RetryFor are dead-lettered (iwom.dlq.<durable>) with the error as
// the reason. While an alert is retried, the runner keeps every message
// of the batch in progress, so that JetStream neither redelivers it to
// another forwarder nor counts the hold as deliveries. A shutdown
// interrupts the retries (after the runner's grace period) and hands the
// message back to the stream.
type Stage struct{ F *Forwarder }

// Process implements stage.Stage.
func (s Stage) Process(ctx context.Context, msgs []stage.Msg) []stage.Result {
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		if sev, err := strconv.Atoi(m.Header.Get(alerts.HdrSeverity)); err == nil && sev < s.F.MinSeverity {
			continue
		}
		if s.F.MinSeverity > 0 && m.Header.Get(alerts.HdrSeverity) == "" {
			var al alerts.Alert
			if json.Unmarshal(m.Data, &al) == nil && al.Severity < s.F.MinSeverity {
				continue
			}
		}
		err := s.F.Deliver(ctx, m.Data, nil)
		if errors.Is(err, ErrRejected) || errors.Is(err, ErrUnavailable) {
			err = deadLetter{err}
		}
		errs[i] = err
	}
	return stage.Errs(errs)
}

// deadLetter sends err to the dead-letter stream (it wraps post.ErrInvalid)
// with its message unchanged as the reason.
type deadLetter struct{ error }

func (d deadLetter) Unwrap() []error { return []error{d.error, post.ErrInvalid} }
