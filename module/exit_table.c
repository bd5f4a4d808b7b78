// SPDX-License-Identifier: GPL-2.0
/*
 * The pid table of the hook backends (exit_kprobe.c, exit_tracepoint.c):
 * every watch of every file, hashed by its struct pid, so that a hook on
 * the exit path finds the watches of a dying task in O(1) and unrelated
 * exits cost one bucket lookup.
 *
 * A hook that runs before the exit is final (the tracepoint, which comes
 * before exit_files(); or an arm racing with do_notify_parent(), which
 * before 5.3 runs before exit_state is set) puts the watches on a poll
 * list instead, and a worker re-checks them, soon at first, then backing
 * off, until they fire.
 *
 * Locks: a bucket's lock, then poll_lock, then the file's lock.
 */
#include <linux/hash.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "compat/kvmalloc.h"
#include "compat/sched.h"
#include "exit_hook.h"
#include "exit_table.h"
#include "pidwait.h"

#if defined(PIDWAIT_EXIT_KPROBE) || defined(PIDWAIT_EXIT_TRACEPOINT)

#define TABLE_BITS	16
#define LOCK_BITS	8
#define POLL_MAX_DELAY	(HZ / 10)

static struct hlist_head *table;
static spinlock_t table_locks[1 << LOCK_BITS];
static struct pidwait_hook hook;

static LIST_HEAD(poll_list);
static DEFINE_SPINLOCK(poll_lock);
static unsigned long poll_delay;

static void poll_watches(struct work_struct *work);
static DECLARE_DELAYED_WORK(poll_work, poll_watches);

static unsigned int bucket_of(const struct pid *pid)
{
	return hash_ptr(pid, TABLE_BITS);
}

static spinlock_t *lock_of(unsigned int bucket)
{
	return &table_locks[bucket & ((1 << LOCK_BITS) - 1)];
}

int pidwait_table_init(int (*enable)(void), void (*disable)(void))
{
	unsigned int i;
	int ret;

	table = pidwait_kvmalloc_array(1 << TABLE_BITS, sizeof(*table),
				       GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	for (i = 0; i < 1 << TABLE_BITS; i++)
		INIT_HLIST_HEAD(&table[i]);
	for (i = 0; i < 1 << LOCK_BITS; i++)
		spin_lock_init(&table_locks[i]);
	pidwait_hook_init(&hook, enable, disable);
	ret = pidwait_hook_try(&hook);
	if (ret)
		pidwait_kvfree(table);
	return ret;
}

/* At unload: every file is closed, so the table and the poll list are empty. */
void pidwait_exit_cleanup(void)
{
	pidwait_hook_cleanup(&hook);
	cancel_delayed_work_sync(&poll_work);
	pidwait_kvfree(table);
}

u32 pidwait_exit_arm_flags(void)
{
	return PIDWAIT_ARM_THREAD;
}

/* Under poll_lock. */
static void poll_add(struct pidwait_watch *w)
{
	if (!list_empty(&w->link.poll) ||
	    READ_ONCE(w->state) != PIDWAIT_ARMED)
		return;
	list_add_tail(&w->link.poll, &poll_list);
	poll_delay = 1;
	mod_delayed_work(system_wq, &poll_work, poll_delay);
}

static void poll_watches(struct work_struct *work)
{
	struct pidwait_watch *w, *tmp;
	bool fired = false;

	spin_lock_irq(&poll_lock);
	list_for_each_entry_safe(w, tmp, &poll_list, link.poll) {
		pidwait_watch_check(w);
		if (READ_ONCE(w->state) != PIDWAIT_ARMED) {
			list_del_init(&w->link.poll);
			fired = true;
		}
	}
	if (!list_empty(&poll_list)) {
		/* An exit that takes long (a big mm, a slow file) is polled less. */
		poll_delay = fired ? 1 :
			min_t(unsigned long, poll_delay * 2, POLL_MAX_DELAY);
		mod_delayed_work(system_wq, &poll_work, poll_delay);
	}
	spin_unlock_irq(&poll_lock);
}

void pidwait_table_exited(struct task_struct *task)
{
	struct pid *pid = task_pid(task);
	unsigned int b = bucket_of(pid);
	struct pidwait_watch *w;
	unsigned long flags;

	if (!pidwait_exit_final(task))
		return;
	/*
	 * Before 5.11 de_thread() leaves the old leader on the TGID pid behind
	 * the thread that execs, until it releases it: not the process's end.
	 */
	rcu_read_lock();
	if (pid_task(pid, PIDTYPE_PID) == task) {
		spin_lock_irqsave(lock_of(b), flags);
		hlist_for_each_entry(w, &table[b], link.node)
			if (w->pid == pid)
				pidwait_watch_fire(w, task);
		spin_unlock_irqrestore(lock_of(b), flags);
	}
	rcu_read_unlock();
}

/* Poll the watches on @pid; if reaped unseen, they get @task's status. */
static void poll_pid(struct pid *pid, struct task_struct *task)
{
	unsigned int b = bucket_of(pid);
	struct pidwait_watch *w;
	unsigned long flags;

	spin_lock_irqsave(lock_of(b), flags);
	hlist_for_each_entry(w, &table[b], link.node) {
		if (w->pid == pid) {
			pidwait_watch_note(w, task);
			spin_lock(&poll_lock);
			poll_add(w);
			spin_unlock(&poll_lock);
		}
	}
	spin_unlock_irqrestore(lock_of(b), flags);
}

void pidwait_table_exiting(struct task_struct *task)
{
	/* The last thread out ends its process, and its leader's TID. */
	if (!atomic_read(&task->signal->live))
		poll_pid(task_tgid(task), task->group_leader);
	/* A thread is reaped as it dies: the poll may never see it dead. */
	if (!thread_group_leader(task))
		poll_pid(task_pid(task), task);
}

/* Its target may have passed the hooks already: poll it. */
static void poll_if_exiting(struct pidwait_watch *w)
{
	struct task_struct *task;
	unsigned long flags;
	bool exiting;

	rcu_read_lock();
	task = pid_task(w->pid, PIDTYPE_PID);
	exiting = task && (thread_group_leader(task) ?
			   !atomic_read(&task->signal->live) :
			   (task->flags & PF_EXITING));
	rcu_read_unlock();
	if (exiting) {
		spin_lock_irqsave(&poll_lock, flags);
		poll_add(w);
		spin_unlock_irqrestore(&poll_lock, flags);
	}
}

int pidwait_exit_attach(struct pidwait_watch *w)
{
	unsigned int b = bucket_of(w->pid);
	unsigned long flags;
	int ret;

	ret = pidwait_hook_get(&hook);
	if (ret)
		return ret;
	INIT_LIST_HEAD(&w->link.poll);
	spin_lock_irqsave(lock_of(b), flags);
	hlist_add_head(&w->link.node, &table[b]);
	spin_unlock_irqrestore(lock_of(b), flags);
	poll_if_exiting(w);
	return 0;
}

void pidwait_exit_detach(struct pidwait_watch *w)
{
	unsigned int b = bucket_of(w->pid);
	unsigned long flags;

	spin_lock_irqsave(lock_of(b), flags);
	hlist_del(&w->link.node);
	spin_unlock_irqrestore(lock_of(b), flags);

	spin_lock_irqsave(&poll_lock, flags);
	list_del_init(&w->link.poll);
	spin_unlock_irqrestore(&poll_lock, flags);
	pidwait_hook_put(&hook);
}

#endif /* PIDWAIT_EXIT_KPROBE || PIDWAIT_EXIT_TRACEPOINT */
