// Package replay is the file connector: it reads a JSONL file of Posts and
// publishes them, dead-lettering (with the line number and reason) every
// line that is malformed, not UTF-8, incomplete or too large, and carrying
// on.
package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/time/rate"

	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/post"
)

// Connector replays one file.
type Connector struct {
	Path string
	// In replaces the file when set (for stdin).
	In     io.Reader
	Rate   float64 // lines per second; 0 is as fast as possible
	Limits post.Limits
	// MaxLineBytes bounds a line; longer lines are dead-lettered (their
	// first MaxLineBytes bytes kept). 0 means 4 × max_text_bytes or 1 MiB.
	MaxLineBytes int

	Lines, Bad int // counts after Run
}

// Name implements connectors.Connector.
func (c *Connector) Name() string { return "replay" }

// Run implements connectors.Connector.
func (c *Connector) Run(ctx context.Context, pub connectors.Publisher) error {
	in := c.In
	if in == nil {
		f, err := os.Open(c.Path)
		if err != nil {
			return fmt.Errorf("opening replay file: %w", err)
		}
		defer f.Close()
		in = f
	}
	max := c.MaxLineBytes
	if max <= 0 {
		max = 1 << 20
		if c.Limits.MaxTextBytes > 0 && 4*c.Limits.MaxTextBytes > max {
			max = 4 * c.Limits.MaxTextBytes
		}
	}
	var lim *rate.Limiter
	if c.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(c.Rate), max1(int(c.Rate/10)))
	}
	r := bufio.NewReaderSize(in, 64<<10)
	for line := 1; ; line++ {
		data, tooLong, err := readLine(r, max)
		if err == io.EOF && len(data) == 0 && !tooLong {
			break
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading replay file at line %d: %w", line, err)
		}
		if len(data) == 0 && !tooLong {
			continue // blank line
		}
		c.Lines++
		if lim != nil {
			if werr := lim.Wait(ctx); werr != nil {
				return werr
			}
		}
		if tooLong {
			c.Bad++
			if rerr := pub.Reject(ctx, line, data, fmt.Errorf("%w: line %d is longer than %d bytes", post.ErrInvalid, line, max)); rerr != nil {
				return rerr
			}
			continue
		}
		p, derr := post.Decode(data, c.Limits)
		if derr != nil {
			c.Bad++
			if rerr := pub.Reject(ctx, line, data, fmt.Errorf("line %d: %w", line, derr)); rerr != nil {
				return rerr
			}
			continue
		}
		if p.Source == "" {
			p.Source = "replay"
		}
		if perr := pub.Publish(connectors.WithLine(ctx, line), p); perr != nil {
			if !errors.Is(perr, post.ErrInvalid) {
				return perr
			}
			c.Bad++
		}
		if err == io.EOF {
			break
		}
	}
	return pub.Flush(ctx)
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// readLine reads one line without its newline. A line longer than max is
// consumed to its end; the first max bytes are returned with tooLong set.
func readLine(r *bufio.Reader, max int) (data []byte, tooLong bool, err error) {
	for {
		chunk, isPrefix, rerr := r.ReadLine()
		if len(data)+len(chunk) > max {
			if !tooLong {
				data = append(data, chunk[:max-len(data)]...)
			}
			tooLong = true
		} else if !tooLong {
			data = append(data, chunk...)
		}
		if rerr != nil {
			return data, tooLong, rerr
		}
		if !isPrefix {
			return data, tooLong, nil
		}
	}
}
