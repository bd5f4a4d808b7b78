// SPDX-License-Identifier: GPL-2.0
/*
 * libpidwait-pidfd.so: pidfd_open(), pidfd_send_signal(), pidfd_getpid()
 * and waitid(P_PIDFD) for unmodified programs, served by /dev/pidwait's
 * pidfd-compatible files where the kernel lacks them (before 5.3; RHEL 8
 * has all but pidfd_open). Loaded with LD_PRELOAD, it takes the calls made
 * through glibc's wrappers and through glibc's syscall(); a program that
 * makes the system call itself is out of its reach.
 *
 * Where the kernel has a call, the kernel serves it, and pidwait's files
 * get the ioctl behind it. PIDWAIT_PIDFD_FORCE=1 in the environment serves
 * pidfd_open() from pidwait even there (to test this library).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/pidwait.h>

/* One number on every architecture since 5.1 unified the new calls. */
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define PUBLIC __attribute__((visibility("default")))

static long (*real_syscall)(long, ...);
static int (*real_waitid)(idtype_t, id_t, siginfo_t *, int);
static pid_t (*real_pidfd_getpid)(int);
static int forced, kernel_p_pidfd;

static void init(void)
{
	const char *s = getenv("PIDWAIT_PIDFD_FORCE");
	int err = errno;

	forced = s && *s && strcmp(s, "0");
	real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	real_waitid = (int (*)(idtype_t, id_t, siginfo_t *, int))
		dlsym(RTLD_NEXT, "waitid");
	real_pidfd_getpid = (pid_t (*)(int))dlsym(RTLD_NEXT, "pidfd_getpid");
	/* 5.4 and RHEL 8 know P_PIDFD: EBADF for no descriptor, not EINVAL. */
	kernel_p_pidfd = real_waitid((idtype_t)P_PIDFD, (id_t)-1, NULL,
				     WEXITED | WNOHANG) && errno == EBADF;
	errno = err;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static inline void ready(void)
{
	pthread_once(&once, init);
}

static long fail(int err)
{
	errno = err;
	return -1;
}

/* Whether fd is one of pidwait's pidfd-compatible files: one ioctl. */
static int ours(int fd, struct pidwait_pidfd_info *info)
{
	int err = errno;
	int ret = !ioctl(fd, PIDWAIT_IOC_PIDFD_GET_INFO, info);

	errno = err;
	return ret;
}

/* The kernel's answer for a descriptor that is no pidfd: EBADF, or ENOSYS without pidwait. */
static long not_a_pidfd(void)
{
	return fail(access(PIDWAIT_DEVICE, F_OK) ? ENOSYS : EBADF);
}

static long serve_open(pid_t pid, unsigned int flags)
{
	struct pidwait_pidfd_open req = { .pid = pid, .flags = flags };
	int dev, fd, err;

	dev = open(PIDWAIT_DEVICE, O_RDONLY | O_CLOEXEC);
	if (dev < 0)
		return fail(ENOSYS);
	fd = ioctl(dev, PIDWAIT_IOC_PIDFD_OPEN, &req);
	err = errno;
	close(dev);
	return fd < 0 ? fail(err) : fd;
}

static long do_pidfd_open(pid_t pid, unsigned int flags)
{
	if (!forced) {
		long ret = real_syscall(SYS_pidfd_open, (long)pid, (long)flags);

		if (ret >= 0 || errno != ENOSYS)
			return ret;
	}
	return serve_open(pid, flags);
}

/*
 * A siginfo where the module cannot queue one (5.3 and later, RHEL 8),
 * which all have pidfd_send_signal() for /proc/PID directories: the
 * directory is opened, then the file must show its process not exited,
 * so the directory was that process's and not a successor's.
 */
static long signal_via_proc(int fd, int sig, siginfo_t *info,
			    unsigned int flags)
{
	struct pidwait_pidfd_info before, after;
	char path[32];
	long ret;
	int dir, err;

	if (!ours(fd, &before) || !(before.mask & PIDWAIT_PIDFD_INFO_PID) ||
	    (before.mask & PIDWAIT_PIDFD_INFO_EXITED) || before.pid <= 0)
		return fail(ESRCH);
	snprintf(path, sizeof(path), "/proc/%d", before.pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return fail(ESRCH);
	if (!ours(fd, &after) || (after.mask & PIDWAIT_PIDFD_INFO_EXITED) ||
	    after.pid != before.pid) {
		close(dir);
		return fail(ESRCH);
	}
	ret = real_syscall(SYS_pidfd_send_signal, (long)dir, (long)sig,
			   (long)info, (long)flags);
	err = errno;
	close(dir);
	errno = err;
	return ret;
}

static long serve_signal(int fd, int sig, siginfo_t *info, unsigned int flags)
{
	struct pidwait_signal s = {
		.sig = sig, .flags = flags, .info = (uintptr_t)info,
	};

	if (!ioctl(fd, PIDWAIT_IOC_SEND_SIGNAL, &s))
		return 0;
	if (errno != EOPNOTSUPP || !info)
		return -1;
	return signal_via_proc(fd, sig, info, flags);
}

static long do_send_signal(int fd, int sig, siginfo_t *info,
			   unsigned int flags)
{
	struct pidwait_pidfd_info pi;

	if (!forced) {
		long ret = real_syscall(SYS_pidfd_send_signal, (long)fd,
					(long)sig, (long)info, (long)flags);

		/* EBADF: no pidfd of the kernel's; ENOSYS: no such call. */
		if (!ret || (errno != EBADF && errno != ENOSYS))
			return ret;
	}
	if (ours(fd, &pi))
		return serve_signal(fd, sig, info, flags);
	if (forced) {
		long ret = real_syscall(SYS_pidfd_send_signal, (long)fd,
					(long)sig, (long)info, (long)flags);

		if (!ret || errno != ENOSYS)
			return ret;
	}
	return not_a_pidfd();
}

PUBLIC int pidfd_open(pid_t pid, unsigned int flags)
{
	ready();
	return (int)do_pidfd_open(pid, flags);
}

PUBLIC int pidfd_send_signal(int fd, int sig, siginfo_t *info,
			     unsigned int flags)
{
	ready();
	return (int)do_send_signal(fd, sig, info, flags);
}

/* As glibc's: ESRCH once reaped, EREMOTE outside the caller's namespace. */
PUBLIC pid_t pidfd_getpid(int fd)
{
	struct pidwait_pidfd_info pi;

	ready();
	if (ours(fd, &pi)) {
		if (!(pi.mask & PIDWAIT_PIDFD_INFO_PID))
			return (pid_t)fail(ESRCH);
		if (!pi.pid)
			return (pid_t)fail(EREMOTE);
		return pi.pid;
	}
	if (real_pidfd_getpid)
		return real_pidfd_getpid(fd);
	return (pid_t)not_a_pidfd();
}

/*
 * waitid(P_PIDFD) on a pidwait file is waitid(P_PID) on its process: the
 * caller's child, or ECHILD as the kernel says.
 */
PUBLIC int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options)
{
	struct pidwait_pidfd_info pi;
	int err = 0;

	ready();
	if ((int)idtype != P_PIDFD)
		return real_waitid(idtype, id, infop, options);
	if (!forced) {
		int ret = real_waitid(idtype, id, infop, options);

		/* EINVAL: a kernel before 5.4; EBADF: no pidfd of its own. */
		if (!ret || (errno != EINVAL && errno != EBADF))
			return ret;
		err = errno;
	}
	if (!ours((int)id, &pi)) {
		/* Before 5.4, where pidwait serves P_PIDFD, 5.4's EBADF. */
		if (!kernel_p_pidfd && !access(PIDWAIT_DEVICE, F_OK))
			return (int)fail(EBADF);
		if (err)
			return (int)fail(err);
		return real_waitid(idtype, id, infop, options);
	}
	if (!(pi.mask & PIDWAIT_PIDFD_INFO_PID) || pi.pid <= 0)
		return (int)fail(ECHILD);
	return real_waitid(P_PID, (id_t)pi.pid, infop, options);
}

/* The calls above by number, as CPython, tokio, GLib and util-linux make them. */
PUBLIC long syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	int i;

	ready();
	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	switch (nr) {
	case SYS_pidfd_open:
		return do_pidfd_open((pid_t)a[0], (unsigned int)a[1]);
	case SYS_pidfd_send_signal:
		return do_send_signal((int)a[0], (int)a[1], (siginfo_t *)a[2],
				      (unsigned int)a[3]);
	}
	return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
