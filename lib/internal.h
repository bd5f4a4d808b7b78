/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the watcher and its backends share; nothing here is exported. */
#ifndef LIBPIDWAIT_INTERNAL_H
#define LIBPIDWAIT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "libpidwait.h"

/* One watched process or thread. */
struct pw_entry {
	struct pw_entry *next;		/* in its bucket */
	pid_t pid;
	bool thread;
	uint64_t cookie;
	int fd;				/* pidfd backend: its pidfd */
	unsigned long long start;	/* proc backend: start time, in ticks */
	bool gone;			/* proc backend: seen exited, not yet read */
};

struct pw_backend;

struct pidwait_watcher {
	const struct pw_backend *ops;
	pthread_mutex_t lock;		/* the table, and the backend's state */
	int fd;				/* what the caller polls */
	struct pw_entry **buckets;
	unsigned int bits, count;
	/* module backend: PIDWAIT_ARM_* the running module supports, and
	 * the size of its records (a newer module may grow them) */
	unsigned int arm_flags, event_size;
	/* proc backend: the current period of its timer, the CPU time the
	 * last scan took, an add since it (a zombie added is seen at the
	 * next read, at once), and the entries it found exited that no read
	 * has taken yet */
	long period_ns, scan_ns;
	bool scan_due;
	unsigned int gone;
};

struct pw_backend {
	enum pidwait_backend id;
	const char *name;
	int statuses;			/* 1: any process's; 0: the caller's children */
	/* 0 if this machine can serve it; w->fd set */
	int (*open)(struct pidwait_watcher *w);
	void (*close)(struct pidwait_watcher *w);
	int (*add)(struct pidwait_watcher *w, struct pw_entry *e);
	void (*remove)(struct pidwait_watcher *w, struct pw_entry *e);
	/* Events ready now, without blocking; under w->lock */
	int (*collect)(struct pidwait_watcher *w,
		       struct pidwait_watcher_event *ev, unsigned int max);
};

extern const struct pw_backend pw_backend_module;
extern const struct pw_backend pw_backend_pidfd;
extern const struct pw_backend pw_backend_proc;

struct pw_entry *pw_lookup(struct pidwait_watcher *w, pid_t pid, bool thread);
void pw_unlink(struct pidwait_watcher *w, struct pw_entry *e);
uint64_t pw_now_ns(void);
/*
 * An exit seen now by a backend that the kernel tells no status: the
 * event (with the status of the caller's child), and the entry freed.
 */
void pw_fire(struct pidwait_watcher *w, struct pw_entry *e,
	     struct pidwait_watcher_event *ev);

#endif /* LIBPIDWAIT_INTERNAL_H */
