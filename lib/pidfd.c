// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pidwait_pidfd_open(): a real pidfd where the kernel has pidfd_open (5.3
 * and later), else the pidwait module's pidfd-compatible file, which
 * polls, signals and reports as one (pidwait(4)).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/pidwait.h>

#include "internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define PUBLIC __attribute__((visibility("default")))

PUBLIC int pidwait_pidfd_open(pid_t pid, unsigned int flags)
{
	struct pidwait_pidfd_open req = { .pid = pid, .flags = flags };
	int fd, dev, err;

	fd = (int)syscall(SYS_pidfd_open, pid, flags);
	if (fd >= 0 || errno != ENOSYS)
		return fd;
	dev = open(PIDWAIT_DEVICE, O_RDONLY | O_CLOEXEC);
	if (dev < 0) {
		errno = ENOSYS;
		return -1;
	}
	fd = ioctl(dev, PIDWAIT_IOC_PIDFD_OPEN, &req);
	err = errno;
	close(dev);
	errno = err;
	return fd;
}
