/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pidwait internals: the per-file state, the watches it holds, and what the
 * device, the watch table and the exit backend say to one another.
 */
#ifndef _PIDWAIT_H
#define _PIDWAIT_H

#include <linux/bitops.h>
#include <linux/irq_work.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/pidwait.h>

#include "compat/compiler.h"
#include "exit.h"

struct cred;
struct pid;
struct seq_file;
struct task_struct;
struct pidwait_user;

/* Arm flags the module knows; the backend may support fewer. */
#define PIDWAIT_ARM_KNOWN	PIDWAIT_ARM_THREAD
#define PIDWAIT_EVENT_KNOWN	(PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD)

enum pidwait_state {
	PIDWAIT_ARMED,		/* waiting for the exit */
	PIDWAIT_READY,		/* fired: on the file's ready queue */
	PIDWAIT_DISARMED,	/* being dropped: the backend must ignore it */
};

/*
 * One watch, and later the event it turns into: firing only links it on
 * the ready queue, so the exit path never allocates and no event is lost.
 * Both links are single: a watch is small (a million fit on one file), and
 * neither needs a way back (events leave the queue first in, first out;
 * a bucket's chain is short).
 */
struct pidwait_watch {
	struct pidwait_exit_link link;	/* owned by the exit backend */
	struct pidwait_watch *next;	/* in its bucket of pidwait_file */
	struct pidwait_watch *ready;	/* next on the ready queue */
	struct pidwait_file *file;
	struct pid *pid;		/* pinned: the watch is on the process */
	const struct cred *cred;	/* the armer's, to judge the status by */
	const struct task_struct *thread; /* compared, never followed */
	u64 cookie;
	u64 exit_time_ns;
	s32 nr;				/* the pid as the caller armed it */
	u32 flags;			/* PIDWAIT_ARM_* | PIDWAIT_WATCH_* */
	s32 status;
	u16 event_flags;		/* PIDWAIT_EVENT_*, final on firing */
	u8 state;			/* enum pidwait_state, under file->lock */
};

/* Internal watch flags, above the uapi ones. */
#define PIDWAIT_WATCH_PTRACE	BIT(31)	/* the armer may ptrace it */

struct pidwait_file {
	/* Whose watches these are, for max_user_watches. */
	struct pidwait_user *user;

	/* Arm, disarm, read and close: the table and the count. */
	struct mutex mutex;
	struct pidwait_watch **buckets;
	unsigned int bits;
	unsigned int nr_watches;

	/* The exit path: the ready queue and state changes. */
	spinlock_t lock;
	struct pidwait_watch *ready, **ready_tail;
	unsigned int nr_ready;
	wait_queue_head_t wqh;
#ifdef PIDWAIT_EXIT_TRACEPOINT
	/* Wakes wqh for a watch fired where no wait queue may be woken. */
	struct irq_work wake;
#endif
};

extern unsigned int pidwait_max_watches;
extern unsigned int pidwait_max_user_watches;

/* user.c: every user's watches, across all of its files. */
void pidwait_users_init(void);
struct pidwait_user *pidwait_user_get(const struct cred *cred);
void pidwait_user_put(struct pidwait_user *u);
bool pidwait_user_charge(struct pidwait_user *u);
void pidwait_user_uncharge(struct pidwait_user *u);
unsigned int pidwait_user_watches(const struct pidwait_user *u);

/* watch.c */
int pidwait_watches_init(void);
void pidwait_watches_exit(void);
int pidwait_file_init(struct pidwait_file *f, const struct cred *cred);
void pidwait_file_release(struct pidwait_file *f);
int pidwait_arm(struct pidwait_file *f, const struct pidwait_arm *arm);
int pidwait_arm_pid(struct pidwait_file *f, const struct pidwait_arm *arm,
		    struct pid *pid);
struct pid *pidwait_watched_process(struct pidwait_file *f, pid_t nr);
bool pidwait_peek(struct pidwait_file *f, struct pidwait_event *ev);
int pidwait_disarm(struct pidwait_file *f, const struct pidwait_arm *arm);
ssize_t pidwait_consume(struct pidwait_file *f, char __user *buf, size_t count);
void pidwait_show_watches(struct pidwait_file *f, struct seq_file *m);
u32 pidwait_arm_flags(void);

/* signal.c: signals through a watch. */
u64 pidwait_signal_features(void);
int pidwait_send_signal(struct pid *pid, int sig, u64 uinfo, bool compat);

/* pidfd.c: pidfd-compatible files. */
int pidwait_pidfd_open(const struct pidwait_pidfd_open *req);

/*
 * For the exit backend, in atomic context: check whether @w is ready; or
 * fire it, its process or thread @task known dead (NULL once reaped).
 */
void pidwait_watch_check(struct pidwait_watch *w);
void pidwait_watch_fire(struct pidwait_watch *w, struct task_struct *task);
/* The same, under a lock that no wait queue's wake may nest in. */
void pidwait_watch_fire_nowake(struct pidwait_watch *w,
			       struct task_struct *task);
void pidwait_watch_note(struct pidwait_watch *w, struct task_struct *task);
bool pidwait_exit_final(struct task_struct *task);

#endif /* _PIDWAIT_H */
