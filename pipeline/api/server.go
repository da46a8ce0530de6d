// Package api is iwom's HTTP API (`iwom serve`): the named reports as JSON
// (or CSV) under GET /v1/reports/<name>, through the same code as `iwom
// report <name>`, plus /healthz, /readyz and /metrics.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/httpauth"
	"github.com/iwom/iwom/pipeline/metrics"
	chsink "github.com/iwom/iwom/sinks/clickhouse"
	"github.com/iwom/iwom/sinks/clickhouse/report"
)

// Server serves the reports of one Engine.
type Server struct {
	Engine *report.Engine
	// Tokens, when any, are the bearer tokens /v1/ accepts (checked by
	// httpauth.Check).
	Tokens []string
	// Timeout bounds each report's queries (HTTP 504 past it).
	Timeout time.Duration
	// Ready reports nil when the server can answer (ClickHouse reachable).
	Ready func(context.Context) error
	Log   zerolog.Logger
	Reg   *prometheus.Registry

	// Dashboard, when set, is served at / (the web dashboard).
	Dashboard http.Handler

	// MaxStreams caps the alert streams open at once; past it a new one
	// is answered 503 with Retry-After. New sets DefaultMaxStreams; 0 is
	// the default too.
	MaxStreams int
	// MaxClientStreams caps the alert streams one client has open: one
	// bearer token when Tokens are set, else one remote IP. Past it a new
	// one is answered 429 with Retry-After, so that one client cannot
	// take every stream (and lock out the dashboards). New sets
	// DefaultMaxClientStreams; 0 is the default too.
	MaxClientStreams int

	alerts   atomic.Pointer[AlertFeed]
	closing  chan struct{} // closed when Serve shuts down: open alert streams end
	closeMu  sync.Once
	streams  streamCount
	open     prometheus.Gauge
	slots    chan struct{} // one per report running: maxConcurrent of New
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

// New builds a server; reg receives its metrics; maxConcurrent reports
// run at once (GET /v1/reports/<name>: a request waits for a free slot
// until its timeout, then is answered 503 with Retry-After).
func New(e *report.Engine, tokens []string, timeout time.Duration, maxConcurrent int, reg *prometheus.Registry, ready func(context.Context) error, log zerolog.Logger) *Server {
	f := promauto.With(reg)
	s := &Server{Engine: e, Tokens: tokens, Timeout: timeout, Ready: ready, Log: log, Reg: reg,
		MaxStreams: DefaultMaxStreams, MaxClientStreams: DefaultMaxClientStreams,
		slots:   make(chan struct{}, max(1, maxConcurrent)),
		closing: make(chan struct{}),
		open: f.NewGauge(prometheus.GaugeOpts{Namespace: "iwom", Subsystem: "api", Name: "alert_streams",
			Help: "Open alert streams (GET /v1/alerts/stream)."}),
		requests: f.NewCounterVec(prometheus.CounterOpts{Namespace: "iwom", Subsystem: "api", Name: "requests_total",
			Help: "API requests by report and HTTP status."}, []string{"report", "code"}),
		seconds: f.NewHistogramVec(prometheus.HistogramOpts{Namespace: "iwom", Subsystem: "api", Name: "request_seconds",
			Help: "Latency of report requests.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"report"}),
	}
	return s
}

// Handler routes /v1/reports, /v1/reports/{name}, /v1/brands,
// /v1/alerts/stream, /healthz, /readyz and /metrics, and the dashboard
// at / when there is one.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.Dashboard != nil {
		mux.Handle("GET /{$}", s.Dashboard)
		mux.Handle("GET /index.html", s.Dashboard)
		mux.Handle("GET /assets/", s.Dashboard)
	}
	mux.Handle("GET /v1/brands", s.auth(http.HandlerFunc(s.brands)))
	mux.Handle("GET /v1/alerts/stream", s.auth(http.HandlerFunc(s.alertStream)))
	mux.Handle("GET /v1/reports", s.auth(http.HandlerFunc(s.list)))
	mux.Handle("GET /v1/reports/{name}", s.auth(http.HandlerFunc(s.report)))
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: GET /v1/reports, /v1/reports/<name>, /v1/brands or /v1/alerts/stream")
	})
	mux.Handle("GET /metrics", metrics.Handler(s.Reg))
	mux.Handle("GET /healthz", metrics.Healthz())
	mux.Handle("GET /readyz", metrics.Readyz(s.Ready))
	return mux
}

// auth checks the bearer token (httpauth.Check) when tokens are
// configured.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.Tokens) > 0 && !httpauth.Check(r, s.Tokens) {
			w.Header().Set("WWW-Authenticate", httpauth.Challenge)
			s.requests.WithLabelValues(reportLabel(r), "401").Inc()
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func reportLabel(r *http.Request) string {
	if _, err := report.Lookup(r.PathValue("name")); err == nil {
		return r.PathValue("name")
	}
	return "other"
}

type reportInfo struct {
	Name    string   `json:"name"`
	Summary string   `json:"summary"`
	Params  []string `json:"params"`
	Path    string   `json:"path"`
}

func (s *Server) list(w http.ResponseWriter, _ *http.Request) {
	var out []reportInfo
	for _, sp := range report.Specs() {
		ps := []string{"brand", "platform", "from", "to", "since", "tz", "format"}
		if sp.Series {
			ps = append(ps, "interval")
		}
		out = append(out, reportInfo{Name: sp.Name, Summary: sp.Summary, Params: append(ps, sp.Extra...), Path: "/v1/reports/" + sp.Name})
	}
	writeJSON(w, http.StatusOK, map[string]any{"reports": out})
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	label := reportLabel(r)
	start := time.Now()
	code := s.serveReport(w, r, name)
	s.requests.WithLabelValues(label, strconv.Itoa(code)).Inc()
	if code == http.StatusOK {
		s.seconds.WithLabelValues(label).Observe(time.Since(start).Seconds())
	}
}

func (s *Server) serveReport(w http.ResponseWriter, r *http.Request, name string) int {
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-ctx.Done():
		w.Header().Set("Retry-After", retryAfter)
		return writeError(w, http.StatusServiceUnavailable, "too many reports running; try again")
	}
	q := r.URL.Query()
	res, err := s.Engine.Run(ctx, name, q)
	switch {
	case err == nil:
	case errors.Is(err, report.ErrUnknownReport):
		return writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, report.ErrBadParam):
		return writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil && r.Context().Err() == nil:
		return writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("the report took longer than %s", s.Timeout))
	case r.Context().Err() != nil:
		return 499 // the client went away
	case chsink.IsUnavailable(err):
		s.Log.Warn().Err(err).Str("report", name).Msg("ClickHouse unavailable")
		return writeError(w, http.StatusServiceUnavailable, "ClickHouse is unavailable")
	default:
		s.Log.Error().Err(err).Str("report", name).Str("query", r.URL.RawQuery).Msg("report failed")
		return writeError(w, http.StatusInternalServerError, "the report failed; see the server log")
	}
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	case "table":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	default:
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := res.Write(w, format); err != nil {
		s.Log.Warn().Err(err).Str("report", name).Msg("writing the response")
	}
	return http.StatusOK
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) int {
	writeJSON(w, code, map[string]string{"error": msg})
	return code
}

// Serve listens on addr and serves until ctx ends, then shuts down
// gracefully. started, when not nil, receives the bound address.
func (s *Server) Serve(ctx context.Context, addr string, started func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: s.Timeout + 30*time.Second, IdleTimeout: 2 * time.Minute}
	// Shutdown waits for open connections; an alert stream never ends on
	// its own, so tell the streams to end first.
	srv.RegisterOnShutdown(func() { s.closeMu.Do(func() { close(s.closing) }) })
	if started != nil {
		started(ln.Addr())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the API on %s: %w", addr, err)
	}
	<-done
	return nil
}
