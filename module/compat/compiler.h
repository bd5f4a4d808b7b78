/* SPDX-License-Identifier: GPL-2.0 */
/* READ_ONCE and WRITE_ONCE came in 3.19; ACCESS_ONCE did the same before. */
#ifndef _PIDWAIT_COMPAT_COMPILER_H
#define _PIDWAIT_COMPAT_COMPILER_H

#include <linux/compiler.h>

#ifndef READ_ONCE
#define READ_ONCE(x) ACCESS_ONCE(x)
#define WRITE_ONCE(x, val) (ACCESS_ONCE(x) = (val))
#endif

#endif /* _PIDWAIT_COMPAT_COMPILER_H */
