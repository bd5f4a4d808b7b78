/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libpidwait: tell me when these processes exit, on every kernel.
 *
 * A watcher holds the processes (or threads) a program waits for and one
 * descriptor to poll for them. It takes the best mechanism the machine
 * has, and says which: the pidwait module (/dev/pidwait: any process,
 * statuses wherever ptrace would show them), else a pidfd per process in
 * one epoll set (5.3 and later: statuses of the caller's children), else
 * polling /proc with a backoff (statuses of the caller's children). Every
 * call returns -1 (or NULL) and sets errno on failure.
 */
#ifndef LIBPIDWAIT_H
#define LIBPIDWAIT_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBPIDWAIT_VERSION_MAJOR	0
#define LIBPIDWAIT_VERSION_MINOR	4

enum pidwait_backend {
	PIDWAIT_BACKEND_AUTO	= 0,	/* the best available; PIDWAIT_BACKEND= may force one */
	PIDWAIT_BACKEND_MODULE	= 1,	/* /dev/pidwait */
	PIDWAIT_BACKEND_PIDFD	= 2,	/* a pidfd per process in an epoll set */
	PIDWAIT_BACKEND_PROC	= 3,	/* /proc polled with a backoff */
};

/* pidwait_watcher_add() flags */
#define PIDWAIT_WATCH_THREAD	0x1u	/* @pid is a thread id: its thread's exit */

/* struct pidwait_watcher_event.flags */
#define PIDWAIT_WEVENT_STATUS	0x1u	/* status holds a wait(2) status */
#define PIDWAIT_WEVENT_THREAD	0x2u	/* added with PIDWAIT_WATCH_THREAD */

struct pidwait_watcher_event {
	pid_t pid;		/* as added */
	uint32_t flags;		/* PIDWAIT_WEVENT_* */
	int status;		/* for WIFEXITED() and friends, if PIDWAIT_WEVENT_STATUS */
	uint32_t reserved;
	uint64_t cookie;	/* as added */
	uint64_t time_ns;	/* CLOCK_MONOTONIC when the exit was seen */
};

struct pidwait_watcher;

struct pidwait_watcher *pidwait_watcher_new(enum pidwait_backend backend,
					    unsigned int flags);
void pidwait_watcher_free(struct pidwait_watcher *w);
int pidwait_watcher_fd(const struct pidwait_watcher *w);
enum pidwait_backend pidwait_watcher_backend(const struct pidwait_watcher *w);
const char *pidwait_backend_name(enum pidwait_backend backend);
int pidwait_watcher_statuses(const struct pidwait_watcher *w);
int pidwait_watcher_add(struct pidwait_watcher *w, pid_t pid, uint64_t cookie,
			unsigned int flags);
int pidwait_watcher_remove(struct pidwait_watcher *w, pid_t pid,
			   unsigned int flags);
int pidwait_watcher_read(struct pidwait_watcher *w,
			 struct pidwait_watcher_event *events,
			 unsigned int max, int timeout_ms);
int pidwait_pidfd_open(pid_t pid, unsigned int flags);

#ifdef __cplusplus
}
#endif

#endif /* LIBPIDWAIT_H */
