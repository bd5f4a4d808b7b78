// SPDX-License-Identifier: GPL-2.0
/*
 * Signals through a watch, on pidfd_send_signal()'s contract: the watch's
 * struct pid names the process, so a process that takes its number over
 * later is never signalled.
 */
#include <linux/cred.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/signal.h>
#include <linux/uaccess.h>

#include "compat/sched.h"
#include "compat/signal.h"
#include "pidwait.h"

u64 pidwait_signal_features(void)
{
#if defined(PIDWAIT_HAVE_SIGINFO)
	return PIDWAIT_FEATURE_SIGNAL | PIDWAIT_FEATURE_SIGINFO;
#else
	return PIDWAIT_FEATURE_SIGNAL;
#endif
}

#if defined(PIDWAIT_HAVE_SIGINFO)
/* kill_pid_info_as_cred()'s own test: the uids alone, never CAP_KILL. */
static bool uids_match(const struct cred *cred, const struct cred *tcred)
{
	return uid_eq(cred->euid, tcred->suid) ||
	       uid_eq(cred->euid, tcred->uid) ||
	       uid_eq(cred->uid, tcred->suid) ||
	       uid_eq(cred->uid, tcred->uid);
}

/*
 * rt_sigqueueinfo()'s rules for the caller's siginfo. kill(2)'s permission
 * check (signal 0: uids, CAP_KILL, the LSM) is made first; a sender that
 * passed it by CAP_KILL alone then signals with a copy of its credentials
 * given the target's uid, which kill_pid_info_as_cred() wants. The copy
 * keeps the sender's LSM label, judged again with the real signal.
 */
static int send_siginfo(struct pid *pid, int sig, const void __user *uinfo)
{
	struct pidwait_kernel_siginfo info;
	struct task_struct *task;
	struct cred *new = NULL;
	kuid_t uid = INVALID_UID;
	int ret;

	if (copy_from_user(&info, uinfo, sizeof(info)))
		return -EFAULT;
	if (info.si_signo != sig)
		return -EINVAL;
	/* Codes the kernel itself uses: only to oneself. */
	if (pid != task_pid(current) &&
	    (info.si_code >= 0 || info.si_code == SI_TKILL))
		return -EPERM;
	ret = kill_pid(pid, 0, 0);
	if (ret)
		return ret;

	rcu_read_lock();
	task = pid_task(pid, PIDTYPE_PID);
	if (task && !uids_match(current_cred(), __task_cred(task)))
		uid = __task_cred(task)->uid;
	rcu_read_unlock();
	if (uid_valid(uid)) {
		new = prepare_creds();
		if (!new)
			return -ENOMEM;
		new->uid = uid;
	}
	ret = pidwait_kill_pid_info_as_cred(sig, &info, pid,
					    new ? new : current_cred());
	if (new)
		abort_creds(new);
	return ret;
}
#endif

/*
 * @compat: the caller is a 32-bit task, whose siginfo has another layout.
 * The caller has made sure that the process has not exited yet.
 */
int pidwait_send_signal(struct pid *pid, int sig, u64 uinfo, bool compat)
{
	if (!valid_signal(sig))
		return -EINVAL;
	/* As pidfd_send_signal(): from its pid namespace or an ancestor. */
	if (!pid_nr_ns(pid, task_active_pid_ns(current)))
		return -EINVAL;
	if (!uinfo)
		return kill_pid(pid, sig, 0);
#if defined(PIDWAIT_HAVE_SIGINFO)
	if (!compat)
		return send_siginfo(pid, sig,
				    (const void __user *)(uintptr_t)uinfo);
#endif
	return -EOPNOTSUPP;
}
