package test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/iwom/iwom/pipeline/config"
)

// Every process serves /metrics, /healthz and /readyz; the Grafana
// dashboard only charts metrics iwom really exports; Prometheus in compose
// scrapes the iwom services.
func TestObservability(t *testing.T) {
	port, err := freeTestPort()
	if err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + port
	e := newEnv(t, func(c *config.Config) { c.Metrics.Listen = listen })
	path, truth := generate(t, 300, 17, "steady")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.app.ServeMetrics(ctx)
	get := func(p string) (int, string) {
		var resp *http.Response
		var err error
		for i := 0; i < 50; i++ {
			if resp, err = http.Get("http://" + listen + p); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	er, sr := e.enrichRunner(), e.sinkRunner()
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the stages consume: %d, want 503", code)
	}
	e.start(er, sr, e.app.AlertsRunner())
	e.replay(path, 0)
	e.waitIdle()
	e.checkTruth(truth)
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz %d: %s", code, body)
	}
	_, metrics := get("/metrics")
	exported := map[string]bool{}
	for _, l := range strings.Split(metrics, "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		name := l[:strings.IndexAny(l, "{ ")]
		exported[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")] = true
	}
	for _, want := range []string{"iwom_stage_processed_total", "iwom_consumer_pending", "iwom_freshness_seconds", "iwom_clickhouse_insert_seconds", "iwom_stream_messages", "iwom_connector_published_total"} {
		if !exported[want] {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(metrics, `iwom_consumer_pending{consumer="enrich",stream="IWOM_RAW"} 0`) {
		t.Errorf("consumer lag not exported per consumer")
	}

	data, err := os.ReadFile("../deploy/grafana/iwom-pipeline.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	re := regexp.MustCompile(`\b(iwom_[a-z_]+|process_[a-z_]+)`)
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range re.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !exported[base] && !strings.HasPrefix(base, "iwom_stage_dead_lettered") && !strings.HasPrefix(base, "iwom_stage_failed") && !strings.HasPrefix(base, "iwom_clickhouse_insert_retries") && !strings.HasPrefix(base, "iwom_dlq_messages") {
					t.Errorf("panel %q charts %s, which iwom does not export", p.Title, m)
				}
			}
		}
	}

	var prom struct {
		ScrapeConfigs []struct {
			DNS []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	pdata, err := os.ReadFile("../deploy/prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(pdata, &prom); err != nil || len(prom.ScrapeConfigs) == 0 {
		t.Fatalf("prometheus.yml: %v", err)
	}
	for _, n := range []string{"enrich", "sink", "alerts"} {
		found := false
		for _, d := range prom.ScrapeConfigs[0].DNS {
			for _, x := range d.Names {
				found = found || x == n && d.Port == 9090
			}
		}
		if !found {
			t.Errorf("prometheus does not scrape %s:9090", n)
		}
	}
}

func freeTestPort() (string, error) {
	l, err := netListen()
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := strings.Cut(l.Addr().String(), ":")
	return port, nil
}

func netListen() (interface {
	Close() error
	Addr() net.Addr
}, error) {
	return net.Listen("tcp", "127.0.0.1:0")
}
