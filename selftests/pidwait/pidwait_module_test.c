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
#define PARAM_USER_MAX	SYSMOD "/parameters/max_user_watches"
#define PARAM_BACKEND	SYSMOD "/parameters/backend"
#define PARAM_HOOKS	SYSMOD "/parameters/hooks"
#define PARAM_LINGER	SYSMOD "/parameters/hook_linger_ms"
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

/* Lines of a /proc file that contain needle, and not unless (if given). */
static int count_lines_but(const char *path, const char *needle, const char *unless)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle) && !(unless && strstr(line, unless)))
			n++;
	fclose(f);
	return n;
}

static int count_lines(const char *path, const char *needle)
{
	return count_lines_but(path, needle, NULL);
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

	ASSERT_EQ(0, pw_read_str(PARAM_BACKEND, backend, sizeof(backend)));
	ASSERT_NE(0, backend[0]);
	ASSERT_EQ(NULL, strchr(backend, ' '));
	TH_LOG("backend: %s", backend);

	/* Read-only even for root. */
	fd = open(PARAM_BACKEND, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		EXPECT_GT(0, write(fd, "x\n", 2));
		close(fd);
	}
	ASSERT_EQ(0, pw_read_str(PARAM_BACKEND, buf, sizeof(buf)));
	ASSERT_STREQ(backend, buf);

	/* Not a number: refused, the value stays. */
	ASSERT_EQ(0, pw_read_str(PARAM_MAX, buf, sizeof(buf)));
	ASSERT_NE(0, pw_write_str(PARAM_MAX, "many"));
	ASSERT_EQ(0, pw_read_str(PARAM_MAX, backend, sizeof(backend)));
	ASSERT_STREQ(buf, backend);

	/*
	 * So many unread events that FIONREAD's int could not count their
	 * bytes: refused. The largest that fits is taken.
	 */
	ASSERT_EQ(-EINVAL, pw_write_str(PARAM_MAX, "67108864"));
	ASSERT_EQ(-EINVAL, pw_write_str(PARAM_MAX, "4294967295"));
	ASSERT_EQ(0, pw_read_str(PARAM_MAX, backend, sizeof(backend)));
	ASSERT_STREQ(buf, backend);
	ASSERT_EQ(0, pw_write_str(PARAM_MAX, "67108863"));
	ASSERT_EQ(67108863, pw_read_long(PARAM_MAX));
	ASSERT_EQ(0, pw_write_str(PARAM_MAX, buf));
}

static int hooks_now(void)
{
	char buf[32];

	return pw_read_str(PARAM_HOOKS, buf, sizeof(buf)) ? -1 : atoi(buf);
}

/*
 * Armed kprobes on the functions the module may probe: the module keeps
 * them registered but disabled, which patches no kernel text.
 */
static int our_kprobes(void)
{
	int a = count_lines_but(KPROBES_LIST, "do_notify_parent", "[DISABLED]");
	int b = count_lines_but(KPROBES_LIST, "release_task", "[DISABLED]");

	return a < 0 || b < 0 ? -1 : a + b;
}

/* Registered ones, armed or not. */
static int our_kprobes_registered(void)
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
 * An idle module costs unrelated exits nothing: no kprobe armed, no
 * tracepoint. The hook backends arm theirs for the first watch; the
 * wait_pidfd backend needs none but, before 6.9, the kprobe backend's for
 * thread watches. The kprobes stay registered from the load on, disabled:
 * that checks them without patching any kernel text.
 */
TEST(idle_registers_no_hook)
{
	bool hook_for_process, hook_for_thread, thread_wake, kprobes_used;
	int fd, pfd, p[2], q[2], tp[2], kp = -1;
	char backend[64];
	pthread_t t;
	pid_t tid;

	ASSERT_EQ(0, pw_read_str(PARAM_BACKEND, backend, sizeof(backend)));
	ASSERT_EQ(0, wait_hooks(0)) TH_LOG("hooks left: %d", hooks_now());
	kp = our_kprobes();
	if (kp >= 0) {
		ASSERT_EQ(0, kp);
	} else {
		TH_LOG("no %s: kprobes not checked", KPROBES_LIST);
	}

	/* 6.9 wakes wait_pidfd for threads, with PIDFD_THREAD. */
	pfd = pw_pidfd_open(getpid(), PIDFD_THREAD);
	thread_wake = pfd >= 0;
	if (pfd >= 0)
		close(pfd);
	hook_for_process = strcmp(backend, "wait_pidfd");
	hook_for_thread = hook_for_process || !thread_wake;
	kprobes_used = !strcmp(backend, "kprobe") ||
		       (!strcmp(backend, "wait_pidfd") && !thread_wake);
	if (kp >= 0) {
		ASSERT_EQ(kprobes_used ? 2 : 0, our_kprobes_registered());
	}

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
	if (kp >= 0) {
		ASSERT_EQ(kprobes_used ? 2 : 0, our_kprobes());
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

/*
 * hook_linger_ms: a hook outlives its last watch by that long. An hour
 * keeps it armed well past the default second; 0 disarms it at once, and
 * replaces the hour's pending disarm.
 */
TEST(hook_linger)
{
	char backend[64], saved[32];
	int fd, pfd, p[2], q[2], tp[2];
	pthread_t t;
	pid_t tid;

	ASSERT_EQ(0, pw_read_str(PARAM_BACKEND, backend, sizeof(backend)));
	pfd = pw_pidfd_open(getpid(), PIDFD_THREAD);
	if (pfd >= 0)
		close(pfd);
	if (!strcmp(backend, "wait_pidfd") && pfd >= 0)
		SKIP(return, "wait_pidfd with PIDFD_THREAD's wake (6.9+): no watch needs a hook");
	ASSERT_EQ(0, pw_read_str(PARAM_LINGER, saved, sizeof(saved)));
	ASSERT_EQ(1000, atoi(saved));
	ASSERT_EQ(0, wait_hooks(0));

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(q, O_CLOEXEC));
	tp[0] = p[0];
	tp[1] = q[1];
	ASSERT_EQ(0, pthread_create(&t, NULL, blocked_thread, tp));
	ASSERT_EQ(sizeof(tid), read(q[0], &tid, sizeof(tid)));

	ASSERT_EQ(0, pw_write_str(PARAM_LINGER, "3600000"));
	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pw_arm(fd, tid, PIDWAIT_ARM_THREAD, 1));
	ASSERT_EQ(1, hooks_now());
	ASSERT_EQ(0, close(fd));
	/* Twice the default linger: what is asserted is a hook still there. */
	pw_sleep_ms(2000);
	ASSERT_EQ(1, hooks_now());

	ASSERT_EQ(0, pw_write_str(PARAM_LINGER, "0"));
	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pw_arm(fd, tid, PIDWAIT_ARM_THREAD, 2));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, wait_hooks(0));

	ASSERT_EQ(0, pw_write_str(PARAM_LINGER, saved));
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
	ASSERT_EQ(0, pw_read_str(PARAM_BACKEND, backend, sizeof(backend)));
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
	ASSERT_EQ(0, pw_read_str(PARAM_BACKEND, buf, sizeof(buf)));
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

/* Parameters given at load are the ones in force, not the defaults. */
TEST(load_time_parameters)
{
	const char *ko = getenv("PIDWAIT_KO");
	struct pidwait_info info;
	int kofd, fd, ret;

	if (geteuid())
		SKIP(return, "needs root");
	if (!ko || !*ko)
		SKIP(return, "PIDWAIT_KO is not set: no way to reload, so no unload");
	kofd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, kofd) TH_LOG("%s: %s", ko, strerror(errno));
	ASSERT_EQ(0, delete_module(MODNAME));
	ret = syscall(SYS_finit_module, kofd,
		      "max_watches=100 max_user_watches=123 hook_linger_ms=250", 0) ? -errno : 0;
	ASSERT_EQ(0, ret) TH_LOG("finit_module with parameters: %s", strerror(-ret));
	if (access(PIDWAIT_DEVICE, F_OK))
		ASSERT_EQ(0, system("mdev -s"));
	EXPECT_EQ(100, pw_read_long(PARAM_MAX));
	EXPECT_EQ(123, pw_read_long(PARAM_USER_MAX));
	EXPECT_EQ(250, pw_read_long(PARAM_LINGER));
	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pw_info(fd, &info));
	EXPECT_EQ(100u, info.max_watches);
	EXPECT_EQ(123u, info.max_user_watches);
	close(fd);

	/* As the other tests expect it. */
	ASSERT_EQ(0, delete_module(MODNAME));
	ret = finit_module(kofd);
	close(kofd);
	ASSERT_EQ(0, ret) TH_LOG("finit_module: %s", strerror(-ret));
	if (access(PIDWAIT_DEVICE, F_OK))
		ASSERT_EQ(0, system("mdev -s"));
	ASSERT_EQ(DEFAULT_MAX, pw_read_long(PARAM_MAX));
	ASSERT_LT(123, pw_read_long(PARAM_USER_MAX));
	ASSERT_EQ(1000, pw_read_long(PARAM_LINGER));
}

#define LOAD_CYCLES	100

/*
 * A process tree beside the test that forks a child for each byte it
 * reads from in (a batch a cycle: free-running, it would take the CPU
 * the loads need). Each child says its PID on out (non-blocking: dropped
 * when full), forks a grandchild that exits at once, yields a random
 * number of times, reaps it and exits. Forked before any /dev/pidwait file
 * is open, so it holds none.
 */
static void churn_tree(pid_t test, int in, int out)
{
	unsigned int seed = 1;
	char tokens[64];
	ssize_t n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != test)
		_exit(0);
	while ((n = read(in, tokens, sizeof(tokens))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			if (fork() == 0) {
				pid_t me = getpid(), g;
				unsigned int spins = (seed >> 8) % 64;

				prctl(PR_SET_PDEATHSIG, SIGKILL);
				g = fork();
				if (g == 0)
					_exit(0);
				(void)!write(out, &me, sizeof(me));
				while (spins--)
					sched_yield();
				if (g > 0)
					waitpid(g, NULL, 0);
				_exit(me & 0x7f);
			}
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	_exit(0);
}

static int load(int kofd)
{
	int ret = finit_module(kofd);

	/* devtmpfs makes the node as the device is added; mdev where there is none. */
	if (!ret && access(PIDWAIT_DEVICE, F_OK) && system("mdev -s"))
		return -ENOENT;
	return ret;
}

/*
 * A hundred loads and unloads while processes fork and exit: each time,
 * files are opened, PIDs of the churning tree armed (live, zombie or gone),
 * thread watches too, some events read, some files handed to a child that
 * exits with them, and all closed; then the unload must succeed at once,
 * and leave the module loaded at the end.
 */
/* For the longer timeout only. */
FIXTURE(cycles) {
	int unused;
};

FIXTURE_SETUP(cycles)
{
	self->unused = 0;
}

FIXTURE_TEARDOWN(cycles)
{
}

/* The harness's limit holds the guard below on a kernel 4 times slower. */
TEST_F_TIMEOUT(cycles, load_unload_cycles, 900)
{
	const char *ko = getenv("PIDWAIT_KO");
	long taint = pw_taint();
	int kofd, p[2], tok[2], st = -1, ret, armed = 0, gone = 0, events = 0, done = 0;
	char tokens[16];
	uint64_t t0, t_load = 0, t_unload = 0, t;
	pid_t tree, test = getpid();
	struct pidwait_event ev[8];
	static pid_t pids[16384];
	bool threads;
	ssize_t np;

	if (geteuid())
		SKIP(return, "needs root");
	if (!ko || !*ko)
		SKIP(return, "PIDWAIT_KO is not set: no way to reload, so no unload");
	kofd = open(ko, O_RDONLY | O_CLOEXEC);
	if (kofd < 0)
		SKIP(return, "%s: %s: no way to reload, so no unload", ko, strerror(errno));
	ASSERT_TRUE(module_loaded());
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	ASSERT_EQ(0, pipe2(tok, O_CLOEXEC));
	memset(tokens, 0, sizeof(tokens));
	tree = fork();
	ASSERT_LE(0, tree);
	if (tree == 0) {
		close(p[0]);
		close(tok[1]);
		churn_tree(test, tok[0], p[1]);
	}
	close(p[1]);
	close(tok[0]);

	t0 = pw_now_ns();
	for (int i = 0; i < LOAD_CYCLES; i++) {
		int fds[3], nfds = 1 + i % 3;
		pid_t holder = -1;

		if (i) {
			t = pw_now_ns();
			ret = load(kofd);
			t_load += pw_now_ns() - t;
			ASSERT_EQ(0, ret) TH_LOG("cycle %d: load: %s", i, strerror(-ret));
		}
		ASSERT_TRUE(module_loaded());
		/* A load arms nothing: it patches no kernel text. */
		if (i) {
			ASSERT_TRUE(our_kprobes() <= 0);
			ASSERT_EQ(0, hooks_now());
		}
		/* Processes start and end while the files are used. */
		ASSERT_EQ(sizeof(tokens), write(tok[1], tokens, sizeof(tokens)));
		for (int k = 0; k < nfds; k++) {
			struct pidwait_info info;

			fds[k] = pw_open(O_NONBLOCK);
			ASSERT_LE(0, fds[k]) TH_LOG("cycle %d: open: %s", i, strerror(errno));
			ASSERT_EQ(0, pw_info(fds[k], &info));
			threads = info.arm_flags & PIDWAIT_ARM_THREAD;
			/* The newest PIDs: the older ones are long gone. */
			np = read(p[0], pids, sizeof(pids));
			np = np > 0 ? np / (ssize_t)sizeof(pid_t) : 0;
			for (int j = np > 8 ? (int)np - 8 : 0; j < np; j++) {
				pid_t pid = pids[j];

				ret = pw_arm(fds[k], pid, 0, j);
				ASSERT_TRUE(ret == 0 || ret == -ESRCH || ret == -EEXIST)
					TH_LOG("cycle %d: arm %d: %s", i, pid, strerror(-ret));
				armed += !ret;
				gone += !!ret;
			}
			if (threads && (i & 1)) {
				ASSERT_EQ(0, pw_arm(fds[k], pw_gettid(), PIDWAIT_ARM_THREAD, 99));
			}
			ASSERT_EQ(0, pw_arm(fds[k], getpid(), 0, 98));
		}
		/* Give the tree a moment to end some of them, then read what came. */
		pw_wait_readable(fds[0], 2);
		for (int k = 0; k < nfds; k++) {
			ssize_t n = read(fds[k], ev, sizeof(ev));

			ASSERT_TRUE(n > 0 || errno == EAGAIN);
			events += n > 0 ? (int)(n / PW_EVSZ) : 0;
		}
		/* The last file goes with a process that exits holding it. */
		if (i % 4 == 1) {
			holder = fork();
			ASSERT_LE(0, holder);
			if (holder == 0) {
				pid_t pid;

				if (read(p[0], &pid, sizeof(pid)) == sizeof(pid))
					pw_arm(fds[nfds - 1], pid, 0, 7);
				_exit(0);
			}
		}
		for (int k = 0; k < nfds; k++)
			ASSERT_EQ(0, close(fds[k]));
		if (holder > 0) {
			ASSERT_EQ(0, pw_reap(holder, &st));
			ASSERT_EQ(0, st);
		}
		t = pw_now_ns();
		ret = delete_module(MODNAME);
		t_unload += pw_now_ns() - t;
		ASSERT_EQ(0, ret) TH_LOG("cycle %d: unload after the last close: %s", i,
					 strerror(-ret));
		ASSERT_FALSE(module_loaded());
		ASSERT_EQ(-1, pw_open(0));
		/*
		 * A guard against a hang only: the count is the test. 200 s
		 * here, scaled as every wait is on a slower kernel (the debug
		 * kernel beside two builds took 4.3 s a cycle).
		 */
		done = i + 1;
		if (pw_now_ns() - t0 > 200000000000ull * (uint64_t)pw_slowdown())
			break;
	}
	ret = load(kofd);
	close(kofd);
	ASSERT_EQ(0, ret) TH_LOG("final load: %s", strerror(-ret));
	ASSERT_TRUE(module_loaded());
	close(tok[1]);
	ASSERT_EQ(0, pw_reap(tree, &st));
	ASSERT_EQ(0, st);
	close(p[0]);
	ASSERT_EQ(LOAD_CYCLES, done) TH_LOG("time cap reached after %d cycles", done);
	ASSERT_EQ(taint & PW_TAINT_BAD, pw_taint() & PW_TAINT_BAD);
	ksft_print_msg("load_unload_cycles cycles=%d armed=%d already_gone=%d events=%d load_ms=%.1f unload_ms=%.1f secs=%.1f\n",
		       LOAD_CYCLES, armed, gone, events, (double)t_load / 1e6 / (LOAD_CYCLES - 1),
		       (double)t_unload / 1e6 / LOAD_CYCLES, (double)(pw_now_ns() - t0) / 1e9);
	fflush(stdout);
}

PIDWAIT_HARNESS_MAIN
