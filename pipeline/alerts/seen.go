package alerts

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
)

// seenSet remembers which posts a brand has counted (by a 64-bit hash of
// their key, with their slot), for as long as their slot is in the ring: a
// later observation of the same post (a re-fetch with new counts) then
// feeds the velocity rule without being counted twice in the volumes.
type seenSet map[uint64]int64

func keyHash(key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return h.Sum64()
}

// prune forgets posts in slots before from.
func (s seenSet) prune(from int64) {
	for k, slot := range s {
		if slot < from {
			delete(s, k)
		}
	}
}

// MarshalJSON packs the set as base64 of sorted (hash, slot) pairs.
func (s seenSet) MarshalJSON() ([]byte, error) {
	keys := make([]uint64, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	buf := make([]byte, 0, 16*len(keys))
	for _, k := range keys {
		buf = binary.LittleEndian.AppendUint64(buf, k)
		buf = binary.LittleEndian.AppendUint64(buf, uint64(s[k]))
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(buf))
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *seenSet) UnmarshalJSON(data []byte) error {
	var str string
	if err := json.Unmarshal(data, &str); err != nil {
		return err
	}
	buf, err := base64.StdEncoding.DecodeString(str)
	if err != nil || len(buf)%16 != 0 {
		return fmt.Errorf("decoding seen posts: malformed")
	}
	m := make(seenSet, len(buf)/16)
	for i := 0; i < len(buf); i += 16 {
		m[binary.LittleEndian.Uint64(buf[i:])] = int64(binary.LittleEndian.Uint64(buf[i+8:]))
	}
	*s = m
	return nil
}
