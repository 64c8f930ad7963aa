//go:build ignore

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Block I/O latency per disk: from a request's issue to the device to its
// completion, as a log2 histogram in microseconds per disk.
#include "statbox.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern int LINUX_KERNEL_VERSION __kconfig;

// The kernel's own dev_t layout (include/linux/kdev_t.h), not userspace's.
#define MINORBITS 20
#define MKDEV(ma, mi) (((ma) << MINORBITS) | (mi))

// When each request was issued, by its address. Requests are allocated
// per tag and reused, so the keys recur and a plain hash stays bounded;
// one that never completes (a device gone) is overwritten on its reuse.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} bio_start SEC(".maps");

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

static __always_inline int issue(struct request *rq)
{
	__u64 key = (__u64)rq;
	__u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&bio_start, &key, &ts, BPF_ANY);
	return 0;
}

// 5.11 (commit a54895fa) dropped the request_queue argument that came
// before the request. LINUX_KERNEL_VERSION is a constant at load time, so
// the verifier drops the branch this kernel does not take.
SEC("tp_btf/block_rq_issue")
int block_rq_issue(u64 *ctx)
{
	if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(5, 11, 0))
		return issue((void *)ctx[0]);
	return issue((void *)ctx[1]);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq)
{
	struct disk_hist *h, zero = {};
	struct gendisk *disk;
	__u64 key = (__u64)rq;
	__u64 *tsp;
	__s64 delta;
	__u32 dev, slot;

	tsp = bpf_map_lookup_elem(&bio_start, &key);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&bio_start, &key);
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
	slot = hist_slot(delta);
	// Completions of one disk can run on several CPUs at once.
	__sync_fetch_and_add(&h->slot[slot], 1);
	return 0;
}
