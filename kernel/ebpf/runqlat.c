//go:build ignore

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Run-queue latency: the time from a task being made runnable (woken, new,
// or preempted while still runnable) to it running on a CPU, as a log2
// histogram in microseconds.
#include "statbox.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TASK_RUNNING 0

// When each runnable task was queued, by pid. Every queued task runs
// again (even to exit), which deletes its entry, so a plain preallocated
// hash does: an LRU hash would take a lock and a list update on the
// scheduler's hottest path. Were it full, waits would go uncounted.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} runq_start SEC(".maps");

struct runq_hist {
	__u64 slot[HIST_SLOTS];
};

// Per-CPU so the scheduler's hottest path never shares a cache line; one
// entry holding the whole histogram so Go reads it in one system call.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct runq_hist);
} runq_hist SEC(".maps");

// Queue times before this (CLOCK_MONOTONIC ns, bpf_ktime_get_ns's clock)
// are stale: Go sets it when Options.Window attaches the programs again,
// so a task queued before they were detached is not counted as waiting
// all that time.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} runq_since SEC(".maps");

static __always_inline int stale(__u64 ts)
{
	__u32 zero = 0;
	__u64 *since = bpf_map_lookup_elem(&runq_since, &zero);

	return since && ts < *since;
}

// task_struct.state became __state in 5.14; the flavour lets CO-RE find
// whichever the running kernel has.
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

// t is a BTF pointer (tp_btf), so its fields are plain loads, with no
// probe-read helper call on every context switch.
static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___pre514 *)t)->state;
}

static __always_inline int enqueue(__u32 pid)
{
	__u64 ts;

	if (!pid) // the idle task is never queued
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&runq_start, &pid, &ts, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	return enqueue(p->pid);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	return enqueue(p->pid);
}

// sched_switch's first three arguments have been (preempt, prev, next)
// since before 5.8; 5.18 appended prev_state, which is not needed here.
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct runq_hist *h;
	__u32 pid, zero = 0;
	__u64 *tsp;
	__s64 delta;

	if (task_state(prev) == TASK_RUNNING)
		enqueue(prev->pid);

	pid = next->pid;
	tsp = bpf_map_lookup_elem(&runq_start, &pid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	if (stale(*tsp))
		delta = -1;
	bpf_map_delete_elem(&runq_start, &pid);
	if (delta < 0)
		return 0;
	h = bpf_map_lookup_elem(&runq_hist, &zero);
	if (h)
		h->slot[hist_slot(delta)]++;
	return 0;
}

// The same, with each task's queue time kept in the task itself (task
// local storage, Linux 5.11): no hash bucket lock and no free-list on the
// scheduler's path, which halves what the probe costs a context switch.
// The Go loader tries these first and falls back to the hash ones above.

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} runq_ts SEC(".maps");

static __always_inline int enqueue_task(struct task_struct *t)
{
	__u64 *ts;

	if (!t->pid)
		return 0;
	ts = bpf_task_storage_get(&runq_ts, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_ts, struct task_struct *p)
{
	return enqueue_task(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_ts, struct task_struct *p)
{
	return enqueue_task(p);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_ts, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct runq_hist *h;
	__u32 zero = 0;
	__u64 *tsp;
	__s64 delta;

	if (task_state(prev) == TASK_RUNNING)
		enqueue_task(prev);

	if (!next->pid)
		return 0;
	tsp = bpf_task_storage_get(&runq_ts, next, 0, 0);
	if (!tsp || !*tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	if (stale(*tsp))
		delta = -1;
	*tsp = 0; // measured: a later switch to it without a wakeup is not a wait
	if (delta < 0)
		return 0;
	h = bpf_map_lookup_elem(&runq_hist, &zero);
	if (h)
		h->slot[hist_slot(delta)]++;
	return 0;
}
