//go:build !race

// Package race says whether the race detector is on. Under it sync.Pool
// drops entries at random and the instrumentation allocates, so tests that
// count allocations skip their assertion.
package race

// Enabled is true in a build with -race.
const Enabled = false
