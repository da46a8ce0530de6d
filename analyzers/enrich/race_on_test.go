//go:build race

package enrich

// raceEnabled: the race detector slows segmenting the corpora tenfold.
const raceEnabled = true
