// SPDX-License-Identifier: GPL-2.0
/*
 * Watches: the per-file table of armed pids, the readiness rule, and the
 * events read() hands out.
 *
 * Locking: file->mutex serialises everything that adds or removes a watch
 * (arm, disarm, read, close) and guards the table. file->lock is taken from
 * the exit path, with interrupts off, and guards watch state and the ready
 * queue. A watch is freed only under file->mutex, after the exit backend has
 * let go of it.
 */
#include <linux/cred.h>
#include <linux/capability.h>
#include <linux/hash.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "compat/capability.h"
#include "compat/dumpable.h"
#include "compat/ktime.h"
#include "compat/kvmalloc.h"
#include "compat/sched.h"
#include "compat/seq_file.h"
#include "pidwait.h"

#define PIDWAIT_TABLE_MIN_BITS	4
#define PIDWAIT_TABLE_MAX_BITS	23
/* Watches per bucket before the table doubles: 4 to 8 bytes of it a watch. */
#define PIDWAIT_TABLE_LOAD	2
/* Buckets or events handled between two chances to reschedule. */
#define PIDWAIT_RESCHED_EVERY	256

static struct kmem_cache *pidwait_watch_cache;

int pidwait_watches_init(void)
{
	pidwait_watch_cache = kmem_cache_create("pidwait_watch",
						sizeof(struct pidwait_watch), 0,
						PIDWAIT_SLAB_ACCOUNT, NULL);
	return pidwait_watch_cache ? 0 : -ENOMEM;
}

void pidwait_watches_exit(void)
{
	kmem_cache_destroy(pidwait_watch_cache);
}

u32 pidwait_arm_flags(void)
{
	return PIDWAIT_ARM_KNOWN & pidwait_exit_arm_flags();
}

/* A process watch and a thread watch on one leader are two watches. */
static unsigned int watch_hash(const struct pid *pid, u32 thread,
			       unsigned int bits)
{
	return hash_long((unsigned long)pid ^ (thread ? 1UL : 0UL), bits);
}

static struct pidwait_watch **watch_bucket(struct pidwait_file *f,
					   const struct pid *pid, u32 thread)
{
	return &f->buckets[watch_hash(pid, thread, f->bits)];
}

static struct pidwait_watch *watch_find(struct pidwait_file *f,
					const struct pid *pid, u32 thread)
{
	struct pidwait_watch *w;

	for (w = *watch_bucket(f, pid, thread); w; w = w->next)
		if (w->pid == pid && (w->flags & PIDWAIT_ARM_THREAD) == thread)
			return w;
	return NULL;
}

static void watch_link(struct pidwait_watch **bucket, struct pidwait_watch *w)
{
	w->next = *bucket;
	*bucket = w;
}

static void watch_unlink(struct pidwait_file *f, struct pidwait_watch *w)
{
	struct pidwait_watch **pp;

	pp = watch_bucket(f, w->pid, w->flags & PIDWAIT_ARM_THREAD);
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
}

static struct pidwait_watch **table_alloc(unsigned int bits)
{
	struct pidwait_watch **buckets;

	buckets = pidwait_kvmalloc_array(1U << bits, sizeof(*buckets),
					 PIDWAIT_GFP_ACCOUNT | __GFP_NOWARN);
	if (buckets)
		memset(buckets, 0, sizeof(*buckets) << bits);
	return buckets;
}

/* Keeps arm and disarm O(1) as the table fills; failing only slows them. */
static void table_grow(struct pidwait_file *f)
{
	unsigned int bits = f->bits + 1, i;
	struct pidwait_watch **buckets, *w, *next;

	if (bits > PIDWAIT_TABLE_MAX_BITS)
		return;
	buckets = table_alloc(bits);
	if (!buckets)
		return;
	for (i = 0; i < 1U << f->bits; i++) {
		for (w = f->buckets[i]; w; w = next) {
			u32 thread = w->flags & PIDWAIT_ARM_THREAD;

			next = w->next;
			watch_link(&buckets[watch_hash(w->pid, thread, bits)], w);
		}
		if (i % PIDWAIT_RESCHED_EVERY == 0)
			cond_resched();
	}
	pidwait_kvfree(f->buckets);
	f->buckets = buckets;
	f->bits = bits;
}

#ifdef PIDWAIT_EXIT_TRACEPOINT
static void file_wake(struct irq_work *work)
{
	struct pidwait_file *f = container_of(work, struct pidwait_file, wake);

	wake_up_poll(&f->wqh, PIDWAIT_POLLIN);
}
#endif

int pidwait_file_init(struct pidwait_file *f, const struct cred *cred)
{
	mutex_init(&f->mutex);
	spin_lock_init(&f->lock);
	f->ready = NULL;
	f->ready_tail = &f->ready;
	init_waitqueue_head(&f->wqh);
#ifdef PIDWAIT_EXIT_TRACEPOINT
	init_irq_work(&f->wake, file_wake);
#endif
	f->bits = PIDWAIT_TABLE_MIN_BITS;
	f->buckets = table_alloc(f->bits);
	if (!f->buckets)
		return -ENOMEM;
	f->user = pidwait_user_get(cred);
	if (!f->user) {
		pidwait_kvfree(f->buckets);
		return -ENOMEM;
	}
	return 0;
}

static void watch_free(struct pidwait_file *f, struct pidwait_watch *w)
{
	if (w->cred)
		put_cred(w->cred);
	put_pid(w->pid);
	kmem_cache_free(pidwait_watch_cache, w);
	pidwait_user_uncharge(f->user);
}

/* Unlinks and frees @w; the caller made sure no event of it is pending. */
static void watch_drop(struct pidwait_file *f, struct pidwait_watch *w)
{
	watch_unlink(f, w);
	f->nr_watches--;
	pidwait_exit_detach(w);
	watch_free(f, w);
}

void pidwait_file_release(struct pidwait_file *f)
{
	struct pidwait_watch *w, *next;
	unsigned int i;

	/* Detach all first: a late wake may still queue others as ready. */
	for (i = 0; i < 1U << f->bits; i++) {
		for (w = f->buckets[i]; w; w = w->next)
			pidwait_exit_detach(w);
		cond_resched();
	}
	for (i = 0; i < 1U << f->bits; i++) {
		for (w = f->buckets[i]; w; w = next) {
			next = w->next;
			watch_free(f, w);
		}
		cond_resched();
	}
	pidwait_kvfree(f->buckets);
	pidwait_user_put(f->user);
#ifdef PIDWAIT_EXIT_TRACEPOINT
	irq_work_sync(&f->wake);
#endif
}

/*
 * ptrace read access as /proc/PID/stat's exit_code is judged (the rules of
 * __ptrace_may_access() and commoncap, with the reader's filesystem ids),
 * but for the capability and dumpability, which the caller checks: the
 * target's real, effective and saved uids and gids are the armer's, and
 * it is in the armer's user namespace with no capability the armer lacks.
 */
static bool creds_allow(const struct cred *armer, const struct cred *tcred)
{
	return uid_eq(armer->fsuid, tcred->uid) &&
	       uid_eq(armer->fsuid, tcred->euid) &&
	       uid_eq(armer->fsuid, tcred->suid) &&
	       gid_eq(armer->fsgid, tcred->gid) &&
	       gid_eq(armer->fsgid, tcred->egid) &&
	       gid_eq(armer->fsgid, tcred->sgid) &&
	       armer->user_ns == tcred->user_ns &&
	       cap_issubset(tcred->cap_permitted, armer->cap_effective);
}

/*
 * Whether the caller may learn how @task ends, as far as can be told now;
 * under RCU. With CAP_SYS_PTRACE over it, yes. Else its credentials must
 * allow it now and when it exits (a setuid, setgid or file-capability
 * program exec'd in between changes them), so the caller's are kept; and
 * it must be dumpable now (once its memory is gone, as ptrace judges it,
 * it counts as dumpable).
 */
static void watch_judge_status(struct pidwait_watch *w, struct task_struct *task)
{
	const struct cred *cred = current_cred();
	const struct cred *tcred = __task_cred(task);
	bool dumpable;

	if (pidwait_ns_capable_noaudit(tcred->user_ns, CAP_SYS_PTRACE)) {
		w->flags |= PIDWAIT_WATCH_PTRACE;
		return;
	}
	if (!creds_allow(cred, tcred))
		return;
	task_lock(task);
	dumpable = pidwait_task_dumpable(task);
	task_unlock(task);
	if (dumpable)
		w->cred = get_cred(cred);
}

/*
 * The status wait_task_zombie() gives the parent. A leader's TID is its
 * process's ID, so a thread watch on a leader gets it too (7.0 even writes
 * the group's code into the leader's own); another thread, its own code.
 */
static int exit_status(struct task_struct *task)
{
	if (thread_group_leader(task) &&
	    (task->signal->flags & SIGNAL_GROUP_EXIT))
		return task->signal->group_exit_code;
	return task->exit_code;
}

/*
 * Whether a dead @task ends the watches on its pid: any thread does, but a
 * leader whose other threads still run. That holds a thread watch on a
 * leader back to its process's moment, as pidfd does from 6.15: a thread
 * that execs takes the leader's ID over.
 */
bool pidwait_exit_final(struct task_struct *task)
{
	return !(thread_group_leader(task) && !thread_group_empty(task));
}

/*
 * Under RCU: whether the armer may see how @task ended. A thread watch's
 * TID may have passed to its process's old leader (de_thread() on 5.7 and
 * later), when the thread called execve: that is not how it ended.
 */
static bool may_see_status(const struct pidwait_watch *w,
			   struct task_struct *task)
{
	if ((w->flags & PIDWAIT_ARM_THREAD) && task != w->thread &&
	    !thread_group_leader(task))
		return false;
	if (w->flags & PIDWAIT_WATCH_PTRACE)
		return true;
	return w->cred && creds_allow(w->cred, __task_cred(task));
}

static bool watch_check(struct pidwait_watch *w);

/* As pidfd_open(): a process is named by its leader's id only. */
static int watch_lookup(struct pidwait_watch *w)
{
	u32 thread = w->flags & PIDWAIT_ARM_THREAD;
	struct task_struct *task;
	int ret = 0;

	rcu_read_lock();
	task = thread ? pid_task(w->pid, PIDTYPE_PID) :
			pidwait_pid_task_tgid(w->pid);
	if (task) {
		watch_judge_status(w, task);
		if (thread)
			w->thread = task;
		/*
		 * Already exited: reaped before the check that follows attach,
		 * it would fire with no task left to tell its status.
		 */
		if (READ_ONCE(task->exit_state) && pidwait_exit_final(task) &&
		    may_see_status(w, task)) {
			w->event_flags = PIDWAIT_EVENT_STATUS;
			w->status = exit_status(task);
		}
	} else if (!thread && pid_task(w->pid, PIDTYPE_PID)) {
		ret = -EINVAL;
	} else {
		ret = -ESRCH;
	}
	rcu_read_unlock();
	return ret;
}

/* Arms @arm on the struct pid its number named; the caller checked @arm. */
int pidwait_arm_pid(struct pidwait_file *f, const struct pidwait_arm *arm,
		    struct pid *pid)
{
	u32 thread = arm->flags & PIDWAIT_ARM_THREAD;
	struct pidwait_watch *w;
	int ret;

	w = kmem_cache_zalloc(pidwait_watch_cache, PIDWAIT_GFP_ACCOUNT);
	if (!w)
		return -ENOMEM;
	w->file = f;
	w->pid = get_pid(pid);
	w->nr = arm->pid;
	w->cookie = arm->cookie;
	w->flags = arm->flags;
	w->state = PIDWAIT_ARMED;
	ret = watch_lookup(w);
	if (ret)
		goto out_free;

	/* A read holds it across its copy out, which may fault for long. */
	if (mutex_lock_interruptible(&f->mutex)) {
		ret = -ERESTARTSYS;
		goto out_free;
	}
	if (watch_find(f, pid, thread)) {
		ret = -EEXIST;
		goto out_unlock;
	}
	if (f->nr_watches >= READ_ONCE(pidwait_max_watches) ||
	    !pidwait_user_charge(f->user)) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	ret = pidwait_exit_attach(w);
	if (ret) {
		pidwait_user_uncharge(f->user);
		goto out_unlock;
	}
	if (f->nr_watches >= PIDWAIT_TABLE_LOAD << f->bits)
		table_grow(f);
	watch_link(watch_bucket(f, pid, thread), w);
	f->nr_watches++;
	/*
	 * It may have exited before attach: nothing would fire it again. Or
	 * an exit elsewhere fired it, and that wake may not have come yet:
	 * an epoll_wait() after the arm must find it ready all the same.
	 */
	watch_check(w);
	if (READ_ONCE(w->state) == PIDWAIT_READY)
		wake_up_poll(&f->wqh, PIDWAIT_POLLIN);
	mutex_unlock(&f->mutex);
	return 0;

out_unlock:
	mutex_unlock(&f->mutex);
out_free:
	if (w->cred)
		put_cred(w->cred);
	kmem_cache_free(pidwait_watch_cache, w);
	put_pid(pid);
	return ret;
}

int pidwait_arm(struct pidwait_file *f, const struct pidwait_arm *arm)
{
	struct pid *pid;
	int ret;

	if (arm->pid <= 0 || (arm->flags & ~pidwait_arm_flags()))
		return -EINVAL;
	pid = find_get_pid(arm->pid);
	if (!pid)
		return -ESRCH;
	ret = pidwait_arm_pid(f, arm, pid);
	put_pid(pid);
	return ret;
}

/*
 * The struct pid of the process watch armed on @nr, referenced, while it
 * has not fired: ENOENT if there is none, ESRCH once it has.
 */
struct pid *pidwait_watched_process(struct pidwait_file *f, pid_t nr)
{
	struct pidwait_watch *w;
	struct pid *pid, *ret;

	if (nr <= 0)
		return ERR_PTR(-EINVAL);
	pid = find_get_pid(nr);
	if (!pid)
		return ERR_PTR(-ENOENT);
	if (mutex_lock_interruptible(&f->mutex)) {
		put_pid(pid);
		return ERR_PTR(-ERESTARTSYS);
	}
	w = watch_find(f, pid, 0);
	if (!w)
		ret = ERR_PTR(-ENOENT);
	else if (READ_ONCE(w->state) != PIDWAIT_ARMED)
		ret = ERR_PTR(-ESRCH);
	else
		ret = get_pid(pid);
	mutex_unlock(&f->mutex);
	put_pid(pid);
	return ret;
}

/* The record a fired watch is read as. */
static void watch_event(const struct pidwait_watch *w, struct pidwait_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->pid = w->nr;
	ev->flags = w->event_flags;
	ev->status = w->status;
	ev->cookie = w->cookie;
	ev->exit_time_ns = w->exit_time_ns;
}

/* The oldest event, left in place: a pidfd-compatible file's only one. */
bool pidwait_peek(struct pidwait_file *f, struct pidwait_event *ev)
{
	struct pidwait_watch *w;

	spin_lock_irq(&f->lock);
	w = f->ready;
	if (w)
		watch_event(w, ev);
	spin_unlock_irq(&f->lock);
	return w;
}

int pidwait_disarm(struct pidwait_file *f, const struct pidwait_arm *arm)
{
	u32 thread = arm->flags & PIDWAIT_ARM_THREAD;
	struct pidwait_watch *w;
	struct pid *pid;
	int ret = -ENOENT;

	if (arm->pid <= 0 || (arm->flags & ~PIDWAIT_ARM_KNOWN))
		return -EINVAL;
	pid = find_get_pid(arm->pid);
	if (!pid)
		return -ENOENT;

	if (mutex_lock_interruptible(&f->mutex)) {
		put_pid(pid);
		return -ERESTARTSYS;
	}
	w = watch_find(f, pid, thread);
	if (w) {
		spin_lock_irq(&f->lock);
		if (w->state == PIDWAIT_ARMED) {
			WRITE_ONCE(w->state, PIDWAIT_DISARMED);
			ret = 0;
		}
		spin_unlock_irq(&f->lock);
	}
	if (!ret)
		watch_drop(f, w);
	mutex_unlock(&f->mutex);
	put_pid(pid);
	return ret;
}

/* Whether @w was queued now: its file's sleepers are to be woken. */
static bool watch_fire(struct pidwait_watch *w, struct task_struct *task)
{
	struct pidwait_file *f = w->file;
	unsigned long irqflags;
	bool queued = false;

	spin_lock_irqsave(&f->lock, irqflags);
	if (w->state == PIDWAIT_ARMED) {
		WRITE_ONCE(w->state, PIDWAIT_READY);
		w->exit_time_ns = ktime_get_ns();
		if (w->flags & PIDWAIT_ARM_THREAD)
			w->event_flags |= PIDWAIT_EVENT_THREAD;
		if (task) {
			if (may_see_status(w, task)) {
				w->event_flags |= PIDWAIT_EVENT_STATUS;
				w->status = exit_status(task);
			} else {
				w->event_flags &= ~PIDWAIT_EVENT_STATUS;
				w->status = 0;
			}
		}
		w->ready = NULL;
		*f->ready_tail = w;
		f->ready_tail = &w->ready;
		WRITE_ONCE(f->nr_ready, f->nr_ready + 1);
		queued = true;
	}
	spin_unlock_irqrestore(&f->lock, irqflags);
	return queued;
}

void pidwait_watch_fire(struct pidwait_watch *w, struct task_struct *task)
{
	if (watch_fire(w, task))
		wake_up_poll(&w->file->wqh, PIDWAIT_POLLIN);
}

#ifdef PIDWAIT_EXIT_TRACEPOINT
/* Ready at once for poll and read; sleepers are woken once the lock is gone. */
void pidwait_watch_fire_nowake(struct pidwait_watch *w,
			       struct task_struct *task)
{
	if (watch_fire(w, task))
		irq_work_queue(&w->file->wake);
}
#endif

/*
 * For a backend that may first see @w's task already reaped: the status
 * @task gives now, kept unless @w fires with its task still there. Under
 * RCU.
 */
void pidwait_watch_note(struct pidwait_watch *w, struct task_struct *task)
{
	struct pidwait_file *f = w->file;
	unsigned long irqflags;

	if (!may_see_status(w, task))
		return;
	spin_lock_irqsave(&f->lock, irqflags);
	if (w->state == PIDWAIT_ARMED) {
		w->event_flags |= PIDWAIT_EVENT_STATUS;
		w->status = exit_status(task);
	}
	spin_unlock_irqrestore(&f->lock, irqflags);
}

/*
 * pidfd's rule: ready once the task is reaped, or dead and final. Fires @w
 * without waking its file; whether it queued it. The state is judged under
 * the file's lock only (in watch_fire()): a fire elsewhere may have marked
 * @w ready and not yet queued it, and an arm must not return before its
 * event is counted.
 */
static bool watch_check(struct pidwait_watch *w)
{
	struct task_struct *task;
	bool queued = false;

	rcu_read_lock();
	task = pid_task(w->pid, PIDTYPE_PID);
	if (!task || (READ_ONCE(task->exit_state) && pidwait_exit_final(task)))
		queued = watch_fire(w, task);
	rcu_read_unlock();
	return queued;
}

void pidwait_watch_check(struct pidwait_watch *w)
{
	if (watch_check(w))
		wake_up_poll(&w->file->wqh, PIDWAIT_POLLIN);
}

/*
 * Copies out whole events, oldest first, and frees their watches. An event
 * leaves the ready queue only once it has reached the user.
 */
ssize_t pidwait_consume(struct pidwait_file *f, char __user *buf, size_t count)
{
	struct pidwait_watch *w = NULL;
	struct pidwait_event ev;
	size_t done = 0;

	if (mutex_lock_interruptible(&f->mutex))
		return -ERESTARTSYS;
	while (count - done >= sizeof(ev)) {
		spin_lock_irq(&f->lock);
		w = f->ready;
		spin_unlock_irq(&f->lock);
		if (!w)
			break;

		/* Only this mutex's holder takes events off: w stays first. */
		watch_event(w, &ev);
		if (copy_to_user(buf + done, &ev, sizeof(ev)))
			break;

		spin_lock_irq(&f->lock);
		f->ready = w->ready;
		if (!f->ready)
			f->ready_tail = &f->ready;
		WRITE_ONCE(f->nr_ready, f->nr_ready - 1);
		spin_unlock_irq(&f->lock);
		watch_drop(f, w);
		done += sizeof(ev);
		if ((done / sizeof(ev)) % PIDWAIT_RESCHED_EVERY == 0)
			cond_resched();
	}
	mutex_unlock(&f->mutex);
	return done ? done : w ? -EFAULT : 0;
}

void pidwait_show_watches(struct pidwait_file *f, struct seq_file *m)
{
	struct pidwait_watch *w;
	unsigned int i;

	/* As in arm: a read faulting under the mutex must not pin us in D. */
	if (mutex_lock_interruptible(&f->mutex))
		return;
	for (i = 0; i < 1U << f->bits && !seq_has_overflowed(m); i++) {
		for (w = f->buckets[i]; w; w = w->next)
			seq_printf(m, "pidwait pid:%d flags:0x%x cookie:0x%llx state:%s\n",
				   w->nr, w->flags & PIDWAIT_ARM_KNOWN, w->cookie,
				   READ_ONCE(w->state) == PIDWAIT_READY ?
				   "ready" : "armed");
		if (i % PIDWAIT_RESCHED_EVERY == 0)
			cond_resched();
	}
	mutex_unlock(&f->mutex);
}
