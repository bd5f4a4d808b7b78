// SPDX-License-Identifier: GPL-2.0
/*
 * Unmodified programs that speak pidfd, from Debian's packages, run with
 * libpidwait-pidfd.so preloaded: the kernel's own pidfd_open and
 * pidfd_poll selftests, util-linux waitpid(1), procps-ng pidwait(1), and
 * Python's os.pidfd_open, signal.pidfd_send_signal and asyncio. The runner
 * puts them under PIDWAIT_CLIENTS with their libraries. Where the kernel
 * has no pidfd_open, or PIDWAIT_PIDFD_FORCE=1 is set, pidwait must be the
 * one serving them: each pidfd it serves counts as one watch of the user's.
 */
#include "pidwait_util.h"

#include "kselftest_harness.h"

#define CLIENTS_DEFAULT	"/pidwait/clients"

static const char *clients(void)
{
	const char *d = getenv("PIDWAIT_CLIENTS");

	return d && *d ? d : CLIENTS_DEFAULT;
}

/* Whether pidwait, not the kernel, answers pidfd_open() here. */
static bool served_by_pidwait(void)
{
	const char *f = getenv("PIDWAIT_PIDFD_FORCE");
	int fd;

	if (f && *f && strcmp(f, "0"))
		return true;
	fd = pw_pidfd_open(getpid(), 0);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ENOSYS;
}

/* The watches of this user, across all files: a served pidfd is one. */
static int user_watches(void)
{
	struct pidwait_info info;
	int fd = pw_open(0), ret;

	if (fd < 0)
		return -errno;
	ret = pw_info(fd, &info);
	close(fd);
	return ret ? ret : (int)info.user_watches;
}

static int wait_user_watches(int want, int timeout_ms)
{
	int n = -1;

	for (int i = 0; i < timeout_ms; i++) {
		n = user_watches();
		if (n == want)
			return 0;
		pw_sleep_ms(1);
	}
	return n < 0 ? n : -ETIMEDOUT;
}

/* Runs argv[0] from the clients' directory under the library; its pid. */
static pid_t spawn(char *const argv[])
{
	char prog[PATH_MAX], lib[PATH_MAX];
	pid_t pid;

	snprintf(prog, sizeof(prog), "%s/%s", clients(), argv[0]);
	snprintf(lib, sizeof(lib), "%s/libpidwait-pidfd.so", clients());
	pid = fork();
	if (pid)
		return pid;
	setenv("LD_PRELOAD", lib, 1);
	setenv("LD_LIBRARY_PATH", clients(), 1);
	execv(prog, argv);
	fprintf(stderr, "exec %s: %s\n", prog, strerror(errno));
	_exit(127);
}

static int run(char *const argv[])
{
	int st = -1;
	pid_t pid = spawn(argv);

	if (pid < 0 || pw_reap(pid, &st))
		return -1;
	return st;
}

/* A process that is not the clients' child, alive until its pipe closes. */
struct target {
	pid_t pid;
	int hold;
};

static int target_start(struct target *t, const char *comm)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (!t->pid) {
		char c;

		close(p[1]);
		if (comm)
			prctl(PR_SET_NAME, comm);
		_exit(read(p[0], &c, 1) == 1 ? c : 0);
	}
	close(p[0]);
	t->hold = p[1];
	return 0;
}

static void target_end(struct target *t, char code)
{
	if (t->hold >= 0) {
		/* A target already reaped has pid -1: kill(-1) is everyone. */
		if (write(t->hold, &code, 1) != 1 && t->pid > 0)
			kill(t->pid, SIGKILL);
		close(t->hold);
		t->hold = -1;
	}
}

static void target_free(struct target *t)
{
	target_end(t, 0);
	if (t->pid > 0)
		waitpid(t->pid, NULL, 0);
	t->pid = -1;
}

FIXTURE(preload) {
	bool pidwait;
	int base;
	struct target t;
};

FIXTURE_SETUP(preload)
{
	char lib[PATH_MAX];

	self->t.pid = -1;
	self->t.hold = -1;
	/* A target a client killed has closed its end of the pipe. */
	signal(SIGPIPE, SIG_IGN);
	snprintf(lib, sizeof(lib), "%s/libpidwait-pidfd.so", clients());
	ASSERT_EQ(0, access(lib, R_OK)) TH_LOG("%s: %s", lib, strerror(errno));
	self->pidwait = served_by_pidwait();
	self->base = user_watches();
	ASSERT_LE(0, self->base) TH_LOG("GET_INFO: %s", strerror(-self->base));
	TH_LOG("pidfd_open served by %s", self->pidwait ? "pidwait" : "the kernel");
}

FIXTURE_TEARDOWN(preload)
{
	target_free(&self->t);
}

/*
 * A program that waits for the target succeeds once it exits. Where
 * pidwait serves, the target ends only once the program's watch exists.
 */
static void woken_by_exit(struct __test_metadata *_metadata,
			  FIXTURE_DATA(preload) *self, char **argv)
{
	int st = -1;
	pid_t w;

	w = spawn(argv);
	ASSERT_LE(0, w);
	if (self->pidwait)
		ASSERT_EQ(0, wait_user_watches(self->base + 1, PW_TIMEOUT_MS * pw_slowdown()));
	target_end(&self->t, 0);
	ASSERT_EQ(0, pw_reap(w, &st));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("%s: status 0x%x", argv[0], st);
}

/* tools/testing/selftests/pidfd, built against new uapi headers. */
TEST_F(preload, kselftest_pidfd_open)
{
	char *argv[] = { "pidfd_open_test", NULL };
	int st = run(argv);

	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("status 0x%x", st);
}

TEST_F_TIMEOUT(preload, kselftest_pidfd_poll, 600)
{
	char *argv[] = { "pidfd_poll_test", NULL };
	int st = run(argv);

	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("status 0x%x", st);
}

/* util-linux waitpid(1): a process it did not start, and its options. */
TEST_F(preload, util_linux_waitpid)
{
	char pid[16], gone[16];
	char *wait_argv[] = { "waitpid", pid, NULL };
	char *timeout_argv[] = { "waitpid", "--timeout", "1", pid, NULL };
	char *exited_argv[] = { "waitpid", "--exited", gone, NULL };
	char *strict_argv[] = { "waitpid", gone, NULL };
	struct target other = { .pid = -1, .hold = -1 };
	char *count_argv[] = { "waitpid", "--count", "1", pid, gone, NULL };
	pid_t dead;
	int st = -1;

	ASSERT_EQ(0, target_start(&self->t, NULL));
	snprintf(pid, sizeof(pid), "%d", self->t.pid);
	dead = fork();
	ASSERT_LE(0, dead);
	if (!dead)
		_exit(0);
	ASSERT_EQ(0, pw_reap(dead, NULL));
	snprintf(gone, sizeof(gone), "%d", dead);

	/* Alive: the timeout expires (exit 3), nothing is left behind. */
	st = run(timeout_argv);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3) TH_LOG("status 0x%x", st);
	EXPECT_EQ(self->base, user_watches());

	/* Already gone: an error, or success with --exited. */
	st = run(strict_argv);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1) TH_LOG("status 0x%x", st);
	st = run(exited_argv);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("status 0x%x", st);

	/* Waiting, then woken by the exit. */
	woken_by_exit(_metadata, self, wait_argv);
	EXPECT_EQ(self->base, user_watches());

	/* --count 1 of two, one of them gone: done at once. */
	ASSERT_EQ(0, target_start(&other, NULL));
	snprintf(pid, sizeof(pid), "%d", other.pid);
	st = run(count_argv);
	EXPECT_TRUE(WIFEXITED(st)) TH_LOG("status 0x%x", st);
	target_free(&other);
}

/* procps-ng pidwait(1), by name. */
TEST_F(preload, procps_pidwait)
{
	char *argv[] = { "pidwait", "-x", "pwtarget", NULL };

	ASSERT_EQ(0, target_start(&self->t, "pwtarget"));
	woken_by_exit(_metadata, self, argv);
}

/*
 * Python: pidfd_open and poll on a process it did not start, then
 * pidfd_send_signal to it, and an asyncio subprocess seen through its
 * pidfd child watcher. The script exits 0 when all went as on a new kernel.
 */
static const char py_script[] =
	"import faulthandler; faulthandler.dump_traceback_later(100, exit=True)\n"
	"import asyncio, os, select, signal, sys\n"
	"pid = int(sys.argv[1])\n"
	"fd = os.pidfd_open(pid)\n"
	"p = select.poll(); p.register(fd, select.POLLIN)\n"
	"assert p.poll(0) == [], 'readable while alive'\n"
	"signal.pidfd_send_signal(fd, 0)\n"
	"signal.pidfd_send_signal(fd, signal.SIGTERM)\n"
	"ev = p.poll(30000)\n"
	"assert ev and ev[0][1] & select.POLLIN, ev\n"
	"os.close(fd)\n"
	"import warnings; warnings.simplefilter('ignore', DeprecationWarning)\n"
	"from asyncio import unix_events\n"
	"assert unix_events.can_use_pidfd(), 'asyncio sees no pidfd'\n"
	"async def main():\n"
	"    proc = await asyncio.create_subprocess_exec(sys.executable, '-c', 'raise SystemExit(7)')\n"
	"    return await proc.wait()\n"
	"rc = asyncio.run(main())\n"
	"assert rc == 7, rc\n"
	"w = asyncio.get_event_loop_policy()._watcher\n"
	"assert isinstance(w, unix_events.PidfdChildWatcher), w\n";

/* Python's start under TCG takes seconds, and it starts twice. */
TEST_F_TIMEOUT(preload, python, 180)
{
	char pid[16];
	char *argv[] = { "python3", "-c", (char *)py_script, pid, NULL };
	int st = -1;

	ASSERT_EQ(0, target_start(&self->t, NULL));
	snprintf(pid, sizeof(pid), "%d", self->t.pid);
	st = run(argv);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("status 0x%x", st);
	ASSERT_EQ(0, pw_reap(self->t.pid, &st));
	self->t.pid = -1;
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) TH_LOG("status 0x%x", st);
	EXPECT_EQ(self->base, user_watches());
}

/*
 * libpidwait-pidfd.so's own contract (pidfd_contract.c): every call, by
 * glibc's wrapper and by syscall(), with the kernel's results and errors.
 * As shipped, the kernel answers what it has, so on 5.3 and later the
 * same checks hold the kernel to them: the oracle for the forced run.
 */
static void contract(struct __test_metadata *_metadata,
		     FIXTURE_DATA(preload) *self, const char *mode)
{
	char err[16];
	char *argv[] = { "pidfd_contract", (char *)mode, err, NULL };
	long r;
	int st;

	/* What this kernel says to pidfd_send_signal() on stdin, no pidfd. */
	r = syscall(SYS_pidfd_send_signal, 0, 0, NULL, 0);
	snprintf(err, sizeof(err), "%d", r ? errno : 0);
	st = run(argv);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("%s: status 0x%x", mode, st);
	EXPECT_EQ(self->base, user_watches());
}

TEST_F(preload, contract_as_shipped)
{
	contract(_metadata, self, "kernel");
}

TEST_F(preload, contract_served_by_pidwait)
{
	contract(_metadata, self, "pidwait");
}

TEST_F(preload, contract_without_the_module)
{
	contract(_metadata, self, "nomodule");
}

PIDWAIT_HARNESS_MAIN
