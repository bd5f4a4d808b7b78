/* SPDX-License-Identifier: GPL-2.0 */
/* The file operation behind /proc/PID/fdinfo: it returned int before 3.19. */
#ifndef _PIDWAIT_COMPAT_FDINFO_H
#define _PIDWAIT_COMPAT_FDINFO_H

#include <linux/fs.h>
#include <linux/seq_file.h>

#include "pidwait.h"

#if defined(PIDWAIT_HAVE_VOID_SHOW_FDINFO)
static inline void pidwait_show_fdinfo(struct seq_file *m, struct file *file)
{
	pidwait_show_watches(file->private_data, m);
}
#else
static inline int pidwait_show_fdinfo(struct seq_file *m, struct file *file)
{
	pidwait_show_watches(file->private_data, m);
	return 0;
}
#endif

#endif /* _PIDWAIT_COMPAT_FDINFO_H */
