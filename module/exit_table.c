// SPDX-License-Identifier: GPL-2.0
/*
 * The pid table of the exit hooks (exit_kprobe.c, exit_tracepoint.c):
 * every watch they serve, hashed by its pid's number in the initial
 * namespace, so that a hook on the exit path finds the watches of a dying
 * task in O(1), unrelated exits cost one bucket lookup, and the TID a
 * thread gives up when it calls execve can be found by number after its
 * struct pid is gone from the task.
 *
 * A hook that runs before the exit is final (the tracepoint, which comes
 * before exit_files(); or an arm racing with do_notify_parent(), which
 * before 5.3 runs before exit_state is set) puts the watches on a poll
 * list instead, and a worker re-checks them,
 * soon at first, then backing off, until they fire.
 *
 * Locks: a bucket's lock, then poll_lock, then the file's lock.
 */
#include <linux/hash.h>
#include <linux/jiffies.h>
#include <linux/list.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "compat/kvmalloc.h"
#include "compat/sched.h"
#include "exit_hook.h"
#include "exit_table.h"
#include "pidwait.h"

#ifdef PIDWAIT_EXIT_TABLE

#define TABLE_BITS	16
#define LOCK_BITS	8
#define POLL_MAX_DELAY	(HZ / 10)
/* Watches checked with interrupts off before the poller lets go. */
#define POLL_BATCH	64

static struct hlist_head *table;
static spinlock_t table_locks[1 << LOCK_BITS];
static struct pidwait_hook hook;

static LIST_HEAD(poll_list);
static DEFINE_SPINLOCK(poll_lock);
static unsigned long poll_delay;

static void poll_watches(struct work_struct *work);
static DECLARE_DELAYED_WORK(poll_work, poll_watches);

static unsigned int bucket_of_nr(pid_t nr)
{
	return hash_32((u32)nr, TABLE_BITS);
}

/* The number stays in a struct pid after it is freed for reuse. */
static unsigned int bucket_of(struct pid *pid)
{
	return bucket_of_nr(pid_nr(pid));
}

static spinlock_t *lock_of(unsigned int bucket)
{
	return &table_locks[bucket & ((1 << LOCK_BITS) - 1)];
}

int pidwait_table_init(const struct pidwait_hook_ops *hooks)
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
	ret = pidwait_hook_init(&hook, hooks);
	if (ret) {
		pidwait_kvfree(table);
		table = NULL;
	}
	return ret;
}

/* At unload: every file is closed, so the table and the poll list are empty. */
void pidwait_table_cleanup(void)
{
	if (!table)
		return;
	pidwait_hook_cleanup(&hook);
	cancel_delayed_work_sync(&poll_work);
	pidwait_kvfree(table);
	table = NULL;
}

/* Under poll_lock. */
static void poll_add(struct pidwait_watch *w)
{
	if (!list_empty(&w->link.table.poll) ||
	    READ_ONCE(w->state) != PIDWAIT_ARMED)
		return;
	list_add_tail(&w->link.table.poll, &poll_list);
	poll_delay = 1;
	mod_delayed_work(system_wq, &poll_work, 0);
}

/*
 * Checks every watch on the list once, in batches: detach takes watches
 * off while the lock is let go, and interrupts are never off for long.
 */
static void poll_watches(struct work_struct *work)
{
	struct pidwait_watch *w;
	bool fired = false;
	unsigned int n = 0;
	LIST_HEAD(pending);

	spin_lock_irq(&poll_lock);
	list_splice_init(&poll_list, &pending);
	while (!list_empty(&pending)) {
		w = list_first_entry(&pending, struct pidwait_watch,
				     link.table.poll);
		pidwait_watch_check(w);
		if (READ_ONCE(w->state) != PIDWAIT_ARMED) {
			list_del_init(&w->link.table.poll);
			fired = true;
		} else {
			list_move_tail(&w->link.table.poll, &poll_list);
		}
		if (++n % POLL_BATCH == 0) {
			spin_unlock_irq(&poll_lock);
			cond_resched();
			spin_lock_irq(&poll_lock);
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

static void table_fire(struct pidwait_watch *w, struct task_struct *task,
		       bool nowake)
{
#ifdef PIDWAIT_EXIT_TRACEPOINT
	if (nowake) {
		pidwait_watch_fire_nowake(w, task);
		return;
	}
#endif
	pidwait_watch_fire(w, task);
}

void pidwait_table_exited(struct task_struct *task, bool nowake)
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
		hlist_for_each_entry(w, &table[b], link.table.node)
			if (w->pid == pid)
				table_fire(w, task, nowake);
		spin_unlock_irqrestore(lock_of(b), flags);
	}
	rcu_read_unlock();
}

/* Poll the watches on @pid; they note @task's status now. */
static void poll_pid(struct pid *pid, struct task_struct *task)
{
	unsigned int b = bucket_of(pid);
	struct pidwait_watch *w;
	unsigned long flags;

	spin_lock_irqsave(lock_of(b), flags);
	hlist_for_each_entry(w, &table[b], link.table.node) {
		if (w->pid == pid) {
			pidwait_watch_note(w, task);
			spin_lock(&poll_lock);
			poll_add(w);
			spin_unlock(&poll_lock);
		}
	}
	spin_unlock_irqrestore(lock_of(b), flags);
}

/* Under RCU: its whole thread group is on its way out, or it is. */
static bool group_exiting(struct task_struct *task)
{
	return !atomic_read(&task->signal->live);
}

void pidwait_table_exiting(struct task_struct *task)
{
	/*
	 * The watches note the status under RCU (the task's credentials): a
	 * tracepoint's probe runs with preemption off only, which
	 * rcu_dereference() does not take for a read side.
	 */
	rcu_read_lock();
	/* The last thread out ends its process, and its leader's TID. */
	if (group_exiting(task))
		poll_pid(task_tgid(task), task->group_leader);
	/* A thread is reaped as it dies: the poll may never see it dead. */
	if (!thread_group_leader(task))
		poll_pid(task_pid(task), task);
	rcu_read_unlock();
}

void pidwait_table_exec(pid_t old_tid)
{
	unsigned int b = bucket_of_nr(old_tid);
	struct pidwait_watch *w;
	unsigned long flags;

	/* Its struct pid has no task now: pidfd's rule says ready. */
	spin_lock_irqsave(lock_of(b), flags);
	hlist_for_each_entry(w, &table[b], link.table.node)
		if (pid_nr(w->pid) == old_tid)
			pidwait_watch_check(w);
	spin_unlock_irqrestore(lock_of(b), flags);
}

/* Its target may have passed the hooks already: poll it. */
static void poll_if_exiting(struct pidwait_watch *w)
{
	struct task_struct *task;
	unsigned long flags;
	bool exiting;

	rcu_read_lock();
	task = pid_task(w->pid, PIDTYPE_PID);
	exiting = task && (thread_group_leader(task) ? group_exiting(task) :
			   (task->flags & PF_EXITING));
	rcu_read_unlock();
	if (exiting) {
		spin_lock_irqsave(&poll_lock, flags);
		poll_add(w);
		spin_unlock_irqrestore(&poll_lock, flags);
	}
}

int pidwait_table_attach(struct pidwait_watch *w)
{
	unsigned int b = bucket_of(w->pid);
	unsigned long flags;
	int ret;

	ret = pidwait_hook_get(&hook);
	if (ret)
		return ret;
	INIT_LIST_HEAD(&w->link.table.poll);
	spin_lock_irqsave(lock_of(b), flags);
	hlist_add_head(&w->link.table.node, &table[b]);
	spin_unlock_irqrestore(lock_of(b), flags);
	poll_if_exiting(w);
	return 0;
}

void pidwait_table_detach(struct pidwait_watch *w)
{
	unsigned int b = bucket_of(w->pid);
	unsigned long flags;

	spin_lock_irqsave(lock_of(b), flags);
	hlist_del(&w->link.table.node);
	spin_unlock_irqrestore(lock_of(b), flags);

	spin_lock_irqsave(&poll_lock, flags);
	list_del_init(&w->link.table.poll);
	spin_unlock_irqrestore(&poll_lock, flags);
	pidwait_hook_put(&hook);
}

#if defined(PIDWAIT_EXIT_KPROBE) || defined(PIDWAIT_EXIT_TRACEPOINT)
/* The hook backends (exit.h): every watch is in the table. */

int pidwait_exit_init(void)
{
#ifdef PIDWAIT_EXIT_KPROBE
	return pidwait_table_init(&pidwait_kprobe_hooks);
#else
	return pidwait_table_init(&pidwait_tracepoint_hooks);
#endif
}

void pidwait_exit_cleanup(void)
{
	pidwait_table_cleanup();
}

u32 pidwait_exit_arm_flags(void)
{
	return PIDWAIT_ARM_THREAD;
}

int pidwait_exit_attach(struct pidwait_watch *w)
{
	return pidwait_table_attach(w);
}

void pidwait_exit_detach(struct pidwait_watch *w)
{
	pidwait_table_detach(w);
}
#endif

#endif /* PIDWAIT_EXIT_TABLE */
