//go:build race

package api

// raceEnabled: the race detector is on; sync.Pool then drops items at random, so tests that
// count allocations skip.
const raceEnabled = true
