/* SPDX-License-Identifier: GPL-2.0 */
/* CLOCK_MONOTONIC in nanoseconds: ktime_get_ns() came in 3.17. */
#ifndef _PIDWAIT_COMPAT_KTIME_H
#define _PIDWAIT_COMPAT_KTIME_H

#include <linux/ktime.h>

#if !defined(PIDWAIT_HAVE_KTIME_GET_NS)
#include <linux/hrtimer.h>

static inline u64 ktime_get_ns(void)
{
	return ktime_to_ns(ktime_get());
}
#endif

#endif /* _PIDWAIT_COMPAT_KTIME_H */
