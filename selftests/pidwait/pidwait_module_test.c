// SPDX-License-Identifier: GPL-2.0
/*
 * The module's lifetime: its parameters, rmmod refused while any
 * /dev/pidwait file is open, and after the last close an unload that
 * leaves nothing behind (no device, no sysfs, no symbols, no hook that a
 * later exit could run into), then a reload from $PIDWAIT_KO so that the
 * system is as before. Runs last: it unloads the module.
 */
#include "pidwait_util.h"

#include "kselftest_harness.h"

#define MODNAME		"pidwait"
#define SYSMOD		"/sys/module/" MODNAME
#define PARAM_MAX	SYSMOD "/parameters/max_watches"
#define PARAM_BACKEND	SYSMOD "/parameters/backend"
#define PARAM_HOOKS	SYSMOD "/parameters/hooks"
#define KPROBES_LIST	"/sys/kernel/debug/kprobes/list"
#define HOOK_LINGER_MS	5000	/* the module keeps a hook 1 s after use */
#define DEFAULT_MAX	1048576

static int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static int finit_module(int fd)
{
	return syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
}

static int read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

/* Lines of a /proc file that contain needle. */
static int count_lines(const char *path, const char *needle)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static bool module_loaded(void)
{
	return !access(SYSMOD, F_OK);
}

TEST(parameters)
{
	char backend[64], buf[64];
	struct stat st;
	int fd;

	ASSERT_TRUE(module_loaded());
	ASSERT_EQ(0, stat(PARAM_MAX, &st));
	ASSERT_EQ(0644, st.st_mode & 0777);
	ASSERT_EQ(0, stat(PARAM_BACKEND, &st));
	ASSERT_EQ(0444, st.st_mode & 0777);

	ASSERT_EQ(0, read_str(PARAM_BACKEND, backend, sizeof(backend)));
	ASSERT_NE(0, backend[0]);
	ASSERT_EQ(NULL, strchr(backend, ' '));
	TH_LOG("backend: %s", backend);

	/* Read-only even for root. */
	fd = open(PARAM_BACKEND, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		EXPECT_GT(0, write(fd, "x\n", 2));
		close(fd);
	}
	ASSERT_EQ(0, read_str(PARAM_BACKEND, buf, sizeof(buf)));
	ASSERT_STREQ(backend, buf);

	/* Not a number: refused, the value stays. */
	ASSERT_EQ(0, read_str(PARAM_MAX, buf, sizeof(buf)));
	ASSERT_NE(0, pw_write_str(PARAM_MAX, "many"));
	ASSERT_EQ(0, read_str(PARAM_MAX, backend, sizeof(backend)));
	ASSERT_STREQ(buf, backend);
}

static int hooks_now(void)
{
	char buf[32];

	return read_str(PARAM_HOOKS, buf, sizeof(buf)) ? -1 : atoi(buf);
}

/* Registered kprobes on the functions the module may probe. */
static int our_kprobes(void)
{
	int a = count_lines(KPROBES_LIST, "do_notify_parent");
	int b = count_lines(KPROBES_LIST, "release_task");

	return a < 0 || b < 0 ? -1 : a + b;
}

/* Nothing signals a hook's removal: wait for it, bounded. */
static int wait_hooks(int want)
{
	uint64_t end = pw_now_ns() + HOOK_LINGER_MS * 1000000ull;

	while (hooks_now() != want) {
		if (pw_now_ns() > end)
			return -ETIMEDOUT;
		pw_sleep_ms(20);
	}
	return 0;
}

/* Says its TID on p[1], then waits for p[0] to close. */
static void *blocked_thread(void *arg)
{
	int *p = arg;
	pid_t tid = pw_gettid();
	char c;

	if (write(p[1], &tid, sizeof(tid)) != sizeof(tid))
		return NULL;
	return (void *)(long)read(p[0], &c, 1);
}

/*
 * An idle module costs unrelated exits nothing: no kprobe, no tracepoint.
 * The hook backends register theirs for the first watch; the wait_pidfd
 * backend needs none but, before 6.9, a kprobe for thread watches.
 */
TEST(idle_registers_no_hook)
{
	bool hook_for_process, hook_for_thread, thread_wake;
	int fd, pfd, p[2], q[2], tp[2], kp = -1;
	char backend[64];
	pthread_t t;
	pid_t tid;

	ASSERT_EQ(0, read_str(PARAM_BACKEND, backend, sizeof(backend)));
	ASSERT_EQ(0, wait_hooks(0)) TH_LOG("hooks left: %d", hooks_now());
	kp = our_kprobes();
	if (kp >= 0) {
		ASSERT_EQ(0, kp);
	} else {
		TH_LOG("no %s: kprobes not checked", KPROBES_LIST);
	}

	/* 6.9 wakes wait_pidfd for threads, with PIDFD_THREAD. */
	pfd = syscall(SYS_pidfd_open, getpid(), O_EXCL);
	thread_wake = pfd >= 0;
	if (pfd >= 0)
		close(pfd);
	hook_for_process = strcmp(backend, "wait_pidfd");
	hook_for_thread = hook_for_process || !thread_wake;

	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(q, O_CLOEXEC));
	tp[0] = p[0];
	tp[1] = q[1];
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_thread, tp));
	ASSERT_EQ(0, pw_arm(fd, getpid(), 0, 1));
	ASSERT_EQ(hook_for_process ? 1 : 0, hooks_now());
	ASSERT_EQ(sizeof(tid), read(q[0], &tid, sizeof(tid)));
	ASSERT_EQ(0, pw_arm(fd, tid, PIDWAIT_ARM_THREAD, 2));
	ASSERT_EQ(hook_for_thread ? 1 : 0, hooks_now());
	if (kp >= 0 && !strcmp(backend, "kprobe")) {
		ASSERT_EQ(2, our_kprobes());
	}

	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, wait_hooks(0));
	if (kp >= 0) {
		ASSERT_EQ(0, our_kprobes());
	}
	close(p[1]);
	ASSERT_EQ(0, pthread_join(t, NULL));
	close(p[0]);
	close(q[0]);
	close(q[1]);
}

TEST(refused_while_open)
{
	int fd, ret, sync[2], st = -1;
	pid_t child;

	if (geteuid())
		SKIP(return, "needs root");
	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pw_arm(fd, getpid(), 0, 0));
	ret = delete_module(MODNAME);
	ASSERT_TRUE(ret == -EBUSY || ret == -EWOULDBLOCK) TH_LOG("delete_module: %d", ret);
	ASSERT_TRUE(module_loaded());
	/* The file still works. */
	ASSERT_EQ(1, pw_nr_watches(fd));
	ASSERT_EQ(0, pw_disarm(fd, getpid(), 0));

	/* Held by another process only. */
	ASSERT_EQ(0, pipe2(sync, O_CLOEXEC));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		char c;

		pw_child_init(getppid());
		close(sync[1]);
		/* Keeps fd until the pipe closes. */
		_exit(read(sync[0], &c, 1) == 0 ? 0 : 1);
	}
	close(sync[0]);
	ASSERT_EQ(0, close(fd));
	ret = delete_module(MODNAME);
	ASSERT_TRUE(ret == -EBUSY || ret == -EWOULDBLOCK) TH_LOG("delete_module: %d", ret);
	ASSERT_TRUE(module_loaded());
	close(sync[1]);
	ASSERT_EQ(0, pw_reap(child, &st));
	ASSERT_EQ(0, st);
}

TEST(unload_and_reload)
{
	const char *ko = getenv("PIDWAIT_KO");
	char backend[64], buf[64];
	struct pidwait_event ev;
	struct worker live, dead;
	long taint = pw_taint();
	int kofd, fd, st = -1, ret;
	struct stat sb;

	if (geteuid())
		SKIP(return, "needs root");
	if (!ko || !*ko)
		SKIP(return, "PIDWAIT_KO is not set: no way to reload, so no unload");
	kofd = open(ko, O_RDONLY | O_CLOEXEC);
	if (kofd < 0)
		SKIP(return, "%s: %s: no way to reload, so no unload", ko, strerror(errno));
	ASSERT_TRUE(module_loaded());
	ASSERT_EQ(0, read_str(PARAM_BACKEND, backend, sizeof(backend)));
	ASSERT_LT(0, count_lines("/proc/kallsyms", "[" MODNAME "]"));

	/* Watches armed, fired and unread, on threads, then the last close. */
	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, worker_start(&live, 2, NULL, NULL));
	ASSERT_EQ(0, worker_start(&dead, 1, NULL, NULL));
	ASSERT_EQ(0, pw_arm(fd, live.pid, 0, 1));
	ASSERT_EQ(0, pw_arm(fd, live.tid[1], PIDWAIT_ARM_THREAD, 2));
	ASSERT_EQ(0, pw_arm(fd, dead.pid, 0, 3));
	ASSERT_EQ(0, worker_cmd(&dead, 0, W_EXIT_GROUP, 0));
	ASSERT_EQ(1, pw_wait_readable(fd, PW_TIMEOUT_MS));
	ASSERT_EQ(0, close(fd));

	ret = delete_module(MODNAME);
	ASSERT_EQ(0, ret) TH_LOG("delete_module after the last close: %s", strerror(-ret));

	/* Nothing left. */
	EXPECT_FALSE(module_loaded());
	EXPECT_NE(0, access(PIDWAIT_DEVICE, F_OK)) TH_LOG("%s is still there", PIDWAIT_DEVICE);
	EXPECT_NE(0, access("/sys/class/misc/" MODNAME, F_OK));
	EXPECT_EQ(0, count_lines("/proc/misc", " " MODNAME "\n"));
	EXPECT_EQ(0, count_lines("/proc/modules", MODNAME " "));
	EXPECT_EQ(0, count_lines("/proc/kallsyms", "[" MODNAME "]"));
	ASSERT_EQ(-1, pw_open(0));
	ASSERT_EQ(ENOENT, errno);

	/* Processes that were watched end now: no hook may be left to run. */
	ASSERT_EQ(0, worker_cmd(&live, 1, W_EXIT_THREAD, 0));
	ASSERT_EQ(0, pw_wait_thread_exited(live.pid, live.tid[1], PW_TIMEOUT_MS));
	ASSERT_EQ(0, worker_cmd(&live, 0, W_EXIT_GROUP, 5));
	ASSERT_EQ(0, worker_reap(&live, &st));
	ASSERT_EQ(W_EXITCODE(5, 0), st);
	ASSERT_EQ(0, worker_reap(&dead, &st));
	ASSERT_EQ(taint & PW_TAINT_BAD, pw_taint() & PW_TAINT_BAD);

	/* Back as it was. */
	ret = finit_module(kofd);
	close(kofd);
	ASSERT_EQ(0, ret) TH_LOG("finit_module(%s): %s", ko, strerror(-ret));
	ASSERT_TRUE(module_loaded());
	ASSERT_EQ(0, stat(PIDWAIT_DEVICE, &sb)) TH_LOG("%s: %s", PIDWAIT_DEVICE, strerror(errno));
	ASSERT_TRUE(S_ISCHR(sb.st_mode));
	ASSERT_EQ(0666, sb.st_mode & 07777);
	ASSERT_EQ(DEFAULT_MAX, pw_read_long(PARAM_MAX));
	ASSERT_EQ(0, read_str(PARAM_BACKEND, buf, sizeof(buf)));
	ASSERT_STREQ(backend, buf);

	/* And it works. */
	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pw_nr_watches(fd));
	ASSERT_EQ(0, worker_start(&live, 1, NULL, NULL));
	ASSERT_EQ(0, pw_arm(fd, live.pid, 0, 4));
	ASSERT_EQ(0, worker_cmd(&live, 0, W_EXIT_GROUP, 6));
	ASSERT_EQ(0, pw_read_one(fd, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(0, worker_reap(&live, &st));
	ASSERT_EQ(live.pid, ev.pid);
	ASSERT_EQ(st, ev.status);
	worker_free(&live);
	worker_free(&dead);
	close(fd);
}

PIDWAIT_HARNESS_MAIN
