/* SPDX-License-Identifier: GPL-2.0 */
/* Tasks, their thread groups and their signals. */
#ifndef _PIDWAIT_COMPAT_SCHED_H
#define _PIDWAIT_COMPAT_SCHED_H

#include <linux/pid.h>
#include <linux/sched.h>

/* 4.11 split these out of linux/sched.h. */
#if defined(PIDWAIT_HAVE_SCHED_SIGNAL_H)
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#endif

/* 4.20 gave the kernel a siginfo type of its own. */
#if defined(PIDWAIT_HAVE_KERNEL_SIGINFO)
#define pidwait_kernel_siginfo kernel_siginfo
#else
#define pidwait_kernel_siginfo siginfo
#endif

/* The task whose TGID is @pid, as pidfd_open() finds it. Under RCU. */
static inline struct task_struct *pidwait_pid_task_tgid(struct pid *pid)
{
#if defined(PIDWAIT_HAVE_PIDTYPE_TGID)
	return pid_task(pid, PIDTYPE_TGID);
#else
	/* Before 4.19 the leader's pid is the signal's leader_pid. */
	struct task_struct *task = pid_task(pid, PIDTYPE_PID);

	return task && has_group_leader_pid(task) ? task : NULL;
#endif
}

#endif /* _PIDWAIT_COMPAT_SCHED_H */
