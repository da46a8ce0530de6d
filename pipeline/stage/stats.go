package stage

import (
	"time"

	"github.com/rs/zerolog"
)

// statsLogger logs a stage's throughput every interval while it moves.
type statsLogger struct {
	log      zerolog.Logger
	every    time.Duration
	last     time.Time
	lastN    int64
	start    time.Time
	reported int64
}

func newStatsLogger(log zerolog.Logger, every time.Duration) *statsLogger {
	now := time.Now()
	return &statsLogger{log: log, every: every, last: now, start: now}
}

func (s *statsLogger) maybeLog(n int64) {
	if s.every <= 0 {
		return
	}
	now := time.Now()
	el := now.Sub(s.last)
	if el < s.every {
		return
	}
	if n != s.lastN {
		s.log.Info().Int64("processed", n).Float64("per_s", float64(n-s.lastN)/el.Seconds()).Msg("throughput")
		s.reported = n
	}
	s.last, s.lastN = now, n
}

func (s *statsLogger) final(n int64) {
	if n == s.reported {
		return
	}
	s.log.Info().Int64("processed", n).Float64("per_s", float64(n)/time.Since(s.start).Seconds()).Msg("stopped")
}
