//go:build !race

package samplingprocessor

// raceEnabled reports whether the tests run under the race detector, which slows the largest of them tenfold.
const raceEnabled = false
