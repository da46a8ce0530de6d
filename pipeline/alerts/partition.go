package alerts

import "hash/fnv"

// Partition is the partition of brand among n: the partitioned engine gives
// each partition engine the brands of its partition (Input.Trimmed), with
// the watermark ticks of a single engine (TickFor), and they emit exactly
// the single engine's alerts.
func Partition(brand string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(brand))
	return int(h.Sum32() % uint32(n))
}
