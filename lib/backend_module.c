// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pidwait module's backend: one /dev/pidwait file holds every watch,
 * the kernel queues the events, and statuses come wherever ptrace would
 * show them (pidwait(4)).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pidwait.h>

#include "internal.h"

/* A record may grow with the module; a read holds a few of any size. */
#define RECORD_MAX	512
#define READ_BYTES	4096

static int module_open(struct pidwait_watcher *w)
{
	struct pidwait_info info;
	int err;

	w->fd = open(PIDWAIT_DEVICE, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (w->fd < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	if (ioctl(w->fd, PIDWAIT_IOC_GET_INFO, &info))
		goto fail;
	if (info.event_size < sizeof(struct pidwait_event) ||
	    info.event_size > RECORD_MAX) {
		errno = EPROTO;		/* records this library cannot read */
		goto fail;
	}
	w->arm_flags = info.arm_flags;
	w->event_size = info.event_size;
	return 0;
fail:
	err = errno;
	close(w->fd);
	errno = err;
	return -1;
}

static void module_close(struct pidwait_watcher *w)
{
	close(w->fd);
}

static int module_add(struct pidwait_watcher *w, struct pw_entry *e)
{
	struct pidwait_arm arm = {
		.pid = e->pid,
		.flags = e->thread ? PIDWAIT_ARM_THREAD : 0,
		.cookie = e->cookie,
	};

	/* A kernel whose module cannot watch threads: say so, not EINVAL. */
	if (e->thread && !(w->arm_flags & PIDWAIT_ARM_THREAD)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return ioctl(w->fd, PIDWAIT_IOC_ARM, &arm) ? -1 : 0;
}

static void module_remove(struct pidwait_watcher *w, struct pw_entry *e)
{
	struct pidwait_arm arm = {
		.pid = e->pid,
		.flags = e->thread ? PIDWAIT_ARM_THREAD : 0,
	};
	int err = errno;

	/* ENOENT: it fired, and its event waits unread; the read drops it. */
	ioctl(w->fd, PIDWAIT_IOC_DISARM, &arm);
	errno = err;
}

/* Records are read in their own size, of which we know the prefix. */
static int module_collect(struct pidwait_watcher *w,
			  struct pidwait_watcher_event *ev, unsigned int max)
{
	size_t esize = w->event_size, batch = READ_BYTES / esize;
	unsigned char buf[READ_BYTES];
	unsigned int n = 0;

	while (n < max) {
		size_t want = max - n < batch ? max - n : batch;
		ssize_t got = read(w->fd, buf, want * esize);
		size_t i;

		if (got < 0)
			return n || errno == EAGAIN ? (int)n : -1;
		for (i = 0; i < (size_t)got / esize; i++) {
			struct pidwait_event r;
			bool thread;
			struct pw_entry *e;

			memcpy(&r, buf + i * esize, sizeof(r));
			thread = r.flags & PIDWAIT_EVENT_THREAD;
			e = pw_lookup(w, r.pid, thread);
			/* Removed after it fired: the event is no longer wanted. */
			if (!e || e->cookie != r.cookie)
				continue;
			pw_unlink(w, e);
			free(e);
			memset(&ev[n], 0, sizeof(ev[n]));
			ev[n].pid = r.pid;
			ev[n].cookie = r.cookie;
			ev[n].time_ns = r.exit_time_ns;
			if (thread)
				ev[n].flags |= PIDWAIT_WEVENT_THREAD;
			if (r.flags & PIDWAIT_EVENT_STATUS) {
				ev[n].flags |= PIDWAIT_WEVENT_STATUS;
				ev[n].status = r.status;
			}
			n++;
		}
		if ((size_t)got < want * esize)
			break;
	}
	return (int)n;
}

const struct pw_backend pw_backend_module = {
	.id = PIDWAIT_BACKEND_MODULE,
	.name = "module",
	.statuses = 1,
	.open = module_open,
	.close = module_close,
	.add = module_add,
	.remove = module_remove,
	.collect = module_collect,
};
