/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the exit backends for kernels without wait_pidfd share: a table of
 * the watched pids that a hook on the exit path looks up, and a poller for
 * watches whose exit a hook can only announce, not confirm.
 */
#ifndef _PIDWAIT_EXIT_TABLE_H
#define _PIDWAIT_EXIT_TABLE_H

struct pid;
struct pidwait_watch;
struct task_struct;

/*
 * A hook backend's pidwait_exit_init(): the table, and its hook, which
 * exists while watches do. The rest of exit.h is served here.
 */
int pidwait_table_init(int (*enable)(void), void (*disable)(void));

/* A hook saw @task dead: fire the watches on its pid. Atomic context. */
void pidwait_table_exited(struct task_struct *task);

/* A hook saw @task on its way out: poll the watches it will fire. */
void pidwait_table_exiting(struct task_struct *task);

#endif /* _PIDWAIT_EXIT_TABLE_H */
