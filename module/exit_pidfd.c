// SPDX-License-Identifier: GPL-2.0
/*
 * Exit backend for kernels whose struct pid has wait_pidfd (5.3 and later).
 *
 * do_notify_parent() wakes pid->wait_pidfd, under tasklist_lock, exactly when
 * a pidfd for the process becomes readable: a wait entry of our own there
 * gives pidfd's moment and costs unrelated exits nothing. exit_state is set
 * before that wake, so checking a watch after adding its entry loses nothing.
 *
 * From 6.9 the kernel also wakes wait_pidfd when a thread other than a
 * waiting leader exits, which serves thread watches (a leader's own waits
 * for its process, see watch.c). Before that nothing wakes it for a thread,
 * so while thread watches exist (see exit_hook.c) a kprobe on release_task()
 * adds the wake: a thread is released as it dies, after exit_notify() has
 * set exit_state; a traced one is woken by do_notify_parent() first.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/pid.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/wait.h>

#include "exit_hook.h"
#include "pidwait.h"

#ifdef PIDWAIT_EXIT_PIDFD

static int pidwait_exit_wake(struct wait_queue_entry *wait, unsigned int mode,
			     int sync, void *key)
{
	pidwait_watch_check(container_of(wait, struct pidwait_watch, link.wait));
	return 0;
}

#ifdef PIDWAIT_THREAD_KPROBES

static struct kprobe thread_kprobe;
static struct pidwait_hook thread_hook;
static bool thread_hook_works;

static int pidwait_release_task_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct task_struct *task = (struct task_struct *)pidwait_regs_arg0(regs);

	/* Attached until release_task() detaches it, so the pid is live. */
	wake_up_all(&task_pid(task)->wait_pidfd);
	return 0;
}

static int thread_kprobe_enable(void)
{
	/* A kprobe keeps its resolved address: start afresh each time. */
	thread_kprobe = (struct kprobe) {
		.symbol_name = "release_task",
		.pre_handler = pidwait_release_task_pre,
	};
	return register_kprobe(&thread_kprobe);
}

static void thread_kprobe_disable(void)
{
	unregister_kprobe(&thread_kprobe);
}

int pidwait_exit_init(void)
{
	int ret;

	pidwait_hook_init(&thread_hook, thread_kprobe_enable,
			  thread_kprobe_disable);
	ret = pidwait_hook_try(&thread_hook);
	if (ret)
		pr_warn("thread watches unavailable: cannot probe release_task (%d)\n",
			ret);
	thread_hook_works = !ret;
	return 0;
}

void pidwait_exit_cleanup(void)
{
	pidwait_hook_cleanup(&thread_hook);
}

static bool thread_watches_work(void)
{
	return thread_hook_works;
}

static int thread_watch_get(void)
{
	return pidwait_hook_get(&thread_hook);
}

static void thread_watch_put(void)
{
	pidwait_hook_put(&thread_hook);
}

#else /* !PIDWAIT_THREAD_KPROBES */

int pidwait_exit_init(void)
{
	return 0;
}

void pidwait_exit_cleanup(void)
{
}

static bool thread_watches_work(void)
{
#ifdef PIDWAIT_HAVE_PIDFD_THREAD_WAKE
	return true;
#else
	return false;
#endif
}

static int thread_watch_get(void)
{
	return 0;
}

static void thread_watch_put(void)
{
}

#endif /* PIDWAIT_THREAD_KPROBES */

u32 pidwait_exit_arm_flags(void)
{
	return thread_watches_work() ? PIDWAIT_ARM_THREAD : 0;
}

int pidwait_exit_attach(struct pidwait_watch *w)
{
	if (w->flags & PIDWAIT_ARM_THREAD) {
		int ret = thread_watch_get();

		if (ret)
			return ret;
	}
	init_waitqueue_func_entry(&w->link.wait, pidwait_exit_wake);
	add_wait_queue(&w->pid->wait_pidfd, &w->link.wait);
	return 0;
}

void pidwait_exit_detach(struct pidwait_watch *w)
{
	remove_wait_queue(&w->pid->wait_pidfd, &w->link.wait);
	if (w->flags & PIDWAIT_ARM_THREAD)
		thread_watch_put();
}

#endif /* PIDWAIT_EXIT_PIDFD */
