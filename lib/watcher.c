// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The watcher: the backend chain, the table of watched ids, and reads
 * that wait on the one descriptor. Each watcher is independent: no
 * global state, and one lock per watcher makes it safe to share.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define PUBLIC __attribute__((visibility("default")))

/* Best first: the order of the fallback chain. */
static const struct pw_backend *const chain[] = {
	&pw_backend_module, &pw_backend_pidfd, &pw_backend_proc,
};

uint64_t pw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The caller's child's wait status, left to be reaped: 0 if it has one. */
static int child_status(pid_t pid, int *status)
{
	siginfo_t si;
	int err = errno;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) ||
	    si.si_pid != pid) {
		errno = err;
		return -1;
	}
	switch (si.si_code) {
	case CLD_EXITED:
		*status = (si.si_status & 0xff) << 8;
		return 0;
	case CLD_KILLED:
		*status = si.si_status & 0x7f;
		return 0;
	case CLD_DUMPED:
		*status = (si.si_status & 0x7f) | 0x80;
		return 0;
	}
	return -1;
}

void pw_fire(struct pidwait_watcher *w, struct pw_entry *e,
	     struct pidwait_watcher_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->pid = e->pid;
	ev->cookie = e->cookie;
	ev->time_ns = pw_now_ns();
	if (e->thread)
		ev->flags |= PIDWAIT_WEVENT_THREAD;
	else if (!child_status(e->pid, &ev->status))
		ev->flags |= PIDWAIT_WEVENT_STATUS;
	pw_unlink(w, e);
	free(e);
}

static unsigned int bucket(const struct pidwait_watcher *w, pid_t pid)
{
	return ((uint32_t)pid * 0x9e3779b1u) >> (32 - w->bits);
}

struct pw_entry *pw_lookup(struct pidwait_watcher *w, pid_t pid, bool thread)
{
	struct pw_entry *e;

	for (e = w->buckets[bucket(w, pid)]; e; e = e->next)
		if (e->pid == pid && e->thread == thread)
			return e;
	return NULL;
}

void pw_unlink(struct pidwait_watcher *w, struct pw_entry *e)
{
	struct pw_entry **p = &w->buckets[bucket(w, e->pid)];

	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	w->count--;
}

/* Doubles the table at two entries a bucket: arm and remove stay O(1). */
static int grow(struct pidwait_watcher *w)
{
	unsigned int old = 1u << w->bits, i;
	struct pw_entry **b, **ob = w->buckets, *e, *n;

	if (w->count < 2 * old || w->bits >= 24)
		return 0;
	b = calloc((size_t)old * 2, sizeof(*b));
	if (!b)
		return -1;
	w->buckets = b;
	w->bits++;
	for (i = 0; i < old; i++)
		for (e = ob[i]; e; e = n) {
			n = e->next;
			e->next = b[bucket(w, e->pid)];
			b[bucket(w, e->pid)] = e;
		}
	free(ob);
	return 0;
}

static const struct pw_backend *forced(void)
{
	const char *s = getenv("PIDWAIT_BACKEND");
	size_t i;

	if (!s || !*s)
		return NULL;
	for (i = 0; i < sizeof(chain) / sizeof(chain[0]); i++)
		if (!strcmp(s, chain[i]->name))
			return chain[i];
	return NULL;
}

PUBLIC struct pidwait_watcher *pidwait_watcher_new(enum pidwait_backend backend,
						   unsigned int flags)
{
	const struct pw_backend *want = NULL;
	struct pidwait_watcher *w;
	size_t i;
	int err = ENOSYS;

	if (flags || backend > PIDWAIT_BACKEND_PROC || (int)backend < 0) {
		errno = EINVAL;
		return NULL;
	}
	if (backend == PIDWAIT_BACKEND_AUTO) {
		want = forced();
		if (!want && getenv("PIDWAIT_BACKEND") && *getenv("PIDWAIT_BACKEND")) {
			errno = EINVAL;
			return NULL;
		}
	} else {
		want = chain[backend - 1];
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->bits = 4;
	w->buckets = calloc(1u << w->bits, sizeof(*w->buckets));
	if (!w->buckets || pthread_mutex_init(&w->lock, NULL)) {
		free(w->buckets);
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->fd = -1;
	for (i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
		if (want && chain[i] != want)
			continue;
		if (!chain[i]->open(w)) {
			w->ops = chain[i];
			return w;
		}
		err = errno;
	}
	pthread_mutex_destroy(&w->lock);
	free(w->buckets);
	free(w);
	errno = err;
	return NULL;
}

PUBLIC void pidwait_watcher_free(struct pidwait_watcher *w)
{
	struct pw_entry *e, *n;
	unsigned int i;

	if (!w)
		return;
	/* The backend lets go of every entry's resources at once. */
	w->ops->close(w);
	for (i = 0; i < 1u << w->bits; i++)
		for (e = w->buckets[i]; e; e = n) {
			n = e->next;
			free(e);
		}
	pthread_mutex_destroy(&w->lock);
	free(w->buckets);
	free(w);
}

PUBLIC int pidwait_watcher_fd(const struct pidwait_watcher *w)
{
	return w->fd;
}

PUBLIC enum pidwait_backend pidwait_watcher_backend(const struct pidwait_watcher *w)
{
	return w->ops->id;
}

PUBLIC const char *pidwait_backend_name(enum pidwait_backend backend)
{
	if (backend >= PIDWAIT_BACKEND_MODULE && backend <= PIDWAIT_BACKEND_PROC)
		return chain[backend - 1]->name;
	return backend == PIDWAIT_BACKEND_AUTO ? "auto" : NULL;
}

PUBLIC int pidwait_watcher_statuses(const struct pidwait_watcher *w)
{
	return w->ops->statuses;
}

PUBLIC int pidwait_watcher_add(struct pidwait_watcher *w, pid_t pid,
			       uint64_t cookie, unsigned int flags)
{
	struct pw_entry *e;
	int ret = -1;

	if (pid <= 0 || (flags & ~PIDWAIT_WATCH_THREAD)) {
		errno = EINVAL;
		return -1;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	e->pid = pid;
	e->thread = flags & PIDWAIT_WATCH_THREAD;
	e->cookie = cookie;
	e->fd = -1;
	pthread_mutex_lock(&w->lock);
	if (pw_lookup(w, pid, e->thread)) {
		errno = EEXIST;
	} else if (!grow(w) && !w->ops->add(w, e)) {
		unsigned int b = bucket(w, pid);

		e->next = w->buckets[b];
		w->buckets[b] = e;
		w->count++;
		e = NULL;
		ret = 0;
	}
	pthread_mutex_unlock(&w->lock);
	free(e);
	return ret;
}

PUBLIC int pidwait_watcher_remove(struct pidwait_watcher *w, pid_t pid,
				  unsigned int flags)
{
	struct pw_entry *e;

	if (pid <= 0 || (flags & ~PIDWAIT_WATCH_THREAD)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&w->lock);
	e = pw_lookup(w, pid, flags & PIDWAIT_WATCH_THREAD);
	if (e) {
		w->ops->remove(w, e);
		pw_unlink(w, e);
	}
	pthread_mutex_unlock(&w->lock);
	if (!e) {
		errno = ENOENT;
		return -1;
	}
	free(e);
	return 0;
}

/*
 * Up to @max events; waits up to @timeout_ms for the first (0: not at
 * all, -1: for ever). 0 events once the time is up.
 */
PUBLIC int pidwait_watcher_read(struct pidwait_watcher *w,
				struct pidwait_watcher_event *events,
				unsigned int max, int timeout_ms)
{
	uint64_t end = timeout_ms > 0 ? pw_now_ns() + (uint64_t)timeout_ms * 1000000ull : 0;
	struct pollfd p = { .fd = w->fd, .events = POLLIN };
	int n, left = timeout_ms;

	if (!events || !max || timeout_ms < -1) {
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		pthread_mutex_lock(&w->lock);
		n = w->ops->collect(w, events, max);
		pthread_mutex_unlock(&w->lock);
		if (n || !timeout_ms)
			return n;
		if (timeout_ms > 0) {
			uint64_t now = pw_now_ns();

			if (now >= end)
				return 0;
			left = (int)((end - now + 999999) / 1000000);
		}
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			return -1;
	}
}
