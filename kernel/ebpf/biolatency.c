//go:build ignore

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Block I/O latency per disk: from a request entering the block layer to
// its completion (I/O scheduler queue and device together, what iostat's
// await averages), as a log2 histogram in microseconds per disk.
//
// The start is the kernel's own: blk-mq stamps rq->start_time_ns when it
// sets a request up, for I/O accounting (queue/iostats, on by default) or
// an I/O scheduler, and has since before 5.8. So one program at completion
// does, with no issue-time program and no map of requests in flight, which
// had cost three times as much.
#include "statbox.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// The kernel's own dev_t layout (include/linux/kdev_t.h), not userspace's.
#define MINORBITS 20
#define MKDEV(ma, mi) (((ma) << MINORBITS) | (mi))

struct disk_hist {
	__u64 slot[HIST_SLOTS];
};

// One histogram per disk, keyed by the kernel's dev_t of the whole disk.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct disk_hist);
} bio_hist SEC(".maps");

// request.rq_disk went away in 5.17 (the disk is found through the queue
// since); the flavour lets CO-RE read whichever the kernel has.
struct request___pre517 {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

// rq is a BTF pointer (tp_btf): the chain is walked with plain loads,
// which the verifier checks against BTF, rather than a probe-read helper
// call per field.
static __always_inline struct gendisk *request_disk(struct request *rq)
{
	struct request___pre517 *old = (void *)rq;

	if (bpf_core_field_exists(old->rq_disk))
		return old->rq_disk;
	return rq->q->disk;
}

// block_rq_complete's first argument has been the request since before
// 5.8.
SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq)
{
	struct disk_hist *h, zero = {};
	struct gendisk *disk;
	__u64 start = rq->start_time_ns;
	__s64 delta;
	__u32 dev;

	// 0: the queue keeps no accounting and has no scheduler.
	if (!start)
		return 0;
	delta = bpf_ktime_get_ns() - start;
	if (delta < 0)
		return 0;

	disk = request_disk(rq);
	if (!disk)
		return 0;
	dev = MKDEV(disk->major, disk->first_minor);

	h = bpf_map_lookup_elem(&bio_hist, &dev);
	if (!h) {
		bpf_map_update_elem(&bio_hist, &dev, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&bio_hist, &dev);
		if (!h)
			return 0;
	}
	// Completions of one disk can run on several CPUs at once.
	__sync_fetch_and_add(&h->slot[hist_slot(delta)], 1);
	return 0;
}
