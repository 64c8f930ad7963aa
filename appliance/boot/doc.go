// Package boot is the appliance's PID 1 (cmd/statbox-init): it mounts the
// kernel's file systems and the data partition, loads the kernel modules,
// brings up the network and keeps `statbox run` going until power-off.
package boot
