/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every choice pidwait makes between kernel versions is made here, from what
 * compat/probe found in the target's headers (PIDWAIT_HAVE_*), newest kernel
 * first. Force-included before each source file by Kbuild.
 */
#ifndef _PIDWAIT_COMPAT_H
#define _PIDWAIT_COMPAT_H

/*
 * Version tests are kept for the supported bounds. Kbuild passes the target's
 * VERSION, PATCHLEVEL and SUBLEVEL: LINUX_VERSION_CODE saturates sublevels
 * at 255, and 4.4.256+ and 4.9.256+ exist.
 */
#define PIDWAIT_KERNEL_VERSION(a, b, c) \
	(((a) * (1ULL << 32)) + ((b) * (1ULL << 16)) + (c))
#define PIDWAIT_LINUX_VERSION \
	PIDWAIT_KERNEL_VERSION(PIDWAIT_LINUX_MAJOR, PIDWAIT_LINUX_PATCHLEVEL, \
			       PIDWAIT_LINUX_SUBLEVEL)

#if PIDWAIT_KERNEL_VERSION(3, 10, 0) > PIDWAIT_LINUX_VERSION
#error "pidwait supports Linux 3.10 and later"
#endif

/*
 * The exit backend (see exit.h): wait_pidfd where struct pid has it, else
 * kprobes, else the tracepoint. PIDWAIT_BACKEND=kprobe or tracepoint at
 * build time forces a hook backend, to test or compare it on new kernels.
 */
#if defined(PIDWAIT_FORCE_TRACEPOINT)
#define PIDWAIT_EXIT_TRACEPOINT 1
#elif defined(PIDWAIT_FORCE_KPROBE)
#define PIDWAIT_EXIT_KPROBE 1
#elif defined(PIDWAIT_HAVE_WAIT_PIDFD)
#define PIDWAIT_EXIT_PIDFD 1
#elif IS_ENABLED(CONFIG_KPROBES)
#define PIDWAIT_EXIT_KPROBE 1
#elif IS_ENABLED(CONFIG_TRACEPOINTS)
#define PIDWAIT_EXIT_TRACEPOINT 1
#else
#error "pidwait needs wait_pidfd (Linux 5.3), CONFIG_KPROBES or CONFIG_TRACEPOINTS"
#endif

#if defined(PIDWAIT_EXIT_KPROBE) && !IS_ENABLED(CONFIG_KPROBES)
#error "pidwait: the kprobe backend needs CONFIG_KPROBES"
#endif
#if defined(PIDWAIT_EXIT_TRACEPOINT) && !IS_ENABLED(CONFIG_TRACEPOINTS)
#error "pidwait: the tracepoint backend needs CONFIG_TRACEPOINTS"
#endif
/* Hook handlers run with preemption off: no sleeping spinlocks there. */
#if !defined(PIDWAIT_EXIT_PIDFD) && IS_ENABLED(CONFIG_PREEMPT_RT)
#error "pidwait: on PREEMPT_RT only the wait_pidfd backend (5.3) works"
#endif

/*
 * Thread watches on wait_pidfd kernels before 6.9 need the kprobe backend's
 * hooks: nothing wakes wait_pidfd when a thread exits. Their handlers run
 * with preemption off, where PREEMPT_RT's sleeping spinlocks may not be
 * taken, and a thread that calls execve is seen by a tracepoint.
 */
#if defined(PIDWAIT_EXIT_PIDFD) && !defined(PIDWAIT_HAVE_PIDFD_THREAD_WAKE) && \
	IS_ENABLED(CONFIG_KPROBES) && IS_ENABLED(CONFIG_TRACEPOINTS) && \
	!IS_ENABLED(CONFIG_PREEMPT_RT)
#define PIDWAIT_THREAD_HOOKS 1
#endif

/* The pid table of the hooks (exit_table.c), and the exec tracepoint. */
#if defined(PIDWAIT_EXIT_KPROBE) || defined(PIDWAIT_EXIT_TRACEPOINT) || \
	defined(PIDWAIT_THREAD_HOOKS)
#define PIDWAIT_EXIT_TABLE 1
#endif
#if defined(PIDWAIT_EXIT_KPROBE) && !IS_ENABLED(CONFIG_TRACEPOINTS)
#error "pidwait: the kprobe backend needs CONFIG_TRACEPOINTS too, to see a thread's execve"
#endif

/* poll's return type and events: __poll_t and EPOLL* from 4.16. */
#if defined(PIDWAIT_HAVE_POLL_T)
#define pidwait_poll_t __poll_t
#define PIDWAIT_POLLIN (EPOLLIN | EPOLLRDNORM)
#define PIDWAIT_POLLHUP EPOLLHUP
#else
#define pidwait_poll_t unsigned int
#define PIDWAIT_POLLIN (POLLIN | POLLRDNORM)
#define PIDWAIT_POLLHUP POLLHUP
#endif

/* The first argument of a function, at a kprobe on its entry. */
#if defined(PIDWAIT_HAVE_REGS_GET_KERNEL_ARGUMENT)
#define pidwait_regs_arg0(regs) regs_get_kernel_argument(regs, 0)
#elif defined(CONFIG_X86_64)
#define pidwait_regs_arg0(regs) ((regs)->di)
#elif defined(PIDWAIT_THREAD_HOOKS) || defined(PIDWAIT_EXIT_KPROBE)
#error "pidwait: no way to read a probed argument on this architecture"
#endif

#endif /* _PIDWAIT_COMPAT_H */
