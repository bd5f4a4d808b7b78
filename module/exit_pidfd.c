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
 * waiting leader exits, and when a pid loses its task (a thread released,
 * or one that gave its TID up by calling execve), which serves thread
 * watches (a leader's own waits for its process, see watch.c). Before that
 * nothing wakes it for a thread: thread watches go to the pid table of the
 * kprobe backend (exit_table.c), whose hooks are armed only while they
 * exist.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/pid.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/wait.h>

#include "exit_table.h"
#include "pidwait.h"

#ifdef PIDWAIT_EXIT_PIDFD

static int pidwait_exit_wake(struct wait_queue_entry *wait, unsigned int mode,
			     int sync, void *key)
{
	pidwait_watch_check(container_of(wait, struct pidwait_watch,
					 link.wait));
	return 0;
}

#ifdef PIDWAIT_THREAD_HOOKS

static bool thread_hooks_work;

int pidwait_exit_init(void)
{
	int ret = pidwait_table_init(&pidwait_kprobe_hooks);

	if (ret)
		pr_warn("thread watches unavailable: cannot probe the exit path (%d)\n",
			ret);
	thread_hooks_work = !ret;
	return 0;
}

void pidwait_exit_cleanup(void)
{
	pidwait_table_cleanup();
}

static bool thread_watches_work(void)
{
	return thread_hooks_work;
}

#else /* !PIDWAIT_THREAD_HOOKS */

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

#endif /* PIDWAIT_THREAD_HOOKS */

u32 pidwait_exit_arm_flags(void)
{
	return thread_watches_work() ? PIDWAIT_ARM_THREAD : 0;
}

/* Before 6.9 thread watches are in the table. */
static bool in_table(const struct pidwait_watch *w)
{
#ifdef PIDWAIT_THREAD_HOOKS
	return w->flags & PIDWAIT_ARM_THREAD;
#else
	return false;
#endif
}

int pidwait_exit_attach(struct pidwait_watch *w)
{
	if (in_table(w))
		return pidwait_table_attach(w);
	init_waitqueue_func_entry(&w->link.wait, pidwait_exit_wake);
	add_wait_queue(&w->pid->wait_pidfd, &w->link.wait);
	return 0;
}

void pidwait_exit_detach(struct pidwait_watch *w)
{
	if (in_table(w))
		pidwait_table_detach(w);
	else
		remove_wait_queue(&w->pid->wait_pidfd, &w->link.wait);
}

#endif /* PIDWAIT_EXIT_PIDFD */
