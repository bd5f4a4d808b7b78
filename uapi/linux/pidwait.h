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
 */
#define PIDWAIT_API_VERSION	2

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
	__u64 reserved[4];	/* zero */
};

#define PIDWAIT_IOC_MAGIC	0xC3

#define PIDWAIT_IOC_ARM		_IOW(PIDWAIT_IOC_MAGIC, 0x01, struct pidwait_arm)
#define PIDWAIT_IOC_DISARM	_IOW(PIDWAIT_IOC_MAGIC, 0x02, struct pidwait_arm)
#define PIDWAIT_IOC_GET_INFO	_IOR(PIDWAIT_IOC_MAGIC, 0x03, struct pidwait_info)

#endif /* _UAPI_LINUX_PIDWAIT_H */
