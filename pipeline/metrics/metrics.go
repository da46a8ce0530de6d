// Package metrics defines iwom's Prometheus metrics on a registry that the
// caller passes in (never the global one), and the HTTP endpoint that serves
// them with /healthz and /readyz.
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Stage holds the counters every pipeline stage reports, labelled by stage.
type Stage struct {
	Received     *prometheus.CounterVec
	Processed    *prometheus.CounterVec
	Failed       *prometheus.CounterVec
	DeadLettered *prometheus.CounterVec
	BatchSize    *prometheus.HistogramVec
	BatchSeconds *prometheus.HistogramVec
	Published    *prometheus.CounterVec
}

// NewStage registers the stage metrics on reg.
func NewStage(reg prometheus.Registerer) *Stage {
	f := promauto.With(reg)
	return &Stage{
		Received:     f.NewCounterVec(prometheus.CounterOpts{Namespace: "iwom", Name: "stage_received_total", Help: "Messages pulled from JetStream by a stage."}, []string{"stage"}),
		Processed:    f.NewCounterVec(prometheus.CounterOpts{Namespace: "iwom", Name: "stage_processed_total", Help: "Messages a stage finished and acknowledged."}, []string{"stage"}),
		Failed:       f.NewCounterVec(prometheus.CounterOpts{Namespace: "iwom", Name: "stage_failed_total", Help: "Message processing attempts that failed (retried or dead-lettered)."}, []string{"stage"}),
		DeadLettered: f.NewCounterVec(prometheus.CounterOpts{Namespace: "iwom", Name: "stage_dead_lettered_total", Help: "Messages sent to iwom.dlq.<stage>."}, []string{"stage"}),
		BatchSize:    f.NewHistogramVec(prometheus.HistogramOpts{Namespace: "iwom", Name: "stage_batch_size", Help: "Messages per processed batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}, []string{"stage"}),
		BatchSeconds: f.NewHistogramVec(prometheus.HistogramOpts{Namespace: "iwom", Name: "stage_batch_seconds", Help: "Time to process one batch, including output.", Buckets: prometheus.ExponentialBuckets(0.001, 3, 10)}, []string{"stage"}),
		Published:    f.NewCounterVec(prometheus.CounterOpts{Namespace: "iwom", Name: "connector_published_total", Help: "Posts a connector published (and JetStream stored) on iwom.raw.*, by connector and whether JetStream found it a duplicate."}, []string{"connector", "duplicate"}),
	}
}

// NewRegistry is a registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves the metrics of reg (/metrics).
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// Healthz answers 200 "ok" while the process serves HTTP (/healthz).
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
}

// Readyz answers 200 "ready" when ready reports nil within 3 seconds,
// else 503 with the reason (/readyz). A nil ready is always ready. The
// metrics endpoint and `iwom serve` both use it.
func Readyz(ready func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if ready != nil {
			if err := ready(ctx); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}

// Serve serves /metrics, /healthz and /readyz on addr until ctx ends. ready
// reports nil when the process is ready (connected and consuming).
func Serve(ctx context.Context, addr string, reg *prometheus.Registry, ready func(context.Context) error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ServeOn(ctx, ln, reg, ready)
}

// ServeOn is Serve on a listener the caller opened (so that it knows at
// once whether the address could be bound).
func ServeOn(ctx context.Context, ln net.Listener, reg *prometheus.Registry, ready func(context.Context) error) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler(reg))
	mux.Handle("/healthz", Healthz())
	mux.Handle("/readyz", Readyz(ready))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
