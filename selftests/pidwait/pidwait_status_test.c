// SPDX-License-Identifier: GPL-2.0
/*
 * event.status: the wait(2) status the parent's waitpid() gets, for every
 * way a process can end, and each thread's own exit code for thread
 * watches; and who may see it: ptrace read access, judged when the watch
 * is armed and again when the target exits, with the arming task's
 * credentials of arm time.
 */
#include "pidwait_util.h"

#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/resource.h>

#include "kselftest_harness.h"

#define CORE_PATTERN	"/proc/sys/kernel/core_pattern"
#define CORE_PREFIX	"pidwait-core."
#define NOBODY		65534

/* ---- status equals waitpid() ---------------------------------------------- */

enum how {
	EXIT_GROUP,		/* thread `by` calls exit_group(code) */
	KILL,			/* kill(pid, code) */
	SIGNAL_FROM,		/* thread `by` sends itself signal `code` */
	LEADER_THEN_LAST,	/* leader SYS_exit(code), then the others SYS_exit(code2) */
};

/* How threads' own codes relate to the process's status. */
enum thread_expect {
	T_SAME,			/* every thread: the group's status */
	T_SAME_SIGNAL,		/* killed by the same signal (core flag may differ) */
	T_OWN,			/* each thread: W_EXITCODE of its own SYS_exit */
};

FIXTURE(status) {
	struct worker w;
	int fd;
	char saved_pattern[256];
	bool pattern_set;
};

FIXTURE_VARIANT(status) {
	int threads;
	enum how how;
	int by;
	int code, code2;
	bool core;
	enum thread_expect texp;
};

FIXTURE_VARIANT_ADD(status, exit_0) { 1, EXIT_GROUP, 0, 0, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, exit_1) { 1, EXIT_GROUP, 0, 1, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, exit_42) { 1, EXIT_GROUP, 0, 42, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, exit_255) { 1, EXIT_GROUP, 0, 255, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, exit_256) { 1, EXIT_GROUP, 0, 256, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, exit_group_nonleader) { 3, EXIT_GROUP, 2, 77, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, sigkill) { 1, KILL, 0, SIGKILL, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, sigterm) { 1, KILL, 0, SIGTERM, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, sigusr1) { 1, KILL, 0, SIGUSR1, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, sigkill_threads) { 4, KILL, 0, SIGKILL, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, sighup_threads) { 3, KILL, 0, SIGHUP, 0, false, T_SAME };
FIXTURE_VARIANT_ADD(status, core_segv) { 1, SIGNAL_FROM, 0, SIGSEGV, 0, true, T_SAME_SIGNAL };
FIXTURE_VARIANT_ADD(status, core_abrt_nonleader) { 3, SIGNAL_FROM, 1, SIGABRT, 0, true, T_SAME_SIGNAL };
FIXTURE_VARIANT_ADD(status, core_quit_threads) { 2, KILL, 0, SIGQUIT, 0, true, T_SAME_SIGNAL };
FIXTURE_VARIANT_ADD(status, leader_then_last) { 2, LEADER_THEN_LAST, 0, 3, 4, false, T_OWN };
FIXTURE_VARIANT_ADD(status, leader_then_two) { 3, LEADER_THEN_LAST, 0, 5, 6, false, T_OWN };

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

FIXTURE_SETUP(status)
{
	worker_init(&self->w);
	self->pattern_set = false;
	self->fd = pw_open(0);
	ASSERT_LE(0, self->fd);
	if (variant->core) {
		int pfd = open(CORE_PATTERN, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		ASSERT_LE(0, pfd);
		n = read(pfd, self->saved_pattern, sizeof(self->saved_pattern) - 1);
		close(pfd);
		ASSERT_LT(0, n);
		self->saved_pattern[n] = 0;
		/* A plain file on /tmp works in a bare initramfs; not root: keep what is there. */
		if (!pw_write_str(CORE_PATTERN, "/tmp/" CORE_PREFIX "%p"))
			self->pattern_set = true;
	}
}

FIXTURE_TEARDOWN(status)
{
	worker_free(&self->w);
	close(self->fd);
	if (self->pattern_set) {
		EXPECT_EQ(0, pw_write_str(CORE_PATTERN, self->saved_pattern));
		remove_cores();
	}
}

static int allow_core(void *arg)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	(void)arg;
	if (setrlimit(RLIMIT_CORE, &rl))
		return 70;
	return 0;
}

TEST_F(status, matches_waitpid)
{
	struct pidwait_event ev[W_MAX_THREADS + 2];
	int n = variant->threads + 1, st = -1, i;
	bool seen[W_MAX_THREADS + 1] = { false };
	char b1[64], b2[64];
	uint64_t t0;
	pid_t pid;

	ASSERT_EQ(0, worker_start(&self->w, variant->threads,
				  variant->core ? allow_core : NULL, NULL));
	pid = self->w.pid;
	/* The process (cookie 100) and every thread (cookie = index). */
	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 100));
	for (i = 0; i < variant->threads; i++) {
		ASSERT_EQ(0, pw_arm(self->fd, self->w.tid[i], PIDWAIT_ARM_THREAD, i));
	}

	t0 = pw_now_ns();
	switch (variant->how) {
	case EXIT_GROUP:
		ASSERT_EQ(0, worker_cmd(&self->w, variant->by, W_EXIT_GROUP, variant->code));
		break;
	case KILL:
		ASSERT_EQ(0, kill(pid, variant->code));
		break;
	case SIGNAL_FROM:
		ASSERT_EQ(0, worker_cmd(&self->w, variant->by, W_SIGNAL, variant->code));
		break;
	case LEADER_THEN_LAST:
		ASSERT_EQ(0, worker_cmd(&self->w, 0, W_EXIT_THREAD, variant->code));
		ASSERT_EQ(0, pw_wait_thread_exited(pid, pid, PW_TIMEOUT_MS));
		for (i = 1; i < variant->threads; i++) {
			ASSERT_EQ(0, worker_cmd(&self->w, i, W_EXIT_THREAD, variant->code2 + i - 1));
			ASSERT_EQ(0, pw_wait_thread_exited(pid, self->w.tid[i], PW_TIMEOUT_MS));
		}
		break;
	}
	ASSERT_EQ(n * PW_EVSZ, pw_wait_fionread(self->fd, n * PW_EVSZ, PW_TIMEOUT_MS));
	ASSERT_EQ(0, worker_reap(&self->w, &st));
	ASSERT_EQ(n * PW_EVSZ, read(self->fd, ev, sizeof(ev)));
	TH_LOG("waitpid status %s", pw_status_str(st, b1, sizeof(b1)));
	if (variant->core && !self->pattern_set)
		TH_LOG("core_pattern not changed (not root): core flag as the system has it");

	for (i = 0; i < n; i++) {
		int idx = ev[i].cookie == 100 ? variant->threads : (int)ev[i].cookie;

		ASSERT_LE(0, idx);
		ASSERT_GE(variant->threads, idx);
		ASSERT_FALSE(seen[idx]);
		seen[idx] = true;
		ASSERT_EQ(0u, ev[i].reserved);
		ASSERT_LE(t0, ev[i].exit_time_ns);

		if (idx == variant->threads) {
			/* The process: exactly the parent's view, core flag included. */
			ASSERT_EQ(pid, ev[i].pid);
			ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev[i].flags);
			ASSERT_EQ(st, ev[i].status)
				TH_LOG("process: event %s, waitpid %s",
				       pw_status_str(ev[i].status, b1, sizeof(b1)),
				       pw_status_str(st, b2, sizeof(b2)));
			continue;
		}
		ASSERT_EQ(self->w.tid[idx], ev[i].pid);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD, ev[i].flags);
		switch (variant->texp) {
		case T_SAME:
			ASSERT_EQ(st, ev[i].status)
				TH_LOG("thread %d: event %s, waitpid %s", idx,
				       pw_status_str(ev[i].status, b1, sizeof(b1)),
				       pw_status_str(st, b2, sizeof(b2)));
			break;
		case T_SAME_SIGNAL:
			ASSERT_TRUE(WIFSIGNALED(ev[i].status))
				TH_LOG("thread %d: %s", idx,
				       pw_status_str(ev[i].status, b1, sizeof(b1)));
			ASSERT_EQ(WTERMSIG(st), WTERMSIG(ev[i].status));
			break;
		case T_OWN:
			/* A leader's TID is its process's ID: the process's status. */
			ASSERT_EQ(idx ? W_EXITCODE(variant->code2 + idx - 1, 0) : st,
				  ev[i].status) TH_LOG("thread %d", idx);
			break;
		}
	}
	if (variant->core && self->pattern_set)
		TH_LOG("core dumped: %s", WCOREDUMP(st) ? "yes" : "no");
}

/* ---- who may see the status ------------------------------------------------ */

enum change { NONE, UNDUMP, DROP_UID };

FIXTURE(vis) {
	struct worker w;
	pid_t armer;
	int res[2];
};

FIXTURE_VARIANT(vis) {
	bool armer_root;
	uid_t armer_ruid, armer_euid;
	bool open_as_root;	/* the armer opened the file before dropping */
	bool target_root;
	uid_t target_ruid, target_euid;
	gid_t target_rgid, target_egid, target_sgid;	/* 0: NOBODY */
	int target_dumpable;
	bool zombie_first;	/* the target is a zombie when armed */
	enum change change;	/* done to the target after the arm */
	bool thread;		/* a thread watch on a non-leader thread */
	bool expect_status;
};

FIXTURE_VARIANT_ADD(vis, root_vs_other_nondumpable) {
	.armer_root = true, .target_ruid = NOBODY, .target_euid = NOBODY,
	.target_dumpable = 0, .expect_status = true };
FIXTURE_VARIANT_ADD(vis, nobody_vs_root) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_root = true,
	.target_dumpable = 1, .expect_status = false };
FIXTURE_VARIANT_ADD(vis, nobody_vs_root_file_opened_as_root) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .open_as_root = true,
	.target_root = true, .target_dumpable = 1, .expect_status = false };
FIXTURE_VARIANT_ADD(vis, nobody_vs_nobody) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_ruid = NOBODY,
	.target_euid = NOBODY, .target_dumpable = 1, .expect_status = true };
FIXTURE_VARIANT_ADD(vis, nobody_vs_nobody_nondumpable) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_ruid = NOBODY,
	.target_euid = NOBODY, .target_dumpable = 0, .expect_status = false };
FIXTURE_VARIANT_ADD(vis, nobody_vs_nobody_nondumpable_zombie) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_ruid = NOBODY,
	.target_euid = NOBODY, .target_dumpable = 0, .zombie_first = true,
	.expect_status = true };
/* ptrace's rule: the gids too, real, effective and saved. */
FIXTURE_VARIANT_ADD(vis, nobody_vs_nobody_other_gid) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_ruid = NOBODY,
	.target_euid = NOBODY, .target_rgid = 1000, .target_egid = 1000,
	.target_sgid = 1000, .target_dumpable = 1, .expect_status = false };
FIXTURE_VARIANT_ADD(vis, nobody_vs_nobody_other_saved_gid) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_ruid = NOBODY,
	.target_euid = NOBODY, .target_sgid = 1000, .target_dumpable = 1,
	.expect_status = false };
FIXTURE_VARIANT_ADD(vis, nobody_vs_setuid_root) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_ruid = NOBODY,
	.target_euid = 0, .target_dumpable = 1, .expect_status = false };
/* As /proc/PID/stat's exit_code: the filesystem ids count, not the real ones. */
FIXTURE_VARIANT_ADD(vis, real_uid_only_matches) {
	.armer_ruid = 0, .armer_euid = NOBODY, .target_root = true,
	.target_dumpable = 1, .expect_status = false };
FIXTURE_VARIANT_ADD(vis, effective_uid_matches) {
	.armer_ruid = 1000, .armer_euid = NOBODY, .target_ruid = NOBODY,
	.target_euid = NOBODY, .target_dumpable = 1, .expect_status = true };
FIXTURE_VARIANT_ADD(vis, undumpable_after_arm) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_ruid = NOBODY,
	.target_euid = NOBODY, .target_dumpable = 1, .change = UNDUMP,
	.expect_status = true };
FIXTURE_VARIANT_ADD(vis, target_drops_root_after_arm) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_root = true,
	.target_dumpable = 1, .change = DROP_UID, .expect_status = false };
FIXTURE_VARIANT_ADD(vis, thread_nobody_vs_root) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_root = true,
	.target_dumpable = 1, .thread = true, .expect_status = false };
FIXTURE_VARIANT_ADD(vis, thread_nobody_vs_nobody) {
	.armer_ruid = NOBODY, .armer_euid = NOBODY, .target_ruid = NOBODY,
	.target_euid = NOBODY, .target_dumpable = 1, .thread = true,
	.expect_status = true };

FIXTURE_SETUP(vis)
{
	worker_init(&self->w);
	self->armer = -1;
	ASSERT_EQ(0, pipe2(self->res, O_CLOEXEC));
}

FIXTURE_TEARDOWN(vis)
{
	worker_free(&self->w);
	if (self->armer > 0) {
		kill(self->armer, SIGKILL);
		pw_reap(self->armer, NULL);
	}
	close(self->res[0]);
	close(self->res[1]);
}

/* The gids first: once the uids are dropped, they stay as they are. */
static int become(uid_t ruid, uid_t euid, gid_t rgid, gid_t egid, gid_t sgid)
{
	if (setgroups(0, NULL) || setresgid(rgid, egid, sgid) ||
	    setresuid(ruid, euid, euid))
		return -errno;
	return 0;
}

static int become_nobody(uid_t ruid, uid_t euid)
{
	return become(ruid, euid, NOBODY, NOBODY, NOBODY);
}

static gid_t gid_or_nobody(gid_t gid)
{
	return gid ? gid : NOBODY;
}

static int target_setup(void *arg)
{
	const FIXTURE_VARIANT(vis) *v = arg;

	if (!v->target_root &&
	    become(v->target_ruid, v->target_euid, gid_or_nobody(v->target_rgid),
		   gid_or_nobody(v->target_egid), gid_or_nobody(v->target_sgid)))
		return 71;
	/* A change of uid clears it: set it after. */
	if (prctl(PR_SET_DUMPABLE, v->target_dumpable, 0, 0, 0))
		return 72;
	return 0;
}

static int undump(int unused)
{
	(void)unused;
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) ? -errno : 0;
}

static int drop_uid(int unused)
{
	(void)unused;
	if (become_nobody(NOBODY, NOBODY))
		return -errno;
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) ? -errno : 0;
}

static int drop_all_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/* CapEff from /proc/self/status, or ~0 if it cannot be read. */
static unsigned long long cap_eff(void)
{
	unsigned long long v = ~0ull;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* A process's real, effective, saved and filesystem ids ("Uid:", "Gid:"). */
static int proc_ids(pid_t pid, const char *key, unsigned int ids[4])
{
	size_t klen = strlen(key);
	char path[64], line[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen)) {
			n = sscanf(line + klen, "%u %u %u %u", &ids[0], &ids[1],
				   &ids[2], &ids[3]);
			break;
		}
	fclose(f);
	return n == 4 ? 0 : -EIO;
}

/* The arming process: drops what the variant says, arms, sends the arm result and the event. */
static void armer_main(const FIXTURE_VARIANT(vis) *v, pid_t target, uint32_t flags,
		       int res, pid_t parent)
{
	struct pidwait_event ev;
	int fd = -1, ret;
	uid_t r, e, s;

	pw_child_init(parent);
	if (v->open_as_root)
		fd = pw_open(0);
	if (!v->armer_root) {
		CHILD_CHECK(!become_nobody(v->armer_ruid, v->armer_euid));
		CHILD_CHECK(!drop_all_caps());
		CHILD_CHECK(cap_eff() == 0);
		CHILD_CHECK(!getresuid(&r, &e, &s));
		CHILD_CHECK(r == v->armer_ruid && e == v->armer_euid);
	}
	if (!v->open_as_root)
		fd = pw_open(0);
	CHILD_CHECK(fd >= 0);
	ret = pw_arm(fd, target, flags, 5);
	CHILD_CHECK(write(res, &ret, sizeof(ret)) == sizeof(ret));
	if (ret)
		_exit(0);
	CHILD_CHECK(!pw_read_one(fd, &ev, PW_TIMEOUT_MS * 2));
	CHILD_CHECK(write(res, &ev, sizeof(ev)) == sizeof(ev));
	_exit(0);
}

TEST_F(vis, status_visibility)
{
	uint32_t flags = variant->thread ? PIDWAIT_ARM_THREAD : 0;
	struct pidwait_event ev;
	pid_t target;
	int ret = -1, st = -1, result = -1;

	if (geteuid())
		SKIP(return, "needs root to set up users");
	ASSERT_EQ(0, worker_start(&self->w, variant->thread ? 2 : 1, target_setup,
				  (void *)variant));
	target = variant->thread ? self->w.tid[1] : self->w.pid;
	if (!variant->target_root) {
		unsigned int gids[4];

		/* The target's gids are what the variant says. */
		ASSERT_EQ(0, proc_ids(self->w.pid, "Gid:", gids));
		ASSERT_EQ(gid_or_nobody(variant->target_rgid), gids[0]);
		ASSERT_EQ(gid_or_nobody(variant->target_egid), gids[1]);
		ASSERT_EQ(gid_or_nobody(variant->target_sgid), gids[2]);
	}
	if (variant->zombie_first) {
		ASSERT_EQ(0, worker_cmd(&self->w, 0, W_EXIT_GROUP, 3));
		ASSERT_EQ(0, pw_wait_zombie(self->w.pid));
	}

	self->armer = fork();
	ASSERT_LE(0, self->armer);
	if (self->armer == 0)
		armer_main(variant, target, flags, self->res[1], getppid());
	ASSERT_EQ(1, pw_wait_readable(self->res[0], PW_TIMEOUT_MS));
	ASSERT_EQ(sizeof(ret), read(self->res[0], &ret, sizeof(ret)));
	ASSERT_EQ(0, ret) TH_LOG("arm: %s", strerror(-ret));

	switch (variant->change) {
	case NONE:
		break;
	case UNDUMP:
		ASSERT_EQ(0, worker_call(&self->w, 0, undump, 0, &result));
		ASSERT_EQ(0, result);
		break;
	case DROP_UID:
		ASSERT_EQ(0, worker_call(&self->w, 0, drop_uid, 0, &result));
		ASSERT_EQ(0, result);
		break;
	}
	if (!variant->zombie_first) {
		ASSERT_EQ(0, worker_cmd(&self->w, 0, W_EXIT_GROUP, 3));
	}

	ASSERT_EQ(1, pw_wait_readable(self->res[0], PW_TIMEOUT_MS * 3));
	ASSERT_EQ(sizeof(ev), read(self->res[0], &ev, sizeof(ev)));
	ASSERT_EQ(0, worker_reap(&self->w, &st));
	ASSERT_EQ(0, pw_reap(self->armer, &ret));
	self->armer = -1;
	ASSERT_EQ(0, ret);

	ASSERT_EQ(target, ev.pid);
	ASSERT_EQ(5u, ev.cookie);
	ASSERT_EQ(0u, ev.reserved);
	if (variant->expect_status) {
		ASSERT_EQ(PIDWAIT_EVENT_STATUS | (variant->thread ? PIDWAIT_EVENT_THREAD : 0),
			  ev.flags);
		/* exit_group(3): every thread's own code is the group's. */
		ASSERT_EQ(st, ev.status);
	} else {
		ASSERT_EQ(variant->thread ? PIDWAIT_EVENT_THREAD : 0, ev.flags);
		ASSERT_EQ(0, ev.status);
	}
}

PIDWAIT_HARNESS_MAIN
