//go:build race

package sentiment

// raceEnabled: the race detector slows training about tenfold, so the
// training tests then train a cheaper model and skip the accuracy and
// reproducibility checks.
const raceEnabled = true
