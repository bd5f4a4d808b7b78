// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The last resort, on any kernel: /proc polled on a timer whose period
 * doubles while nothing exits. An id counts as exited once its stat is
 * gone, its state is a zombie's, or its start time differs from the one
 * it had when added: a reused number is never taken for the old process.
 *
 * A scan reads a file per watch, so the period is never shorter than ten
 * times the CPU time the last scan took: with many watches the waiter
 * keeps to about a tenth of a CPU, and waits longer for the news instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define PERIOD_MIN_NS	1000000L	/* 1 ms after an add or an exit */
#define PERIOD_MAX_NS	200000000L	/* 200 ms when nothing happens */
#define SCAN_SHARE	10		/* a period is at least 10 scans long */

enum { ALIVE, GONE, ERROR };

/* What a scan and an add need of an id, all from /proc/ID/stat. */
struct proc_stat {
	char state;
	int threads;			/* field 20: live threads, a zombie leader too */
	unsigned long long start;	/* field 22: start time, in ticks */
	int exit_signal;		/* field 38: -1 for a thread, never a leader */
};

static int proc_stat(pid_t pid, struct proc_stat *st)
{
	char path[32], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? GONE : ERROR;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return GONE;
	buf[n] = 0;
	/* The command may hold spaces and parentheses: skip to its last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %d %*d %llu"
			 " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %d",
			 &st->state, &st->threads, &st->start, &st->exit_signal) != 4)
		return ERROR;
	return ALIVE;
}

/*
 * Gone, or not the process it was. A leader that ended before its other
 * threads is a zombie while its process still runs.
 */
static bool proc_exited(const struct pw_entry *e)
{
	struct proc_stat st;

	if (proc_stat(e->pid, &st) != ALIVE || st.start != e->start ||
	    st.state == 'X')
		return true;
	if (st.state != 'Z')
		return false;
	return e->thread || st.threads <= 1;
}

/* The shortest period that keeps the scans to their share of a CPU. */
static long period_floor(const struct pidwait_watcher *w)
{
	return w->scan_ns > PERIOD_MIN_NS / SCAN_SHARE ?
		w->scan_ns * SCAN_SHARE : PERIOD_MIN_NS;
}

/*
 * The next scan in one period; none while nothing is watched. Exits found
 * and not yet read make the descriptor readable at once.
 */
static void arm(struct pidwait_watcher *w, bool any)
{
	struct itimerspec it = { 0 };

	if (w->gone) {
		it.it_value.tv_nsec = 1;
	} else if (any) {
		it.it_value.tv_sec = w->period_ns / 1000000000L;
		it.it_value.tv_nsec = w->period_ns % 1000000000L;
	}
	timerfd_settime(w->fd, 0, &it, NULL);
}

static int proc_open(struct pidwait_watcher *w)
{
	if (access("/proc/self/stat", R_OK))
		return -1;
	w->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	w->period_ns = PERIOD_MIN_NS;
	return w->fd < 0 ? -1 : 0;
}

static void proc_close(struct pidwait_watcher *w)
{
	close(w->fd);
}

static int proc_add(struct pidwait_watcher *w, struct pw_entry *e)
{
	struct proc_stat st;

	switch (proc_stat(e->pid, &st)) {
	case GONE:
		errno = ESRCH;
		return -1;
	case ERROR:
		return -1;
	}
	/* A thread's id is no process: as pidwait and pidfd_open say. */
	if (!e->thread && st.exit_signal == -1) {
		errno = EINVAL;
		return -1;
	}
	e->start = st.start;
	w->period_ns = period_floor(w);
	w->scan_due = true;
	arm(w, true);
	return 0;
}

static void proc_remove(struct pidwait_watcher *w, struct pw_entry *e)
{
	/* The table lets it go after this returns. */
	if (e->gone)
		w->gone--;
	if (w->count == 1)
		arm(w, false);
}

/* CPU time, not wall time: a scan preempted on a busy machine is no dearer. */
static long thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Mark what has exited, and set the next period by what this cost. */
static void scan(struct pidwait_watcher *w)
{
	long t0 = thread_cpu_ns(), lo, hi, p;
	struct pw_entry *e;
	unsigned int i;

	for (i = 0; i < 1u << w->bits; i++)
		for (e = w->buckets[i]; e; e = e->next)
			if (!e->gone && proc_exited(e)) {
				e->gone = true;
				w->gone++;
			}
	w->scan_ns = thread_cpu_ns() - t0;
	lo = period_floor(w);
	hi = lo > PERIOD_MAX_NS ? lo : PERIOD_MAX_NS;
	p = w->gone ? lo : w->period_ns * 2;
	w->period_ns = p < lo ? lo : p > hi ? hi : p;
}

/*
 * One scan marks every exit it finds; reads take them from the marks, so
 * that a burst of exits larger than a read costs one scan, not one a read.
 */
static int proc_collect(struct pidwait_watcher *w,
			struct pidwait_watcher_event *ev, unsigned int max)
{
	struct pw_entry *e, *next;
	unsigned long long ticks;
	unsigned int n = 0, i;
	ssize_t up;

	/* Only when the period is up: a caller's own wakeups cost no scan. */
	up = read(w->fd, &ticks, sizeof(ticks));
	if (up < 0 && errno != EAGAIN)
		return -1;
	if (!w->gone) {
		if (up < 0 && !w->scan_due)
			return 0;
		w->scan_due = false;
		scan(w);
	}
	for (i = 0; i < 1u << w->bits && n < max && w->gone; i++)
		for (e = w->buckets[i]; e && n < max; e = next) {
			next = e->next;
			if (!e->gone)
				continue;
			w->gone--;
			pw_fire(w, e, &ev[n]);
			n++;
		}
	arm(w, w->count > 0);
	return (int)n;
}

const struct pw_backend pw_backend_proc = {
	.id = PIDWAIT_BACKEND_PROC,
	.name = "proc",
	.statuses = 0,
	.open = proc_open,
	.close = proc_close,
	.add = proc_add,
	.remove = proc_remove,
	.collect = proc_collect,
};
