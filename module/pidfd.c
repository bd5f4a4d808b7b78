// SPDX-License-Identifier: GPL-2.0
/*
 * pidfd-compatible files: one process each, with what a program can see of
 * a pidfd (poll, fdinfo, signals, its pid and, on pidwait's rule, how it
 * ended), for programs written for pidfd_open() on kernels without it.
 * Each is a pidwait file holding one watch, which is never read.
 */
#include <linux/anon_inodes.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat/kvmalloc.h"
#include "pidwait.h"

struct pidwait_pidfd {
	struct pidwait_file file;
	struct pid *pid;
};

static int pidfd_release(struct inode *inode, struct file *file)
{
	struct pidwait_pidfd *p = file->private_data;

	pidwait_file_release(&p->file);
	put_pid(p->pid);
	kfree(p);
	return 0;
}

/* The process's id in the caller's namespace (0: not in it), -1 once reaped. */
static pid_t pidfd_nr(struct pidwait_pidfd *p, struct pid_namespace **nsp)
{
	struct pid_namespace *ns = task_active_pid_ns(current);
	pid_t nr = -1;

	rcu_read_lock();
	if (pid_task(p->pid, PIDTYPE_PID))
		nr = pid_nr_ns(p->pid, ns);
	rcu_read_unlock();
	if (nsp)
		*nsp = ns;
	return nr;
}

/*
 * As a pidfd: readable from the moment the process has exited by pidfd's
 * rule, for ever; hung up too once it is reaped.
 */
static pidwait_poll_t pidfd_poll(struct file *file, poll_table *wait)
{
	struct pidwait_pidfd *p = file->private_data;
	pidwait_poll_t mask = 0;

	poll_wait(file, &p->file.wqh, wait);
	if (READ_ONCE(p->file.nr_ready))
		mask = PIDWAIT_POLLIN;
	if (pidfd_nr(p, NULL) < 0)
		mask = PIDWAIT_POLLIN | PIDWAIT_POLLHUP;
	return mask;
}

static long pidfd_get_info(struct pidwait_pidfd *p,
			   struct pidwait_pidfd_info __user *uinfo)
{
	struct pidwait_pidfd_info info;
	struct pidwait_event ev;

	memset(&info, 0, sizeof(info));
	info.pid = pidfd_nr(p, NULL);
	if (info.pid >= 0)
		info.mask |= PIDWAIT_PIDFD_INFO_PID;
	else
		info.pid = 0;
	if (pidwait_peek(&p->file, &ev)) {
		info.mask |= PIDWAIT_PIDFD_INFO_EXITED;
		info.exit_time_ns = ev.exit_time_ns;
		if (ev.flags & PIDWAIT_EVENT_STATUS) {
			info.mask |= PIDWAIT_PIDFD_INFO_STATUS;
			info.status = ev.status;
		}
	}
	return copy_to_user(uinfo, &info, sizeof(info)) ? -EFAULT : 0;
}

static long pidfd_signal(struct pidwait_pidfd *p,
			 const struct pidwait_signal __user *usig, bool compat)
{
	struct pidwait_signal sig;

	if (copy_from_user(&sig, usig, sizeof(sig)))
		return -EFAULT;
	if (sig.pid || sig.flags || sig.reserved)
		return -EINVAL;
	if (READ_ONCE(p->file.nr_ready))
		return -ESRCH;
	return pidwait_send_signal(p->pid, sig.sig, sig.info, compat);
}

static long pidfd_do_ioctl(struct file *file, unsigned int cmd,
			   void __user *uarg, bool compat)
{
	struct pidwait_pidfd *p = file->private_data;

	switch (cmd) {
	case PIDWAIT_IOC_PIDFD_GET_INFO:
		return pidfd_get_info(p, uarg);
	case PIDWAIT_IOC_SEND_SIGNAL:
		return pidfd_signal(p, uarg, compat);
	}
	return -ENOTTY;
}

static long pidfd_ioctl(struct file *file, unsigned int cmd,
			unsigned long arg)
{
	return pidfd_do_ioctl(file, cmd, (void __user *)arg, false);
}

#ifdef CONFIG_COMPAT
static long pidfd_compat_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	return pidfd_do_ioctl(file, cmd, compat_ptr(arg), true);
}
#endif

/* pidfd's own lines: the id in the reader's namespace, then in each below. */
static void pidfd_show(struct seq_file *m, struct file *file)
{
	struct pidwait_pidfd *p = file->private_data;
	struct pid_namespace *ns;
	pid_t nr = pidfd_nr(p, &ns);

	seq_printf(m, "Pid:\t%d\n", nr);
#ifdef CONFIG_PID_NS
	seq_printf(m, "NSpid:\t%d", nr);
	if (nr > 0) {
		unsigned int i;

		for (i = ns->level + 1; i <= p->pid->level; i++)
			seq_printf(m, "\t%d", p->pid->numbers[i].nr);
	}
	seq_putc(m, '\n');
#endif
}

#if defined(PIDWAIT_HAVE_VOID_SHOW_FDINFO)
static void pidfd_show_fdinfo(struct seq_file *m, struct file *file)
{
	pidfd_show(m, file);
}
#else
static int pidfd_show_fdinfo(struct seq_file *m, struct file *file)
{
	pidfd_show(m, file);
	return 0;
}
#endif

static const struct file_operations pidwait_pidfd_fops = {
	.owner		= THIS_MODULE,
	.release	= pidfd_release,
	.poll		= pidfd_poll,
	.unlocked_ioctl	= pidfd_ioctl,
#ifdef CONFIG_COMPAT
	.compat_ioctl	= pidfd_compat_ioctl,
#endif
	.show_fdinfo	= pidfd_show_fdinfo,
};

/* pidfd_open(): a new descriptor, or an error as it would give. */
int pidwait_pidfd_open(const struct pidwait_pidfd_open *req)
{
	struct pidwait_arm arm = { .pid = req->pid };
	struct pidwait_pidfd *p;
	int fd;

	if (req->pid <= 0 || (req->flags & ~O_NONBLOCK))
		return -EINVAL;
	p = kzalloc(sizeof(*p), PIDWAIT_GFP_ACCOUNT);
	if (!p)
		return -ENOMEM;
	fd = pidwait_file_init(&p->file, current_cred());
	if (fd) {
		kfree(p);
		return fd;
	}
	p->pid = find_get_pid(req->pid);
	fd = p->pid ? pidwait_arm_pid(&p->file, &arm, p->pid) : -ESRCH;
	if (!fd)
		fd = anon_inode_getfd("[pidwait]", &pidwait_pidfd_fops, p,
				      O_RDWR | O_CLOEXEC |
				      (req->flags & O_NONBLOCK));
	if (fd < 0) {
		pidwait_file_release(&p->file);
		put_pid(p->pid);
		kfree(p);
	}
	return fd;
}
