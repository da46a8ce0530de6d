package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/post"
)

// ErrNotStored wraps every publish failure: JetStream did not confirm it
// stored the message (stream full, server restarting, timeout). The message
// itself is fine; stages hold it and retry instead of dead-lettering it.
var ErrNotStored = errors.New("not stored by JetStream")

// Classify wraps a publish failure by its kind: a message the stream can
// never hold (larger than its limit or the server's payload limit) wraps
// post.ErrInvalid and post.ErrTooLarge, so that it is dead-lettered at once;
// anything else (stream full, timeout, no responders, a restart) wraps
// ErrNotStored, to be held and retried.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var api *jetstream.APIError
	if errors.Is(err, nats.ErrMaxPayload) || errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum {
		return fmt.Errorf("%w: %w: %w", post.ErrInvalid, post.ErrTooLarge, err)
	}
	return fmt.Errorf("%w: %w", ErrNotStored, err)
}

// MaxMsgSizes are the message size limits of the raw and the enriched
// streams under cfg (see StreamConfigs).
func MaxMsgSizes(cfg config.NATS) (raw, enriched int) {
	return int(cfg.MaxMsgSize), int(cfg.MaxMsgSize) + enrichedExtra
}

// Out is one message to publish.
type Out struct {
	Subject string
	Data    []byte
	MsgID   string // Nats-Msg-Id for JetStream de-duplication; empty for none
	Header  nats.Header
}

func (o Out) msg() *nats.Msg {
	m := &nats.Msg{Subject: o.Subject, Data: o.Data, Header: o.Header}
	if o.MsgID != "" {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(jetstream.MsgIDHeader, o.MsgID)
	}
	return m
}

// PubResult is the outcome of one publish: the stream's ack or an error.
type PubResult struct {
	Ack *jetstream.PubAck
	Err error
}

// Publish publishes one message and waits for the stream to store it.
func (b *Bus) Publish(ctx context.Context, o Out) (*jetstream.PubAck, error) {
	ack, err := b.js.PublishMsg(ctx, o.msg())
	if err != nil {
		return nil, fmt.Errorf("publishing to %s: %w", o.Subject, Classify(err))
	}
	return ack, nil
}

// PublishMsg publishes m and waits for its stream to store it; the error
// is JetStream's, unclassified (see Classify).
func (b *Bus) PublishMsg(ctx context.Context, m *nats.Msg) (*jetstream.PubAck, error) {
	return b.js.PublishMsg(ctx, m)
}

// PublishMsgAsync starts publishing m; the future reports the stream's ack.
// For publishers that keep their own window of messages in flight.
func (b *Bus) PublishMsgAsync(m *nats.Msg) (jetstream.PubAckFuture, error) {
	return b.js.PublishMsgAsync(m)
}

// PublishAll publishes every message asynchronously and waits until each is
// acknowledged by its stream (or failed). The results are in input order.
// Messages are only durable once their result has no error.
func (b *Bus) PublishAll(ctx context.Context, outs []Out) []PubResult {
	res := make([]PubResult, len(outs))
	futs := make([]jetstream.PubAckFuture, len(outs))
	for i, o := range outs {
		f, err := b.js.PublishMsgAsync(o.msg())
		if err != nil {
			res[i].Err = fmt.Errorf("publishing to %s: %w", o.Subject, Classify(err))
			continue
		}
		futs[i] = f
	}
	for i, f := range futs {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			res[i].Ack = ack
		case err := <-f.Err():
			res[i].Err = fmt.Errorf("publishing to %s: %w", outs[i].Subject, Classify(err))
		case <-ctx.Done():
			res[i].Err = fmt.Errorf("publishing to %s: %w: %w", outs[i].Subject, ErrNotStored, ctx.Err())
		}
	}
	return res
}
