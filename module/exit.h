/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exit backend: how pidwait learns that a watched process or thread may
 * have exited. compat/compat.h picks one per kernel; the rest of the module
 * only sees this interface.
 */
#ifndef _PIDWAIT_EXIT_H
#define _PIDWAIT_EXIT_H

#include <linux/list.h>
#include <linux/types.h>
#include <linux/wait.h>

struct pidwait_watch;

/* A watch in the pid table of the hooks (exit_table.c). */
struct pidwait_table_link {
	struct hlist_node node;
	struct list_head poll;
};

#if defined(PIDWAIT_EXIT_PIDFD)
#define PIDWAIT_EXIT_NAME "wait_pidfd"
/*
 * A wait entry on the watched struct pid's wait_pidfd; before 6.9, where
 * the kernel does not wake it for a thread, thread watches are in the
 * table instead.
 */
struct pidwait_exit_link {
	union {
		struct wait_queue_entry wait;
		struct pidwait_table_link table;
	};
};
#elif defined(PIDWAIT_EXIT_KPROBE) || defined(PIDWAIT_EXIT_TRACEPOINT)
#ifdef PIDWAIT_EXIT_KPROBE
#define PIDWAIT_EXIT_NAME "kprobe"
#else
#define PIDWAIT_EXIT_NAME "tracepoint"
#endif
struct pidwait_exit_link {
	struct pidwait_table_link table;
};
#else
#error "pidwait: no exit backend for this kernel"
#endif

int pidwait_exit_init(void);
void pidwait_exit_cleanup(void);

/* PIDWAIT_ARM_* flags this backend can serve on the running kernel. */
u32 pidwait_exit_arm_flags(void);

/*
 * From attach on, pidwait_watch_check(w) is called, in atomic context, on
 * every event that may have made w ready; the caller checks w once itself
 * after attach, so an exit between its lookup and attach is not lost.
 * After detach returns, no call for w is running or will be made.
 * Both run in process context and may sleep.
 */
int pidwait_exit_attach(struct pidwait_watch *w);
void pidwait_exit_detach(struct pidwait_watch *w);

#endif /* _PIDWAIT_EXIT_H */
