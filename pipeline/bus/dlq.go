package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Dead-letter headers. The message body is the original payload, unchanged,
// so that `iwom dlq replay` can send it back after a fix.
const (
	HdrDLQStage      = "Iwom-Dlq-Stage"
	HdrDLQError      = "Iwom-Dlq-Error"
	HdrDLQSubject    = "Iwom-Dlq-Subject"
	HdrDLQStreamSeq  = "Iwom-Dlq-Stream-Seq"
	HdrDLQDeliveries = "Iwom-Dlq-Deliveries"
	HdrDLQSource     = "Iwom-Dlq-Source"
	HdrDLQLine       = "Iwom-Dlq-Line"
	HdrDLQTime       = "Iwom-Dlq-Time"
	HdrDLQTruncated  = "Iwom-Dlq-Truncated"
)

// DeadLetter describes a message that a stage gives up on.
type DeadLetter struct {
	Stage      string // the stage that failed: iwom.dlq.<stage>
	Err        error  // why
	Subject    string // where the payload came from, if from a stream
	StreamSeq  uint64
	Deliveries uint64
	Source     string // connector or file, when not from a stream
	Line       int    // line number in Source, when it has lines
	Payload    []byte
}

// DeadLetter publishes d on iwom.dlq.<stage> and waits until it is stored.
// Its Nats-Msg-Id is derived from where the payload came from, so that a
// stage retried after a crash does not store it twice.
func (b *Bus) DeadLetter(ctx context.Context, d DeadLetter) error {
	h := nats.Header{}
	h.Set(HdrDLQStage, d.Stage)
	reason := "unknown"
	if d.Err != nil {
		reason = d.Err.Error()
	}
	h.Set(HdrDLQError, SanitizeHeader(reason))
	h.Set(HdrDLQTime, time.Now().UTC().Format(time.RFC3339Nano))
	if d.Subject != "" {
		h.Set(HdrDLQSubject, d.Subject)
	}
	if d.StreamSeq > 0 {
		h.Set(HdrDLQStreamSeq, strconv.FormatUint(d.StreamSeq, 10))
	}
	if d.Deliveries > 0 {
		h.Set(HdrDLQDeliveries, strconv.FormatUint(d.Deliveries, 10))
	}
	if d.Source != "" {
		h.Set(HdrDLQSource, SanitizeHeader(d.Source))
	}
	if d.Line > 0 {
		h.Set(HdrDLQLine, strconv.Itoa(d.Line))
	}
	payload := d.Payload
	if limit := int(b.cfg.MaxMsgSize); len(payload) > limit {
		payload = payload[:limit]
		h.Set(HdrDLQTruncated, strconv.Itoa(len(d.Payload)))
	}
	var id string
	if d.StreamSeq > 0 {
		id = "dlq:" + d.Stage + ":" + d.Subject + ":" + strconv.FormatUint(d.StreamSeq, 10)
	} else {
		sum := sha256.Sum256(d.Payload)
		id = "dlq:" + d.Stage + ":" + strconv.Itoa(d.Line) + ":" + hex.EncodeToString(sum[:12])
	}
	_, err := b.Publish(ctx, Out{Subject: DLQSubject(d.Stage), Data: payload, MsgID: id, Header: h})
	return err
}

// GetDeadLetter reads one dead letter by its DLQ stream sequence.
func (b *Bus) GetDeadLetter(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	s, err := b.stream(ctx, StreamDLQ)
	if err != nil {
		return nil, err
	}
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		return nil, fmt.Errorf("reading dead letter %d: %w", seq, err)
	}
	return m, nil
}

// ReplayResult counts what ReplayDeadLetters did.
type ReplayResult struct {
	Replayed, Skipped int
}

// ReplayDeadLetters republishes the dead letters on subject (only the
// sequences in seqs when given) to the subject each came from, and deletes
// each from the DLQ once its stream stored it (when del). The republished
// message gets a new Nats-Msg-Id ("replay:<dlq seq>") so that it is not
// dropped as a duplicate of the original.
func (b *Bus) ReplayDeadLetters(ctx context.Context, subject string, seqs []uint64, del bool) (ReplayResult, error) {
	var res ReplayResult
	want := map[uint64]bool{}
	for _, s := range seqs {
		want[s] = true
	}
	type letter struct {
		seq     uint64
		subject string
		data    []byte
	}
	var letters []letter
	err := b.ReadAll(ctx, StreamDLQ, subject, func(m jetstream.Msg) error {
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		if len(want) > 0 && !want[md.Sequence.Stream] {
			return nil
		}
		if m.Headers().Get(HdrDLQTruncated) != "" {
			res.Skipped++
			return nil
		}
		letters = append(letters, letter{md.Sequence.Stream, m.Headers().Get(HdrDLQSubject), append([]byte(nil), m.Data()...)})
		return nil
	})
	if err != nil {
		return res, err
	}
	s, err := b.stream(ctx, StreamDLQ)
	if err != nil {
		return res, err
	}
	for _, l := range letters {
		if l.subject == "" {
			res.Skipped++
			continue
		}
		if _, err := b.Publish(ctx, Out{Subject: l.subject, Data: l.data, MsgID: "replay:" + strconv.FormatUint(l.seq, 10)}); err != nil {
			return res, fmt.Errorf("replaying dead letter %d: %w", l.seq, err)
		}
		res.Replayed++
		if del {
			if err := s.DeleteMsg(ctx, l.seq); err != nil {
				return res, fmt.Errorf("deleting replayed dead letter %d: %w", l.seq, err)
			}
		}
	}
	return res, nil
}
