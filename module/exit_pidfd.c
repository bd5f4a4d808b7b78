// SPDX-License-Identifier: GPL-2.0
/*
 * Exit backend for kernels whose struct pid has wait_pidfd (5.3 and later).
 *
 * do_notify_parent() wakes pid->wait_pidfd, under tasklist_lock, exactly when
 * a pidfd for the process becomes readable: a wait entry of our own there
 * gives pidfd's moment and costs unrelated exits nothing. exit_state is set
 * before that wake, so checking a watch after adding its entry loses nothing.
 *
 * From 6.9 the kernel also wakes wait_pidfd when any thread exits, which
 * serves thread watches. Before that nothing wakes it for a thread, so while
 * thread watches exist two kprobes add the missing wakes, both after
 * exit_notify() has set exit_state: release_task() for a thread reaped as it
 * dies, do_task_dead() for a thread left a zombie (a leader that went first).
 */
#include <linux/kprobes.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/wait.h>

#include "pidwait.h"

#ifdef PIDWAIT_EXIT_PIDFD

static int pidwait_exit_wake(struct wait_queue_entry *wait, unsigned int mode,
			     int sync, void *key)
{
	pidwait_watch_check(container_of(wait, struct pidwait_watch, link.wait));
	return 0;
}

#ifdef PIDWAIT_THREAD_KPROBES

static DEFINE_MUTEX(thread_kprobes_mutex);
static unsigned int thread_kprobes_users;
static bool thread_kprobes_work;

static void pidwait_poke(struct task_struct *task)
{
	struct pid *pid;

	/* A zombie leader may be reaped under us: RCU keeps its pid. */
	rcu_read_lock();
	pid = task_pid(task);
	if (pid)
		wake_up_all(&pid->wait_pidfd);
	rcu_read_unlock();
}

static int pidwait_release_task_pre(struct kprobe *kp, struct pt_regs *regs)
{
	pidwait_poke((struct task_struct *)pidwait_regs_arg0(regs));
	return 0;
}

static int pidwait_do_task_dead_pre(struct kprobe *kp, struct pt_regs *regs)
{
	pidwait_poke(current);
	return 0;
}

static struct kprobe thread_kprobe_release;
static struct kprobe thread_kprobe_dead;
static struct kprobe *thread_kprobes[] = {
	&thread_kprobe_release, &thread_kprobe_dead,
};

static int thread_kprobes_register(void)
{
	/* A kprobe keeps its resolved address: start afresh each time. */
	thread_kprobe_release = (struct kprobe) {
		.symbol_name = "release_task",
		.pre_handler = pidwait_release_task_pre,
	};
	thread_kprobe_dead = (struct kprobe) {
		.symbol_name = "do_task_dead",
		.pre_handler = pidwait_do_task_dead_pre,
	};
	return register_kprobes(thread_kprobes, ARRAY_SIZE(thread_kprobes));
}

static void thread_kprobes_unregister(void)
{
	unregister_kprobes(thread_kprobes, ARRAY_SIZE(thread_kprobes));
}

/* The kprobes exist only while thread watches do. */
static int thread_kprobes_get(void)
{
	int ret = 0;

	mutex_lock(&thread_kprobes_mutex);
	if (!thread_kprobes_users)
		ret = thread_kprobes_register();
	if (!ret)
		thread_kprobes_users++;
	mutex_unlock(&thread_kprobes_mutex);
	return ret;
}

static void thread_kprobes_put(void)
{
	mutex_lock(&thread_kprobes_mutex);
	if (!--thread_kprobes_users)
		thread_kprobes_unregister();
	mutex_unlock(&thread_kprobes_mutex);
}

static void thread_kprobes_probe(void)
{
	int ret = thread_kprobes_register();

	if (ret) {
		pr_warn("thread watches unavailable: cannot probe release_task/do_task_dead (%d)\n",
			ret);
		return;
	}
	thread_kprobes_unregister();
	thread_kprobes_work = true;
}

static bool thread_watches_work(void)
{
	return thread_kprobes_work;
}

#else /* !PIDWAIT_THREAD_KPROBES */

static int thread_kprobes_get(void)
{
	return 0;
}

static void thread_kprobes_put(void)
{
}

static void thread_kprobes_probe(void)
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

#endif /* PIDWAIT_THREAD_KPROBES */

int pidwait_exit_init(void)
{
	thread_kprobes_probe();
	return 0;
}

void pidwait_exit_cleanup(void)
{
}

u32 pidwait_exit_arm_flags(void)
{
	return thread_watches_work() ? PIDWAIT_ARM_THREAD : 0;
}

int pidwait_exit_attach(struct pidwait_watch *w)
{
	if (w->flags & PIDWAIT_ARM_THREAD) {
		int ret = thread_kprobes_get();

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
		thread_kprobes_put();
}

#endif /* PIDWAIT_EXIT_PIDFD */
