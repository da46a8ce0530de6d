package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/synth"
)

// benchResult is what `iwomlab bench enrich` reports.
type benchResult struct {
	Posts            int     `json:"posts"`
	Bytes            int64   `json:"bytes"`
	Workers          int     `json:"workers"`
	Seconds          float64 `json:"seconds"`
	PostsPerS        float64 `json:"posts_per_s"`
	PostsPerSPerCore float64 `json:"posts_per_s_per_core"`
	// PostsPerCPUS counts posts per second of CPU time used by the
	// process while enriching (GC included).
	PostsPerCPUS float64 `json:"posts_per_cpu_s"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	StartupS     float64 `json:"startup_s"`
}

func benchEnrichCmd(g *cli.Globals) *cobra.Command {
	var file, format string
	var workers, repeat, genCount int
	cmd := &cobra.Command{
		Use:   "enrich [--file posts.jsonl] [--workers N] [--format json]",
		Short: "Enrich a JSONL file of posts as fast as possible; print posts/s, per core, peak RSS and start-up time",
		Long: `Loads the enricher (start-up: dictionary, model, IDF table), reads the posts of
--file (one JSON post per line, as iwom gen or iwom replay use; without --file it
generates --gen posts), then enriches them --repeat times with --workers
goroutines. posts_per_s_per_core divides the throughput by the workers (at most
GOMAXPROCS); posts_per_cpu_s divides the posts by the CPU time the process used.
peak_rss_mb is the process's peak resident set size (VmHWM) over the whole run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if workers <= 0 {
				workers = runtime.GOMAXPROCS(0)
			}
			start := time.Now()
			e, wl, err := cli.LoadEnricher(g)
			if err != nil {
				return err
			}
			startup := time.Since(start)

			var posts []*post.Post
			if file != "" {
				posts, err = readPosts(file, post.Limits{MaxTextBytes: g.Cfg.Limits.MaxTextBytes})
				if err != nil {
					return err
				}
			} else {
				gn, err := synth.New(synth.Options{Count: genCount, Seed: 1, Scenario: synth.ScenarioCrisis}, wl)
				if err != nil {
					return err
				}
				posts = gn.All()
			}
			if len(posts) == 0 {
				return fmt.Errorf("no posts to enrich")
			}
			var bytes int64
			for _, p := range posts {
				bytes += int64(len(p.Text))
			}

			total := len(posts) * max(repeat, 1)
			cpu0 := cpuTime()
			t0 := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			now := time.Now()
			for range workers {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= total {
							return
						}
						e.Enrich(posts[i%len(posts)], now)
					}
				})
			}
			wg.Wait()
			el := time.Since(t0).Seconds()
			cpu := (cpuTime() - cpu0).Seconds()
			r := benchResult{
				Posts:            total,
				Bytes:            bytes * int64(max(repeat, 1)),
				Workers:          workers,
				Seconds:          el,
				PostsPerS:        float64(total) / el,
				PostsPerSPerCore: float64(total) / el / float64(min(workers, runtime.GOMAXPROCS(0))),
				PeakRSSMB:        peakRSSMB(),
				StartupS:         startup.Seconds(),
			}
			if cpu > 0 {
				r.PostsPerCPUS = float64(total) / cpu
			}
			switch format {
			case "json":
				enc := json.NewEncoder(os.Stdout)
				return enc.Encode(r)
			case "text":
				fmt.Printf("%d posts (%.0f bytes each) with %d workers in %.2fs: %.0f posts/s, %.0f posts/s per core, %.0f posts per CPU second\n",
					r.Posts, float64(r.Bytes)/float64(r.Posts), r.Workers, r.Seconds, r.PostsPerS, r.PostsPerSPerCore, r.PostsPerCPUS)
				fmt.Printf("start-up %.2fs, peak RSS %.0f MB\n", r.StartupS, r.PeakRSSMB)
				return nil
			}
			return fmt.Errorf("--format must be text or json")
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "JSONL file of posts (default: generate --gen posts)")
	cmd.Flags().IntVar(&genCount, "gen", 20000, "posts to generate when there is no --file")
	cmd.Flags().IntVar(&workers, "workers", 0, "goroutines enriching (default GOMAXPROCS)")
	cmd.Flags().IntVar(&repeat, "repeat", 1, "enrich the posts this many times")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

func readPosts(path string, lim post.Limits) ([]*post.Post, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening posts: %w", err)
	}
	defer f.Close()
	var out []*post.Post
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		p, err := post.Decode(b, lim)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading posts: %w", err)
	}
	return out, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSMB reads VmHWM from /proc/self/status (Linux), else the maximum
// RSS getrusage reports.
func peakRSSMB() float64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				if err == nil {
					return kb / 1024
				}
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}
