/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Queueing a caller's own siginfo on a process, as rt_sigqueueinfo() does.
 * Of the kernel's exported calls only kill_pid_info_as_cred() takes one
 * and delivers it to the whole process; 5.3 replaced it with a form for
 * USB's asynchronous I/O alone.
 */
#ifndef _PIDWAIT_COMPAT_SIGNAL_H
#define _PIDWAIT_COMPAT_SIGNAL_H

#include <linux/cred.h>
#include <linux/security.h>
#include <linux/signal.h>

#include "compat/sched.h"

#if defined(PIDWAIT_HAVE_KILL_PID_INFO_AS_CRED)
#define PIDWAIT_HAVE_SIGINFO 1

static inline int pidwait_kill_pid_info_as_cred(int sig,
						struct pidwait_kernel_siginfo *info,
						struct pid *pid,
						const struct cred *cred)
{
#if defined(PIDWAIT_HAVE_KILL_AS_CRED_SECID)
	/* Before 4.17 the LSM judged the secid, not the cred. */
	u32 secid;

	security_task_getsecid(current, &secid);
	return kill_pid_info_as_cred(sig, info, pid, cred, secid);
#else
	return kill_pid_info_as_cred(sig, info, pid, cred);
#endif
}
#endif

#endif /* _PIDWAIT_COMPAT_SIGNAL_H */
