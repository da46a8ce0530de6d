package alerts

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// engineMeta is the scope-wide part of the state: the watermark.
type engineMeta struct {
	MaxSeen int64  `json:"max_seen"`
	Tick    int64  `json:"tick"`
	Seq     uint64 `json:"seq"`
}

// DirtyBrands lists the brands whose state changed since MarkClean, sorted.
func (e *Engine) DirtyBrands() []string {
	var out []string
	for b, bs := range e.brands {
		if bs.dirty {
			out = append(out, b)
		}
	}
	sort.Strings(out)
	return out
}

// MarkClean records that brands' state has been stored.
func (e *Engine) MarkClean(brands []string) {
	for _, b := range brands {
		if bs := e.brands[b]; bs != nil {
			bs.dirty = false
		}
	}
}

// EncodeBrand serialises one brand's state.
func (e *Engine) EncodeBrand(b string) ([]byte, error) {
	bs := e.brands[b]
	if bs == nil {
		return nil, fmt.Errorf("no state for brand %s", b)
	}
	// Only the live cells of the rings are stored.
	c := *bs
	c.Slots = compact(bs.Slots, bs.MaxSlot-int64(len(bs.Slots)))
	c.Hours = compact(bs.Hours, math.MinInt64)
	rules := make(map[string]*ruleState, len(bs.Rules))
	for name, st := range bs.Rules {
		sc := *st
		if st.Kw != nil {
			sc.Kw = compact(st.Kw, math.MinInt64)
		}
		rules[name] = &sc
	}
	c.Rules = rules
	data, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("encoding state of brand %s: %w", b, err)
	}
	return data, nil
}

func compact(r ring, after int64) ring {
	out := ring{}
	for _, c := range r {
		if c.S >= 0 && c.S > after && (c.T != 0 || c.N != 0) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].S < out[j].S })
	return out
}

// RestoreBrand loads one brand's stored state.
func (e *Engine) RestoreBrand(data []byte) error {
	var bs brandState
	if err := json.Unmarshal(data, &bs); err != nil {
		return fmt.Errorf("decoding brand state: %w", err)
	}
	if bs.Brand == "" {
		return fmt.Errorf("decoding brand state: no brand")
	}
	slots, hours := newRing(e.ringLen), newRing(hoursKept)
	for _, c := range bs.Slots {
		slots.add(c.S, c.T, c.N)
	}
	for _, c := range bs.Hours {
		hours.add(c.S, c.T, c.N)
	}
	bs.Slots, bs.Hours = slots, hours
	if bs.Rules == nil {
		bs.Rules = map[string]*ruleState{}
	}
	if bs.Seen == nil {
		bs.Seen = seenSet{}
	}
	for name, st := range bs.Rules {
		r := e.rules.Rule(name)
		if r == nil || !r.IsEnabled() {
			delete(bs.Rules, name)
			continue
		}
		if st.FP != r.fingerprint() {
			fresh := e.newRuleState(r)
			fresh.Open, fresh.CooldownUntil, fresh.LastPeak, fresh.Done, fresh.Held = st.Open, st.CooldownUntil, st.LastPeak, st.Done, st.Held
			st = fresh
			bs.Rules[name] = st
		}
		if r.Kind == KindKeyword {
			kw := newRing(e.slots(r.Window.D()) + int(e.late/e.slot) + 2)
			for _, c := range st.Kw {
				kw.add(c.S, c.T, c.N)
			}
			st.Kw = kw
		}
		if st.Open == nil {
			st.Open = map[string]*incident{}
		}
		if r.Kind == KindVelocity || r.Kind == KindKOLMention {
			if st.Done == nil {
				st.Done = map[string]int64{}
			}
		}
		if r.Kind == KindVelocity && st.Tracked == nil {
			st.Tracked = map[string]*observation{}
		}
	}
	e.brands[bs.Brand] = &bs
	e.updateActive(&bs)
	return nil
}

// EncodeMeta serialises the watermark; seq is the last stream sequence the
// stored state includes.
func (e *Engine) EncodeMeta(seq uint64) ([]byte, error) {
	return json.Marshal(engineMeta{MaxSeen: e.maxSeen, Tick: e.tick, Seq: seq})
}

// RestoreMeta loads the watermark and returns the stored sequence.
func (e *Engine) RestoreMeta(data []byte) (uint64, error) {
	var m engineMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return 0, fmt.Errorf("decoding engine state: %w", err)
	}
	e.maxSeen, e.tick = m.MaxSeen, m.Tick
	return m.Seq, nil
}

// Brands lists the brands the engine has state for.
func (e *Engine) Brands() []string { return e.sortedBrands() }
