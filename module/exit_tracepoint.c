// SPDX-License-Identifier: GPL-2.0
/*
 * Exit backend for kernels built without kprobes (and without wait_pidfd):
 * two tracepoints, registered only while watches exist (exit_hook.c).
 *
 * signal_generate traces the signal do_notify_parent() sends the parent,
 * a CLD_EXITED, CLD_KILLED or CLD_DUMPED one: the moment pidfd poll
 * reports, as with the kprobe backend.
 *
 * No signal goes to a parent that ignores SIGCHLD, nor when a thread dies.
 * For those, sched_process_exit fires in every exiting thread, though before
 * exit_files() and exit_notify(): too early to report. It only marks the
 * watches the exit will fire, and exit_table.c polls them until pidfd's
 * rule holds.
 */
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/signal.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "compat/sched.h"
#include "exit_table.h"
#include "pidwait.h"

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

static void signal_generate_probe(void *data, int sig,
				  struct pidwait_kernel_siginfo *info,
				  struct task_struct *parent, int group,
				  int result)
{
	struct task_struct *child;
	struct pid *pid;

	/* SEND_SIG_NOINFO, SEND_SIG_PRIV and SEND_SIG_FORCED carry none. */
	if ((unsigned long)info <= 2)
		return;
	if (info->si_code != CLD_EXITED && info->si_code != CLD_KILLED &&
	    info->si_code != CLD_DUMPED)
		return;
	rcu_read_lock();
	pid = find_pid_ns(info->si_pid, task_active_pid_ns(parent));
	child = pid ? pid_task(pid, PIDTYPE_PID) : NULL;
	if (child)
		pidwait_table_exited(child);
	rcu_read_unlock();
}

#ifdef PIDWAIT_HAVE_FOR_EACH_KERNEL_TRACEPOINT
/* 3.15 registers a struct tracepoint, found by name: it is not exported. */
static struct tracepoint *tp_exit, *tp_signal;

static void find_tracepoints(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exit"))
		tp_exit = tp;
	else if (!strcmp(tp->name, "signal_generate"))
		tp_signal = tp;
}

static int tracepoints_enable(void)
{
	int ret;

	if (!tp_exit || !tp_signal)
		for_each_kernel_tracepoint(find_tracepoints, NULL);
	if (!tp_exit || !tp_signal)
		return -ENOENT;
	ret = tracepoint_probe_register(tp_exit, sched_process_exit_probe,
					NULL);
	if (ret)
		return ret;
	ret = tracepoint_probe_register(tp_signal, signal_generate_probe, NULL);
	if (ret) {
		tracepoint_probe_unregister(tp_exit, sched_process_exit_probe,
					    NULL);
		tracepoint_synchronize_unregister();
	}
	return ret;
}

static void tracepoints_disable(void)
{
	tracepoint_probe_unregister(tp_signal, signal_generate_probe, NULL);
	tracepoint_probe_unregister(tp_exit, sched_process_exit_probe, NULL);
	tracepoint_synchronize_unregister();
}
#else
static int tracepoints_enable(void)
{
	int ret;

	ret = tracepoint_probe_register("sched_process_exit",
					sched_process_exit_probe, NULL);
	if (ret)
		return ret;
	ret = tracepoint_probe_register("signal_generate",
					signal_generate_probe, NULL);
	if (ret) {
		tracepoint_probe_unregister("sched_process_exit",
					    sched_process_exit_probe, NULL);
		tracepoint_synchronize_unregister();
	}
	return ret;
}

static void tracepoints_disable(void)
{
	tracepoint_probe_unregister("signal_generate", signal_generate_probe,
				    NULL);
	tracepoint_probe_unregister("sched_process_exit",
				    sched_process_exit_probe, NULL);
	tracepoint_synchronize_unregister();
}
#endif

int pidwait_exit_init(void)
{
	return pidwait_table_init(tracepoints_enable, tracepoints_disable);
}

#endif /* PIDWAIT_EXIT_TRACEPOINT */
