package bus

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the state of the iwom streams and their consumers
// (backlog per consumer, dead letters per stage) at each scrape.
type Collector struct {
	b                                         *Bus
	streamMsgs, streamBytes                   *prometheus.Desc
	pending, ackPending, redelivered, waiting *prometheus.Desc
	dlq                                       *prometheus.Desc
	up                                        *prometheus.Desc
}

// NewCollector builds the collector; register it on a registry.
func NewCollector(b *Bus) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("iwom_"+name, help, labels, nil)
	}
	return &Collector{
		b:           b,
		streamMsgs:  d("stream_messages", "Messages stored in a stream.", "stream"),
		streamBytes: d("stream_bytes", "Bytes stored in a stream.", "stream"),
		pending:     d("consumer_pending", "Messages not yet delivered to a consumer (its lag).", "stream", "consumer"),
		ackPending:  d("consumer_ack_pending", "Messages delivered to a consumer and not yet acknowledged.", "stream", "consumer"),
		redelivered: d("consumer_redelivered", "Messages redelivered to a consumer and not yet acknowledged.", "stream", "consumer"),
		waiting:     d("consumer_waiting_pulls", "Pull requests waiting on a consumer (idle stage replicas).", "stream", "consumer"),
		dlq:         d("dlq_messages", "Dead letters per stage subject.", "subject"),
		up:          d("jetstream_up", "1 when JetStream answered the last scrape."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.streamMsgs, c.streamBytes, c.pending, c.ackPending, c.redelivered, c.waiting, c.dlq, c.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.b.State(ctx)
	up := 1.0
	if err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	for _, s := range st.Streams {
		ch <- prometheus.MustNewConstMetric(c.streamMsgs, prometheus.GaugeValue, float64(s.Messages), s.Name)
		ch <- prometheus.MustNewConstMetric(c.streamBytes, prometheus.GaugeValue, float64(s.Bytes), s.Name)
		for _, k := range s.Consumers {
			ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(k.Pending), s.Name, k.Name)
			ch <- prometheus.MustNewConstMetric(c.ackPending, prometheus.GaugeValue, float64(k.AckPending), s.Name, k.Name)
			ch <- prometheus.MustNewConstMetric(c.redelivered, prometheus.GaugeValue, float64(k.Redelivered), s.Name, k.Name)
			ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(k.Waiting), s.Name, k.Name)
		}
	}
	for subj, n := range st.DLQ {
		ch <- prometheus.MustNewConstMetric(c.dlq, prometheus.GaugeValue, float64(n), subj)
	}
}

// StreamState is one stream's size and its durable consumers.
type StreamState struct {
	Name      string          `json:"name"`
	Messages  uint64          `json:"messages"`
	Bytes     uint64          `json:"bytes"`
	MaxBytes  int64           `json:"max_bytes"`
	FirstSeq  uint64          `json:"first_seq"`
	LastSeq   uint64          `json:"last_seq"`
	Consumers []ConsumerState `json:"consumers"`
}

// ConsumerState is a durable consumer's backlog.
type ConsumerState struct {
	Name        string `json:"name"`
	Pending     uint64 `json:"pending"`
	AckPending  int    `json:"ack_pending"`
	Redelivered int    `json:"redelivered"`
	Waiting     int    `json:"waiting_pulls"`
}

// State is the whole topology's state.
type State struct {
	Streams []StreamState     `json:"streams"`
	DLQ     map[string]uint64 `json:"dlq"` // subject -> dead letters
}

// State reads every iwom stream, its durable consumers, and the dead
// letters per subject.
func (b *Bus) State(ctx context.Context) (State, error) {
	out := State{DLQ: map[string]uint64{}}
	for _, sc := range StreamConfigs(b.cfg) {
		s, err := b.stream(ctx, sc.Name)
		if err != nil {
			return out, err
		}
		var info *jetstream.StreamInfo
		if sc.Name == StreamDLQ {
			info, err = s.Info(ctx, jetstream.WithSubjectFilter(DLQPrefix+">"))
		} else {
			info, err = s.Info(ctx)
		}
		if err != nil {
			return out, err
		}
		ss := StreamState{Name: sc.Name, Messages: info.State.Msgs, Bytes: info.State.Bytes, MaxBytes: info.Config.MaxBytes, FirstSeq: info.State.FirstSeq, LastSeq: info.State.LastSeq}
		if sc.Name == StreamDLQ {
			for subj, n := range info.State.Subjects {
				out.DLQ[subj] = n
			}
		}
		names := s.ListConsumers(ctx)
		for ci := range names.Info() {
			if ci.Config.Durable == "" {
				continue
			}
			ss.Consumers = append(ss.Consumers, ConsumerState{Name: ci.Name, Pending: ci.NumPending, AckPending: ci.NumAckPending, Redelivered: ci.NumRedelivered, Waiting: ci.NumWaiting})
		}
		if err := names.Err(); err != nil {
			return out, err
		}
		out.Streams = append(out.Streams, ss)
	}
	return out, nil
}
