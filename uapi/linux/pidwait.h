/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pidwait: a pollable "this process has exited" event for any process.
 *
 * Open /dev/pidwait, arm PIDs with PIDWAIT_IOC_ARM, then poll/epoll/read the
 * file: every armed process or thread yields one struct pidwait_event when it
 * has exited, at the moment a pidfd for it would become readable.
 */
#ifndef _UAPI_LINUX_PIDWAIT_H
#define _UAPI_LINUX_PIDWAIT_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define PIDWAIT_DEVICE		"/dev/pidwait"

/*
 * Bumped whenever the interface gains something; see PIDWAIT_IOC_GET_INFO.
 * 2: max_user_watches and user_watches in struct pidwait_info.
 * 3: features in struct pidwait_info; pidfd-compatible files and signals.
 */
#define PIDWAIT_API_VERSION	3

/* struct pidwait_info.features (3) */
#define PIDWAIT_FEATURE_PIDFD	0x0000000000000001ULL	/* PIDWAIT_IOC_PIDFD_OPEN */
#define PIDWAIT_FEATURE_SIGNAL	0x0000000000000002ULL	/* PIDWAIT_IOC_SEND_SIGNAL */
#define PIDWAIT_FEATURE_SIGINFO	0x0000000000000004ULL	/* ... with a siginfo */

/* struct pidwait_arm.flags */
#define PIDWAIT_ARM_THREAD	0x00000001U	/* pid is a thread id */

/* struct pidwait_event.flags */
#define PIDWAIT_EVENT_STATUS	0x00000001U	/* status holds a wait(2) status */
#define PIDWAIT_EVENT_THREAD	0x00000002U	/* armed with PIDWAIT_ARM_THREAD */

struct pidwait_arm {
	__s32 pid;		/* in the caller's pid namespace */
	__u32 flags;		/* PIDWAIT_ARM_* */
	__u64 cookie;		/* returned as is in the event; ignored by DISARM */
};

struct pidwait_event {
	__s32 pid;		/* as given to PIDWAIT_IOC_ARM */
	__u32 flags;		/* PIDWAIT_EVENT_* */
	__s32 status;		/* wait(2) status if PIDWAIT_EVENT_STATUS, else 0 */
	__u32 reserved;		/* zero */
	__u64 cookie;		/* as given to PIDWAIT_IOC_ARM */
	__u64 exit_time_ns;	/* CLOCK_MONOTONIC when the watch became ready */
};

struct pidwait_info {
	__u32 api_version;	/* PIDWAIT_API_VERSION of the running module */
	__u32 arm_flags;	/* PIDWAIT_ARM_* this kernel supports */
	__u32 event_flags;	/* PIDWAIT_EVENT_* that events may carry */
	__u32 event_size;	/* sizeof(struct pidwait_event) */
	__u32 max_watches;	/* the per-file cap now in force */
	__u32 nr_watches;	/* watches on this file, armed or unread */
	__u32 max_user_watches;	/* the per-user cap now in force (2) */
	__u32 user_watches;	/* the watches of this file's user (2) */
	__u64 features;		/* PIDWAIT_FEATURE_* (3) */
	__u64 reserved[3];	/* zero */
};

/*
 * PIDWAIT_IOC_PIDFD_OPEN returns a new file descriptor, close-on-exec, that
 * behaves as pidfd_open(pid, flags) would: poll, fdinfo, and the ioctls
 * below. It counts as one watch of the caller's.
 */
struct pidwait_pidfd_open {
	__s32 pid;		/* a process's id, in the caller's pid namespace */
	__u32 flags;		/* 0 or O_NONBLOCK (PIDFD_NONBLOCK) */
};

/*
 * PIDWAIT_IOC_SEND_SIGNAL: pidfd_send_signal() through a pidfd-compatible
 * file (pid 0), or to a process armed on a /dev/pidwait file (its pid as
 * armed). Never reaches a process that took the number later: ESRCH once
 * the watched process has exited.
 */
struct pidwait_signal {
	__s32 pid;		/* 0, or the pid of a process watch */
	__s32 sig;		/* 0 checks that it may be signalled */
	__u32 flags;		/* zero */
	__u32 reserved;		/* zero */
	__u64 info;		/* a siginfo_t *, as for rt_sigqueueinfo(), or 0 */
};

/* struct pidwait_pidfd_info.mask */
#define PIDWAIT_PIDFD_INFO_PID		0x0000000000000001ULL	/* not reaped: pid valid */
#define PIDWAIT_PIDFD_INFO_EXITED	0x0000000000000002ULL	/* it has exited */
#define PIDWAIT_PIDFD_INFO_STATUS	0x0000000000000004ULL	/* status valid */

/*
 * PIDWAIT_IOC_PIDFD_GET_INFO, on pidfd-compatible files only: what
 * pidfd_getpid() and PIDFD_GET_INFO tell. It succeeds on every such file,
 * so it is also how a program tells one from any other file.
 */
struct pidwait_pidfd_info {
	__u64 mask;		/* PIDWAIT_PIDFD_INFO_* */
	__s32 pid;		/* in the caller's namespace, 0 if not in it */
	__s32 status;		/* wait(2) status, on the events' rule */
	__u64 exit_time_ns;	/* CLOCK_MONOTONIC, with _EXITED */
	__u64 reserved[5];	/* zero */
};

#define PIDWAIT_IOC_MAGIC	0xC3

#define PIDWAIT_IOC_ARM		_IOW(PIDWAIT_IOC_MAGIC, 0x01, struct pidwait_arm)
#define PIDWAIT_IOC_DISARM	_IOW(PIDWAIT_IOC_MAGIC, 0x02, struct pidwait_arm)
#define PIDWAIT_IOC_GET_INFO	_IOR(PIDWAIT_IOC_MAGIC, 0x03, struct pidwait_info)
#define PIDWAIT_IOC_PIDFD_OPEN	_IOW(PIDWAIT_IOC_MAGIC, 0x04, struct pidwait_pidfd_open)
#define PIDWAIT_IOC_SEND_SIGNAL	_IOW(PIDWAIT_IOC_MAGIC, 0x05, struct pidwait_signal)
#define PIDWAIT_IOC_PIDFD_GET_INFO _IOR(PIDWAIT_IOC_MAGIC, 0x06, struct pidwait_pidfd_info)

#endif /* _UAPI_LINUX_PIDWAIT_H */
