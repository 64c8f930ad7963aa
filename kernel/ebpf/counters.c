//go:build ignore

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Event counters: one per-CPU block of eight u64, one slot per event, so an
// event costs a per-CPU lookup and an add with no atomic and no shared cache
// line. Go sums the CPUs and takes the difference between two reads.
#include "statbox.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// The slots; counters.go has the same list.
enum {
	C_SYSCALLS = 0,
	C_TCP_RETRANSMITS,
	C_TCP_RESETS_SENT,
	C_TCP_RESETS_RECEIVED,
	C_PROC_EXEC,
	C_PROC_EXIT,
	C_PROC_FORK,
	C_OOM_KILLS,
	C_SLOTS,
};

struct counter_block {
	__u64 slot[C_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counter_block);
} counters SEC(".maps");

static __always_inline int count(int slot)
{
	__u32 zero = 0;
	struct counter_block *b = bpf_map_lookup_elem(&counters, &zero);

	// The bound lets the verifier see the index stays inside the block.
	if (b && slot >= 0 && slot < C_SLOTS)
		b->slot[slot]++;
	return 0;
}

// raw_syscalls:sys_enter fires on every system call of every task: this
// program is the one whose cost matters (see BenchmarkSyscallProbe).
SEC("tp_btf/sys_enter")
int sys_enter(u64 *ctx)
{
	return count(C_SYSCALLS);
}

SEC("tp_btf/tcp_retransmit_skb")
int tcp_retransmit_skb(u64 *ctx)
{
	return count(C_TCP_RETRANSMITS);
}

SEC("tp_btf/tcp_send_reset")
int tcp_send_reset(u64 *ctx)
{
	return count(C_TCP_RESETS_SENT);
}

SEC("tp_btf/tcp_receive_reset")
int tcp_receive_reset(u64 *ctx)
{
	return count(C_TCP_RESETS_RECEIVED);
}

SEC("tp_btf/sched_process_exec")
int sched_process_exec(u64 *ctx)
{
	return count(C_PROC_EXEC);
}

// sched_process_exit fires for every thread; a process has exited when its
// thread-group leader has (the pid that ps shows is the leader's).
SEC("tp_btf/sched_process_exit")
int sched_process_exit(u64 *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	if ((__u32)id != (__u32)(id >> 32))
		return 0;
	return count(C_PROC_EXIT);
}

// sched_process_fork fires for threads too; a new process is a child that
// leads its own thread group.
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	if (child->pid != child->tgid)
		return 0;
	return count(C_PROC_FORK);
}

// oom:mark_victim fires once for each task the OOM killer picks, whether the
// limit was the machine's or a cgroup's.
SEC("tp_btf/mark_victim")
int mark_victim(u64 *ctx)
{
	return count(C_OOM_KILLS);
}
