//go:build !amd64

package statsd

import "unsafe"

// havePrefetch is whether prefetch asks the CPU for the memory: not on this
// architecture, where the table's read-ahead loads instead.
const havePrefetch = false

func prefetch(p unsafe.Pointer) {}
