//go:build race

package kb

// raceEnabled is true under -race, which slows CPU-bound code several times.
const raceEnabled = true
