// SPDX-License-Identifier: GPL-2.0
/*
 * Registering a kprobe or a tracepoint probe is cheap, unregistering one
 * waits for an RCU grace period: a loop of arming and reading one watch
 * would pay that every round. So a hook goes a second after its last user,
 * and no hook is left on an idle module.
 */
#include <linux/atomic.h>
#include <linux/jiffies.h>

#include "exit_hook.h"

#define PIDWAIT_HOOK_LINGER	HZ

atomic_t pidwait_hooks_enabled = ATOMIC_INIT(0);

static void hook_disable(struct pidwait_hook *h)
{
	h->disable();
	h->enabled = false;
	atomic_dec(&pidwait_hooks_enabled);
}

static void hook_off(struct work_struct *work)
{
	struct pidwait_hook *h = container_of(to_delayed_work(work),
					      struct pidwait_hook, off);

	mutex_lock(&h->mutex);
	if (!h->users && h->enabled)
		hook_disable(h);
	mutex_unlock(&h->mutex);
}

void pidwait_hook_init(struct pidwait_hook *h, int (*enable)(void),
		       void (*disable)(void))
{
	h->enable = enable;
	h->disable = disable;
	mutex_init(&h->mutex);
	h->users = 0;
	h->enabled = false;
	INIT_DELAYED_WORK(&h->off, hook_off);
}

int pidwait_hook_try(struct pidwait_hook *h)
{
	int ret = h->enable();

	if (!ret)
		h->disable();
	return ret;
}

int pidwait_hook_get(struct pidwait_hook *h)
{
	int ret = 0;

	mutex_lock(&h->mutex);
	if (!h->enabled) {
		ret = h->enable();
		if (!ret) {
			h->enabled = true;
			atomic_inc(&pidwait_hooks_enabled);
		}
	}
	if (!ret)
		h->users++;
	mutex_unlock(&h->mutex);
	return ret;
}

void pidwait_hook_put(struct pidwait_hook *h)
{
	mutex_lock(&h->mutex);
	if (!--h->users)
		mod_delayed_work(system_wq, &h->off, PIDWAIT_HOOK_LINGER);
	mutex_unlock(&h->mutex);
}

/* At unload: no file is open, so no user is left. */
void pidwait_hook_cleanup(struct pidwait_hook *h)
{
	cancel_delayed_work_sync(&h->off);
	mutex_lock(&h->mutex);
	if (h->enabled)
		hook_disable(h);
	mutex_unlock(&h->mutex);
}
