//go:build race

package schema

// raceEnabled: under the race detector sync.Pool drops entries at random, so
// regexp allocates matchers that it otherwise reuses.
const raceEnabled = true
