/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A capability check that writes no audit record: withholding a status is
 * no denial worth logging. ns_capable_noaudit() came in 4.10.
 */
#ifndef _PIDWAIT_COMPAT_CAPABILITY_H
#define _PIDWAIT_COMPAT_CAPABILITY_H

#include <linux/capability.h>

#if defined(PIDWAIT_HAVE_NS_CAPABLE_NOAUDIT)
#define pidwait_ns_capable_noaudit ns_capable_noaudit
#else
#define pidwait_ns_capable_noaudit ns_capable
#endif

#endif /* _PIDWAIT_COMPAT_CAPABILITY_H */
