/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hooks on the exit path (kprobes, tracepoints) that exist only while
 * watches need them, so that an idle module costs the system nothing.
 */
#ifndef _PIDWAIT_EXIT_HOOK_H
#define _PIDWAIT_EXIT_HOOK_H

#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct pidwait_hook {
	int (*enable)(void);
	void (*disable)(void);
	struct mutex mutex;	/* users, enabled, and the calls above */
	unsigned int users;
	bool enabled;
	struct delayed_work off;
};

/* Hooks registered now, for the hooks parameter and the selftests. */
extern atomic_t pidwait_hooks_enabled;

void pidwait_hook_init(struct pidwait_hook *h, int (*enable)(void),
		       void (*disable)(void));
/* Enables and disables once: can the hook work on this kernel? */
int pidwait_hook_try(struct pidwait_hook *h);
int pidwait_hook_get(struct pidwait_hook *h);
void pidwait_hook_put(struct pidwait_hook *h);
void pidwait_hook_cleanup(struct pidwait_hook *h);

#endif /* _PIDWAIT_EXIT_HOOK_H */
