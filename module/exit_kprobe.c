// SPDX-License-Identifier: GPL-2.0
/*
 * Exit backend for kernels without wait_pidfd (before 5.3, RHEL 7 and 8):
 * kprobes on the two places a task's death becomes final.
 *
 * do_notify_parent() is global and never inlined, and runs exactly when a
 * process becomes a zombie its parent can see: from exit_notify() when the
 * leader exits last, from the last thread's release_task() when the leader
 * went first. It is the moment pidfd poll reports from 5.3 on. Traced
 * threads get it too, as they die.
 *
 * release_task() runs as any other thread dies (after exit_notify() has set
 * exit_state), for thread watches.
 *
 * Both are registered only while watches exist (exit_hook.c). Before 5.3
 * exit_notify() sets exit_state only after do_notify_parent(): an arm that
 * races with it cannot trust exit_state, so exit_table.c polls such a watch
 * until the exit is visible.
 */
#include <linux/kprobes.h>

#include "exit_table.h"
#include "pidwait.h"

#ifdef PIDWAIT_EXIT_KPROBE

static struct kprobe kprobe_notify;
static struct kprobe kprobe_release;
static struct kprobe *kprobes[] = { &kprobe_notify, &kprobe_release };

static int exited_pre(struct kprobe *kp, struct pt_regs *regs)
{
	pidwait_table_exited((struct task_struct *)pidwait_regs_arg0(regs));
	return 0;
}

static int kprobes_enable(void)
{
	/* A kprobe keeps its resolved address: start afresh each time. */
	kprobe_notify = (struct kprobe) {
		.symbol_name = "do_notify_parent",
		.pre_handler = exited_pre,
	};
	kprobe_release = (struct kprobe) {
		.symbol_name = "release_task",
		.pre_handler = exited_pre,
	};
	return register_kprobes(kprobes, ARRAY_SIZE(kprobes));
}

static void kprobes_disable(void)
{
	unregister_kprobes(kprobes, ARRAY_SIZE(kprobes));
}

int pidwait_exit_init(void)
{
	return pidwait_table_init(kprobes_enable, kprobes_disable);
}

#endif /* PIDWAIT_EXIT_KPROBE */
