// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pidwait: a misc device whose every open file is an independent set of
 * watches, the module's parameters, and load and unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/moduleparam.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/ioctls.h>

#include "compat/fdinfo.h"
#include "compat/kvmalloc.h"
#include "exit_hook.h"
#include "pidwait.h"

unsigned int pidwait_max_watches = 1U << 20;

/* FIONREAD answers in an int: the bytes of every unread event must fit. */
#define PIDWAIT_MAX_WATCHES_LIMIT	(INT_MAX / sizeof(struct pidwait_event))

static int max_watches_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int ret;

	ret = kstrtouint(val, 0, &n);
	if (ret)
		return ret;
	if (n > PIDWAIT_MAX_WATCHES_LIMIT)
		return -EINVAL;
	WRITE_ONCE(pidwait_max_watches, n);
	return 0;
}

static const struct kernel_param_ops max_watches_ops = {
	.set = max_watches_set,
	.get = param_get_uint,
};

module_param_cb(max_watches, &max_watches_ops, &pidwait_max_watches, 0644);
MODULE_PARM_DESC(max_watches,
		 "Most watches, armed or unread, per open file (up to 67108863)");

/* The counts are ints. */
static int max_user_watches_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int ret;

	ret = kstrtouint(val, 0, &n);
	if (ret)
		return ret;
	if (n > INT_MAX)
		return -EINVAL;
	WRITE_ONCE(pidwait_max_user_watches, n);
	return 0;
}

static const struct kernel_param_ops max_user_watches_ops = {
	.set = max_user_watches_set,
	.get = param_get_uint,
};

module_param_cb(max_user_watches, &max_user_watches_ops,
		&pidwait_max_user_watches, 0644);
MODULE_PARM_DESC(max_user_watches,
		 "Most watches, armed or unread, per user across all files (default: 1% of memory's worth)");

static int backend_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n", PIDWAIT_EXIT_NAME);
}

static const struct kernel_param_ops backend_ops = {
	.get = backend_get,
};

module_param_cb(backend, &backend_ops, NULL, 0444);
MODULE_PARM_DESC(backend, "How exits are detected on this kernel");

static int hooks_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%d\n",
			 atomic_read(&pidwait_hooks_enabled));
}

static const struct kernel_param_ops hooks_ops = {
	.get = hooks_get,
};

module_param_cb(hooks, &hooks_ops, NULL, 0444);
MODULE_PARM_DESC(hooks, "Exit-path hooks (kprobes, tracepoints) registered now");

module_param_named(hook_linger_ms, pidwait_hook_linger_ms, uint, 0644);
MODULE_PARM_DESC(hook_linger_ms,
		 "How long an exit hook stays armed after its last watch (ms)");

static int pidwait_open(struct inode *inode, struct file *file)
{
	struct pidwait_file *f;
	int ret;

	f = kzalloc(sizeof(*f), PIDWAIT_GFP_ACCOUNT);
	if (!f)
		return -ENOMEM;
	ret = pidwait_file_init(f, file->f_cred);
	if (ret) {
		kfree(f);
		return ret;
	}
	file->private_data = f;
	return nonseekable_open(inode, file);
}

static int pidwait_release(struct inode *inode, struct file *file)
{
	struct pidwait_file *f = file->private_data;

	pidwait_file_release(f);
	kfree(f);
	return 0;
}

static ssize_t pidwait_read(struct file *file, char __user *buf, size_t count,
			    loff_t *ppos)
{
	struct pidwait_file *f = file->private_data;
	ssize_t ret;

	if (count < sizeof(struct pidwait_event))
		return -EINVAL;
	for (;;) {
		ret = pidwait_consume(f, buf, count);
		if (ret)
			return ret;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(f->wqh, READ_ONCE(f->nr_ready));
		if (ret)
			return ret;
	}
}

static pidwait_poll_t pidwait_poll(struct file *file, poll_table *wait)
{
	struct pidwait_file *f = file->private_data;

	poll_wait(file, &f->wqh, wait);
	return READ_ONCE(f->nr_ready) ? PIDWAIT_POLLIN : 0;
}

static long pidwait_get_info(struct pidwait_file *f,
			     struct pidwait_info __user *uinfo)
{
	struct pidwait_info info;

	memset(&info, 0, sizeof(info));
	info.api_version = PIDWAIT_API_VERSION;
	info.arm_flags = pidwait_arm_flags();
	info.event_flags = PIDWAIT_EVENT_KNOWN;
	info.event_size = sizeof(struct pidwait_event);
	info.max_watches = READ_ONCE(pidwait_max_watches);
	info.nr_watches = READ_ONCE(f->nr_watches);
	info.max_user_watches = READ_ONCE(pidwait_max_user_watches);
	info.user_watches = pidwait_user_watches(f->user);
	info.features = PIDWAIT_FEATURE_PIDFD | pidwait_signal_features();
	return copy_to_user(uinfo, &info, sizeof(info)) ? -EFAULT : 0;
}

/* To a process armed here: it cannot have been reaped while armed. */
static long pidwait_signal(struct pidwait_file *f,
			   const struct pidwait_signal __user *usig, bool compat)
{
	struct pidwait_signal sig;
	struct pid *pid;
	long ret;

	if (copy_from_user(&sig, usig, sizeof(sig)))
		return -EFAULT;
	if (sig.flags || sig.reserved)
		return -EINVAL;
	pid = pidwait_watched_process(f, sig.pid);
	if (IS_ERR(pid))
		return PTR_ERR(pid);
	ret = pidwait_send_signal(pid, sig.sig, sig.info, compat);
	put_pid(pid);
	return ret;
}

static long pidwait_do_ioctl(struct file *file, unsigned int cmd,
			     void __user *uarg, bool compat)
{
	struct pidwait_file *f = file->private_data;
	struct pidwait_pidfd_open req;
	struct pidwait_arm arm;
	int bytes;

	switch (cmd) {
	case PIDWAIT_IOC_ARM:
	case PIDWAIT_IOC_DISARM:
		if (copy_from_user(&arm, uarg, sizeof(arm)))
			return -EFAULT;
		if (cmd == PIDWAIT_IOC_ARM)
			return pidwait_arm(f, &arm);
		return pidwait_disarm(f, &arm);
	case PIDWAIT_IOC_GET_INFO:
		return pidwait_get_info(f, uarg);
	case PIDWAIT_IOC_PIDFD_OPEN:
		if (copy_from_user(&req, uarg, sizeof(req)))
			return -EFAULT;
		return pidwait_pidfd_open(&req);
	case PIDWAIT_IOC_SEND_SIGNAL:
		return pidwait_signal(f, uarg, compat);
	case FIONREAD:
		bytes = READ_ONCE(f->nr_ready) * sizeof(struct pidwait_event);
		return put_user(bytes, (int __user *)uarg);
	}
	return -ENOTTY;
}

static long pidwait_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	return pidwait_do_ioctl(file, cmd, (void __user *)arg, false);
}

#ifdef CONFIG_COMPAT
/* The records have one layout for 32- and 64-bit callers; siginfo has not. */
static long pidwait_compat_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	return pidwait_do_ioctl(file, cmd, compat_ptr(arg), true);
}
#endif

static const struct file_operations pidwait_fops = {
	.owner		= THIS_MODULE,
	.open		= pidwait_open,
	.release	= pidwait_release,
	.read		= pidwait_read,
	.poll		= pidwait_poll,
	.unlocked_ioctl	= pidwait_ioctl,
#ifdef CONFIG_COMPAT
	.compat_ioctl	= pidwait_compat_ioctl,
#endif
	.show_fdinfo	= pidwait_show_fdinfo,
};

static struct miscdevice pidwait_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "pidwait",
	.fops	= &pidwait_fops,
	.mode	= 0666,
};

static int __init pidwait_init(void)
{
	int ret;

	BUILD_BUG_ON(sizeof(struct pidwait_arm) != 16);
	BUILD_BUG_ON(sizeof(struct pidwait_event) != 32);
	BUILD_BUG_ON(sizeof(struct pidwait_info) != 64);
	BUILD_BUG_ON(sizeof(struct pidwait_pidfd_open) != 8);
	BUILD_BUG_ON(sizeof(struct pidwait_signal) != 24);
	BUILD_BUG_ON(sizeof(struct pidwait_pidfd_info) != 64);

	pidwait_users_init();
	ret = pidwait_watches_init();
	if (ret)
		return ret;
	ret = pidwait_exit_init();
	if (ret) {
		pr_err("exit backend %s unavailable (%d)\n", PIDWAIT_EXIT_NAME,
		       ret);
		goto err_watches;
	}
	ret = misc_register(&pidwait_misc);
	if (ret)
		goto err_exit;
	pr_info("version %s, exit backend %s, thread watches %s\n",
		PIDWAIT_VERSION, PIDWAIT_EXIT_NAME,
		pidwait_arm_flags() & PIDWAIT_ARM_THREAD ? "on" : "off");
	return 0;

err_exit:
	pidwait_exit_cleanup();
err_watches:
	pidwait_watches_exit();
	return ret;
}

static void __exit pidwait_exit(void)
{
	misc_deregister(&pidwait_misc);
	pidwait_exit_cleanup();
	pidwait_watches_exit();
}

module_init(pidwait_init);
module_exit(pidwait_exit);

MODULE_DESCRIPTION("Pollable process exit events for any process: /dev/pidwait");
MODULE_AUTHOR("The pidwait developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(PIDWAIT_VERSION);
MODULE_INFO(backend, PIDWAIT_EXIT_NAME);
