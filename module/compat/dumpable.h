/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whether a task's memory may be read by its owner (ptrace's and the core
 * dumper's "dumpable"). Call under task_lock(task) and rcu_read_lock().
 */
#ifndef _PIDWAIT_COMPAT_DUMPABLE_H
#define _PIDWAIT_COMPAT_DUMPABLE_H

#include <linux/rcupdate.h>
#include <linux/sched.h>

#if defined(PIDWAIT_HAVE_TASK_EXEC_STATE)
/* 7.3: dumpability moved from the mm to the task's exec state. */
#include <linux/sched/exec_state.h>

static inline bool pidwait_task_dumpable(struct task_struct *task)
{
	struct task_exec_state *es = rcu_dereference(task->exec_state);

	return !task->mm || !es || es->dumpable == TASK_DUMPABLE_OWNER;
}
#else
#include <linux/mm_types.h>
#if defined(PIDWAIT_HAVE_SCHED_SIGNAL_H)
/* 4.11 split coredump.h out of linux/sched.h. */
#include <linux/sched/coredump.h>
#endif

static inline bool pidwait_task_dumpable(struct task_struct *task)
{
	if (!task->mm)
		return true;
#if defined(PIDWAIT_HAVE_INLINE_GET_DUMPABLE)
	return get_dumpable(task->mm) == SUID_DUMP_USER;
#else
	/* 3.10 does not export get_dumpable(): read the same bits. */
	return (task->mm->flags & MMF_DUMPABLE_MASK) == SUID_DUMP_USER;
#endif
}
#endif

#endif /* _PIDWAIT_COMPAT_DUMPABLE_H */
