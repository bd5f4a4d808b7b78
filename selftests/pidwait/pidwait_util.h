/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the pidwait selftests: thin wrappers for the ioctls,
 * and "workers": forked children whose threads obey commands sent over
 * pipes, so a test decides exactly which thread exits, how and when.
 *
 * Nothing here uses ASSERT_*: helpers return 0 or -errno so that they work
 * both inside a test and inside a forked child (which reports by exit code).
 */
#ifndef PIDWAIT_UTIL_H
#define PIDWAIT_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/pidwait.h>

#define PW_EVSZ		((int)sizeof(struct pidwait_event))
#define PW_INFO_RESERVED \
	((int)(sizeof(((struct pidwait_info *)0)->reserved) / sizeof(__u64)))
/* Bound on any wait for something that must happen: a failure guard only. */
#define PW_TIMEOUT_MS	5000
/* How long "nothing happens" is watched for before it is believed. */
#define PW_QUIET_MS	100

#define PW_EXEC_HELPER_ARG "--pidwait-exec-helper"

/*
 * How many times slower than a distribution kernel this one runs: the
 * runner sets PIDWAIT_SLOWDOWN on the debug kernel (KASAN, lockdep).
 * Waits for work the kernel must finish scale with it.
 */
static inline int pw_slowdown(void)
{
	const char *s = getenv("PIDWAIT_SLOWDOWN");
	int n = s ? atoi(s) : 1;

	return n > 1 ? n : 1;
}

static inline pid_t pw_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static inline uint64_t pw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void pw_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- the device ------------------------------------------------------ */

static inline int pw_open(int extra_flags)
{
	return open(PIDWAIT_DEVICE, O_RDONLY | O_CLOEXEC | extra_flags);
}

static inline int pw_arm(int fd, pid_t pid, uint32_t flags, uint64_t cookie)
{
	struct pidwait_arm arm = { .pid = pid, .flags = flags, .cookie = cookie };

	return ioctl(fd, PIDWAIT_IOC_ARM, &arm) ? -errno : 0;
}

static inline int pw_disarm(int fd, pid_t pid, uint32_t flags)
{
	struct pidwait_arm arm = { .pid = pid, .flags = flags, .cookie = 0 };

	return ioctl(fd, PIDWAIT_IOC_DISARM, &arm) ? -errno : 0;
}

static inline int pw_info(int fd, struct pidwait_info *info)
{
	memset(info, 0, sizeof(*info));
	return ioctl(fd, PIDWAIT_IOC_GET_INFO, info) ? -errno : 0;
}

/* Watches on this file, armed or unread; -errno on failure. */
static inline int pw_nr_watches(int fd)
{
	struct pidwait_info info;
	int ret = pw_info(fd, &info);

	return ret ? ret : (int)info.nr_watches;
}

/* Bytes of unread events; -errno on failure. */
static inline int pw_fionread(int fd)
{
	int n = -1;

	return ioctl(fd, FIONREAD, &n) ? -errno : n;
}

/* 1 if fd is readable within timeout_ms, 0 if not, -errno on error. */
static inline int pw_wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int ret = poll(&pfd, 1, timeout_ms);

	if (ret < 0)
		return -errno;
	return ret > 0 && (pfd.revents & POLLIN);
}

/*
 * Wait up to timeout_ms for an event and read exactly one.
 * 0 on success, -ETIMEDOUT if none came, -EIO on a short read, -errno else.
 */
static inline int pw_read_one(int fd, struct pidwait_event *ev, int timeout_ms)
{
	ssize_t n;
	int ret = pw_wait_readable(fd, timeout_ms);

	if (ret < 0)
		return ret;
	if (!ret)
		return -ETIMEDOUT;
	memset(ev, 0xa5, sizeof(*ev));
	n = read(fd, ev, sizeof(*ev));
	if (n < 0)
		return -errno;
	return n == PW_EVSZ ? 0 : -EIO;
}

/* Wait until FIONREAD reports at least bytes (there is no event for "one more"). */
static inline int pw_wait_fionread(int fd, int bytes, int timeout_ms)
{
	uint64_t end = pw_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	int n;

	for (;;) {
		n = pw_fionread(fd);
		if (n < 0 || n >= bytes)
			return n;
		if (pw_now_ns() > end)
			return -ETIMEDOUT;
		pw_sleep_ms(1);
	}
}

/* ---- pidfds, the oracle where the kernel has them ---------------------- */

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* pidfd_open(2) (Linux 5.3; PIDFD_THREAD 6.9), or -1 with errno set. */
static inline int pw_pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(__NR_pidfd_open, pid, flags);
}

/* ---- processes ------------------------------------------------------- */

/* waitid(WNOWAIT): the child is a zombie but stays unreaped. */
static inline int pw_wait_zombie(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, pid, &si, WEXITED | WNOWAIT))
		if (errno != EINTR)
			return -errno;
	return 0;
}

static inline int pw_reap(pid_t pid, int *status)
{
	int st = 0;

	while (waitpid(pid, &st, 0) != pid)
		if (errno != EINTR)
			return -errno;
	if (status)
		*status = st;
	return 0;
}

static inline void *pw_park_main(void *arg)
{
	pid_t tid = pw_gettid();

	if (write((int)(long)arg, &tid, sizeof(tid)) != sizeof(tid))
		return NULL;
	pause();
	return NULL;
}

/* A thread that says its id, then sleeps until cancelled: 0 or -errno. */
static inline int pw_park_thread(pthread_t *t, pid_t *tid)
{
	int p[2], err;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	err = pthread_create(t, NULL, pw_park_main, (void *)(long)p[1]);
	if (!err && read(p[0], tid, sizeof(*tid)) != sizeof(*tid))
		err = EIO;
	close(p[0]);
	close(p[1]);
	return -err;
}

/* State letter of a task from /proc (R, S, Z, ...), 0 if it has gone. */
static inline char pw_task_state(pid_t tgid, pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", tgid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * A thread's exit has no event of its own that does not come from the
 * module under test, so watch /proc until it is a zombie or gone.
 */
static inline int pw_wait_thread_exited(pid_t tgid, pid_t tid, int timeout_ms)
{
	uint64_t end = pw_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	char s;

	for (;;) {
		s = pw_task_state(tgid, tid);
		if (!s || s == 'Z' || s == 'X')
			return 0;
		if (pw_now_ns() > end)
			return -ETIMEDOUT;
		pw_sleep_ms(1);
	}
}

/*
 * Wait until thread tid of process tgid sleeps (state S) in system call
 * nr1 or nr2: nothing else tells that a thread has gone to sleep.
 */
static inline int pw_wait_in_syscall(pid_t tgid, pid_t tid, long nr1, long nr2,
				     int timeout_ms)
{
	uint64_t end = pw_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	char path[64], buf[256];
	ssize_t n;
	long nr;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", tgid, tid);
	for (;;) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			if (sscanf(buf, "%ld", &nr) == 1 && (nr == nr1 || nr == nr2) &&
			    pw_task_state(tgid, tid) == 'S')
				return 0;
		}
		if (pw_now_ns() > end)
			return -ETIMEDOUT;
		pw_sleep_ms(1);
	}
}

/* Bits of /proc/sys/kernel/tainted that mean the kernel went wrong. */
#define PW_TAINT_BAD ((1ul << 4) | (1ul << 5) | (1ul << 7) | (1ul << 9) | (1ul << 14))

static inline long pw_read_long(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return strtol(buf, NULL, 0);
}

/* Whether /proc/kallsyms names sym: a kernel's behaviour, backports included. */
static inline bool pw_kernel_has(const char *sym)
{
	char line[256], name[128];
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %127s", name) == 1 && !strcmp(name, sym);
	fclose(f);
	return found;
}

/* A knob or a /proc file into buf, without its trailing newlines. */
static inline int pw_read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = 0;
	return 0;
}

static inline int pw_write_str(const char *path, const char *s)
{
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	if (n < 0)
		return -errno;
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* fd's /proc/self/fdinfo, a "# fdinfo:" line each: what a failure saw. */
static inline void pw_print_fdinfo(int fd)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		printf("# fdinfo: %s", line);
	if (f)
		fclose(f);
	fflush(stdout);
}

#define PW_KMEMLEAK	"/sys/kernel/debug/kmemleak"

/*
 * The objects kmemleak reports whose allocation backtrace goes through
 * the module (not their comm or hex dump, which may say pidwait too),
 * each printed; or -errno. kmemleak reports an object that two scans
 * found unreferenced and unchanged and that is 5 s old: so scan, wait
 * longer than that, scan.
 */
static inline int pw_kmemleak_ours(void)
{
	bool in_trace = false;
	char line[512], obj[sizeof(line)] = "?";
	int n = 0, ret;
	FILE *f;

	ret = pw_write_str(PW_KMEMLEAK, "scan");
	if (ret)
		return ret;
	pw_sleep_ms(6000);
	ret = pw_write_str(PW_KMEMLEAK, "scan");
	if (ret)
		return ret;
	f = fopen(PW_KMEMLEAK, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "unreferenced object", 19)) {
			snprintf(obj, sizeof(obj), "%s", line);
			in_trace = false;
		} else if (strstr(line, "  backtrace")) {
			in_trace = true;
		} else if (in_trace && strstr(line, "pidwait")) {
			fprintf(stderr, "# kmemleak: %s %s\n", obj, line + strspn(line, " "));
			in_trace = false;
			n++;
		}
	}
	fclose(f);
	return n;
}

static inline long pw_taint(void)
{
	return pw_read_long("/proc/sys/kernel/tainted");
}

/*
 * In a forked child, report a failed check on stderr and exit with 1;
 * the test asserts the child's exit status.
 */
#define CHILD_CHECK(cond)						\
	do {								\
		if (!(cond)) {						\
			dprintf(2, "# %s:%d: child check failed: %s (errno %d)\n", \
				__FILE__, __LINE__, #cond, errno);	\
			_exit(1);					\
		}							\
	} while (0)

/* Close every descriptor >= 3 except those listed (in a fresh child). */
static inline void pw_close_fds_except(const int *keep, int nkeep)
{
	int fd, i, max = 2;

	for (i = 0; i < nkeep; i++)
		if (keep[i] > max)
			max = keep[i];
	for (fd = 3; fd <= max; fd++) {
		for (i = 0; i < nkeep && keep[i] != fd; i++)
			;
		if (i == nkeep)
			close(fd);
	}
#ifdef SYS_close_range
	if (!syscall(SYS_close_range, max + 1, ~0U, 0))
		return;
#endif
	for (fd = max + 1; fd < 4096; fd++)
		close(fd);
}

/* Kill this child when the test dies, so that nothing outlives a failure. */
static inline void pw_child_init(pid_t parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
}

/* ---- workers --------------------------------------------------------- */

#define W_MAX_THREADS	8
#define W_EXECED	100	/* report.idx of an image that has just been exec'd */

enum w_op {
	W_EXIT_THREAD = 1,	/* syscall(SYS_exit, arg) */
	W_EXIT_GROUP,		/* syscall(SYS_exit_group, arg) */
	W_SIGNAL,		/* tgkill(self, arg): a fatal signal from this thread */
	W_EXEC,			/* execve the test binary as an exec helper */
	W_CALL,			/* fn(arg), then report its return value */
	W_PING,			/* report arg back: "every command before this one is done" */
};

struct w_cmd {
	int op;
	int arg;
	int (*fn)(int arg);
};

struct w_report {
	int idx;		/* thread index, or W_EXECED */
	pid_t tid;
	int val;
};

struct worker {
	pid_t pid;
	int nthreads;			/* including the leader, tid[0] == pid */
	pid_t tid[W_MAX_THREADS];
	int cmd[W_MAX_THREADS];		/* write ends, one pipe per thread */
	int report;			/* read end */
	bool reaped;
};

/* A worker not started yet: worker_free() on it does nothing. */
static inline void worker_init(struct worker *w)
{
	memset(w, 0, sizeof(*w));
	w->pid = -1;
	w->report = -1;
	for (int i = 0; i < W_MAX_THREADS; i++)
		w->cmd[i] = -1;
}

/* In a worker, the write end of its report pipe. */
static int w_report_fd = -1;

static inline void w_send_report(int idx, int val)
{
	struct w_report r = { .idx = idx, .tid = pw_gettid(), .val = val };

	if (write(w_report_fd, &r, sizeof(r)) != sizeof(r))
		_exit(98);
}

static inline void w_exec_self(int cmdfd)
{
	char cmd[16], rep[16];
	char *argv[] = { "pidwait-exec-helper", PW_EXEC_HELPER_ARG, cmd, rep, NULL };
	char *envp[] = { NULL };

	/* The two pipes survive the exec, nothing else does. */
	fcntl(cmdfd, F_SETFD, 0);
	fcntl(w_report_fd, F_SETFD, 0);
	snprintf(cmd, sizeof(cmd), "%d", cmdfd);
	snprintf(rep, sizeof(rep), "%d", w_report_fd);
	execve("/proc/self/exe", argv, envp);
	_exit(97);
}

static inline void w_command_loop(int idx, int cmdfd)
{
	struct w_cmd c;
	ssize_t n;

	for (;;) {
		n = read(cmdfd, &c, sizeof(c));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(c))
			syscall(SYS_exit_group, 96);	/* the test has gone */
		switch (c.op) {
		case W_EXIT_THREAD:
			syscall(SYS_exit, c.arg);
			break;
		case W_EXIT_GROUP:
			syscall(SYS_exit_group, c.arg);
			break;
		case W_SIGNAL:
			syscall(SYS_tgkill, getpid(), pw_gettid(), c.arg);
			break;
		case W_EXEC:
			w_exec_self(cmdfd);
			break;
		case W_CALL:
			w_send_report(idx, c.fn(c.arg));
			break;
		case W_PING:
			w_send_report(idx, c.arg);
			break;
		}
	}
}

struct w_thread_arg {
	int idx;
	int cmdfd;
};

static inline void *w_thread_main(void *p)
{
	struct w_thread_arg *a = p;

	w_send_report(a->idx, 0);
	w_command_loop(a->idx, a->cmdfd);
	return NULL;
}

/* main() of an exec'd helper: one thread, same protocol. */
static inline int pw_exec_helper(int argc, char **argv)
{
	int cmdfd;

	if (argc < 4)
		return 95;
	cmdfd = atoi(argv[2]);
	w_report_fd = atoi(argv[3]);
	w_send_report(W_EXECED, 0);
	w_command_loop(0, cmdfd);
	return 0;
}

static inline int w_read_report(struct worker *w, struct w_report *r, int timeout_ms)
{
	ssize_t n;
	int ret = pw_wait_readable(w->report, timeout_ms);

	if (ret < 0)
		return ret;
	if (!ret)
		return -ETIMEDOUT;
	n = read(w->report, r, sizeof(*r));
	if (n < 0)
		return -errno;
	return n == sizeof(*r) ? 0 : -EPIPE;
}

/*
 * Fork a worker with nthreads threads (the leader included). setup, if
 * given, runs first in the child; a non-zero return makes the child exit
 * with that code before it reports. Returns when every thread has
 * reported its TID; 0 or -errno.
 */
static inline int worker_start(struct worker *w, int nthreads,
			       int (*setup)(void *arg), void *arg)
{
	int cmdr[W_MAX_THREADS], pfd[2], keep[W_MAX_THREADS + 1];
	pid_t parent = getpid();
	struct w_report r;
	int i, ret;

	memset(w, 0, sizeof(*w));
	w->pid = -1;
	w->report = -1;
	if (nthreads < 1 || nthreads > W_MAX_THREADS)
		return -EINVAL;
	w->nthreads = nthreads;
	for (i = 0; i < W_MAX_THREADS; i++)
		w->cmd[i] = cmdr[i] = -1;
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	w->report = pfd[0];
	w_report_fd = pfd[1];
	for (i = 0; i < nthreads; i++) {
		int c[2];

		if (pipe2(c, O_CLOEXEC)) {
			ret = -errno;
			goto fail;
		}
		cmdr[i] = c[0];
		w->cmd[i] = c[1];
	}

	w->pid = fork();
	if (w->pid < 0) {
		ret = -errno;
		goto fail;
	}
	if (w->pid == 0) {
		static struct w_thread_arg targ[W_MAX_THREADS];
		pthread_t t;

		sigset_t all;

		pw_child_init(parent);
		/*
		 * Signals end a worker the default way, whatever the test
		 * inherited (a shell ignores SIGINT and SIGQUIT for background jobs).
		 */
		for (i = 1; i < 32; i++)
			if (i != SIGKILL && i != SIGSTOP)
				signal(i, SIG_DFL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		for (i = 0; i < nthreads; i++)
			keep[i] = cmdr[i];
		keep[nthreads] = w_report_fd;
		pw_close_fds_except(keep, nthreads + 1);
		if (setup) {
			ret = setup(arg);
			if (ret)
				_exit(ret);
		}
		for (i = 1; i < nthreads; i++) {
			targ[i].idx = i;
			targ[i].cmdfd = cmdr[i];
			if (pthread_create(&t, NULL, w_thread_main, &targ[i]))
				_exit(94);
		}
		targ[0].idx = 0;
		targ[0].cmdfd = cmdr[0];
		w_thread_main(&targ[0]);
		_exit(93);
	}

	for (i = 0; i < nthreads; i++)
		close(cmdr[i]);
	close(w_report_fd);
	w_report_fd = -1;
	for (i = 0; i < nthreads; i++) {
		ret = w_read_report(w, &r, PW_TIMEOUT_MS);
		if (ret)
			return ret;
		if (r.idx < 0 || r.idx >= nthreads)
			return -EPROTO;
		w->tid[r.idx] = r.tid;
	}
	return 0;

fail:
	for (i = 0; i < W_MAX_THREADS; i++) {
		if (cmdr[i] >= 0)
			close(cmdr[i]);
		if (w->cmd[i] >= 0)
			close(w->cmd[i]);
		w->cmd[i] = -1;
	}
	close(pfd[0]);
	close(pfd[1]);
	w->report = -1;
	return ret;
}

static inline int worker_cmd_fn(struct worker *w, int idx, int op, int arg,
				int (*fn)(int))
{
	struct w_cmd c = { .op = op, .arg = arg, .fn = fn };

	if (idx < 0 || idx >= w->nthreads)
		return -EINVAL;
	return write(w->cmd[idx], &c, sizeof(c)) == sizeof(c) ? 0 : -errno;
}

static inline int worker_cmd(struct worker *w, int idx, int op, int arg)
{
	return worker_cmd_fn(w, idx, op, arg, NULL);
}

/* Run fn(arg) in thread idx of the worker and return what it returned. */
static inline int worker_call(struct worker *w, int idx, int (*fn)(int), int arg,
			      int *result)
{
	struct w_report r;
	int ret = worker_cmd_fn(w, idx, W_CALL, arg, fn);

	if (!ret)
		ret = w_read_report(w, &r, PW_TIMEOUT_MS);
	if (!ret && result)
		*result = r.val;
	return ret;
}

static inline int worker_reap(struct worker *w, int *status)
{
	int ret = pw_reap(w->pid, status);

	if (!ret)
		w->reaped = true;
	return ret;
}

/* Kill and reap it if still there, close the pipes. */
static inline void worker_free(struct worker *w)
{
	int i;

	if (w->pid > 0 && !w->reaped) {
		kill(w->pid, SIGKILL);
		pw_reap(w->pid, NULL);
		w->reaped = true;
	}
	for (i = 0; i < W_MAX_THREADS; i++) {
		if (w->cmd[i] >= 0)
			close(w->cmd[i]);
		w->cmd[i] = -1;
	}
	if (w->report >= 0)
		close(w->report);
	w->report = -1;
}

/* ---- events ---------------------------------------------------------- */

static inline const char *pw_status_str(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "0x%x (exited %d)", st, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "0x%x (signal %d%s)", st, WTERMSIG(st),
			 WCOREDUMP(st) ? ", core" : "");
	else
		snprintf(buf, len, "0x%x", st);
	return buf;
}

/*
 * Check every field of an event. Used inside a test: the ASSERTs come from
 * kselftest_harness.h. lo_ns/hi_ns bound exit_time_ns.
 */
#define ASSERT_EVENT(ev, _pid, _flags, _status, _cookie, lo_ns, hi_ns)		\
	do {									\
		char _b1[64], _b2[64];						\
		ASSERT_EQ((_pid), (ev)->pid);					\
		ASSERT_EQ((__u32)(_flags), (ev)->flags);			\
		ASSERT_EQ((_status), (ev)->status)				\
			TH_LOG("event status %s, expected %s",			\
			       pw_status_str((ev)->status, _b1, sizeof(_b1)),	\
			       pw_status_str((_status), _b2, sizeof(_b2)));	\
		ASSERT_EQ(0u, (ev)->reserved);					\
		ASSERT_EQ((__u64)(_cookie), (ev)->cookie);			\
		ASSERT_LE((__u64)(lo_ns), (ev)->exit_time_ns);			\
		ASSERT_GE((__u64)(hi_ns), (ev)->exit_time_ns);			\
	} while (0)

/*
 * What a test may change for itself, put back as it was when the program
 * ends. A fixture's teardown puts it back too, but after a failed ASSERT
 * the kselftest harness (6.12's, built with -O2) loses track of the
 * test's child and never runs FIXTURE_TEARDOWN: a per-file cap left at 3
 * would fail every program after.
 */
static const char * const pw_settings[] = {
	"/sys/module/pidwait/parameters/max_watches",
	"/sys/module/pidwait/parameters/max_user_watches",
	"/sys/module/pidwait/parameters/hook_linger_ms",
	"/proc/sys/kernel/pid_max",
	"/proc/sys/kernel/threads-max",
	"/proc/sys/kernel/watchdog_thresh",
	"/proc/sys/kernel/core_pattern",
	"/proc/sys/fs/suid_dumpable",
};

#define PW_NR_SETTINGS	(sizeof(pw_settings) / sizeof(pw_settings[0]))
#define PW_SETTING_LEN	256

static inline void pw_settings_save(char saved[][PW_SETTING_LEN])
{
	for (size_t i = 0; i < PW_NR_SETTINGS; i++) {
		int fd = open(pw_settings[i], O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, saved[i], PW_SETTING_LEN - 1);

		if (fd >= 0)
			close(fd);
		saved[i][n > 0 ? n : 0] = 0;
	}
}

static inline void pw_settings_restore(char saved[][PW_SETTING_LEN])
{
	char now[PW_SETTING_LEN];

	if (geteuid())
		return;
	for (size_t i = 0; i < PW_NR_SETTINGS; i++) {
		int fd = open(pw_settings[i], O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, now, sizeof(now) - 1);

		if (fd >= 0)
			close(fd);
		now[n > 0 ? n : 0] = 0;
		if (saved[i][0] && strcmp(now, saved[i]))
			pw_write_str(pw_settings[i], saved[i]);
	}
}

/*
 * main() of every test program: the exec helper, or the harness, with the
 * settings above put back at the end.
 */
#define PIDWAIT_HARNESS_MAIN						\
	int main(int argc, char **argv)					\
	{								\
		static char saved[PW_NR_SETTINGS][PW_SETTING_LEN];	\
		int ret;						\
									\
		if (argc >= 2 && !strcmp(argv[1], PW_EXEC_HELPER_ARG))	\
			return pw_exec_helper(argc, argv);		\
		pw_settings_save(saved);				\
		ret = test_harness_run(argc, argv);			\
		pw_settings_restore(saved);				\
		return ret;						\
	}

#endif /* PIDWAIT_UTIL_H */
