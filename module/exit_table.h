/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pid table of the exit hooks: the watches that a hook on the exit
 * path finds by pid (all watches of the kprobe and tracepoint backends,
 * thread watches of the wait_pidfd backend before 6.9), and a poller for
 * watches whose exit a hook can only announce, not confirm.
 */
#ifndef _PIDWAIT_EXIT_TABLE_H
#define _PIDWAIT_EXIT_TABLE_H

#include <linux/types.h>

struct pidwait_hook_ops;
struct pidwait_watch;
struct task_struct;

/* The table, and the hooks that serve it, prepared: 0 if they can work. */
int pidwait_table_init(const struct pidwait_hook_ops *hooks);
void pidwait_table_cleanup(void);
int pidwait_table_attach(struct pidwait_watch *w);
void pidwait_table_detach(struct pidwait_watch *w);

/* The hooks, in atomic context. */

/*
 * @task is dead, about to become a zombie or be released. @nowake: the
 * caller holds a lock no wait queue's wake may nest in.
 */
void pidwait_table_exited(struct task_struct *task, bool nowake);

/*
 * @task is on its way out: poll the watches it will fire until they are
 * ready by pidfd's rule, keeping its status now, in case it is reaped
 * before a poll sees it.
 */
void pidwait_table_exiting(struct task_struct *task);

/* A thread other than its leader called execve: its TID @old_tid ended. */
void pidwait_table_exec(pid_t old_tid);

/* The kprobes (exit_kprobe.c), and the tracepoint backend's hooks. */
extern const struct pidwait_hook_ops pidwait_kprobe_hooks;
extern const struct pidwait_hook_ops pidwait_tracepoint_hooks;

/* Hooks every table backend needs (exit_tracepoint.c). */
int pidwait_exec_hook_prepare(void);
int pidwait_exec_hook_enable(void);
void pidwait_exec_hook_disable(void);
void pidwait_tracepoints_sync(void);

#endif /* _PIDWAIT_EXIT_TABLE_H */
