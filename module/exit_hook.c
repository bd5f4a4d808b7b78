// SPDX-License-Identifier: GPL-2.0
/*
 * Arming a kprobe or a tracepoint patches kernel text, and disarming it
 * patches it back: a loop of arming and reading one watch would pay that
 * every round. So a hook is disarmed hook_linger_ms (a second) after its
 * last user, and no hook is left armed on an idle module. Loading the
 * module only checks that each hook can be placed: it patches nothing.
 */
#include <linux/atomic.h>
#include <linux/jiffies.h>

#include "exit_hook.h"

atomic_t pidwait_hooks_enabled = ATOMIC_INIT(0);
unsigned int pidwait_hook_linger_ms = 1000;

static void hook_disable(struct pidwait_hook *h)
{
	h->ops->disable();
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

int pidwait_hook_init(struct pidwait_hook *h, const struct pidwait_hook_ops *ops)
{
	int ret;

	h->ops = ops;
	mutex_init(&h->mutex);
	h->users = 0;
	h->enabled = false;
	INIT_DELAYED_WORK(&h->off, hook_off);
	ret = ops->prepare();
	h->prepared = !ret;
	return ret;
}

int pidwait_hook_get(struct pidwait_hook *h)
{
	int ret = 0;

	mutex_lock(&h->mutex);
	if (!h->prepared) {
		ret = -EOPNOTSUPP;
	} else if (!h->enabled) {
		ret = h->ops->enable();
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
		mod_delayed_work(system_wq, &h->off,
				 msecs_to_jiffies(READ_ONCE(pidwait_hook_linger_ms)));
	mutex_unlock(&h->mutex);
}

void pidwait_hook_cleanup(struct pidwait_hook *h)
{
	cancel_delayed_work_sync(&h->off);
	mutex_lock(&h->mutex);
	if (h->enabled)
		hook_disable(h);
	if (h->prepared)
		h->ops->release();
	h->prepared = false;
	mutex_unlock(&h->mutex);
}
