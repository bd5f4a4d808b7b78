// SPDX-License-Identifier: GPL-2.0
/*
 * Tracepoints: the exec tracepoint every table backend needs, and the exit
 * backend for kernels built without kprobes (and without wait_pidfd).
 *
 * sched_process_exec fires in a task that has just called execve. When it
 * was not its process's leader, de_thread() gave it the leader's TID, and
 * its own TID ended without a task dying: that ends a thread watch on it.
 *
 * The backend: sched_process_exit fires in every exiting thread, though
 * before exit_files() and exit_notify(), too early to report: it marks
 * the watches the exit will fire, and exit_table.c polls them until
 * pidfd's rule holds. signal_generate sees the SIGCHLD do_notify_parent()
 * sends; since any process may send itself a signal that looks like one,
 * and a fault's signal puts an address where a child's pid would be, it
 * fires a watch only for a child that is past its exit as only the kernel
 * can make it. It runs under the parent's siglock: the watch is ready at
 * once, but its file's sleepers are woken once the lock is let go.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/rcupdate.h>
#include <linux/signal.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "compat/sched.h"
#include "exit_hook.h"
#include "exit_table.h"
#include "pidwait.h"

#ifdef PIDWAIT_EXIT_TABLE

struct linux_binprm;

struct pidwait_tp {
	const char *name;
	void *probe;
#ifdef PIDWAIT_HAVE_FOR_EACH_KERNEL_TRACEPOINT
	struct tracepoint *tp;
#endif
};

#ifdef PIDWAIT_HAVE_FOR_EACH_KERNEL_TRACEPOINT
/* 3.15 registers a struct tracepoint, found by name: it is not exported. */
static void find_tracepoint(struct tracepoint *tp, void *priv)
{
	struct pidwait_tp *t = priv;

	if (!strcmp(tp->name, t->name))
		t->tp = tp;
}

static int tp_find(struct pidwait_tp *t)
{
	if (!t->tp)
		for_each_kernel_tracepoint(find_tracepoint, t);
	return t->tp ? 0 : -ENOENT;
}

static int tp_register(struct pidwait_tp *t)
{
	return tracepoint_probe_register(t->tp, t->probe, NULL);
}

static int tp_unregister_once(struct pidwait_tp *t)
{
	return tracepoint_probe_unregister(t->tp, t->probe, NULL);
}
#else
/* Before 3.15, by name: a name not yet known is only remembered. */
static int tp_find(struct pidwait_tp *t)
{
	return 0;
}

static int tp_register(struct pidwait_tp *t)
{
	return tracepoint_probe_register(t->name, t->probe, NULL);
}

static int tp_unregister_once(struct pidwait_tp *t)
{
	return tracepoint_probe_unregister(t->name, t->probe, NULL);
}
#endif

/*
 * Before 5.12 unregistering allocates, and may fail for want of memory
 * with the probe still registered: our code must not go while it is.
 */
static void tp_unregister(struct pidwait_tp *t)
{
	while (tp_unregister_once(t) == -ENOMEM) {
		pr_warn_ratelimited("unregistering from %s: out of memory, trying again\n",
				    t->name);
		msleep(20);
	}
}

static void exec_probe(void *data, struct task_struct *p, pid_t old_pid,
		       struct linux_binprm *bprm)
{
	if (old_pid != task_pid_nr(p))
		pidwait_table_exec(old_pid);
}

static struct pidwait_tp tp_exec = {
	.name = "sched_process_exec",
	.probe = exec_probe,
};

int pidwait_exec_hook_prepare(void)
{
	return tp_find(&tp_exec);
}

int pidwait_exec_hook_enable(void)
{
	return tp_register(&tp_exec);
}

void pidwait_exec_hook_disable(void)
{
	tp_unregister(&tp_exec);
}

/* No probe of ours runs once this returns. */
void pidwait_tracepoints_sync(void)
{
	tracepoint_synchronize_unregister();
}

#endif /* PIDWAIT_EXIT_TABLE */

#ifdef PIDWAIT_EXIT_TRACEPOINT

#ifdef PIDWAIT_HAVE_SCHED_EXIT_GROUP_DEAD
/* 6.16 added group_dead. */
static void sched_process_exit_probe(void *data, struct task_struct *p,
				     bool group_dead)
#else
static void sched_process_exit_probe(void *data, struct task_struct *p)
#endif
{
	pidwait_table_exiting(p);
}

/*
 * do_notify_parent() runs in the child's own exit_notify(), past
 * exit_files(), where it can make no system call; or for a zombie. A
 * signal that only claims to come from it can be neither.
 */
static bool exit_announced(struct task_struct *child)
{
	return READ_ONCE(child->exit_state) ||
	       (child == current && (current->flags & PF_EXITING) &&
		!current->files);
}

static void signal_generate_probe(void *data, int sig,
				  struct pidwait_kernel_siginfo *info,
				  struct task_struct *parent, int group,
				  int result)
{
	struct task_struct *child;
	struct pid *pid;

	/* SEND_SIG_NOINFO, SEND_SIG_PRIV and SEND_SIG_FORCED carry none. */
	if ((unsigned long)info <= 2 || info->si_signo != sig)
		return;
	if (info->si_code != CLD_EXITED && info->si_code != CLD_KILLED &&
	    info->si_code != CLD_DUMPED)
		return;
	rcu_read_lock();
	pid = find_pid_ns(info->si_pid, task_active_pid_ns(parent));
	child = pid ? pid_task(pid, PIDTYPE_PID) : NULL;
	/* Under the parent's siglock: the wakes wait for it to go. */
	if (child && exit_announced(child))
		pidwait_table_exited(child, true);
	rcu_read_unlock();
}

static struct pidwait_tp tp_exit = {
	.name = "sched_process_exit",
	.probe = sched_process_exit_probe,
};

static struct pidwait_tp tp_signal = {
	.name = "signal_generate",
	.probe = signal_generate_probe,
};

static struct pidwait_tp *backend_tps[] = { &tp_exit, &tp_signal, &tp_exec };

static int tracepoints_prepare(void)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(backend_tps) && !ret; i++)
		ret = tp_find(backend_tps[i]);
	return ret;
}

static int tracepoints_enable(void)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(backend_tps); i++) {
		ret = tp_register(backend_tps[i]);
		if (ret)
			break;
	}
	if (ret)
		while (i--)
			tp_unregister(backend_tps[i]);
	return ret;
}

static void tracepoints_disable(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(backend_tps); i++)
		tp_unregister(backend_tps[i]);
}

const struct pidwait_hook_ops pidwait_tracepoint_hooks = {
	.prepare = tracepoints_prepare,
	.enable = tracepoints_enable,
	.disable = tracepoints_disable,
	.release = pidwait_tracepoints_sync,
};

#endif /* PIDWAIT_EXIT_TRACEPOINT */
