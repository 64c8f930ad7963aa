package statsd

import "unsafe"

// havePrefetch is whether prefetch asks the CPU for the memory.
const havePrefetch = true

// prefetch asks the CPU to bring the cache line at p into its caches
// without waiting for it: unlike a load, it holds nothing up while the line
// comes. p need not be valid memory.
//
//go:noescape
func prefetch(p unsafe.Pointer)
