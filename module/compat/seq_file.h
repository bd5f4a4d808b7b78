/* SPDX-License-Identifier: GPL-2.0 */
/* Whether a seq_file's buffer is full: seq_has_overflowed() came in 3.19. */
#ifndef _PIDWAIT_COMPAT_SEQ_FILE_H
#define _PIDWAIT_COMPAT_SEQ_FILE_H

#include <linux/seq_file.h>

#if !defined(PIDWAIT_HAVE_SEQ_HAS_OVERFLOWED)
static inline bool seq_has_overflowed(struct seq_file *m)
{
	return m->count == m->size;
}
#endif

#endif /* _PIDWAIT_COMPAT_SEQ_FILE_H */
