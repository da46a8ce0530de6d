package sentiment

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// Model file format (gzip-compressed as a whole):
//
//	"IWOMSENT"                 8-byte magic
//	uint32 version             formatVersion
//	uint32 n, n bytes          Metadata as JSON
//	1<<bits int8               polarity weights, bucket order
//	7 × 1<<bits int8           emotion weights, one column per emotion
//	1<<bits int8               Weibo polarity weights
//	1<<bits int8               domain weights
//	1<<bits uint8              cue weights
//
// Integers are little-endian. Storing the table column by column keeps the
// runs of zeros (buckets no Weibo post touched) together, which gzip
// compresses well.

const (
	fileMagic     = "IWOMSENT"
	formatVersion = 2
	minBits       = 10
	maxBits       = 24
)

// ErrBadModel is returned by Load for data that is not a model file.
var ErrBadModel = errors.New("sentiment: not a valid model file")

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteTo writes the model in its gzip-compressed file format. It returns
// the number of compressed bytes written.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	zw, err := gzip.NewWriterLevel(cw, gzip.DefaultCompression)
	if err != nil {
		return 0, fmt.Errorf("writing sentiment model: %w", err)
	}
	meta, err := json.Marshal(m.meta)
	if err != nil {
		return cw.n, fmt.Errorf("encoding sentiment model metadata: %w", err)
	}
	var hdr []byte
	hdr = append(hdr, fileMagic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, formatVersion)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(meta)))
	hdr = append(hdr, meta...)
	if _, err := zw.Write(hdr); err != nil {
		return cw.n, fmt.Errorf("writing sentiment model: %w", err)
	}
	col := make([]byte, len(m.w))
	for k := range numCols {
		for i := range m.w {
			col[i] = byte(m.w[i][k])
		}
		if _, err := zw.Write(col); err != nil {
			return cw.n, fmt.Errorf("writing sentiment model: %w", err)
		}
	}
	if _, err := zw.Write(m.cue); err != nil {
		return cw.n, fmt.Errorf("writing sentiment model: %w", err)
	}
	if err := zw.Close(); err != nil {
		return cw.n, fmt.Errorf("writing sentiment model: %w", err)
	}
	return cw.n, nil
}

// Load reads a model written by WriteTo.
func Load(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 1<<16)

	var fixed [16]byte
	if _, err := io.ReadFull(br, fixed[:]); err != nil {
		return nil, fmt.Errorf("%w: reading header: %w", ErrBadModel, err)
	}
	if string(fixed[:8]) != fileMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrBadModel)
	}
	if v := binary.LittleEndian.Uint32(fixed[8:]); v != formatVersion {
		return nil, fmt.Errorf("%w: format version %d, want %d", ErrBadModel, v, formatVersion)
	}
	n := binary.LittleEndian.Uint32(fixed[12:])
	if n > 1<<24 {
		return nil, fmt.Errorf("%w: metadata of %d bytes", ErrBadModel, n)
	}
	metaJSON := make([]byte, n)
	if _, err := io.ReadFull(br, metaJSON); err != nil {
		return nil, fmt.Errorf("%w: reading metadata: %w", ErrBadModel, err)
	}
	m := &Model{}
	if err := json.Unmarshal(metaJSON, &m.meta); err != nil {
		return nil, fmt.Errorf("%w: decoding metadata: %w", ErrBadModel, err)
	}
	if err := m.meta.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	m.setup()
	m.w = make([][numCols]int8, 1<<m.bits)
	col := make([]byte, len(m.w))
	for k := range numCols {
		if _, err := io.ReadFull(br, col); err != nil {
			return nil, fmt.Errorf("%w: reading weights: %w", ErrBadModel, err)
		}
		for i, b := range col {
			m.w[i][k] = int8(b)
		}
	}
	m.cue = make([]uint8, len(m.w))
	if _, err := io.ReadFull(br, m.cue); err != nil {
		return nil, fmt.Errorf("%w: reading cue weights: %w", ErrBadModel, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", ErrBadModel)
	}
	return m, nil
}

// validate checks the scoring constants of a model file.
func (md *Metadata) validate() error {
	if md.Bits < minBits || md.Bits > maxBits {
		return fmt.Errorf("%d hash bits", md.Bits)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{
		{"norm_pow", md.NormPow},
		{"pol_scale", float64(md.PolScale)},
		{"emo_scale", float64(md.EmoScale)},
		{"weibo_scale", float64(md.WeiboScale)},
		{"domain_scale", float64(md.DomainScale)},
		{"weibo_weight", md.WeiboWeight},
		{"cue_step", float64(md.CueStep)},
		{"evidence_floor", md.EvidenceFloor},
		{"threshold", md.Threshold},
		{"emotion_min_prob", md.EmotionMinProb},
	} {
		if math.IsNaN(v.v) || math.IsInf(v.v, 0) || v.v < 0 {
			return fmt.Errorf("%s = %v", v.name, v.v)
		}
	}
	if math.IsNaN(md.IronyDamp) || md.IronyDamp < -1 || md.IronyDamp > 1 {
		return fmt.Errorf("irony_damp = %v", md.IronyDamp)
	}
	if math.IsNaN(md.HeheDamp) || md.HeheDamp < -1 || md.HeheDamp > 1 {
		return fmt.Errorf("hehe_damp = %v", md.HeheDamp)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{
		{"evidence_scale", md.EvidenceScale},
		{"slope", md.Slope},
		{"emotion_temp", md.EmotionTemp},
	} {
		if math.IsNaN(v.v) || math.IsInf(v.v, 0) || v.v <= 0 {
			return fmt.Errorf("%s = %v", v.name, v.v)
		}
	}
	return nil
}

// Equal reports whether two models have the same weights and metadata
// (as `iwomlab train sentiment` checks a retrained model against the
// embedded one).
func (m *Model) Equal(o *Model) bool {
	if m == nil || o == nil {
		return m == o
	}
	a, errA := json.Marshal(m.meta)
	b, errB := json.Marshal(o.meta)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		return false
	}
	return slices.Equal(m.w, o.w) && slices.Equal(m.cue, o.cue)
}
