package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

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
	ack, err := b.JS.PublishMsg(ctx, o.msg())
	if err != nil {
		return nil, fmt.Errorf("publishing to %s: %w", o.Subject, err)
	}
	return ack, nil
}

// PublishAll publishes every message asynchronously and waits until each is
// acknowledged by its stream (or failed). The results are in input order.
// Messages are only durable once their result has no error.
func (b *Bus) PublishAll(ctx context.Context, outs []Out) []PubResult {
	res := make([]PubResult, len(outs))
	futs := make([]jetstream.PubAckFuture, len(outs))
	for i, o := range outs {
		f, err := b.JS.PublishMsgAsync(o.msg())
		if err != nil {
			res[i].Err = fmt.Errorf("publishing to %s: %w", o.Subject, err)
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
			res[i].Err = fmt.Errorf("publishing to %s: %w", outs[i].Subject, err)
		case <-ctx.Done():
			res[i].Err = fmt.Errorf("publishing to %s: %w", outs[i].Subject, ctx.Err())
		}
	}
	return res
}
