/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hooks on the exit path (kprobes, tracepoints) that are armed only while
 * watches need them, so that an idle module costs the system nothing.
 */
#ifndef _PIDWAIT_EXIT_HOOK_H
#define _PIDWAIT_EXIT_HOOK_H

#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/workqueue.h>

/*
 * A hook's life: prepare() at load finds and checks what it hooks without
 * patching kernel text; enable() and disable() arm and disarm it, as
 * often as watches come and go; release() at unload, once disabled.
 * disable() does not return before every part of the hook is disarmed.
 */
struct pidwait_hook_ops {
	int (*prepare)(void);
	int (*enable)(void);
	void (*disable)(void);
	void (*release)(void);
};

struct pidwait_hook {
	const struct pidwait_hook_ops *ops;
	struct mutex mutex;	/* users, enabled, and the calls above */
	unsigned int users;
	bool prepared;
	bool enabled;
	struct delayed_work off;
};

/* Hooks enabled now, for the hooks parameter and the selftests. */
extern atomic_t pidwait_hooks_enabled;
/* How long a hook stays armed after its last user (a module parameter). */
extern unsigned int pidwait_hook_linger_ms;

/* Prepares the hook: 0 if it can work on this kernel. */
int pidwait_hook_init(struct pidwait_hook *h, const struct pidwait_hook_ops *ops);
int pidwait_hook_get(struct pidwait_hook *h);
void pidwait_hook_put(struct pidwait_hook *h);
/* At unload, no user left. */
void pidwait_hook_cleanup(struct pidwait_hook *h);

#endif /* _PIDWAIT_EXIT_HOOK_H */
