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
//
// Where statbox differs from Diamond, on purpose:
//   - A CPU, interface or disk that was absent last round starts afresh
//     (cpu and network publish 0, iostat nothing) rather than dividing
//     the change over its absence by one interval.
//   - Every sample of a round has the round's timestamp, a wall-clock
//     multiple of the interval; Diamond stamps each with time.time() and
//     staggers collectors randomly within the interval. iostat's measured
//     time is the time between those rounds.
//   - diskspace reads /proc/self/mountinfo for the device numbers Diamond
//     gets from stat(2), and gives a network file system's statfs a
//     timeout, so a hung NFS server costs its mount's samples, not the
//     round.
//   - network and sockets are on, though Diamond's example configuration
//     leaves them off: issue 6 asks for them.
//   - The host name is os.Hostname up to its first dot, without Diamond's
//     DNS lookup (socket.getfqdn), which an appliance without DNS lacks.
//
// Values are rounded to the decimals Diamond printed them with (memory in
// whole bytes, cpu to 0.01, iostat to 0.001, packet rates whole), since
// carbon stored what Diamond printed.
package proc
