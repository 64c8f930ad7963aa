// Package proc is host collection from /proc, /sys and statfs: Diamond's
// default collectors (cpu, memory, loadavg, vmstat, diskspace, iostat) and
// its network and sockstat collectors, with Diamond's metric names, units
// and rate maths, so that dashboards built on Diamond keep working. What
// Diamond does, and where statbox deliberately differs, is written up in
// ../../../shared/diamond-names.md and in each collector's doc comment.
//
// Rates follow Diamond: cpu, vmstat and network divide a counter's change
// by the configured interval (not the measured time), iostat by the
// measured time; the first sample of a counter publishes 0 where Diamond
// does (cpu, vmstat, network). A counter that goes backwards is a wrap only
// when it was in the upper half of 32 bits (a 32-bit counter); any other
// decrease is a reset, and that sample is skipped and counted, where
// Diamond would publish a spike of about 2^64 divided by the interval.
package proc
