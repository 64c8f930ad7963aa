/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by statbox's eBPF programs: the includes every program needs and
 * the log2 histogram that biolatency and runqlat fill.
 *
 * Beside it: vmlinux.h, dumped by `make ebpf-vmlinux` (bpftool btf dump
 * file /sys/kernel/btf/vmlinux format c) from a 6.18 kernel; CO-RE
 * relocates its types on every other. bpf_*.h are libbpf's, copied from
 * Debian 12's libbpf-dev (1.1, LGPL-2.1 OR BSD-2-Clause) so that every
 * machine builds against the same ones and generated.sum covers them. */
#ifndef STATBOX_H
#define STATBOX_H

#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_core_read.h"
#include "bpf_tracing.h"

/* HIST_SLOTS log2 buckets: slot 0 holds [0, 2) µs, slot i holds [2^i, 2^(i+1))
 * µs, the last slot everything above. Go reads the same layout (hist.go). */
#define HIST_SLOTS 32

/* log2 rounds v down to a power of two in a few branch-free steps: the
 * verifier of 5.8 has no loops to spare, and this costs about ten
 * instructions. */
static __always_inline __u32 log2_u32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

/* hist_slot is the bucket of a latency in nanoseconds.
 *
 * Its result indexes an array, so the verifier must see it below
 * HIST_SLOTS. A clamp (if (slot >= HIST_SLOTS) slot = HIST_SLOTS - 1) is
 * not enough on every kernel: clang compares a zero-extended copy of slot
 * and indexes with the original, and 6.1's verifier does not carry the
 * bound across ("R0 unbounded memory access"; 6.18's does). A mask bounds
 * the value itself, through any copy; barrier_var keeps clang from
 * dropping it. */
_Static_assert(HIST_SLOTS == 32, "hist_slot caps at 2^31 µs and masks with 31");

static __always_inline __u32 hist_slot(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 slot;

	if (us >> 32) /* 71 minutes and more: the last slot */
		slot = HIST_SLOTS - 1;
	else
		slot = log2_u32(us); /* 0..31 */
	barrier_var(slot);
	return slot & (HIST_SLOTS - 1);
}

#endif
