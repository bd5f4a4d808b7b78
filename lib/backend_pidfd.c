// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Without the module, on 5.3 and later: a pidfd per watched process (and
 * per thread from 6.9) in one epoll set. Statuses only for the caller's
 * children, read without reaping them (WNOWAIT), so that the caller's
 * own wait still gets them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD 0x80	/* O_EXCL: 6.9 */
#endif

static int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags | 0u);
}

static int pidfd_backend_open(struct pidwait_watcher *w)
{
	int fd = sys_pidfd_open(getpid(), 0);

	if (fd < 0)
		return -1;
	close(fd);
	w->fd = epoll_create1(EPOLL_CLOEXEC);
	return w->fd < 0 ? -1 : 0;
}

static void pidfd_backend_close(struct pidwait_watcher *w)
{
	struct pw_entry *e;
	unsigned int i;

	for (i = 0; i < 1u << w->bits; i++)
		for (e = w->buckets[i]; e; e = e->next)
			close(e->fd);
	close(w->fd);
}

static int pidfd_add(struct pidwait_watcher *w, struct pw_entry *e)
{
	struct epoll_event ee = { .events = EPOLLIN, .data.ptr = e };

	e->fd = sys_pidfd_open(e->pid, e->thread ? PIDFD_THREAD : 0);
	if (e->fd < 0) {
		/* Before 6.9 a thread's id names no process, and no flag helps. */
		if (e->thread && errno == EINVAL)
			errno = EOPNOTSUPP;
		/* 7.x says ENOENT for a thread's id; 5.3 to 6.x, EINVAL. */
		if (!e->thread && errno == ENOENT)
			errno = EINVAL;
		return -1;
	}
	if (epoll_ctl(w->fd, EPOLL_CTL_ADD, e->fd, &ee)) {
		int err = errno;

		close(e->fd);
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * Out of the epoll set before the close: a child forked since holds the
 * same file, which would keep it in the set, pointing at a freed entry.
 */
static void forget(struct pidwait_watcher *w, struct pw_entry *e)
{
	epoll_ctl(w->fd, EPOLL_CTL_DEL, e->fd, NULL);
	close(e->fd);
}

static void pidfd_remove(struct pidwait_watcher *w, struct pw_entry *e)
{
	forget(w, e);
}

static int pidfd_collect(struct pidwait_watcher *w,
			 struct pidwait_watcher_event *ev, unsigned int max)
{
	struct epoll_event ee[64];
	unsigned int n = 0;
	int got, i;

	while (n < max) {
		got = epoll_wait(w->fd, ee, (int)(max - n < 64 ? max - n : 64), 0);
		if (got <= 0)
			break;
		for (i = 0; i < got; i++) {
			struct pw_entry *e = ee[i].data.ptr;

			forget(w, e);
			pw_fire(w, e, &ev[n]);
			n++;
		}
	}
	return (int)n;
}

const struct pw_backend pw_backend_pidfd = {
	.id = PIDWAIT_BACKEND_PIDFD,
	.name = "pidfd",
	.statuses = 0,
	.open = pidfd_backend_open,
	.close = pidfd_backend_close,
	.add = pidfd_add,
	.remove = pidfd_remove,
	.collect = pidfd_collect,
};
