package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/iwom/iwom/sinks/clickhouse/report"
)

// AlertFeed streams alert messages (the JSON of alerts.Alert, as the
// engine published them on iwom.alerts.<brand>.<kind>) about brands (all
// when empty) to fn: those stored after sequence after, or with after 0
// the recent ones, then each new one, until ctx ends or fn fails. An
// after at or above the stream's last sequence (LiveTail, or an event id
// from before the stream was purged or recreated) means the live tail:
// each new alert, never a wait for a sequence the stream has not reached.
// serve builds it on the bus (bus.Bus.Feed on IWOM_ALERTS).
type AlertFeed func(ctx context.Context, brands []string, after uint64, fn func(seq uint64, data []byte) error) error

// LiveTail, as the after of an AlertFeed, asks for new alerts only.
const LiveTail = math.MaxUint64

// SetAlerts makes f the feed of GET /v1/alerts/stream (nil: none, and the
// endpoint answers 503). Safe to call while serving, e.g. once NATS
// answers.
func (s *Server) SetAlerts(f AlertFeed) {
	if f == nil {
		s.alerts.Store(nil)
		return
	}
	s.alerts.Store(&f)
}

// subjectToken is what a brand id must look like to be a subject token.
var subjectToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ssePing is how often an idle stream sends a comment, so that proxies and
// the browser see it alive.
var ssePing = 15 * time.Second

// alertStream serves GET /v1/alerts/stream: server-sent events, one
// "alert" event per alert message with the message's stream sequence as
// its id, so that a reconnecting EventSource (Last-Event-ID) resumes
// where it stopped.
//
// Where a stream starts: after the Last-Event-ID header, else after the
// after parameter, else with the recent alerts. Both are stream sequences
// (decimal uint64). A bad after parameter is answered 400; a bad
// Last-Event-ID (which the browser sends by itself, so a 400 would only
// make it retry) starts the stream at the live tail, as does an id above
// the stream's last sequence (see AlertFeed).
//
// Open streams are capped per client (MaxClientStreams: 429) and in all
// (MaxStreams: 503), both with Retry-After.
func (s *Server) alertStream(w http.ResponseWriter, r *http.Request) {
	code := s.serveAlertStream(w, r)
	s.requests.WithLabelValues("alerts-stream", strconv.Itoa(code)).Inc()
}

func (s *Server) serveAlertStream(w http.ResponseWriter, r *http.Request) int {
	fp := s.alerts.Load()
	if fp == nil {
		return writeError(w, http.StatusServiceUnavailable, "the alert feed is not connected to NATS yet; try again")
	}
	q := r.URL.Query()
	for k := range q {
		if k != "brand" && k != "after" {
			return writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: not a parameter of the alert stream (it takes brand, after)", k))
		}
	}
	brands, err := report.BrandList(q["brand"], s.Engine.WatchList)
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	for _, b := range brands {
		if !subjectToken.MatchString(b) {
			return writeError(w, http.StatusBadRequest, fmt.Sprintf("brand %q: not a brand id (letters, digits, _ and -)", b))
		}
	}
	var after uint64
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		if after, err = strconv.ParseUint(last, 10, 64); err != nil {
			after = LiveTail
		}
	} else if a := q.Get("after"); a != "" {
		if after, err = strconv.ParseUint(a, 10, 64); err != nil {
			return writeError(w, http.StatusBadRequest, fmt.Sprintf("after %q is not a stream sequence (a number from 0 to %d)", a, uint64(math.MaxUint64)))
		}
	}
	release, code := s.streams.acquire(s.client(r), orDefault(s.MaxClientStreams, DefaultMaxClientStreams), orDefault(s.MaxStreams, DefaultMaxStreams))
	switch code {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", retryAfter)
		return writeError(w, code, "too many alert streams open from this client; close one or try again later")
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", retryAfter)
		return writeError(w, code, "too many alert streams open; try again later")
	}
	defer release()
	s.open.Inc()
	defer s.open.Dec()

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	ctx, cancel := context.WithCancel(r.Context())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // the pinger never writes after the handler returns
	var mu sync.Mutex
	write := func(b []byte) error {
		mu.Lock()
		defer mu.Unlock()
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	// The browser retries 2 s after a drop; the first bytes tell it the
	// stream is open.
	if err := write([]byte("retry: 2000\n: iwom alert stream\n\n")); err != nil {
		return http.StatusOK
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(ssePing)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.closing: // the server is shutting down
				cancel()
				return
			case <-t.C:
				if write([]byte(": ping\n\n")) != nil {
					cancel()
					return
				}
			}
		}
	}()
	err = (*fp)(ctx, brands, after, func(seq uint64, data []byte) error {
		return write(sseEvent("alert", seq, data))
	})
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		s.Log.Warn().Err(err).Msg("alert stream ended")
		_ = write([]byte("event: feed-error\ndata: the alert feed stopped; reconnecting\n\n"))
	}
	return http.StatusOK
}

// sseEvent formats one server-sent event; each line of data becomes a
// data: line.
func sseEvent(event string, id uint64, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("event: " + event + "\nid: " + strconv.FormatUint(id, 10) + "\n")
	for _, line := range bytes.Split(bytes.TrimRight(data, "\r\n"), []byte("\n")) {
		b.WriteString("data: ")
		b.Write(bytes.TrimRight(line, "\r"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes()
}

type brandInfo struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Aliases []string `json:"aliases"`
}

// brands serves GET /v1/brands: the watch-list (what the brand parameter
// takes) and the platforms.
func (s *Server) brands(w http.ResponseWriter, _ *http.Request) {
	out := []brandInfo{}
	if wl := s.Engine.WatchList; wl != nil {
		for _, b := range wl.Brands {
			aliases := b.Aliases
			if aliases == nil {
				aliases = []string{}
			}
			out = append(out, brandInfo{ID: b.ID, Name: b.Name, Aliases: aliases})
		}
	}
	s.requests.WithLabelValues("brands", "200").Inc()
	writeJSON(w, http.StatusOK, map[string]any{"brands": out, "platforms": Platforms})
}

// Platforms are the platforms the dashboard offers as a filter.
var Platforms = []string{"weibo", "wechat"}
