// SPDX-License-Identifier: GPL-2.0
/*
 * What /dev/pidwait (mode 0666) lets an unprivileged user learn and use:
 * no exit status of another user's process, of a setuid, setgid or
 * file-capability program (armed before its exec or after), or of a
 * process that became non-dumpable; no exit it forged with a signal that
 * looks like a child's; no PID outside the user's pid namespace; no stale
 * kernel bytes in what read() and the ioctls return; the per-file cap and
 * the per-user limit, which the user cannot raise; and watch memory
 * charged to the user's memory cgroup. Root sets each case up; the
 * unprivileged part runs as USER_A or USER_B with every capability dropped.
 *
 * pidwait_status_test covers the visibility rule itself as uid 65534
 * (root's processes, setresuid()-made mismatches, prctl-undumpable, arm
 * time): this program uses other uids and adds what it leaves out.
 */
#include "pidwait_util.h"

#include <dirent.h>
#include <endian.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include "kselftest_harness.h"

#define USER_A		1000
#define USER_B		1001
#define PATTERN		0xa5

#define MAX_WATCHES_PARAM	"/sys/module/pidwait/parameters/max_watches"
#define MAX_USER_WATCHES_PARAM	"/sys/module/pidwait/parameters/max_user_watches"
#define SUID_DUMPABLE		"/proc/sys/fs/suid_dumpable"
#define CORE_PATTERN		"/proc/sys/kernel/core_pattern"
#define CORE_PREFIX		"pidwait-sec-core."
#define CGROUP_ROOT		"/sys/fs/cgroup"
#define MAX_USERNS		"/proc/sys/user/max_user_namespaces"

#define SETUID_HELPER_ARG	"--pidwait-setuid-helper"
#define SETUID_EXIT		57

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

/* ---- helpers ---------------------------------------------------------------- */

/* A capability set of /proc/self/status ("CapEff:"...), or ~0 if unread. */
static unsigned long long cap_set(const char *key)
{
	unsigned long long v = ~0ull;
	size_t klen = strlen(key);
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) &&
		    sscanf(line + klen, "%llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

static unsigned long long cap_eff(void)
{
	return cap_set("CapEff:");
}

/*
 * Become an ordinary user: every id, no supplementary group, no capability.
 * The uid change clears the parent-death signal and dumpability: a user's
 * own processes are dumpable, and nothing may outlive a failed test.
 */
static int drop_to(uid_t uid)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		return -errno;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
		return -errno;
	return cap_eff() ? -EPERM : 0;
}

static bool have_thread_watches(void)
{
	struct pidwait_info info;
	int fd = pw_open(0);
	bool ret;

	if (fd < 0)
		return false;
	ret = !pw_info(fd, &info) && (info.arm_flags & PIDWAIT_ARM_THREAD);
	close(fd);
	return ret;
}

/* A worker that cannot be killed by its parent (another user's) ends on EOF. */
static void worker_end(struct worker *w)
{
	for (int i = 0; i < W_MAX_THREADS; i++) {
		if (w->cmd[i] >= 0)
			close(w->cmd[i]);
		w->cmd[i] = -1;
	}
	worker_free(w);
}

static int read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	if (pw_wait_readable(fd, timeout_ms) != 1)
		return -ETIMEDOUT;
	return read(fd, buf, len) == (ssize_t)len ? 0 : -EIO;
}

static int write_full(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len) == (ssize_t)len ? 0 : -EIO;
}

static void remove_cores(void)
{
	struct dirent *d;
	char path[300];
	DIR *dir = opendir("/tmp");

	if (!dir)
		return;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, CORE_PREFIX, strlen(CORE_PREFIX))) {
			snprintf(path, sizeof(path), "/tmp/%s", d->d_name);
			unlink(path);
		}
	closedir(dir);
}

/* ---- another user's process ---------------------------------------------------- */

enum how {
	EXIT_GROUP,		/* thread `by` calls exit_group(code) */
	KILL,			/* root: kill(pid, code) */
	SIGNAL_FROM,		/* thread `by` sends itself signal `code` */
	THREAD_EXIT,		/* thread `by` calls SYS_exit(code): only it ends */
};

FIXTURE(other) {
	struct worker w;
	int fd;
	pid_t armer;
	int res[2];
	char saved_pattern[256];
	bool pattern_set;
};

FIXTURE_VARIANT(other) {
	uid_t armer_uid;
	bool armer_userns;	/* arms from a user namespace of its own */
	int threads;
	bool thread;		/* a thread watch on tid[1] */
	enum how how;
	int by, code;
	bool core;
	int dumpable;
	bool expect_status;
};

FIXTURE_VARIANT_ADD(other, exit_42) {
	.armer_uid = USER_B, .threads = 1, .how = EXIT_GROUP, .code = 42,
	.dumpable = 1 };
FIXTURE_VARIANT_ADD(other, sigterm) {
	.armer_uid = USER_B, .threads = 1, .how = KILL, .code = SIGTERM,
	.dumpable = 1 };
FIXTURE_VARIANT_ADD(other, sigkill_threads) {
	.armer_uid = USER_B, .threads = 3, .how = KILL, .code = SIGKILL,
	.dumpable = 1 };
FIXTURE_VARIANT_ADD(other, core_segv) {
	.armer_uid = USER_B, .threads = 1, .how = SIGNAL_FROM, .code = SIGSEGV,
	.core = true, .dumpable = 1 };
FIXTURE_VARIANT_ADD(other, core_abrt_thread_watch) {
	.armer_uid = USER_B, .threads = 3, .thread = true, .how = SIGNAL_FROM,
	.by = 1, .code = SIGABRT, .core = true, .dumpable = 1 };
FIXTURE_VARIANT_ADD(other, thread_exit_alone) {
	.armer_uid = USER_B, .threads = 2, .thread = true, .how = THREAD_EXIT,
	.by = 1, .code = 9, .dumpable = 1 };
/* Every capability, but in a namespace that does not own the target. */
FIXTURE_VARIANT_ADD(other, userns_caps_exit_42) {
	.armer_uid = USER_B, .armer_userns = true, .threads = 1,
	.how = EXIT_GROUP, .code = 42, .dumpable = 1 };
FIXTURE_VARIANT_ADD(other, userns_caps_core) {
	.armer_uid = USER_B, .armer_userns = true, .threads = 1,
	.how = SIGNAL_FROM, .code = SIGSEGV, .core = true, .dumpable = 1 };
FIXTURE_VARIANT_ADD(other, same_user_nondumpable_sigkill) {
	.armer_uid = USER_A, .threads = 2, .how = KILL, .code = SIGKILL,
	.dumpable = 0 };
FIXTURE_VARIANT_ADD(other, same_user_nondumpable_thread_exit) {
	.armer_uid = USER_A, .threads = 2, .thread = true, .how = THREAD_EXIT,
	.by = 1, .code = 9, .dumpable = 0 };
/* The controls: the same paths do deliver a status to its owner. */
FIXTURE_VARIANT_ADD(other, same_user_core) {
	.armer_uid = USER_A, .threads = 1, .how = SIGNAL_FROM, .code = SIGSEGV,
	.core = true, .dumpable = 1, .expect_status = true };
FIXTURE_VARIANT_ADD(other, same_user_thread_exit) {
	.armer_uid = USER_A, .threads = 2, .thread = true, .how = THREAD_EXIT,
	.by = 1, .code = 9, .dumpable = 1, .expect_status = true };
/*
 * ptrace's rule (commoncap): its own uid, but from another user namespace,
 * without CAP_SYS_PTRACE over the target's, may not read it.
 */
FIXTURE_VARIANT_ADD(other, userns_same_user_exit_42) {
	.armer_uid = USER_A, .armer_userns = true, .threads = 1,
	.how = EXIT_GROUP, .code = 42, .dumpable = 1 };

FIXTURE_SETUP(other)
{
	worker_init(&self->w);
	self->armer = -1;
	self->pattern_set = false;
	self->fd = pw_open(0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, pipe2(self->res, O_CLOEXEC));
	if (geteuid())
		SKIP(return, "needs root to set up users");
	if (variant->core) {
		ASSERT_EQ(0, pw_read_str(CORE_PATTERN, self->saved_pattern,
				      sizeof(self->saved_pattern)));
		/* A file the dumping user may create, in a bare initramfs. */
		ASSERT_EQ(0, pw_write_str(CORE_PATTERN, "/tmp/" CORE_PREFIX "%p"));
		self->pattern_set = true;
	}
}

FIXTURE_TEARDOWN(other)
{
	worker_free(&self->w);
	if (self->armer > 0) {
		kill(self->armer, SIGKILL);
		pw_reap(self->armer, NULL);
	}
	close(self->fd);
	close(self->res[0]);
	close(self->res[1]);
	if (self->pattern_set) {
		EXPECT_EQ(0, pw_write_str(CORE_PATTERN, self->saved_pattern));
		remove_cores();
	}
}

static int other_target_setup(void *arg)
{
	const FIXTURE_VARIANT(other) *v = arg;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	if (v->core && setrlimit(RLIMIT_CORE, &rl))
		return 70;
	if (drop_to(USER_A))
		return 71;
	if (prctl(PR_SET_DUMPABLE, v->dumpable, 0, 0, 0))
		return 72;
	return 0;
}

/* Sends the arm result, then the event as read. */
static void other_armer(const FIXTURE_VARIANT(other) *v, pid_t target, int res)
{
	uint32_t flags = v->thread ? PIDWAIT_ARM_THREAD : 0;
	struct pidwait_event ev;
	int fd, ret;

	CHILD_CHECK(!drop_to(v->armer_uid));
	if (v->armer_userns) {
		if (unshare(CLONE_NEWUSER)) {
			ret = -errno;
			ret = ret == -EPERM || ret == -EINVAL || ret == -ENOSPC ?
			      -EOPNOTSUPP : ret;
			CHILD_CHECK(!write_full(res, &ret, sizeof(ret)));
			_exit(0);
		}
		CHILD_CHECK(cap_eff() & (1ull << CAP_SYS_PTRACE));
	}
	fd = pw_open(0);
	CHILD_CHECK(fd >= 0);
	ret = pw_arm(fd, target, flags, 0xfeedull << 32 | 2);
	CHILD_CHECK(!write_full(res, &ret, sizeof(ret)));
	if (ret)
		_exit(0);
	/* pw_read_one() fills ev with a pattern first: zeros are the kernel's. */
	CHILD_CHECK(!pw_read_one(fd, &ev, PW_TIMEOUT_MS * 2));
	CHILD_CHECK(!write_full(res, &ev, sizeof(ev)));
	_exit(0);
}

TEST_F(other, status_hidden)
{
	uint32_t aflags = variant->thread ? PIDWAIT_ARM_THREAD : 0;
	uint32_t eflags = variant->thread ? PIDWAIT_EVENT_THREAD : 0;
	struct pidwait_event ev, uev;
	char b1[64], b2[64];
	int ret = -1, st = -1;
	pid_t target;

	if (variant->thread && !have_thread_watches())
		SKIP(return, "this kernel's backend has no thread watches");
	ASSERT_EQ(0, worker_start(&self->w, variant->threads, other_target_setup,
				  (void *)variant));
	target = variant->thread ? self->w.tid[1] : self->w.pid;
	/* Root's own watch: the status exists, and is what waitpid() says. */
	ASSERT_EQ(0, pw_arm(self->fd, target, aflags, 1));

	self->armer = fork();
	ASSERT_LE(0, self->armer);
	if (self->armer == 0)
		other_armer(variant, target, self->res[1]);
	ASSERT_EQ(0, read_full(self->res[0], &ret, sizeof(ret), PW_TIMEOUT_MS));
	if (ret == -EOPNOTSUPP)
		SKIP(return, "unprivileged user namespaces unavailable");
	ASSERT_EQ(0, ret) TH_LOG("arm as uid %u: %s", variant->armer_uid,
				 strerror(-ret));

	switch (variant->how) {
	case EXIT_GROUP:
		ASSERT_EQ(0, worker_cmd(&self->w, variant->by, W_EXIT_GROUP,
					variant->code));
		break;
	case KILL:
		ASSERT_EQ(0, kill(self->w.pid, variant->code));
		break;
	case SIGNAL_FROM:
		ASSERT_EQ(0, worker_cmd(&self->w, variant->by, W_SIGNAL,
					variant->code));
		break;
	case THREAD_EXIT:
		ASSERT_EQ(0, worker_cmd(&self->w, variant->by, W_EXIT_THREAD,
					variant->code));
		break;
	}
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, PW_TIMEOUT_MS * 2));
	ASSERT_EQ(0, read_full(self->res[0], &uev, sizeof(uev), PW_TIMEOUT_MS * 3));
	ASSERT_EQ(0, pw_reap(self->armer, &ret));
	self->armer = -1;
	ASSERT_EQ(0, ret);

	ASSERT_EQ(target, ev.pid);
	ASSERT_EQ(PIDWAIT_EVENT_STATUS | eflags, ev.flags);
	ASSERT_EQ(0u, ev.reserved);
	if (variant->how == THREAD_EXIT) {
		ASSERT_EQ(W_EXITCODE(variant->code, 0), ev.status);
	} else {
		ASSERT_EQ(0, worker_reap(&self->w, &st));
		if (variant->thread) {
			/* A thread's own code: the same signal, core flag aside. */
			ASSERT_TRUE(WIFSIGNALED(ev.status));
			ASSERT_EQ(WTERMSIG(st), WTERMSIG(ev.status));
		} else {
			ASSERT_EQ(st, ev.status);
		}
	}
	if (variant->core) {
		/* Else "with core" was not tested. */
		ASSERT_TRUE(WCOREDUMP(st)) TH_LOG("waitpid %s",
						  pw_status_str(st, b1, sizeof(b1)));
	}

	ASSERT_EQ(target, uev.pid);
	ASSERT_EQ(0xfeedull << 32 | 2, uev.cookie);
	ASSERT_EQ(0u, uev.reserved);
	if (variant->expect_status) {
		ASSERT_EQ(PIDWAIT_EVENT_STATUS | eflags, uev.flags);
		ASSERT_EQ(ev.status, uev.status);
	} else {
		ASSERT_EQ(eflags, uev.flags);
		ASSERT_EQ(0, uev.status) TH_LOG("uid %u learnt %s of uid %u's process, root %s",
						variant->armer_uid,
						pw_status_str(uev.status, b1, sizeof(b1)),
						USER_A,
						pw_status_str(ev.status, b2, sizeof(b2)));
	}
}

/* ---- forged exits --------------------------------------------------------------- */

/*
 * Any process may queue itself a signal that claims to be a child's
 * SIGCHLD (rt_sigqueueinfo() to itself allows si_code > 0), and a fault's
 * si_addr lies where si_pid would be, its si_code (SEGV_MAPERR) that of
 * CLD_EXITED. None of it may fire a watch: not another user's process,
 * not root's, not the forger's own. The tracepoint backend is the one that
 * reads such signals; every backend must pass.
 */

#define FORGE_EXIT	5
#define VICTIM_EXIT	33

FIXTURE(forge) {
	struct worker victim;
	pid_t forger;
	int fd;
	int to_f[2], from_f[2];
};

enum forgery {
	QUEUED,		/* rt_sigqueueinfo(): SIGCHLD, SIGUSR1; each CLD_* */
	FAULT,		/* a child faults at the address */
};

FIXTURE_VARIANT(forge) {
	bool victim_root;	/* else USER_A's */
	enum forgery how;
};

FIXTURE_VARIANT_ADD(forge, user_victim_queued) {
	.victim_root = false, .how = QUEUED };
FIXTURE_VARIANT_ADD(forge, root_victim_queued) {
	.victim_root = true, .how = QUEUED };
FIXTURE_VARIANT_ADD(forge, user_victim_fault) {
	.victim_root = false, .how = FAULT };
FIXTURE_VARIANT_ADD(forge, root_victim_fault) {
	.victim_root = true, .how = FAULT };

FIXTURE_SETUP(forge)
{
	worker_init(&self->victim);
	self->forger = -1;
	self->fd = pw_open(0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, pipe2(self->to_f, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(self->from_f, O_CLOEXEC));
	if (geteuid())
		SKIP(return, "needs root to set up users");
}

FIXTURE_TEARDOWN(forge)
{
	worker_free(&self->victim);
	if (self->forger > 0) {
		kill(self->forger, SIGKILL);
		pw_reap(self->forger, NULL);
	}
	close(self->fd);
	close(self->to_f[0]);
	close(self->to_f[1]);
	close(self->from_f[0]);
	close(self->from_f[1]);
}

static int victim_setup(void *arg)
{
	(void)arg;
	return drop_to(USER_A) ? 71 : 0;
}

/* What the forger's handlers saw last: the forgery must have got through. */
static volatile sig_atomic_t forge_caught, forge_signo, forge_code, forge_pid;

static void forge_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	forge_signo = sig;
	forge_code = si->si_code;
	forge_pid = si->si_pid;
	forge_caught++;
}

struct fault_seen {
	int signo, code;
	uint64_t addr;
};

_Static_assert((int)SEGV_MAPERR == (int)CLD_EXITED,
	       "a fault's si_code looks like an exit");

static int fault_report = -1;

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
	struct fault_seen s = { sig, si->si_code, (uintptr_t)si->si_addr };

	(void)uc;
	if (write(fault_report, &s, sizeof(s)) != sizeof(s))
		_exit(90);
	/* SA_RESETHAND: the fault comes again and kills it. */
}

/*
 * A child of the forger that faults at address pid: the kernel's SIGSEGV
 * then carries pid in the low bits, where a SIGCHLD has si_pid.
 */
static void forge_fault(pid_t pid)
{
	struct sigaction sa = { .sa_sigaction = fault_handler,
				.sa_flags = SA_SIGINFO | SA_RESETHAND };
	struct rlimit rl = { 0, 0 };
	struct fault_seen s;
	int p[2], st = -1;
	pid_t k;

	CHILD_CHECK(!pipe2(p, O_CLOEXEC));
	k = fork();
	CHILD_CHECK(k >= 0);
	if (k == 0) {
		fault_report = p[1];
		CHILD_CHECK(!setrlimit(RLIMIT_CORE, &rl));
		CHILD_CHECK(!sigaction(SIGSEGV, &sa, NULL));
		(void)*(volatile char *)(uintptr_t)pid;
		_exit(0);
	}
	close(p[1]);
	CHILD_CHECK(!read_full(p[0], &s, sizeof(s), PW_TIMEOUT_MS));
	close(p[0]);
	CHILD_CHECK(!pw_reap(k, &st));
	CHILD_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
	/* What signal_generate saw: si_code CLD_EXITED, si_pid pid. */
	CHILD_CHECK(s.signo == SIGSEGV && s.code == SEGV_MAPERR);
	CHILD_CHECK(s.addr == (uint64_t)pid);
}

static void forge_queue(int sig, int code, pid_t pid)
{
	sig_atomic_t before = forge_caught;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = code;
	si.si_pid = pid;
	si.si_uid = getuid();
	si.si_status = code == CLD_EXITED ? 0 : SIGKILL;
	CHILD_CHECK(!syscall(SYS_rt_sigqueueinfo, getpid(), sig, &si));
	/* Sent to itself, it is handled before the call returns. */
	CHILD_CHECK(forge_caught == before + 1);
	CHILD_CHECK(forge_signo == sig && forge_code == code && forge_pid == pid);
}

/* What the forger's file held once it had forged. */
struct forge_after {
	int readable, fionread;
};

/*
 * USER_B, no capability: watch the victim and itself, forge exits of
 * both, tell whether anything fired; then read the victim's real one.
 */
static void forger_main(enum forgery how, pid_t victim, int in, int out)
{
	static const int sigs[] = { SIGCHLD, SIGUSR1 };
	static const int codes[] = { CLD_EXITED, CLD_KILLED, CLD_DUMPED };
	struct sigaction sa = { .sa_sigaction = forge_handler,
				.sa_flags = SA_SIGINFO | SA_RESTART };
	int keep[] = { in, out };
	struct forge_after after;
	pid_t self = getpid();
	struct pidwait_event ev;
	size_t i, j;
	char c;
	int fd;

	/* Nothing of root's: not its file, not the victim's pipes. */
	pw_close_fds_except(keep, ARRAY_SIZE(keep));
	CHILD_CHECK(!drop_to(USER_B));
	CHILD_CHECK(!sigaction(SIGCHLD, &sa, NULL));
	CHILD_CHECK(!sigaction(SIGUSR1, &sa, NULL));
	fd = pw_open(0);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(!pw_arm(fd, victim, 0, 3));
	CHILD_CHECK(!pw_arm(fd, self, 0, 4));
	CHILD_CHECK(!read_full(in, &c, 1, PW_TIMEOUT_MS) && c == 'g');

	switch (how) {
	case QUEUED:
		for (i = 0; i < ARRAY_SIZE(sigs); i++)
			for (j = 0; j < ARRAY_SIZE(codes); j++) {
				forge_queue(sigs[i], codes[j], victim);
				forge_queue(sigs[i], codes[j], self);
			}
		break;
	case FAULT:
		forge_fault(victim);
		forge_fault(self);
		break;
	}

	after.readable = pw_wait_readable(fd, PW_QUIET_MS);
	after.fionread = pw_fionread(fd);
	CHILD_CHECK(!write_full(out, &after, sizeof(after)));

	/* The victim has really exited: its event, and no other. */
	CHILD_CHECK(!read_full(in, &c, 1, PW_TIMEOUT_MS * 2) && c == 'k');
	CHILD_CHECK(!pw_read_one(fd, &ev, PW_TIMEOUT_MS));
	CHILD_CHECK(pw_fionread(fd) == 0);
	CHILD_CHECK(!write_full(out, &ev, sizeof(ev)));
	CHILD_CHECK(!read_full(in, &c, 1, PW_TIMEOUT_MS * 2) && c == 'x');
	_exit(FORGE_EXIT);
}

TEST_F(forge, forged_exits_ignored)
{
	struct pidwait_event ev, fev;
	struct forge_after after;
	struct w_report r;
	int st = -1, vst = -1;

	ASSERT_EQ(0, worker_start(&self->victim, 1,
				  variant->victim_root ? NULL : victim_setup, NULL));
	ASSERT_EQ(0, pw_arm(self->fd, self->victim.pid, 0, 1));
	self->forger = fork();
	ASSERT_LE(0, self->forger);
	if (self->forger == 0)
		forger_main(variant->how, self->victim.pid, self->to_f[0],
			    self->from_f[1]);
	/* Its failure is EOF, not a timeout. */
	close(self->to_f[0]);
	close(self->from_f[1]);
	self->to_f[0] = self->from_f[1] = -1;
	ASSERT_EQ(0, pw_arm(self->fd, self->forger, 0, 2));

	ASSERT_EQ(0, write_full(self->to_f[1], "g", 1));
	if (read_full(self->from_f[0], &after, sizeof(after), PW_TIMEOUT_MS * 2)) {
		ASSERT_EQ(0, pw_reap(self->forger, &st));
		self->forger = -1;
		ASSERT_EQ(0, st) TH_LOG("the forger's checks failed: see above");
	}

	/* Nothing fired, on either file, and the victim and forger still run. */
	ASSERT_EQ(0, pw_wait_readable(self->fd, PW_QUIET_MS))
		TH_LOG("a forged exit fired root's watch: %d bytes ready",
		       pw_fionread(self->fd));
	ASSERT_EQ(0, pw_fionread(self->fd));
	ASSERT_EQ(0, after.readable) TH_LOG("a forged exit fired the forger's watch");
	ASSERT_EQ(0, after.fionread);
	ASSERT_EQ(0, worker_cmd(&self->victim, 0, W_PING, 77));
	ASSERT_EQ(0, w_read_report(&self->victim, &r, PW_TIMEOUT_MS));
	ASSERT_EQ(77, r.val);
	ASSERT_EQ(0, kill(self->forger, 0));

	/* The real exit: exactly one event on each file, root's with the status. */
	ASSERT_EQ(0, worker_cmd(&self->victim, 0, W_EXIT_GROUP, VICTIM_EXIT));
	ASSERT_EQ(0, worker_reap(&self->victim, &vst));
	ASSERT_EQ(W_EXITCODE(VICTIM_EXIT, 0), vst);
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(self->victim.pid, ev.pid);
	ASSERT_EQ(1u, ev.cookie);
	ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev.flags);
	ASSERT_EQ(vst, ev.status);
	ASSERT_EQ(0, pw_fionread(self->fd));

	ASSERT_EQ(0, write_full(self->to_f[1], "k", 1));
	ASSERT_EQ(0, read_full(self->from_f[0], &fev, sizeof(fev), PW_TIMEOUT_MS * 2));
	ASSERT_EQ(self->victim.pid, fev.pid);
	ASSERT_EQ(3u, fev.cookie);
	/* USER_B may not see USER_A's or root's status. */
	ASSERT_EQ(0u, fev.flags);
	ASSERT_EQ(0, fev.status);
	ASSERT_EQ(0u, fev.reserved);

	/* The forger ends when it says: its one event comes then. */
	ASSERT_EQ(0, pw_wait_readable(self->fd, PW_QUIET_MS));
	ASSERT_EQ(0, write_full(self->to_f[1], "x", 1));
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(0, pw_reap(self->forger, &st));
	ASSERT_EQ(self->forger, ev.pid);
	self->forger = -1;
	ASSERT_EQ(W_EXITCODE(FORGE_EXIT, 0), st);
	ASSERT_EQ(2u, ev.cookie);
	ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev.flags);
	ASSERT_EQ(st, ev.status);
	ASSERT_EQ(0, pw_fionread(self->fd));
}

/* ---- a setuid program the user starts ---------------------------------------- */

struct helper_ids {
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	unsigned long long cap_prm;
	int dumpable;
};

/*
 * main() of the setuid copy: say who it runs as, wait for the word, exit
 * with a known code. It changes nothing: the exec alone makes it what it is.
 */
static int setuid_helper(int argc, char **argv)
{
	struct helper_ids ids;
	char c;

	if (argc < 4)
		return 95;
	if (getresuid(&ids.ruid, &ids.euid, &ids.suid) ||
	    getresgid(&ids.rgid, &ids.egid, &ids.sgid))
		return 94;
	ids.cap_prm = cap_set("CapPrm:");
	ids.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (write_full(atoi(argv[2]), &ids, sizeof(ids)))
		return 93;
	while (read(atoi(argv[3]), &c, 1) < 0 && errno == EINTR)
		;
	return SETUID_EXIT;
}

struct setuid_result {
	struct helper_ids ids;
	pid_t pid;
	int arm;
	int status;
	struct pidwait_event ev;
};

FIXTURE(suid) {
	char path[PATH_MAX];
	char saved_dumpable[16];
	pid_t user;
	int res[2];
};

enum suid_kind {
	PLAIN,			/* mode 0755 */
	SETUID_ROOT,		/* 04755, owner root */
	SETGID_ROOT,		/* 02755, group 0: USER_A is not in it */
	FILE_CAPS,		/* 0755, CAP_NET_RAW permitted and effective */
};

FIXTURE_VARIANT(suid) {
	enum suid_kind kind;
	bool arm_before;		/* armed before its exec, while the user's */
	const char *suid_dumpable;	/* NULL: leave as is */
	bool expect_status;
};

/* Non-dumpable, and owned by root: the default. */
FIXTURE_VARIANT_ADD(suid, setuid_root) {
	.kind = SETUID_ROOT, .suid_dumpable = "0" };
/* Dumpable: only the uid rule hides it. */
FIXTURE_VARIANT_ADD(suid, setuid_root_suid_dumpable_1) {
	.kind = SETUID_ROOT, .suid_dumpable = "1" };
/* Dumpable, its uids the user's: only the gid rule hides it. */
FIXTURE_VARIANT_ADD(suid, setgid_root_suid_dumpable_1) {
	.kind = SETGID_ROOT, .suid_dumpable = "1" };
/* Dumpable, its ids the user's: only the capability rule hides it. */
FIXTURE_VARIANT_ADD(suid, file_caps_suid_dumpable_1) {
	.kind = FILE_CAPS, .suid_dumpable = "1" };
/* The control: the same file, not setuid. */
FIXTURE_VARIANT_ADD(suid, plain_copy) {
	.kind = PLAIN, .expect_status = true };
/*
 * Armed while it is still the user's own child, then it execs: the
 * status is judged again at its exit. suid_dumpable 1 keeps it dumpable,
 * so that only its new credentials can hide the status.
 */
FIXTURE_VARIANT_ADD(suid, setuid_root_armed_before) {
	.kind = SETUID_ROOT, .arm_before = true, .suid_dumpable = "1" };
FIXTURE_VARIANT_ADD(suid, setgid_root_armed_before) {
	.kind = SETGID_ROOT, .arm_before = true, .suid_dumpable = "1" };
FIXTURE_VARIANT_ADD(suid, file_caps_armed_before) {
	.kind = FILE_CAPS, .arm_before = true, .suid_dumpable = "1" };
FIXTURE_VARIANT_ADD(suid, plain_copy_armed_before) {
	.kind = PLAIN, .arm_before = true, .expect_status = true };

/* A tmpfs that honours setuid: /tmp in the guest, else another. */
static const char *suid_dir(void)
{
	static const char * const dirs[] = { "/tmp", "/dev/shm", "/run" };
	struct statvfs sv;

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (!statvfs(dirs[i], &sv) && !(sv.f_flag & ST_NOSUID) &&
		    !access(dirs[i], W_OK))
			return dirs[i];
	return NULL;
}

static int copy_self(const char *dst, mode_t mode)
{
	char buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			ret = -EIO;
			break;
		}
	if (n < 0)
		ret = -errno;
	/* chown() clears the setuid bit: owner first. */
	if (!ret && (fchown(out, 0, 0) || fchmod(out, mode)))
		ret = -errno;
	close(in);
	if (close(out) && !ret)
		ret = -errno;
	return ret;
}

/* security.capability: CAP_NET_RAW permitted, and effective at exec. */
static int set_file_caps(const char *path)
{
	struct vfs_cap_data caps;

	memset(&caps, 0, sizeof(caps));
	caps.magic_etc = htole32(VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE);
	caps.data[0].permitted = htole32(1u << CAP_NET_RAW);
	return setxattr(path, "security.capability", &caps, sizeof(caps), 0) ?
	       -errno : 0;
}

FIXTURE_SETUP(suid)
{
	static const mode_t modes[] = {
		[PLAIN] = 0755, [SETUID_ROOT] = 04755,
		[SETGID_ROOT] = 02755, [FILE_CAPS] = 0755,
	};
	const char *dir;
	int ret;

	self->path[0] = 0;
	self->saved_dumpable[0] = 0;
	self->user = -1;
	ASSERT_EQ(0, pipe2(self->res, O_CLOEXEC));
	if (geteuid())
		SKIP(return, "needs root to make a setuid-root file");
	dir = suid_dir();
	ASSERT_TRUE(dir) TH_LOG("no writable file system without nosuid");
	snprintf(self->path, sizeof(self->path), "%s/pidwait-setuid.%d", dir,
		 getpid());
	ASSERT_EQ(0, copy_self(self->path, modes[variant->kind]));
	if (variant->kind == FILE_CAPS) {
		ret = set_file_caps(self->path);
		if (ret == -EOPNOTSUPP)
			SKIP(return, "%s: no security xattrs on this file system", dir);
		ASSERT_EQ(0, ret) TH_LOG("setxattr: %s", strerror(-ret));
	}
	if (variant->suid_dumpable) {
		ASSERT_EQ(0, pw_read_str(SUID_DUMPABLE, self->saved_dumpable,
				      sizeof(self->saved_dumpable)));
		ASSERT_EQ(0, pw_write_str(SUID_DUMPABLE, variant->suid_dumpable));
	}
}

FIXTURE_TEARDOWN(suid)
{
	if (self->user > 0) {
		kill(self->user, SIGKILL);
		pw_reap(self->user, NULL);
	}
	if (self->path[0])
		unlink(self->path);
	if (self->saved_dumpable[0]) {
		EXPECT_EQ(0, pw_write_str(SUID_DUMPABLE, self->saved_dumpable));
	}
	close(self->res[0]);
	close(self->res[1]);
}

/*
 * The user: start the program, arm it before its exec or once it runs,
 * let it exit, report.
 */
static void setuid_user(const char *path, bool arm_before, int res)
{
	struct setuid_result r;
	int fd, rep[2], go[2], pre[2];
	char arg_rep[16], arg_go[16];

	memset(&r, 0, sizeof(r));
	CHILD_CHECK(!drop_to(USER_A));
	fd = pw_open(0);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(!pipe2(rep, O_CLOEXEC) && !pipe2(go, O_CLOEXEC) &&
		    !pipe2(pre, O_CLOEXEC));
	r.pid = fork();
	CHILD_CHECK(r.pid >= 0);
	if (r.pid == 0) {
		char *argv[] = { "pidwait-setuid", SETUID_HELPER_ARG, arg_rep,
				 arg_go, NULL };
		char *envp[] = { NULL };
		char c;

		fcntl(rep[1], F_SETFD, 0);
		fcntl(go[0], F_SETFD, 0);
		snprintf(arg_rep, sizeof(arg_rep), "%d", rep[1]);
		snprintf(arg_go, sizeof(arg_go), "%d", go[0]);
		/* The word to exec: once armed, if armed before. */
		close(pre[1]);
		if (read(pre[0], &c, 1) != 1)
			_exit(96);
		execve(path, argv, envp);
		_exit(97);
	}
	close(rep[1]);
	close(go[0]);
	close(pre[0]);
	/* Still its parent's image and credentials: the status is ours now. */
	if (arm_before)
		r.arm = pw_arm(fd, r.pid, 0, 7);
	CHILD_CHECK(!write_full(pre[1], "x", 1));
	/* It reports after the exec: its credentials are final. */
	CHILD_CHECK(!read_full(rep[0], &r.ids, sizeof(r.ids), PW_TIMEOUT_MS));
	if (!arm_before)
		r.arm = pw_arm(fd, r.pid, 0, 7);
	CHILD_CHECK(!write_full(go[1], "x", 1));
	if (!r.arm)
		CHILD_CHECK(!pw_read_one(fd, &r.ev, PW_TIMEOUT_MS));
	CHILD_CHECK(!pw_reap(r.pid, &r.status));
	CHILD_CHECK(!write_full(res, &r, sizeof(r)));
	_exit(0);
}

TEST_F(suid, status_hidden)
{
	struct setuid_result r;
	char b1[64];
	int st = -1;

	self->user = fork();
	ASSERT_LE(0, self->user);
	if (self->user == 0)
		setuid_user(self->path, variant->arm_before, self->res[1]);
	ASSERT_EQ(0, read_full(self->res[0], &r, sizeof(r), PW_TIMEOUT_MS * 3));
	ASSERT_EQ(0, pw_reap(self->user, &st));
	self->user = -1;
	ASSERT_EQ(0, st);

	/* The exec did what the variant says, and nothing else. */
	ASSERT_EQ((uid_t)USER_A, r.ids.ruid);
	ASSERT_EQ(variant->kind == SETUID_ROOT ? 0 : (uid_t)USER_A, r.ids.euid);
	ASSERT_EQ(r.ids.euid, r.ids.suid);
	ASSERT_EQ((gid_t)USER_A, r.ids.rgid);
	ASSERT_EQ(variant->kind == SETGID_ROOT ? 0 : (gid_t)USER_A, r.ids.egid);
	ASSERT_EQ(r.ids.egid, r.ids.sgid);
	switch (variant->kind) {
	case SETUID_ROOT:
		/* Root's: all the bounding set allows. */
		ASSERT_EQ(cap_set("CapBnd:"), r.ids.cap_prm);
		break;
	case FILE_CAPS:
		ASSERT_EQ(1ull << CAP_NET_RAW, r.ids.cap_prm);
		break;
	default:
		ASSERT_EQ(0ull, r.ids.cap_prm);
		break;
	}
	ASSERT_EQ(!variant->suid_dumpable || strcmp(variant->suid_dumpable, "0") ? 1 : 0,
		  r.ids.dumpable);
	ASSERT_EQ(W_EXITCODE(SETUID_EXIT, 0), r.status)
		TH_LOG("%s", pw_status_str(r.status, b1, sizeof(b1)));

	ASSERT_EQ(0, r.arm);
	ASSERT_EQ(r.pid, r.ev.pid);
	ASSERT_EQ(7u, r.ev.cookie);
	ASSERT_EQ(0u, r.ev.reserved);
	if (variant->expect_status) {
		ASSERT_EQ(PIDWAIT_EVENT_STATUS, r.ev.flags);
		ASSERT_EQ(r.status, r.ev.status);
	} else {
		ASSERT_EQ(0u, r.ev.flags);
		ASSERT_EQ(0, r.ev.status);
	}
}

/* ---- pid namespaces ------------------------------------------------------------ */

struct msg {
	int a, b, c, d;
};

static int send_msg_fd(int sock, const struct msg *m, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (fd >= 0) {
		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, 0) == sizeof(*m) ? 0 : -1;
}

static int send_msg(int sock, int a, int b, int c, int d)
{
	struct msg m = { a, b, c, d };

	return send_msg_fd(sock, &m, -1);
}

/* A message, and the descriptor it carries into *fd if fd is not NULL. */
static int recv_msg_fd(int sock, struct msg *m, int *fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;

	if (pw_wait_readable(sock, PW_TIMEOUT_MS * 2) != 1)
		return -1;
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != sizeof(*m))
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (fd) {
		if (!c || c->cmsg_type != SCM_RIGHTS)
			return -1;
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	}
	return 0;
}

static int recv_msg(int sock, struct msg *m)
{
	return recv_msg_fd(sock, m, NULL);
}

/* The caller's PID in the namespace /proc was mounted for: the outer one. */
static int outer_pid(void)
{
	char buf[32] = { 0 };

	if (readlink("/proc/self", buf, sizeof(buf) - 1) < 0)
		return -errno;
	return atoi(buf);
}

FIXTURE(pidns) {
	struct worker w;
	pid_t u;
	int sk[2];
	int fd_out;
	bool threads;
};

FIXTURE_VARIANT(pidns) {
	bool userns;	/* unprivileged: CLONE_NEWUSER | CLONE_NEWPID as the user */
};

FIXTURE_VARIANT_ADD(pidns, userns) { .userns = true };
FIXTURE_VARIANT_ADD(pidns, root_then_drop) { .userns = false };

FIXTURE_SETUP(pidns)
{
	worker_init(&self->w);
	self->u = -1;
	self->fd_out = pw_open(0);
	ASSERT_LE(0, self->fd_out);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, self->sk));
	if (geteuid())
		SKIP(return, "needs root to set up users");
	self->threads = have_thread_watches();
}

FIXTURE_TEARDOWN(pidns)
{
	worker_free(&self->w);
	if (self->u > 0) {
		kill(self->u, SIGKILL);
		pw_reap(self->u, NULL);
	}
	close(self->fd_out);
	close(self->sk[0]);
	close(self->sk[1]);
}

#define NS_NO_USERNS	42

/*
 * P, pid 1 of the new namespace, as USER_A. Outer numbers mean nothing
 * here; an event carries the number its watch was armed with, whoever
 * reads it (README: "pid as given to PIDWAIT_IOC_ARM").
 */
static void ns_init(FIXTURE_DATA(pidns) *self, pid_t t)
{
	pid_t outer[] = { t, self->w.pid, self->w.tid[1], 2 };
	struct pidwait_event ev[2];
	int fd_in, fd_x, q_go[2], q_rep[2], q_outer = -1, st = -1, i;
	struct msg m;
	pid_t q;

	CHILD_CHECK(getpid() == 1);
	fd_in = pw_open(0);
	CHILD_CHECK(fd_in >= 0);

	/* 2 is kthreadd outside; here, nothing yet. */
	for (i = 0; i < (int)ARRAY_SIZE(outer); i++) {
		CHILD_CHECK(outer[i] > 1);
		CHILD_CHECK(kill(outer[i], 0) == -1 && errno == ESRCH);
		CHILD_CHECK(pw_arm(fd_in, outer[i], 0, 0) == -ESRCH);
		if (self->threads)
			CHILD_CHECK(pw_arm(fd_in, outer[i], PIDWAIT_ARM_THREAD, 0) == -ESRCH);
		CHILD_CHECK(pw_disarm(fd_in, outer[i], 0) == -ENOENT);
	}
	CHILD_CHECK(pw_nr_watches(fd_in) == 0);

	/* Read here what root armed outside: the outer numbers, as armed. */
	CHILD_CHECK(!send_msg(self->sk[1], 1, 0, 0, 0));
	CHILD_CHECK(!recv_msg(self->sk[1], &m));	/* W exited: m.a = its status */
	CHILD_CHECK(pw_wait_readable(self->fd_out, PW_TIMEOUT_MS) == 1);
	for (i = 0; i < (self->threads ? 2 : 1); i++) {
		CHILD_CHECK(!pw_read_one(self->fd_out, &ev[0], PW_TIMEOUT_MS));
		CHILD_CHECK(ev[0].reserved == 0);
		if (ev[0].cookie == 1) {
			CHILD_CHECK(ev[0].pid == self->w.pid);
			CHILD_CHECK(ev[0].flags == PIDWAIT_EVENT_STATUS);
			CHILD_CHECK(ev[0].status == m.a);
		} else {
			CHILD_CHECK(ev[0].cookie == 2);
			CHILD_CHECK(ev[0].pid == self->w.tid[1]);
			CHILD_CHECK(ev[0].flags == (PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD));
			CHILD_CHECK(ev[0].status == W_EXITCODE(5, 0));
		}
	}

	/* Q: pid 2 here. A file armed here on 2 goes out to root. */
	CHILD_CHECK(!pipe2(q_go, O_CLOEXEC) && !pipe2(q_rep, O_CLOEXEC));
	q = fork();
	CHILD_CHECK(q >= 0);
	if (q == 0) {
		char c;

		q_outer = outer_pid();
		CHILD_CHECK(!write_full(q_rep[1], &q_outer, sizeof(q_outer)));
		CHILD_CHECK(read(q_go[0], &c, 1) == 1);
		_exit(7);
	}
	CHILD_CHECK(q == 2);
	CHILD_CHECK(!read_full(q_rep[0], &q_outer, sizeof(q_outer), PW_TIMEOUT_MS));
	CHILD_CHECK(q_outer > 2);
	CHILD_CHECK(pw_arm(fd_in, q_outer, 0, 0) == -ESRCH);
	fd_x = pw_open(0);
	CHILD_CHECK(fd_x >= 0);
	CHILD_CHECK(!pw_arm(fd_x, q, 0, 3));
	m = (struct msg){ q, q_outer, 0, 0 };
	CHILD_CHECK(!send_msg_fd(self->sk[1], &m, fd_x));
	CHILD_CHECK(!recv_msg(self->sk[1], &m));	/* root has armed Q too */
	CHILD_CHECK(!write_full(q_go[1], "x", 1));
	CHILD_CHECK(!pw_reap(q, &st));
	CHILD_CHECK(st == W_EXITCODE(7, 0));
	CHILD_CHECK(!send_msg(self->sk[1], st, 0, 0, 0));
	CHILD_CHECK(!recv_msg(self->sk[1], &m));	/* root is done */
	_exit(0);
}

/* U, outside: makes the namespace, forks P into it, exits as P did. */
static void ns_parent(FIXTURE_DATA(pidns) *self, bool userns, pid_t t)
{
	int st = -1;
	pid_t p;

	if (userns) {
		CHILD_CHECK(!drop_to(USER_A));
		if (unshare(CLONE_NEWUSER | CLONE_NEWPID)) {
			CHILD_CHECK(errno == EPERM || errno == EINVAL || errno == ENOSPC);
			_exit(NS_NO_USERNS);
		}
	} else {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		CHILD_CHECK(!unshare(CLONE_NEWPID));
	}
	p = fork();
	CHILD_CHECK(p >= 0);
	if (p == 0) {
		if (!userns)
			CHILD_CHECK(!drop_to(USER_A));
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		ns_init(self, t);
	}
	CHILD_CHECK(!pw_reap(p, &st));
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 99);
}

TEST_F(pidns, outside_pids)
{
	struct pidwait_event ev[2];
	int st = -1, wst = -1, fd_x = -1, ret, i;
	struct msg m, m2;

	ASSERT_EQ(0, worker_start(&self->w, 2, NULL, NULL));
	ASSERT_EQ(0, pw_arm(self->fd_out, self->w.pid, 0, 1));
	if (self->threads)
		ASSERT_EQ(0, pw_arm(self->fd_out, self->w.tid[1], PIDWAIT_ARM_THREAD, 2));

	self->u = fork();
	ASSERT_LE(0, self->u);
	if (self->u == 0)
		ns_parent(self, variant->userns, getppid());

	/* The namespace's side holds the only other end: its failure is EOF. */
	close(self->sk[1]);
	self->sk[1] = -1;
	ret = recv_msg(self->sk[0], &m);
	if (ret) {
		ASSERT_EQ(0, pw_reap(self->u, &st));
		self->u = -1;
		if (WIFEXITED(st) && WEXITSTATUS(st) == NS_NO_USERNS)
			SKIP(return, "unprivileged user namespaces unavailable");
		ASSERT_EQ(0, st) TH_LOG("the namespace's side failed early");
		ASSERT_EQ(0, ret) TH_LOG("no word from the namespace");
	}
	ASSERT_EQ(1, m.a);
	ASSERT_EQ(0, worker_cmd(&self->w, 1, W_EXIT_THREAD, 5));
	ASSERT_EQ(0, pw_wait_thread_exited(self->w.pid, self->w.tid[1], PW_TIMEOUT_MS));
	ASSERT_EQ(0, worker_cmd(&self->w, 0, W_EXIT_GROUP, 9));
	ASSERT_EQ(0, worker_reap(&self->w, &wst));
	ASSERT_EQ(0, send_msg(self->sk[0], wst, 0, 0, 0));

	/*
	 * The file armed inside on Q = 2: Q's outer number names the same
	 * process, already watched there. Root watches it on its own file.
	 */
	ASSERT_EQ(0, recv_msg_fd(self->sk[0], &m, &fd_x));
	ASSERT_EQ(2, m.a);
	ASSERT_LT(2, m.b);
	ASSERT_EQ(-EEXIST, pw_arm(fd_x, m.b, 0, 4));
	ASSERT_EQ(0, pw_arm(self->fd_out, m.b, 0, 4));
	ASSERT_EQ(0, send_msg(self->sk[0], 0, 0, 0, 0));
	ASSERT_EQ(0, recv_msg(self->sk[0], &m2));	/* Q's status */
	for (i = 0; i < 2; i++) {
		memset(ev, PATTERN, sizeof(ev));
		ASSERT_EQ(0, pw_read_one(i ? self->fd_out : fd_x, &ev[0], PW_TIMEOUT_MS));
		ASSERT_EQ(0u, ev[0].reserved);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev[0].flags);
		ASSERT_EQ(m2.a, ev[0].status);
		/* As armed: inside, 2; outside, the outer number. */
		ASSERT_EQ(i ? m.b : 2, ev[0].pid);
		ASSERT_EQ(i ? 4u : 3u, ev[0].cookie);
	}
	ASSERT_EQ(0, pw_fionread(fd_x));
	ASSERT_EQ(0, pw_fionread(self->fd_out));
	close(fd_x);
	ASSERT_EQ(0, send_msg(self->sk[0], 0, 0, 0, 0));
	ASSERT_EQ(0, pw_reap(self->u, &st));
	self->u = -1;
	ASSERT_EQ(0, st);
}

/* ---- bytes the kernel returns --------------------------------------------------- */

FIXTURE(bytes) {
	struct worker r, s;
	int fd;
};

FIXTURE_SETUP(bytes)
{
	worker_init(&self->r);
	worker_init(&self->s);
	self->fd = -1;
	if (geteuid())
		SKIP(return, "needs root to set up users");
	if (!have_thread_watches())
		SKIP(return, "this kernel's backend has no thread watches");
}

FIXTURE_TEARDOWN(bytes)
{
	worker_end(&self->r);
	worker_end(&self->s);
	if (self->fd >= 0)
		close(self->fd);
}

static bool all_pattern(const unsigned char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != PATTERN)
			return false;
	return true;
}

/*
 * As USER_A: root's process and thread (status withheld) and the user's
 * own (status given), through every call that writes to user memory.
 */
TEST_F(bytes, nothing_stale)
{
	unsigned char buf[8 * sizeof(struct pidwait_event) + 13] __attribute__((aligned(8)));
	struct pidwait_event ev[4];
	struct pidwait_info *info = (void *)buf;
	struct pidwait_arm *arm = (void *)buf;
	int rst = -1, sst = -1, got = 0, n, i;
	pid_t pids[4];

	ASSERT_EQ(0, worker_start(&self->r, 2, NULL, NULL));
	ASSERT_EQ(0, drop_to(USER_A));
	ASSERT_EQ(0, worker_start(&self->s, 2, NULL, NULL));
	self->fd = pw_open(0);
	ASSERT_LE(0, self->fd);

	memset(buf, PATTERN, sizeof(buf));
	ASSERT_EQ(0, ioctl(self->fd, PIDWAIT_IOC_GET_INFO, info));
	ASSERT_EQ(PIDWAIT_API_VERSION, info->api_version);
	ASSERT_EQ((__u32)PW_EVSZ, info->event_size);
	ASSERT_EQ(0u, info->nr_watches);
	for (i = 0; i < PW_INFO_RESERVED; i++)
		ASSERT_EQ(0ull, info->reserved[i]) TH_LOG("reserved[%d]", i);
	ASSERT_TRUE(all_pattern(buf, sizeof(*info), sizeof(buf)));

	/* _IOW: arm and disarm write nothing back, success or failure. */
	pids[0] = self->r.pid;
	pids[1] = self->r.tid[1];
	pids[2] = self->s.pid;
	pids[3] = self->s.tid[1];
	for (i = 0; i < 4; i++) {
		struct pidwait_arm want = { pids[i], i & 1 ? PIDWAIT_ARM_THREAD : 0,
					    ~0ull - i };

		memset(buf, PATTERN, sizeof(buf));
		memcpy(arm, &want, sizeof(want));
		ASSERT_EQ(0, ioctl(self->fd, PIDWAIT_IOC_ARM, arm));
		ASSERT_EQ(0, memcmp(arm, &want, sizeof(want)));
		ASSERT_TRUE(all_pattern(buf, sizeof(want), sizeof(buf)));
		ASSERT_EQ(-1, ioctl(self->fd, PIDWAIT_IOC_ARM, arm));
		ASSERT_EQ(EEXIST, errno);
		ASSERT_EQ(0, memcmp(arm, &want, sizeof(want)));
		ASSERT_TRUE(all_pattern(buf, sizeof(want), sizeof(buf)));
	}
	memset(buf, PATTERN, sizeof(buf));
	arm->pid = self->r.tid[1];
	arm->flags = 0;
	ASSERT_EQ(-1, ioctl(self->fd, PIDWAIT_IOC_DISARM, arm));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_EQ(self->r.tid[1], arm->pid);
	ASSERT_EQ(0u, arm->flags);
	ASSERT_TRUE(all_pattern(buf, 8, sizeof(buf)));

	/* Nothing ready: FIONREAD writes its int, a failed read nothing. */
	memset(buf, PATTERN, sizeof(buf));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, (int *)buf));
	ASSERT_EQ(0, *(int *)buf);
	ASSERT_TRUE(all_pattern(buf, sizeof(int), sizeof(buf)));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	memset(buf, PATTERN, sizeof(buf));
	ASSERT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_TRUE(all_pattern(buf, 0, sizeof(buf)));

	/* Root's thread alone, then root's process by a signal; the user's likewise. */
	ASSERT_EQ(0, worker_cmd(&self->r, 1, W_EXIT_THREAD, 5));
	ASSERT_EQ(0, worker_cmd(&self->r, 0, W_SIGNAL, SIGTERM));
	ASSERT_EQ(0, worker_cmd(&self->s, 1, W_EXIT_THREAD, 6));
	ASSERT_EQ(0, pw_wait_thread_exited(self->s.pid, self->s.tid[1], PW_TIMEOUT_MS));
	ASSERT_EQ(0, worker_cmd(&self->s, 0, W_EXIT_GROUP, 200));
	ASSERT_EQ(0, worker_reap(&self->r, &rst));
	ASSERT_EQ(0, worker_reap(&self->s, &sst));
	ASSERT_EQ(4 * PW_EVSZ, pw_wait_fionread(self->fd, 4 * PW_EVSZ, PW_TIMEOUT_MS));

	memset(buf, PATTERN, sizeof(buf));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, (int *)buf));
	ASSERT_EQ(4 * PW_EVSZ, *(int *)buf);
	ASSERT_TRUE(all_pattern(buf, sizeof(int), sizeof(buf)));

	/* Too short for one: EINVAL, untouched. Then 1, 2 and 1 of the 4. */
	memset(buf, PATTERN, sizeof(buf));
	ASSERT_EQ(-1, read(self->fd, buf, PW_EVSZ - 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_TRUE(all_pattern(buf, 0, sizeof(buf)));
	for (i = 0; i < 3; i++) {
		/* Room for 1.97, 2.16, then 8.4 records: 1, 2, then the last. */
		size_t room[] = { 2 * PW_EVSZ - 1, 2 * PW_EVSZ + 5, sizeof(buf) };
		int want[] = { 1, 2, 1 };

		memset(buf, PATTERN, sizeof(buf));
		n = read(self->fd, buf, room[i]);
		ASSERT_EQ(want[i] * PW_EVSZ, n);
		ASSERT_TRUE(all_pattern(buf, n, sizeof(buf)))
			TH_LOG("a byte past the %d returned was written", n);
		memcpy(&ev[got], buf, n);
		got += want[i];
	}
	ASSERT_EQ(0, pw_fionread(self->fd));

	for (i = 0; i < 4; i++) {
		int idx = (int)(~0ull - ev[i].cookie);
		bool thread = idx & 1, own = idx >= 2;
		int want;

		ASSERT_LE(0, idx);
		ASSERT_GT(4, idx);
		ASSERT_EQ(pids[idx], ev[i].pid);
		ASSERT_EQ(0u, ev[i].reserved);
		ASSERT_NE(0ull, ev[i].exit_time_ns);
		ASSERT_EQ((own ? PIDWAIT_EVENT_STATUS : 0) |
			  (thread ? PIDWAIT_EVENT_THREAD : 0), ev[i].flags) TH_LOG("watch %d", idx);
		want = !own ? 0 : thread ? W_EXITCODE(6, 0) : sst;
		ASSERT_EQ(want, ev[i].status) TH_LOG("watch %d", idx);
	}
	ASSERT_TRUE(WIFSIGNALED(rst));
	ASSERT_EQ(W_EXITCODE(200, 0), sst);

	memset(buf, PATTERN, sizeof(buf));
	ASSERT_EQ(0, ioctl(self->fd, PIDWAIT_IOC_GET_INFO, info));
	ASSERT_EQ(0u, info->nr_watches);
	for (i = 0; i < PW_INFO_RESERVED; i++)
		ASSERT_EQ(0ull, info->reserved[i]) TH_LOG("reserved[%d]", i);
	ASSERT_TRUE(all_pattern(buf, sizeof(*info), sizeof(buf)));
}

/* ---- the per-file cap, for a user --------------------------------------------- */

#define UCAP		4
#define UCAP_TARGETS	(UCAP + 1)

FIXTURE(ucap) {
	struct worker w[UCAP_TARGETS];
	char saved[32];
	pid_t user;
};

FIXTURE_SETUP(ucap)
{
	for (int i = 0; i < UCAP_TARGETS; i++)
		worker_init(&self->w[i]);
	self->saved[0] = 0;
	self->user = -1;
	if (geteuid())
		SKIP(return, "needs root to set the cap and users");
	ASSERT_EQ(0, pw_read_str(MAX_WATCHES_PARAM, self->saved, sizeof(self->saved)));
	ASSERT_LT(0, strlen(self->saved));
}

FIXTURE_TEARDOWN(ucap)
{
	for (int i = 0; i < UCAP_TARGETS; i++)
		worker_free(&self->w[i]);
	if (self->user > 0) {
		kill(self->user, SIGKILL);
		pw_reap(self->user, NULL);
	}
	if (self->saved[0]) {
		EXPECT_EQ(0, pw_write_str(MAX_WATCHES_PARAM, self->saved));
	}
}

static bool write_denied(const char *param)
{
	int fd = open(param, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		/* Opened: then the write itself must fail. */
		bool denied = write(fd, "100", 3) < 0 &&
			      (errno == EACCES || errno == EPERM);

		close(fd);
		return denied;
	}
	return errno == EACCES || errno == EPERM;
}

/* Exit 0: all held; 2: the same, but no user namespace to try from. */
static void ucap_user(const pid_t *t)
{
	struct pidwait_info info;
	int fd1, fd2, fd3, d, i, st = -1;
	pid_t v;

	CHILD_CHECK(!drop_to(USER_A));
	fd1 = pw_open(0);
	fd2 = pw_open(0);
	CHILD_CHECK(fd1 >= 0 && fd2 >= 0);
	CHILD_CHECK(!pw_info(fd1, &info) && info.max_watches == UCAP);

	for (i = 0; i < UCAP; i++)
		CHILD_CHECK(!pw_arm(fd1, t[i], 0, i));
	CHILD_CHECK(pw_arm(fd1, t[UCAP], 0, 0) == -ENOSPC);
	CHILD_CHECK(pw_arm(fd1, t[0], 0, 0) == -EEXIST);
	CHILD_CHECK(pw_nr_watches(fd1) == UCAP);
	/* A dup is the same file, with the same count. */
	d = dup(fd1);
	CHILD_CHECK(d >= 0);
	CHILD_CHECK(pw_arm(d, t[UCAP], 0, 0) == -ENOSPC);
	close(d);

	/* Other files: a cap each. */
	for (i = UCAP; i > 0; i--)
		CHILD_CHECK(!pw_arm(fd2, t[i], 0, i));
	CHILD_CHECK(pw_arm(fd2, t[0], 0, 0) == -ENOSPC);
	fd3 = pw_open(0);
	CHILD_CHECK(fd3 >= 0);
	CHILD_CHECK(!pw_arm(fd3, t[0], 0, 0));
	CHILD_CHECK(pw_nr_watches(fd1) == UCAP && pw_nr_watches(fd2) == UCAP);

	CHILD_CHECK(!pw_disarm(fd1, t[0], 0));
	CHILD_CHECK(!pw_arm(fd1, t[UCAP], 0, 0));
	CHILD_CHECK(pw_arm(fd1, t[0], 0, 0) == -ENOSPC);

	CHILD_CHECK(write_denied(MAX_WATCHES_PARAM));
	CHILD_CHECK(pw_read_long(MAX_WATCHES_PARAM) == UCAP);

	/* Root of a user namespace of its own is no root of the parameter. */
	v = fork();
	CHILD_CHECK(v >= 0);
	if (v == 0) {
		if (unshare(CLONE_NEWUSER))
			_exit(2);
		CHILD_CHECK(cap_eff() & (1ull << CAP_DAC_OVERRIDE));
		CHILD_CHECK(write_denied(MAX_WATCHES_PARAM));
		_exit(0);
	}
	CHILD_CHECK(!pw_reap(v, &st));
	CHILD_CHECK(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 2));
	CHILD_CHECK(pw_read_long(MAX_WATCHES_PARAM) == UCAP);
	_exit(WEXITSTATUS(st));
}

TEST_F(ucap, enospc_at_cap)
{
	pid_t t[UCAP_TARGETS];
	char cap[16];
	int st = -1;

	for (int i = 0; i < UCAP_TARGETS; i++) {
		ASSERT_EQ(0, worker_start(&self->w[i], 1, NULL, NULL));
		t[i] = self->w[i].pid;
	}
	snprintf(cap, sizeof(cap), "%d", UCAP);
	ASSERT_EQ(0, pw_write_str(MAX_WATCHES_PARAM, cap));

	self->user = fork();
	ASSERT_LE(0, self->user);
	if (self->user == 0)
		ucap_user(t);
	ASSERT_EQ(0, pw_reap(self->user, &st));
	self->user = -1;
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_NE(1, WEXITSTATUS(st)) TH_LOG("a check as uid %d failed", USER_A);
	ASSERT_TRUE(WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 2);
	if (WEXITSTATUS(st) == 2)
		TH_LOG("no user namespaces: the write from a namespace's root untried");
	ASSERT_EQ(UCAP, pw_read_long(MAX_WATCHES_PARAM));
}

/* ---- the per-user limit ---------------------------------------------------------- */

/*
 * max_user_watches bounds a user's watches, armed or unread, across all
 * of its files, which the per-file cap alone does not: every file is
 * charged to the user that opened it. Here USER_A fills it from several
 * processes at once, USER_B keeps its own, and each way a watch goes
 * (disarm, read, close) gives it back.
 */

#define ULIM		40		/* max_user_watches here */
#define ULIM_FILE	16		/* max_watches here: a file's cap, below it */
#define ULIM_FILES	3		/* file slots of a user's process */
#define ULIM_A		3		/* USER_A's processes, 2 files each */
#define ULIM_B		ULIM_A		/* USER_B's process */
#define ULIM_A2		(ULIM_A + 1)	/* USER_A's, once the others are gone */
#define ULIM_PROCS	(ULIM_A + 2)
/* Targets: a file's cap of them, one never armed by a fill, one to end. */
#define ULIM_KIDS	(ULIM_FILE + 2)
#define ULIM_SPARE	ULIM_FILE
#define ULIM_DIES	(ULIM_FILE + 1)

FIXTURE(ulimit) {
	pid_t kids[ULIM_KIDS];
	int nkids;
	pid_t u[ULIM_PROCS];
	int cmd[ULIM_PROCS], rep[ULIM_PROCS];
	char saved_user[32], saved_file[32];
};

/* What a user's process is told to do, on its file slot `file`. */
enum uop {
	U_OPEN = 1,
	U_CLOSE,
	U_FILL,		/* arm targets from the first until an arm fails */
	U_ARM,		/* arm target `target` */
	U_DISARM,
	U_READABLE,
	U_READ,
	U_INFO,
	U_PARAM,	/* try to write max_user_watches */
	U_EXIT,
};

struct ucmd {
	int op, file, target;
};

struct urep {
	int ret;
	int n;				/* U_FILL: how many were armed */
	struct pidwait_info info;	/* U_INFO */
	struct pidwait_event ev;	/* U_READ */
};

static void ulimit_user(uid_t uid, const pid_t *t, int in, int out)
{
	int fds[ULIM_FILES], k;
	struct urep r;
	struct ucmd c;

	for (k = 0; k < ULIM_FILES; k++)
		fds[k] = -1;
	CHILD_CHECK(!drop_to(uid));
	for (;;) {
		CHILD_CHECK(read(in, &c, sizeof(c)) == sizeof(c));
		CHILD_CHECK(c.file >= 0 && c.file < ULIM_FILES);
		CHILD_CHECK(c.target >= 0 && c.target < ULIM_KIDS);
		memset(&r, 0, sizeof(r));
		switch (c.op) {
		case U_OPEN:
			fds[c.file] = pw_open(0);
			r.ret = fds[c.file] < 0 ? -errno : 0;
			break;
		case U_CLOSE:
			r.ret = close(fds[c.file]) ? -errno : 0;
			fds[c.file] = -1;
			break;
		case U_FILL:
			for (k = 0; k < ULIM_KIDS; k++) {
				r.ret = pw_arm(fds[c.file], t[k], 0, k);
				if (r.ret)
					break;
				r.n++;
			}
			break;
		case U_ARM:
			r.ret = pw_arm(fds[c.file], t[c.target], 0, c.target);
			break;
		case U_DISARM:
			r.ret = pw_disarm(fds[c.file], t[c.target], 0);
			break;
		case U_READABLE:
			r.ret = pw_wait_readable(fds[c.file], PW_TIMEOUT_MS);
			break;
		case U_READ:
			r.ret = pw_read_one(fds[c.file], &r.ev, PW_TIMEOUT_MS);
			break;
		case U_INFO:
			r.ret = pw_info(fds[c.file], &r.info);
			break;
		case U_PARAM:
			r.ret = write_denied(MAX_USER_WATCHES_PARAM) ? 0 : -1;
			break;
		case U_EXIT:
			_exit(0);
		default:
			CHILD_CHECK(0);
		}
		CHILD_CHECK(!write_full(out, &r, sizeof(r)));
	}
}

static int ustart(FIXTURE_DATA(ulimit) *self, int p, uid_t uid)
{
	int c[2], r[2];

	if (pipe2(c, O_CLOEXEC))
		return -errno;
	if (pipe2(r, O_CLOEXEC)) {
		close(c[0]);
		close(c[1]);
		return -errno;
	}
	self->cmd[p] = c[1];
	self->rep[p] = r[0];
	self->u[p] = fork();
	if (self->u[p] < 0)
		return -errno;
	if (self->u[p] == 0) {
		int keep[] = { c[0], r[1] };

		/* Only its own files count for it: none of the others'. */
		pw_close_fds_except(keep, ARRAY_SIZE(keep));
		ulimit_user(uid, self->kids, c[0], r[1]);
	}
	close(c[0]);
	close(r[1]);
	return 0;
}

static int usend(FIXTURE_DATA(ulimit) *self, int p, int op, int file, int target)
{
	struct ucmd c = { op, file, target };

	return write_full(self->cmd[p], &c, sizeof(c));
}

static int urecv(FIXTURE_DATA(ulimit) *self, int p, struct urep *r)
{
	memset(r, 0, sizeof(*r));
	return read_full(self->rep[p], r, sizeof(*r), PW_TIMEOUT_MS * 2);
}

/* Send a command, wait for the answer: 0 or -errno; the result in *r. */
static int ucall(FIXTURE_DATA(ulimit) *self, int p, int op, int file, int target,
		 struct urep *r)
{
	int ret = usend(self, p, op, file, target);

	return ret ? ret : urecv(self, p, r);
}

/* The process's result, or a value no check expects if it did not answer. */
static int uret(FIXTURE_DATA(ulimit) *self, int p, int op, int file, int target)
{
	struct urep r;

	return ucall(self, p, op, file, target, &r) ? -EPIPE : r.ret;
}

/* user_watches as seen from a file, or -1. */
static long uwatches(FIXTURE_DATA(ulimit) *self, int p, int file)
{
	struct urep r;

	if (ucall(self, p, U_INFO, file, 0, &r) || r.ret)
		return -1;
	return r.info.user_watches;
}

static int uexit(FIXTURE_DATA(ulimit) *self, int p)
{
	int st = -1, ret = usend(self, p, U_EXIT, 0, 0);

	if (!ret)
		ret = pw_reap(self->u[p], &st);
	self->u[p] = -1;
	close(self->cmd[p]);
	close(self->rep[p]);
	self->cmd[p] = self->rep[p] = -1;
	return ret ? ret : st;
}

FIXTURE_SETUP(ulimit)
{
	char val[16];

	self->nkids = 0;
	self->saved_user[0] = self->saved_file[0] = 0;
	for (int p = 0; p < ULIM_PROCS; p++) {
		self->u[p] = -1;
		self->cmd[p] = self->rep[p] = -1;
	}
	if (geteuid())
		SKIP(return, "needs root to set the limits and users");
	/* The default, before the test changes it. */
	ASSERT_EQ(0, pw_read_str(MAX_USER_WATCHES_PARAM, self->saved_user,
			      sizeof(self->saved_user)));
	ASSERT_EQ(0, pw_read_str(MAX_WATCHES_PARAM, self->saved_file,
			      sizeof(self->saved_file)));
	snprintf(val, sizeof(val), "%d", ULIM);
	ASSERT_EQ(0, pw_write_str(MAX_USER_WATCHES_PARAM, val));
	snprintf(val, sizeof(val), "%d", ULIM_FILE);
	ASSERT_EQ(0, pw_write_str(MAX_WATCHES_PARAM, val));
	for (; self->nkids < ULIM_KIDS; self->nkids++) {
		pid_t k = fork();

		ASSERT_LE(0, k);
		if (k == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		self->kids[self->nkids] = k;
	}
}

FIXTURE_TEARDOWN(ulimit)
{
	for (int p = 0; p < ULIM_PROCS; p++) {
		if (self->u[p] > 0) {
			kill(self->u[p], SIGKILL);
			pw_reap(self->u[p], NULL);
		}
		close(self->cmd[p]);
		close(self->rep[p]);
	}
	for (int i = 0; i < self->nkids; i++)
		if (self->kids[i] > 0)
			kill(self->kids[i], SIGKILL);
	for (int i = 0; i < self->nkids; i++)
		if (self->kids[i] > 0)
			pw_reap(self->kids[i], NULL);
	if (self->saved_user[0]) {
		EXPECT_EQ(0, pw_write_str(MAX_USER_WATCHES_PARAM, self->saved_user));
	}
	if (self->saved_file[0]) {
		EXPECT_EQ(0, pw_write_str(MAX_WATCHES_PARAM, self->saved_file));
	}
}

TEST_F(ulimit, across_files_and_processes)
{
	int n[ULIM_A][2], total = 0, p, f, pa = -1, fa = -1, st = -1;
	pid_t dies = self->kids[ULIM_DIES];
	struct urep r;

	for (p = 0; p < ULIM_A; p++) {
		ASSERT_EQ(0, ustart(self, p, USER_A));
		for (f = 0; f < 2; f++)
			ASSERT_EQ(0, uret(self, p, U_OPEN, f, 0));
	}
	/* Nothing of USER_A's is left from another test. */
	ASSERT_EQ(0, uwatches(self, 0, 0));

	/* All at once: they race for the last of the user's watches. */
	for (p = 0; p < ULIM_A; p++)
		for (f = 0; f < 2; f++)
			ASSERT_EQ(0, usend(self, p, U_FILL, f, 0));
	for (p = 0; p < ULIM_A; p++)
		for (f = 0; f < 2; f++) {
			ASSERT_EQ(0, urecv(self, p, &r));
			ASSERT_EQ(-ENOSPC, r.ret) TH_LOG("process %d, file %d: %d armed",
							 p, f, r.n);
			ASSERT_GE(ULIM_FILE, r.n);
			n[p][f] = r.n;
			total += r.n;
			if (r.n && pa < 0) {
				pa = p;
				fa = f;
			}
		}
	ASSERT_EQ(ULIM, total);

	/* Every file of the user's says so; one with room refuses too. */
	for (p = 0; p < ULIM_A; p++)
		for (f = 0; f < 2; f++) {
			ASSERT_EQ(0, ucall(self, p, U_INFO, f, 0, &r));
			ASSERT_EQ(0, r.ret);
			ASSERT_EQ((__u32)ULIM, r.info.user_watches);
			ASSERT_EQ((__u32)ULIM, r.info.max_user_watches);
			ASSERT_EQ((__u32)ULIM_FILE, r.info.max_watches);
			ASSERT_EQ((__u32)n[p][f], r.info.nr_watches);
			ASSERT_EQ(-ENOSPC, uret(self, p, U_ARM, f, ULIM_SPARE));
		}
	/* A new file too: the limit is the user's, not the file's. */
	ASSERT_EQ(0, uret(self, 0, U_OPEN, 2, 0));
	ASSERT_EQ(ULIM, uwatches(self, 0, 2));
	ASSERT_EQ(-ENOSPC, uret(self, 0, U_ARM, 2, ULIM_SPARE));

	/*
	 * USER_B counts its own: a file's cap first, with its count below
	 * the limit, then the limit.
	 */
	ASSERT_EQ(0, ustart(self, ULIM_B, USER_B));
	for (f = 0; f < ULIM_FILES; f++) {
		int want = f < 2 ? ULIM_FILE : ULIM - 2 * ULIM_FILE;

		ASSERT_EQ(0, uret(self, ULIM_B, U_OPEN, f, 0));
		ASSERT_EQ(0, ucall(self, ULIM_B, U_FILL, f, 0, &r));
		ASSERT_EQ(-ENOSPC, r.ret);
		ASSERT_EQ(want, r.n) TH_LOG("USER_B's file %d", f);
		ASSERT_EQ(f * ULIM_FILE + want, uwatches(self, ULIM_B, f));
	}
	ASSERT_EQ(ULIM, uwatches(self, 0, 0));
	ASSERT_EQ(0, uexit(self, ULIM_B));
	ASSERT_EQ(ULIM, uwatches(self, 0, 0));

	/* A disarm gives one back, to any file of the user's. */
	ASSERT_LE(0, pa);
	ASSERT_EQ(0, uret(self, pa, U_DISARM, fa, 0));
	ASSERT_EQ(ULIM - 1, uwatches(self, 0, 2));
	ASSERT_EQ(0, uret(self, 0, U_ARM, 2, ULIM_DIES));
	ASSERT_EQ(ULIM, uwatches(self, 0, 2));
	ASSERT_EQ(-ENOSPC, uret(self, 0, U_ARM, 2, ULIM_SPARE));

	/* A fired watch counts until it is read. */
	ASSERT_EQ(0, kill(dies, SIGKILL));
	ASSERT_EQ(0, pw_reap(dies, &st));
	self->kids[ULIM_DIES] = -1;
	ASSERT_EQ(1, uret(self, 0, U_READABLE, 2, 0));
	ASSERT_EQ(ULIM, uwatches(self, 0, 2));
	ASSERT_EQ(-ENOSPC, uret(self, 0, U_ARM, 2, ULIM_SPARE));
	ASSERT_EQ(0, ucall(self, 0, U_READ, 2, 0, &r));
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(dies, r.ev.pid);
	ASSERT_EQ((__u64)ULIM_DIES, r.ev.cookie);
	ASSERT_EQ(ULIM - 1, uwatches(self, 0, 2));
	ASSERT_EQ(0, uret(self, 0, U_ARM, 2, ULIM_SPARE));
	ASSERT_EQ(ULIM, uwatches(self, 0, 2));

	/*
	 * A close gives back all of its file's, to any file of the user's
	 * with room of its own: file 2 of process 0 holds one watch (the
	 * spare), where the others may be at their cap.
	 */
	ASSERT_EQ(0, uret(self, pa, U_CLOSE, fa, 0));
	ASSERT_EQ(ULIM - (n[pa][fa] - 1), uwatches(self, (pa + 1) % ULIM_A, 0));
	ASSERT_EQ(0, uret(self, 0, U_ARM, 2, 0));

	/* Once all are gone, the user starts afresh. */
	for (p = 0; p < ULIM_A; p++)
		ASSERT_EQ(0, uexit(self, p));
	ASSERT_EQ(0, ustart(self, ULIM_A2, USER_A));
	ASSERT_EQ(0, uret(self, ULIM_A2, U_OPEN, 0, 0));
	ASSERT_EQ(0, ucall(self, ULIM_A2, U_INFO, 0, 0, &r));
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(0u, r.info.user_watches);
	ASSERT_EQ((__u32)ULIM, r.info.max_user_watches);
	ASSERT_EQ(0, ucall(self, ULIM_A2, U_FILL, 0, 0, &r));
	ASSERT_EQ(-ENOSPC, r.ret);
	ASSERT_EQ(ULIM_FILE, r.n);
	ASSERT_EQ(ULIM_FILE, uwatches(self, ULIM_A2, 0));
	ASSERT_EQ(0, uexit(self, ULIM_A2));
}

static long meminfo_kb(const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && sscanf(line + klen, "%ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

TEST_F(ulimit, parameter)
{
	static const char * const refused[] = {
		"2147483648", "4294967295", "4294967296", "-1", "abc", "12abc",
	};
	struct pidwait_info info;
	long def, mem;
	struct stat sb;
	int fd;

	/* The default: 1% of memory, at 64 to 1024 bytes a watch. */
	def = strtol(self->saved_user, NULL, 10);
	mem = meminfo_kb("MemTotal:");
	ASSERT_LT(0, mem);
	ASSERT_LE(mem * 1024 / 100 / 1024, def) TH_LOG("MemTotal %ld kB", mem);
	ASSERT_GE(mem * 1024 / 100 / 64, def) TH_LOG("MemTotal %ld kB", mem);

	ASSERT_EQ(0, stat(MAX_USER_WATCHES_PARAM, &sb));
	ASSERT_EQ(0644, sb.st_mode & 07777);
	ASSERT_EQ(0u, sb.st_uid);

	/* Not the user's to raise. */
	ASSERT_EQ(0, ustart(self, 0, USER_A));
	ASSERT_EQ(0, uret(self, 0, U_PARAM, 0, 0));
	ASSERT_EQ(0, uexit(self, 0));
	ASSERT_EQ(ULIM, pw_read_long(MAX_USER_WATCHES_PARAM));

	/* Root's: what it writes is in force, up to INT_MAX. */
	fd = pw_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pw_write_str(MAX_USER_WATCHES_PARAM, "41"));
	ASSERT_EQ(41, pw_read_long(MAX_USER_WATCHES_PARAM));
	ASSERT_EQ(0, pw_info(fd, &info));
	ASSERT_EQ(41u, info.max_user_watches);
	ASSERT_EQ(0, pw_write_str(MAX_USER_WATCHES_PARAM, "2147483647"));
	ASSERT_EQ(INT_MAX, pw_read_long(MAX_USER_WATCHES_PARAM));
	ASSERT_EQ(0, pw_info(fd, &info));
	ASSERT_EQ((__u32)INT_MAX, info.max_user_watches);
	close(fd);

	/* Above INT_MAX, or no number: refused, and the value stays. */
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		int ret = pw_write_str(MAX_USER_WATCHES_PARAM, refused[i]);

		if (i < 2) {
			ASSERT_EQ(-EINVAL, ret) TH_LOG("\"%s\"", refused[i]);
		} else {
			ASSERT_GT(0, ret) TH_LOG("\"%s\" taken", refused[i]);
		}
		ASSERT_EQ(INT_MAX, pw_read_long(MAX_USER_WATCHES_PARAM));
	}
}

/* ---- memory cgroup charge -------------------------------------------------------- */

/*
 * A watch is per (file, process): 250 processes on 200 files give 50,000
 * watches without 50,000 tasks in the guest.
 */
#define MC_PROCS	250
#define MC_FILES	200
#define MC_WATCHES	(MC_PROCS * MC_FILES)
/* A struct pidwait_watch is over 100 bytes on every backend: half of 128. */
#define MC_MIN_BYTES	64

FIXTURE(memcg) {
	char cg[64];
	bool made, enabled_here;
	pid_t kids[MC_PROCS];
	int nkids;
	pid_t user;
	int to_u[2], from_u[2];
};

FIXTURE_SETUP(memcg)
{
	char buf[512];

	self->made = self->enabled_here = false;
	self->nkids = 0;
	self->user = -1;
	ASSERT_EQ(0, pipe2(self->to_u, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(self->from_u, O_CLOEXEC));
	snprintf(self->cg, sizeof(self->cg), CGROUP_ROOT "/pidwait-sec.%d", getpid());
	if (geteuid())
		SKIP(return, "needs root to make a cgroup");
	if (pw_read_str(CGROUP_ROOT "/cgroup.controllers", buf, sizeof(buf)))
		SKIP(return, "no cgroup2 at " CGROUP_ROOT);
	if (!strstr(buf, "memory"))
		SKIP(return, "no memory controller");
	ASSERT_EQ(0, pw_read_str(CGROUP_ROOT "/cgroup.subtree_control", buf, sizeof(buf)));
	if (!strstr(buf, "memory")) {
		/* The root cgroup may hold processes and still delegate. */
		ASSERT_EQ(0, pw_write_str(CGROUP_ROOT "/cgroup.subtree_control", "+memory"));
		self->enabled_here = true;
	}
	ASSERT_EQ(0, mkdir(self->cg, 0755));
	self->made = true;
}

FIXTURE_TEARDOWN(memcg)
{
	char path[128];

	if (self->user > 0) {
		kill(self->user, SIGKILL);
		pw_reap(self->user, NULL);
	}
	for (int i = 0; i < self->nkids; i++)
		kill(self->kids[i], SIGKILL);
	for (int i = 0; i < self->nkids; i++)
		pw_reap(self->kids[i], NULL);
	if (self->made) {
		snprintf(path, sizeof(path), "%s", self->cg);
		EXPECT_EQ(0, rmdir(path)) TH_LOG("rmdir %s: %s", path, strerror(errno));
	}
	if (self->enabled_here) {
		EXPECT_EQ(0, pw_write_str(CGROUP_ROOT "/cgroup.subtree_control", "-memory"));
	}
	close(self->to_u[0]);
	close(self->to_u[1]);
	close(self->from_u[0]);
	close(self->from_u[1]);
}

static long cg_long(const char *cg, const char *file)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return pw_read_long(path);
}

/* A field of memory.stat; -1 if this kernel has none. */
static long cg_stat(const char *cg, const char *key)
{
	char path[128], line[256];
	long v = -1;
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.stat", cg);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			v = atol(line + klen + 1);
			break;
		}
	fclose(f);
	return v;
}

/*
 * KASAN's generic mode holds freed slab objects in a quarantine (a 32nd of
 * memory, and a megabyte a CPU) before they are freed; before 6.x the slab
 * uncharges an object's memory cgroup only then. Push enough frees of our
 * own through it, on each CPU, for the watches' to leave it: 8 KiB values
 * that setxattr() copies in and frees (a pipe takes no extended attribute).
 * 0, or -errno.
 */
static int kasan_quarantine_flush(void)
{
	static char value[8192];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), mem = meminfo_kb("MemTotal:");
	long per_cpu = (mem / 32 + 2048) / 8, i;
	int p[2], ret = 0;
	cpu_set_t old, one;

	if (!pw_kernel_has("quarantine_reduce") && !pw_kernel_has("kasan_quarantine_reduce"))
		return 0;
	if (cpus < 1 || mem < 0 || pipe2(p, O_CLOEXEC))
		return -EINVAL;
	if (sched_getaffinity(0, sizeof(old), &old)) {
		ret = -errno;
		goto out;
	}
	for (long c = 0; c < cpus && !ret; c++) {
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			continue;	/* offline */
		for (i = 0; i < per_cpu; i++)
			if (!fsetxattr(p[0], "user.pidwait", value, sizeof(value), XATTR_REPLACE)) {
				ret = -EEXIST;
				break;
			}
	}
	sched_setaffinity(0, sizeof(old), &old);
out:
	close(p[0]);
	close(p[1]);
	return ret;
}

/* Each step: wait for root's letter, do it, answer with it. */
static void memcg_user(FIXTURE_DATA(memcg) *self)
{
	static int fds[MC_FILES];
	char c;
	int i, j;

	CHILD_CHECK(!read_full(self->to_u[0], &c, 1, PW_TIMEOUT_MS) && c == 'g');
	CHILD_CHECK(!drop_to(USER_A));
	for (i = 0; i < MC_FILES; i++) {
		fds[i] = pw_open(0);
		CHILD_CHECK(fds[i] >= 0);
	}
	CHILD_CHECK(!write_full(self->from_u[1], "o", 1));
	CHILD_CHECK(!read_full(self->to_u[0], &c, 1, PW_TIMEOUT_MS) && c == 'a');
	for (i = 0; i < MC_FILES; i++) {
		for (j = 0; j < MC_PROCS; j++)
			CHILD_CHECK(!pw_arm(fds[i], self->kids[j], 0, j));
		CHILD_CHECK(pw_nr_watches(fds[i]) == MC_PROCS);
	}
	CHILD_CHECK(!write_full(self->from_u[1], "a", 1));
	CHILD_CHECK(!read_full(self->to_u[0], &c, 1, PW_TIMEOUT_MS * 4) && c == 'c');
	for (i = 0; i < MC_FILES; i++)
		close(fds[i]);
	CHILD_CHECK(!write_full(self->from_u[1], "c", 1));
	/* Root flushes KASAN's quarantine meanwhile, where there is one. */
	CHILD_CHECK(!read_full(self->to_u[0], &c, 1, PW_TIMEOUT_MS * 12 * pw_slowdown()) &&
		    c == 'x');
	_exit(0);
}

TEST_F_TIMEOUT(memcg, watches_charged, 120)
{
	long m0, m1, m2, s0, s1, s2, perw, flush_ms;
	char c, pid[16], procs[128];
	uint64_t t0;
	int st = -1;

	for (; self->nkids < MC_PROCS; self->nkids++) {
		pid_t k = fork();

		ASSERT_LE(0, k);
		if (k == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		self->kids[self->nkids] = k;
	}

	self->user = fork();
	ASSERT_LE(0, self->user);
	if (self->user == 0)
		memcg_user(self);
	snprintf(pid, sizeof(pid), "%d", self->user);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", self->cg);
	ASSERT_EQ(0, pw_write_str(procs, pid));
	ASSERT_EQ(0, write_full(self->to_u[1], "g", 1));
	ASSERT_EQ(0, read_full(self->from_u[0], &c, 1, PW_TIMEOUT_MS));
	ASSERT_EQ('o', c);
	m0 = cg_long(self->cg, "memory.current");
	s0 = cg_stat(self->cg, "slab");
	ASSERT_LT(0, m0);

	ASSERT_EQ(0, write_full(self->to_u[1], "a", 1));
	ASSERT_EQ(0, read_full(self->from_u[0], &c, 1, 20000 * pw_slowdown()));
	ASSERT_EQ('a', c);
	m1 = cg_long(self->cg, "memory.current");
	s1 = cg_stat(self->cg, "slab");

	ASSERT_EQ(0, write_full(self->to_u[1], "c", 1));
	/* Freeing 50,000 watches is slow on the debug kernel. */
	ASSERT_EQ(0, read_full(self->from_u[0], &c, 1, PW_TIMEOUT_MS * 2 * pw_slowdown()));
	ASSERT_EQ('c', c);
	t0 = pw_now_ns();
	ASSERT_EQ(0, kasan_quarantine_flush());
	flush_ms = (pw_now_ns() - t0) / 1000000;
	m2 = cg_long(self->cg, "memory.current");
	s2 = cg_stat(self->cg, "slab");

	ASSERT_EQ(0, write_full(self->to_u[1], "x", 1));
	ASSERT_EQ(0, pw_reap(self->user, &st));
	self->user = -1;
	ASSERT_EQ(0, st);

	perw = (m1 - m0) / MC_WATCHES;
	ksft_print_msg("memcg delta=%ld bytes for %d watches = %ld B/watch, %ld freed by close\n",
		       m1 - m0, MC_WATCHES, perw, m1 - m2);
	if (flush_ms)
		ksft_print_msg("KASAN's quarantine flushed in %ld ms\n", flush_ms);
	if (s0 >= 0)
		ksft_print_msg("memcg slab delta=%ld bytes armed, %ld bytes after close\n",
			       s1 - s0, s2 - s0);
	ASSERT_LE((long)MC_WATCHES * MC_MIN_BYTES, m1 - m0);
	ASSERT_LE((long)MC_WATCHES * MC_MIN_BYTES, m1 - m2);
}

/*
 * RHEL 7 ships with user namespaces off (max_user_namespaces 0), and its
 * users who run containers turn them on: do as they do for the run, so
 * that the user-namespace cases are tested there rather than skipped.
 */
static bool userns_raise(void)
{
	return pw_read_long(MAX_USERNS) == 0 && !pw_write_str(MAX_USERNS, "1024");
}

int main(int argc, char **argv)
{
	static char saved[PW_NR_SETTINGS][PW_SETTING_LEN];
	bool userns_raised;
	int ret;

	if (argc >= 2 && !strcmp(argv[1], SETUID_HELPER_ARG))
		return setuid_helper(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], PW_EXEC_HELPER_ARG))
		return pw_exec_helper(argc, argv);
	pw_settings_save(saved);
	userns_raised = userns_raise();
	ret = test_harness_run(argc, argv);
	pw_settings_restore(saved);
	if (userns_raised)
		pw_write_str(MAX_USERNS, "0");
	return ret;
}
