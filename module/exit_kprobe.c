// SPDX-License-Identifier: GPL-2.0
/*
 * Exit hooks for kernels without wait_pidfd (before 5.3, RHEL 7 and 8), and
 * for thread watches where the kernel does not wake wait_pidfd for a thread
 * (before 6.9): kprobes on the two places a task's death becomes final.
 *
 * do_notify_parent() is global and never inlined, and runs exactly when a
 * process becomes a zombie its parent can see: from exit_notify() when the
 * leader exits last, from the last thread's release_task() when the leader
 * went first. It is the moment pidfd poll reports from 5.3 on. Traced
 * threads get it too, as they die.
 *
 * release_task() runs as any other thread dies (after exit_notify() has set
 * exit_state), for thread watches. A thread that calls execve gives its
 * TID up without dying: the exec tracepoint (exit_tracepoint.c) sees that.
 *
 * The kprobes are registered disabled at load, which checks that they can
 * be placed without patching anything, and armed only while watches need
 * them (exit_hook.c). Before 5.3 exit_notify() sets exit_state only after
 * do_notify_parent(): an arm that races with it cannot trust exit_state,
 * so exit_table.c polls such a watch until the exit is visible.
 */
#include <linux/kprobes.h>

#include "exit_hook.h"
#include "exit_table.h"
#include "pidwait.h"

#if defined(PIDWAIT_EXIT_KPROBE) || defined(PIDWAIT_THREAD_HOOKS)

static int exited_pre(struct kprobe *kp, struct pt_regs *regs)
{
	pidwait_table_exited((struct task_struct *)pidwait_regs_arg0(regs), false);
	return 0;
}

static struct kprobe kprobe_notify = {
	.symbol_name = "do_notify_parent",
	.pre_handler = exited_pre,
	.flags = KPROBE_FLAG_DISABLED,
};

static struct kprobe kprobe_release = {
	.symbol_name = "release_task",
	.pre_handler = exited_pre,
	.flags = KPROBE_FLAG_DISABLED,
};

static struct kprobe *kprobes[] = { &kprobe_notify, &kprobe_release };

static int kprobes_prepare(void)
{
	int ret;

	ret = pidwait_exec_hook_prepare();
	if (ret)
		return ret;
	/* Disabled: the address is resolved and checked, no text patched. */
	return register_kprobes(kprobes, ARRAY_SIZE(kprobes));
}

static int kprobes_enable(void)
{
	unsigned int i;
	int ret;

	ret = pidwait_exec_hook_enable();
	if (ret)
		return ret;
	for (i = 0; i < ARRAY_SIZE(kprobes); i++) {
		ret = enable_kprobe(kprobes[i]);
		if (ret)
			break;
	}
	if (ret) {
		while (i--)
			disable_kprobe(kprobes[i]);
		pidwait_exec_hook_disable();
	}
	return ret;
}

static void kprobes_disable(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(kprobes); i++)
		disable_kprobe(kprobes[i]);
	pidwait_exec_hook_disable();
}

static void kprobes_release(void)
{
	unregister_kprobes(kprobes, ARRAY_SIZE(kprobes));
	pidwait_tracepoints_sync();
}

const struct pidwait_hook_ops pidwait_kprobe_hooks = {
	.prepare = kprobes_prepare,
	.enable = kprobes_enable,
	.disable = kprobes_disable,
	.release = kprobes_release,
};

#endif
