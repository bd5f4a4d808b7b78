// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures, made on demand by the kernel's fault injection
 * (failslab, fail_page_alloc) for this test's own thread only: a call of
 * the module that cannot allocate fails with ENOMEM and changes nothing,
 * every other watch stays armed and fires with its status, a failed table
 * growth only slows arms, and nothing leaks.
 *
 * Two ways to pick what fails, both per thread: make-it-fail with the
 * knobs of failslab and fail_page_alloc (the first N allocations, or all
 * after the first "space" bytes), and fail-nth, which fails exactly the
 * k-th allocation of the thread: stepping k over one call fails each of
 * its allocations in turn, the kernel's own (VFS, kmemleak, vmalloc)
 * included.
 *
 * Needs CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC and
 * CONFIG_FAULT_INJECTION_DEBUG_FS (the debug kernel of the QEMU matrix),
 * and skips without them; the leak check needs CONFIG_DEBUG_KMEMLEAK.
 * PIDWAIT_FAULT_VERBOSE=1 logs each step and each failure injected; 2
 * adds a stack to each, which the runner's dmesg check counts against it.
 */
#include "pidwait_util.h"

#include <sys/mman.h>

#include "kselftest_harness.h"

#define FAILSLAB	"/sys/kernel/debug/failslab/"
#define FAILPAGE	"/sys/kernel/debug/fail_page_alloc/"
#define REFCNT		"/sys/module/pidwait/refcnt"

/* More allocations than any one call of ours makes: a bound on stepping. */
#define MAX_STEPS	1000

/*
 * The knobs and what the tests want of them. "times" comes first and is 0
 * while the others are set, so that no task fails in between, and it
 * stays 0 but around a call under test.
 */
static const struct {
	const char *path;
	const char *value;
} knobs[] = {
	{ FAILSLAB "times", "0" },
	{ FAILPAGE "times", "0" },
	/* Only tasks with make-it-fail set: this one, around one call. */
	{ FAILSLAB "task-filter", "Y" },
	{ FAILSLAB "probability", "100" },
	{ FAILSLAB "interval", "1" },
	{ FAILSLAB "space", "0" },
	{ FAILSLAB "verbose", "0" },
	/* The module allocates with GFP_KERNEL, which may sleep. */
	{ FAILSLAB "ignore-gfp-wait", "N" },
	{ FAILPAGE "task-filter", "Y" },
	{ FAILPAGE "probability", "100" },
	{ FAILPAGE "interval", "1" },
	{ FAILPAGE "space", "0" },
	{ FAILPAGE "verbose", "0" },
	{ FAILPAGE "ignore-gfp-wait", "N" },
	{ FAILPAGE "ignore-gfp-highmem", "N" },
	/* vmalloc, a large table's fallback, takes order-0 pages. */
	{ FAILPAGE "min-order", "0" },
	/* With PIDWAIT_FAULT_VERBOSE=1 or 2 (a stack), each failure is logged. */
	{ FAILSLAB "verbose_ratelimit_burst", "1000" },
	{ FAILPAGE "verbose_ratelimit_burst", "1000" },
};

#define NR_TIMES_KNOBS	2
#define NR_KNOBS	ARRAY_SIZE(knobs)

/* Debugging: the kernel logs each failure it injects, 2 with a stack. */
static int verbose(void)
{
	const char *v = getenv("PIDWAIT_FAULT_VERBOSE");

	return v && (!strcmp(v, "1") || !strcmp(v, "2")) ? atoi(v) : 0;
}

static int knob_set(const char *path, long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", value);
	return pw_write_str(path, buf);
}

/* The failures injected since a "times" knob was set to set. */
static long knob_used(const char *path, long set)
{
	long left = pw_read_long(path);

	return left < 0 ? left : set - left;
}

/* ---- the calls under test ---------------------------------------------- */

/* An arm, or an open of path. */
struct call {
	const char *path;
	int fd;
	pid_t pid;
	__u32 flags;
	__u64 cookie;
};

/* The arm's 0 or -errno; the open's descriptor or -errno. */
static int call_run(const struct call *c)
{
	int fd;

	if (!c->path)
		return pw_arm(c->fd, c->pid, c->flags, c->cookie);
	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int proc_set(int fd, unsigned long value)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lu", value);

	return pwrite(fd, buf, len, 0) == len ? 0 : -errno;
}

/*
 * Runs c with make-it-fail on, so that its allocations fail as the knobs
 * say; it is off again before anything else runs, the harness included.
 * *ret is what c returned.
 */
static int run_failing(int mif, const struct call *c, int *ret)
{
	int err = proc_set(mif, 1);

	if (err)
		return err;
	*ret = call_run(c);
	return proc_set(mif, 0);
}

/*
 * Runs c with only the k-th allocation of this thread failing. 1 if c got
 * that far, 0 if it made fewer than k (then nothing failed); -errno if
 * fail-nth does not work.
 */
static int run_nth(int nth, const struct call *c, unsigned long k, int *ret)
{
	char buf[32];
	ssize_t n;
	int err = proc_set(nth, k);

	if (err)
		return err;
	*ret = call_run(c);
	n = pread(nth, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return n ? -errno : -EIO;
	buf[n] = 0;
	if (verbose())
		ksft_print_msg("%s %d: allocation %lu failing: %d, fail-nth %s\n",
			       c->path ? c->path : "arm", c->pid, k, *ret, buf);
	if (!strtoul(buf, NULL, 10))
		return 1;
	/* Not reached: cancelled, or it would go on counting. */
	err = proc_set(nth, 0);
	return err ? err : 0;
}

/*
 * For fail-nth stepping: page allocations no longer count as allocations.
 * Whether a call takes a page comes and goes with the state of the slabs
 * (a slab that needs a new page, kmemleak's and KASAN's pools), which
 * would shift k from one step to the next and skip allocations; a slab
 * that cannot get its page fails its allocation, which has its own step.
 */
static int slab_steps_only(void)
{
	return pw_write_str(FAILPAGE "min-order", "11");
}

/* ---- counts and events ------------------------------------------------- */

struct counts {
	unsigned int a, b, user;
};

static int counts_get(int fda, int fdb, struct counts *c)
{
	struct pidwait_info info;
	int ret = pw_info(fda, &info);

	if (ret)
		return ret;
	c->a = info.nr_watches;
	c->user = info.user_watches;
	ret = pw_info(fdb, &info);
	c->b = info.nr_watches;
	return ret;
}

/* GET_INFO's counts on the file under test, on the other, and the user's. */
#define ASSERT_COUNTS(_fda, _fdb, _a, _b, _user)				\
	do {									\
		struct counts _c;						\
		ASSERT_EQ(0, counts_get((_fda), (_fdb), &_c));			\
		ASSERT_EQ((unsigned int)(_a), _c.a);				\
		ASSERT_EQ((unsigned int)(_b), _c.b);				\
		ASSERT_EQ((unsigned int)(_user), _c.user);			\
	} while (0)

struct expect {
	pid_t pid;
	__u32 flags;
	int status;
	__u64 cookie;
	bool seen;
};

static struct expect expect(pid_t pid, __u32 flags, int status, __u64 cookie)
{
	return (struct expect){ .pid = pid, .flags = flags, .status = status,
				.cookie = cookie };
}

/*
 * Waits for exactly n events on fd, each matching the one of exp with its
 * cookie, and nothing more.
 */
static void expect_events(struct __test_metadata *_metadata, int fd,
			  struct expect *exp, int n, int timeout_ms)
{
	struct pidwait_event ev[128];
	int got = 0, want, i, j, ret;
	char b1[64], b2[64];
	ssize_t len;

	ret = pw_wait_fionread(fd, n * PW_EVSZ, timeout_ms);
	ASSERT_EQ(n * PW_EVSZ, ret)
		TH_LOG("%d bytes of events, %d expected", ret, n * PW_EVSZ);
	while (got < n) {
		want = n - got < 128 ? n - got : 128;
		len = read(fd, ev, (size_t)want * PW_EVSZ);
		ASSERT_EQ(want * PW_EVSZ, len) TH_LOG("read: %s", strerror(errno));
		for (i = 0; i < want; i++) {
			for (j = 0; j < n; j++)
				if (exp[j].cookie == ev[i].cookie && !exp[j].seen)
					break;
			ASSERT_LT(j, n) TH_LOG("unexpected event: pid %d cookie 0x%llx",
					       ev[i].pid,
					       (unsigned long long)ev[i].cookie);
			exp[j].seen = true;
			ASSERT_EQ(exp[j].pid, ev[i].pid);
			ASSERT_EQ(exp[j].flags, ev[i].flags);
			ASSERT_EQ(exp[j].status, ev[i].status)
				TH_LOG("pid %d: status %s, waitpid's %s", ev[i].pid,
				       pw_status_str(ev[i].status, b1, sizeof(b1)),
				       pw_status_str(exp[j].status, b2, sizeof(b2)));
			ASSERT_EQ(0u, ev[i].reserved);
			ASSERT_NE(0ull, ev[i].exit_time_ns);
		}
		got += want;
	}
	ASSERT_EQ(0, pw_fionread(fd));
}

/* ---- the fixture ------------------------------------------------------- */

/*
 * Watches armed before every call under test, on its file (fda) and on
 * another (fdb): each must fire afterwards with its status.
 */
#define BY_A_PROC	0xa1	/* wa on fda */
#define BY_A_THREAD	0xa2	/* wa's second thread on fda */
#define BY_A_PROC2	0xa3	/* wb on fda */
#define BY_B_PROC	0xb1	/* wa on fdb */
#define BY_B_PROC2	0xb2	/* wb on fdb */
#define BY_B_THREAD	0xb3	/* wb's leader as a thread, on fdb */
#define NR_BY_A		3

/* wc: the target of the calls under test. */
#define WC_PROC		0xc1
#define WC_THREAD	0xc2

/* The knobs as they were before a fixture set them. */
struct knobs_saved {
	bool set;
	char v[NR_KNOBS][32];
};

FIXTURE(fault) {
	int fda, fdb;
	int mif, nth;			/* this thread's make-it-fail, fail-nth */
	unsigned int user0;		/* user_watches before the fixture's */
	struct knobs_saved knobs;
	struct worker wa, wb, wc, fill;
	pid_t *fill_tids;
};

static int knobs_restore(struct knobs_saved *saved)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < NR_TIMES_KNOBS; i++)
		ret |= pw_write_str(knobs[i].path, "0");
	for (i = NR_TIMES_KNOBS; i < NR_KNOBS; i++)
		ret |= pw_write_str(knobs[i].path, saved->v[i]);
	for (i = 0; i < NR_TIMES_KNOBS; i++)
		ret |= pw_write_str(knobs[i].path, saved->v[i]);
	saved->set = false;
	return ret;
}

static int knobs_save_and_set(struct knobs_saved *saved)
{
	unsigned int i;
	int ret;

	for (i = 0; i < NR_KNOBS; i++) {
		ret = pw_read_str(knobs[i].path, saved->v[i], sizeof(saved->v[i]));
		if (ret)
			return ret;
	}
	saved->set = true;
	for (i = 0; i < NR_KNOBS; i++) {
		const char *v = knobs[i].value;

		if (verbose() && strstr(knobs[i].path, "/verbose") &&
		    !strstr(knobs[i].path, "ratelimit"))
			v = getenv("PIDWAIT_FAULT_VERBOSE");
		ret = pw_write_str(knobs[i].path, v);
		if (ret)
			return ret;
	}
	return 0;
}

FIXTURE_SETUP(fault)
{
	struct pidwait_info info;
	int ret;

	self->fda = -1;
	self->fdb = -1;
	self->mif = -1;
	self->nth = -1;
	self->knobs.set = false;
	self->fill_tids = NULL;
	worker_init(&self->wa);
	worker_init(&self->wb);
	worker_init(&self->wc);
	worker_init(&self->fill);
	if (geteuid())
		SKIP(return, "not root: fault injection is root's");
	if (access(FAILSLAB, F_OK) || access(FAILPAGE, F_OK))
		SKIP(return, "no %s: a kernel without fault injection (CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS), or no debugfs",
		     FAILSLAB);
	self->mif = open("/proc/thread-self/make-it-fail", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->mif) TH_LOG("make-it-fail: %s", strerror(errno));
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nth) TH_LOG("fail-nth: %s", strerror(errno));

	self->fda = pw_open(0);
	ASSERT_LE(0, self->fda) TH_LOG("open %s: %s (is the module loaded?)",
				      PIDWAIT_DEVICE, strerror(errno));
	self->fdb = pw_open(0);
	ASSERT_LE(0, self->fdb);
	ASSERT_EQ(0, pw_info(self->fda, &info));
	if (!(info.arm_flags & PIDWAIT_ARM_THREAD))
		SKIP(return, "no thread watches on this kernel");
	self->user0 = info.user_watches;

	ASSERT_EQ(0, worker_start(&self->wa, 2, NULL, NULL));
	ASSERT_EQ(0, worker_start(&self->wb, 1, NULL, NULL));
	ASSERT_EQ(0, worker_start(&self->wc, 2, NULL, NULL));
	ASSERT_EQ(0, pw_arm(self->fda, self->wa.pid, 0, BY_A_PROC));
	ASSERT_EQ(0, pw_arm(self->fda, self->wa.tid[1], PIDWAIT_ARM_THREAD,
			    BY_A_THREAD));
	ASSERT_EQ(0, pw_arm(self->fda, self->wb.pid, 0, BY_A_PROC2));
	ASSERT_EQ(0, pw_arm(self->fdb, self->wa.pid, 0, BY_B_PROC));
	ASSERT_EQ(0, pw_arm(self->fdb, self->wb.pid, 0, BY_B_PROC2));
	ASSERT_EQ(0, pw_arm(self->fdb, self->wb.pid, PIDWAIT_ARM_THREAD,
			    BY_B_THREAD));

	/* Last: a failed ASSERT in setup skips the teardown that restores. */
	ret = knobs_save_and_set(&self->knobs);
	if (ret && self->knobs.set)
		knobs_restore(&self->knobs);
	ASSERT_EQ(0, ret) TH_LOG("setting the fault injection knobs: %s",
				 strerror(-ret));
}

FIXTURE_TEARDOWN(fault)
{
	if (self->mif >= 0) {
		EXPECT_EQ(0, proc_set(self->mif, 0));
	}
	if (self->nth >= 0) {
		EXPECT_EQ(0, proc_set(self->nth, 0));
	}
	if (self->knobs.set) {
		EXPECT_EQ(0, knobs_restore(&self->knobs));
	}
	worker_free(&self->wa);
	worker_free(&self->wb);
	worker_free(&self->wc);
	worker_free(&self->fill);
	if (self->fill_tids)
		munmap(self->fill_tids, 8192 * sizeof(pid_t));
	close(self->fda);
	close(self->fdb);
	close(self->mif);
	close(self->nth);
}

static int timeout_ms(void)
{
	return PW_TIMEOUT_MS * pw_slowdown();
}

/* The fixture's watches fire, each with its status, and leave no count. */
static void bystanders_fire(struct __test_metadata *_metadata,
			    FIXTURE_DATA(fault) *self)
{
	const __u32 st = PIDWAIT_EVENT_STATUS;
	const __u32 th = PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD;
	int st_a = -1, st_b = -1;
	struct expect a[3], b[3];

	/* A thread first, with a status of its own; its process lives on. */
	ASSERT_EQ(0, worker_cmd(&self->wa, 1, W_EXIT_THREAD, 5));
	ASSERT_EQ(0, pw_wait_thread_exited(self->wa.pid, self->wa.tid[1],
					   timeout_ms()));
	ASSERT_EQ(0, worker_cmd(&self->wa, 0, W_EXIT_GROUP, 7));
	ASSERT_EQ(0, worker_reap(&self->wa, &st_a));
	ASSERT_EQ(0, worker_cmd(&self->wb, 0, W_SIGNAL, SIGTERM));
	ASSERT_EQ(0, worker_reap(&self->wb, &st_b));
	ASSERT_EQ(W_EXITCODE(7, 0), st_a);
	ASSERT_EQ(SIGTERM, st_b);

	a[0] = expect(self->wa.tid[1], th, W_EXITCODE(5, 0), BY_A_THREAD);
	a[1] = expect(self->wa.pid, st, st_a, BY_A_PROC);
	a[2] = expect(self->wb.pid, st, st_b, BY_A_PROC2);
	b[0] = expect(self->wa.pid, st, st_a, BY_B_PROC);
	b[1] = expect(self->wb.pid, st, st_b, BY_B_PROC2);
	b[2] = expect(self->wb.pid, th, st_b, BY_B_THREAD);
	expect_events(_metadata, self->fda, a, 3, timeout_ms());
	expect_events(_metadata, self->fdb, b, 3, timeout_ms());
	ASSERT_COUNTS(self->fda, self->fdb, 0, 0, self->user0);
}

/*
 * wc's watches on fd fire: its second thread exits first (the thread
 * watch's status is its own), then the process. thread_cookie 0: none.
 */
static void wc_fire(struct __test_metadata *_metadata, FIXTURE_DATA(fault) *self,
		    int fd, __u64 proc_cookie, __u64 thread_cookie)
{
	struct expect e[2];
	int n = 0, st = -1;

	ASSERT_EQ(0, worker_cmd(&self->wc, 1, W_EXIT_THREAD, 3));
	if (thread_cookie) {
		e[0] = expect(self->wc.tid[1],
			      PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD,
			      W_EXITCODE(3, 0), thread_cookie);
		expect_events(_metadata, fd, e, 1, timeout_ms());
	} else {
		ASSERT_EQ(0, pw_wait_thread_exited(self->wc.pid, self->wc.tid[1],
						   timeout_ms()));
	}
	ASSERT_EQ(0, worker_cmd(&self->wc, 0, W_EXIT_GROUP, 4));
	ASSERT_EQ(0, worker_reap(&self->wc, &st));
	ASSERT_EQ(W_EXITCODE(4, 0), st);
	if (proc_cookie)
		e[n++] = expect(self->wc.pid, PIDWAIT_EVENT_STATUS, st,
				proc_cookie);
	expect_events(_metadata, fd, e, n, timeout_ms());
}

/* ---- arm --------------------------------------------------------------- */

/*
 * The watch is the first thing an arm allocates: failing it, or every
 * allocation, gives ENOMEM and no watch; without faults the arm succeeds.
 */
TEST_F_TIMEOUT(fault, arm_first_alloc, 120)
{
	struct call cp = { .fd = self->fda, .pid = self->wc.pid,
			   .cookie = WC_PROC };
	struct call ct = { .fd = self->fda, .pid = self->wc.tid[1],
			   .flags = PIDWAIT_ARM_THREAD, .cookie = WC_THREAD };
	struct counts c0;
	int ret = 1;

	ASSERT_EQ(0, counts_get(self->fda, self->fdb, &c0));
	for (int i = 0; i < 2; i++) {
		const struct call *c = i ? &ct : &cp;

		ASSERT_EQ(0, knob_set(FAILSLAB "times", 1));
		ASSERT_EQ(0, run_failing(self->mif, c, &ret));
		ASSERT_EQ(1, knob_used(FAILSLAB "times", 1));
		ASSERT_EQ(-ENOMEM, ret) TH_LOG("arm: %s", strerror(-ret));
		ASSERT_COUNTS(self->fda, self->fdb, c0.a, c0.b, c0.user);

		ASSERT_EQ(0, knob_set(FAILSLAB "times", -1));
		ASSERT_EQ(0, knob_set(FAILPAGE "times", -1));
		ASSERT_EQ(0, run_failing(self->mif, c, &ret));
		ASSERT_EQ(0, knob_set(FAILSLAB "times", 0));
		ASSERT_EQ(0, knob_set(FAILPAGE "times", 0));
		ASSERT_EQ(-ENOMEM, ret) TH_LOG("arm: %s", strerror(-ret));
		ASSERT_COUNTS(self->fda, self->fdb, c0.a, c0.b, c0.user);
	}

	ASSERT_EQ(0, call_run(&cp));
	ASSERT_EQ(0, call_run(&ct));
	ASSERT_COUNTS(self->fda, self->fdb, c0.a + 2, c0.b, c0.user + 2);
	wc_fire(_metadata, self, self->fda, WC_PROC, WC_THREAD);
	bystanders_fire(_metadata, self);
}

/*
 * Each allocation an arm makes, failed in turn: ENOMEM and no count
 * changed, or (an allocation it can do without) an arm that works.
 */
TEST_F_TIMEOUT(fault, arm_each_alloc, 300)
{
	struct call cp = { .fd = self->fda, .pid = self->wc.pid,
			   .cookie = WC_PROC };
	struct call ct = { .fd = self->fda, .pid = self->wc.tid[1],
			   .flags = PIDWAIT_ARM_THREAD, .cookie = WC_THREAD };
	int ret = 1, hit, enomem, ok;
	struct counts c0;
	unsigned long k;

	ASSERT_EQ(0, slab_steps_only());
	ASSERT_EQ(0, counts_get(self->fda, self->fdb, &c0));
	for (int i = 0; i < 2; i++) {
		const struct call *c = i ? &ct : &cp;

		enomem = 0;
		ok = 0;
		for (k = 1; k < MAX_STEPS; k++) {
			hit = run_nth(self->nth, c, k, &ret);
			ASSERT_LE(0, hit) TH_LOG("fail-nth: %s", strerror(-hit));
			if (!hit)
				break;
			/* The first is the watch itself. */
			if (k == 1) {
				ASSERT_EQ(-ENOMEM, ret);
			}
			if (ret == -ENOMEM) {
				enomem++;
				ASSERT_COUNTS(self->fda, self->fdb, c0.a + i,
					      c0.b, c0.user + i);
				continue;
			}
			ASSERT_EQ(0, ret) TH_LOG("allocation %lu failed: %s", k,
						 strerror(-ret));
			ok++;
			ASSERT_COUNTS(self->fda, self->fdb, c0.a + i + 1, c0.b,
				      c0.user + i + 1);
			ASSERT_EQ(0, pw_disarm(c->fd, c->pid, c->flags));
		}
		ASSERT_LT(k, MAX_STEPS);
		/* Nothing failed the last time: that arm stays. */
		ASSERT_EQ(0, ret);
		ASSERT_COUNTS(self->fda, self->fdb, c0.a + i + 1, c0.b,
			      c0.user + i + 1);
		ksft_print_msg("%s arm: %lu allocations; failing one gave ENOMEM %d times, a working arm %d times\n",
			       i ? "thread" : "process", k - 1, enomem, ok);
	}
	wc_fire(_metadata, self, self->fda, WC_PROC, WC_THREAD);
	bystanders_fire(_metadata, self);
}

/* ---- open -------------------------------------------------------------- */

/*
 * Fails each allocation of an open of path in turn: ENOMEM, or a file that
 * works. Nothing of a failed open may remain: no count on fda and fdb (if
 * given), no module reference (refs0, if known), and (the last test)
 * nothing for kmemleak. The descriptor of the open that had no failure,
 * or -errno, or -1000 - k when failing the k-th allocation was wrong.
 */
static int step_open_once(const char *path, int nth, int fda, int fdb,
			  const struct counts *c0, long refs0, int *allocs,
			  int *enomem)
{
	struct call c = { .path = path };
	struct counts c1;
	unsigned long k;
	int hit, ret = -1;

	*enomem = 0;
	for (k = 1; k < MAX_STEPS; k++) {
		hit = run_nth(nth, &c, k, &ret);
		if (hit < 0)
			return hit;
		if (!hit)
			break;
		if (ret >= 0)
			close(ret);
		else if (ret == -ENOMEM)
			(*enomem)++;
		else
			return -1000 - (int)k;
		if (fda >= 0 && (counts_get(fda, fdb, &c1) ||
				 memcmp(&c1, c0, sizeof(c1))))
			return -1000 - (int)k;
		if (refs0 >= 0 && pw_read_long(REFCNT) != refs0)
			return -1000 - (int)k;
	}
	*allocs = (int)k - 1;
	return k < MAX_STEPS ? ret : -E2BIG;
}

/*
 * The same, until failing one gave ENOMEM want times: an allocation of the
 * kernel's own that comes and goes (debug objects refilling their pool)
 * can shift the steps past one. A failure the open ignores shows in every
 * pass.
 */
static int step_open(const char *path, int nth, int fda, int fdb,
		     const struct counts *c0, long refs0, int want,
		     int *allocs, int *enomem)
{
	int fd = -1;

	for (int pass = 0; pass < 3; pass++) {
		if (fd >= 0)
			close(fd);
		fd = step_open_once(path, nth, fda, fdb, c0, refs0, allocs,
				    enomem);
		if (fd < 0 || *enomem >= want)
			break;
	}
	return fd;
}

static const char *step_open_err(int ret)
{
	return ret <= -1000 ? "wrong errno, counts or module references" :
			      strerror(-ret);
}

/*
 * The module's allocations of an open (its file, the file's table, and
 * for a user with no file open yet its record) are those /dev/null's open
 * lacks: failing each gives ENOMEM, so two more than there for root, whose
 * other files are open, and three for a new user.
 */
TEST_F_TIMEOUT(fault, open_each_alloc, 300)
{
	int fd, allocs, enomem, null_allocs, null_enomem, st = -1;
	long refs0 = pw_read_long(REFCNT);
	struct pidwait_info info;
	struct counts c0;
	pid_t pid;

	ASSERT_EQ(0, slab_steps_only());
	ASSERT_EQ(0, counts_get(self->fda, self->fdb, &c0));
	fd = step_open("/dev/null", self->nth, -1, -1, NULL, -1, 0,
		       &null_allocs, &null_enomem);
	ASSERT_LE(0, fd) TH_LOG("%s", step_open_err(fd));
	close(fd);
	fd = step_open(PIDWAIT_DEVICE, self->nth, self->fda, self->fdb, &c0,
		       refs0, null_enomem + 2, &allocs, &enomem);
	ASSERT_LE(0, fd) TH_LOG("%s", step_open_err(fd));
	ksft_print_msg("open: failing one of %d allocations gave ENOMEM %d times (/dev/null: %d of %d)\n",
		       allocs, enomem, null_enomem, null_allocs);
	ASSERT_LE(null_enomem + 2, enomem);

	/* The file that opened works. */
	ASSERT_EQ(0, pw_info(fd, &info));
	ASSERT_EQ(0u, info.nr_watches);
	ASSERT_EQ(c0.user, info.user_watches);
	ASSERT_EQ(0, pw_arm(fd, self->wc.pid, 0, WC_PROC));
	ASSERT_COUNTS(self->fda, self->fdb, c0.a, c0.b, c0.user + 1);
	wc_fire(_metadata, self, fd, WC_PROC, 0);
	close(fd);
	ASSERT_EQ(refs0, pw_read_long(REFCNT));

	/*
	 * A user with no file open yet: the open creates the user's record,
	 * and a failure after it must drop it again.
	 */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);

		CHILD_CHECK(nth >= 0);
		CHILD_CHECK(!setresgid(54321, 54321, 54321));
		CHILD_CHECK(!setresuid(54321, 54321, 54321));
		fd = step_open(PIDWAIT_DEVICE, nth, -1, -1, NULL, -1,
			       null_enomem + 3, &allocs, &enomem);
		CHILD_CHECK(fd >= 0);
		if (enomem < null_enomem + 3)
			dprintf(2, "# a new user's open: ENOMEM %d times of %d allocations\n",
				enomem, allocs);
		CHILD_CHECK(enomem >= null_enomem + 3);
		CHILD_CHECK(!pw_info(fd, &info) && info.user_watches == 0);
		_exit(0);
	}
	ASSERT_EQ(0, pw_reap(pid, &st));
	ASSERT_EQ(0, st);
	ASSERT_EQ(refs0, pw_read_long(REFCNT));
	ASSERT_COUNTS(self->fda, self->fdb, c0.a, c0.b, c0.user);
	bystanders_fire(_metadata, self);
}

/* ---- the table growing ------------------------------------------------- */

/*
 * Targets enough for a table of 2048 watches to double (to 16 KiB, more
 * than kmalloc's caches hold: pages, or vmalloc), in one process: threads,
 * each a thread watch, all ended by one exit_group.
 */
#define FILL_N		2400
#define FILL_BATCH	100
#define FILL_STACK	4096
#define FILL_COOKIE	0x100000
#define FILL_MAX_T	2048
#define FILL_CODE	9

static pid_t *fill_tids;

static int fill_sleep(void *arg)
{
	(void)arg;
	for (;;)
		syscall(SYS_pause);
	return 0;
}

/* In the filler: FILL_BATCH more threads, whose TIDs go to fill_tids. */
static int fill_batch(int batch)
{
	const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
			  CLONE_THREAD | CLONE_SYSVSEM;
	char *stacks = mmap(NULL, (size_t)FILL_BATCH * FILL_STACK,
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	pid_t tid;

	if (stacks == MAP_FAILED)
		return -errno;
	for (int i = 0; i < FILL_BATCH; i++) {
		tid = clone(fill_sleep, stacks + (size_t)(i + 1) * FILL_STACK,
			    flags, NULL);
		if (tid < 0)
			return -errno;
		fill_tids[batch * FILL_BATCH + i] = tid;
	}
	return 0;
}

/* Arms filler thread *next on fd; 0 or -errno. */
static int fill_arm(int fd, int next)
{
	return pw_arm(fd, fill_tids[next], PIDWAIT_ARM_THREAD,
		      FILL_COOKIE + (__u64)next);
}

static void pin_to_this_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * The watch's size as failslab counts it: the smallest "space" that lets
 * an arm's first allocation through, less one. Below it, ENOMEM.
 */
static int watch_size(struct __test_metadata *_metadata,
		      FIXTURE_DATA(fault) *self)
{
	struct call c = { .fd = self->fda, .pid = self->wc.pid,
			  .cookie = WC_PROC };
	int lo = 1, hi = 8192, mid, ret = 1;
	struct counts c0;

	ASSERT_EQ(0, counts_get(self->fda, self->fdb, &c0));
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		ASSERT_EQ(0, knob_set(FAILSLAB "space", mid));
		ASSERT_EQ(0, knob_set(FAILSLAB "times", 1));
		ASSERT_EQ(0, run_failing(self->mif, &c, &ret));
		ASSERT_EQ(0, knob_set(FAILSLAB "times", 0));
		if (ret) {
			ASSERT_EQ(-ENOMEM, ret);
			ASSERT_COUNTS(self->fda, self->fdb, c0.a, c0.b, c0.user);
			lo = mid + 1;
		} else {
			ASSERT_EQ(0, pw_disarm(c.fd, c.pid, 0));
			hi = mid;
		}
	}
	ASSERT_EQ(0, knob_set(FAILSLAB "space", 0));
	ASSERT_LT(1, lo);
	ASSERT_GT(8192, lo);
	return lo - 1;
}

/*
 * Arms c with every allocation after the watch's failing: failslab's
 * "space" lets the watch through and nothing after, fail_page_alloc fails
 * all. The arm must succeed; *slab and *page are the failures injected.
 * An arm whose watch needs a new slab page fails with ENOMEM, rightly:
 * then an arm on the other file, without faults, gets the page, its
 * watch is dropped again, and the arm is tried once more.
 */
static void arm_but_watch_failing(struct __test_metadata *_metadata,
				  FIXTURE_DATA(fault) *self,
				  const struct call *c, int wsize, long *slab,
				  long *page)
{
	const long many = 100000;
	struct counts c0;
	int ret = 1;

	ASSERT_EQ(0, counts_get(self->fda, self->fdb, &c0));
	for (int try = 0; ret; try++) {
		ASSERT_EQ(0, knob_set(FAILSLAB "space", wsize + 1));
		ASSERT_EQ(0, knob_set(FAILSLAB "times", many));
		ASSERT_EQ(0, knob_set(FAILPAGE "times", many));
		ASSERT_EQ(0, run_failing(self->mif, c, &ret));
		*slab = knob_used(FAILSLAB "times", many);
		*page = knob_used(FAILPAGE "times", many);
		ASSERT_EQ(0, knob_set(FAILSLAB "times", 0));
		ASSERT_EQ(0, knob_set(FAILPAGE "times", 0));
		ASSERT_EQ(0, knob_set(FAILSLAB "space", 0));
		if (!ret)
			break;
		ASSERT_EQ(-ENOMEM, ret) TH_LOG("arm: %s", strerror(-ret));
		ASSERT_COUNTS(self->fda, self->fdb, c0.a, c0.b, c0.user);
		ASSERT_EQ(0, try)
			TH_LOG("%u watches: the arm failed twice, with %ld slab and %ld page allocations failed: did the failed growth fail it?",
			       c0.a, *slab, *page);
		ksft_print_msg("%u watches: ENOMEM (the watch wanting a new slab page?): once more\n",
			       c0.a);
		ASSERT_EQ(0, pw_arm(self->fdb, c->pid, c->flags, 0));
		ASSERT_EQ(0, pw_disarm(self->fdb, c->pid, c->flags));
	}
	ASSERT_COUNTS(self->fda, self->fdb, c0.a + 1, c0.b, c0.user + 1);
}

/*
 * Each allocation of an arm that doubles a table of t watches, failed in
 * turn: as the first arm that succeeds doubles it, every k is tried on a
 * new file filled to t. ENOMEM with no count changed, or an arm that
 * works; either way every watch must then be found where the table says
 * (each disarm finds it), grown or not.
 */
static void step_growth(struct __test_metadata *_metadata,
			FIXTURE_DATA(fault) *self, int t)
{
	struct call c = { .pid = fill_tids[t], .flags = PIDWAIT_ARM_THREAD,
			  .cookie = t };
	int enomem = 0, ok = 0, hit, ret = 1, i, n;
	struct pidwait_info info;
	unsigned int user;
	unsigned long k;

	for (k = 1; k < MAX_STEPS; k++) {
		c.fd = pw_open(0);
		ASSERT_LE(0, c.fd);
		for (i = 0; i < t; i++) {
			ASSERT_EQ(0, pw_arm(c.fd, fill_tids[i], PIDWAIT_ARM_THREAD, i));
		}
		ASSERT_EQ(0, pw_info(c.fd, &info));
		user = info.user_watches;
		hit = run_nth(self->nth, &c, k, &ret);
		ASSERT_LE(0, hit) TH_LOG("fail-nth: %s", strerror(-hit));
		n = t + !ret;
		if (hit && ret == -ENOMEM) {
			enomem++;
		} else {
			ASSERT_EQ(0, ret) TH_LOG("%d watches, allocation %lu failed: %s",
						 t, k, strerror(-ret));
			ok += hit;
		}
		ASSERT_EQ(0, pw_info(c.fd, &info));
		ASSERT_EQ((unsigned int)n, info.nr_watches);
		ASSERT_EQ(user + !ret, info.user_watches);
		for (i = 0; i < n; i++) {
			ASSERT_EQ(0, pw_disarm(c.fd, fill_tids[i],
					       PIDWAIT_ARM_THREAD));
		}
		ASSERT_EQ(0, pw_nr_watches(c.fd));
		close(c.fd);
		if (!hit)
			break;
	}
	ASSERT_LT(k, MAX_STEPS);
	ksft_print_msg("%d watches, a new file: each of %lu allocations of the growing arm failing in turn: ENOMEM %d times, a working arm %d times\n",
		       t, k - 1, enomem, ok);
	/* The watch's own, then at least the table's, which the arm survives. */
	ASSERT_LE(1, enomem);
	ASSERT_LE(1, ok);
}

/*
 * The table starts at 16 buckets and doubles when its watches reach twice
 * the buckets: the arm that finds 32 watches tries 32 buckets, at 64 it
 * tries 64, and so on. By design a growth that cannot allocate is given
 * up and the arm goes on into the old table: longer chains, slower arms,
 * but the arm succeeds, and the next one tries the growth again.
 *
 * At each doubling of this file's table, with the fixture's watches on
 * it, every allocation but the watch's fails (failslab past the watch's
 * size, fail_page_alloc all: a large table's pages and its vmalloc
 * fallback), and once on the arm before it, which must fail fewer. At 32,
 * 1024 (8 KiB: kmalloc's largest cache, or vmalloc) and 2048 (16 KiB:
 * pages, or vmalloc), each allocation of the growing arm in turn, on new
 * files. Every arm of the filler's threads on this file must fire.
 */
TEST_F_TIMEOUT(fault, table_growth, 900)
{
	struct call c = { .fd = self->fda, .flags = PIDWAIT_ARM_THREAD };
	int next = 0, wsize, ret = 1, st = -1, nr, n, i;
	long before_slab = 0, before_page = 0, at_slab, at_page;
	struct counts c0, c1;
	struct expect *exp;
	bool *armed;

	self->fill_tids = mmap(NULL, 8192 * sizeof(pid_t), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->fill_tids);
	fill_tids = self->fill_tids;
	armed = calloc(FILL_N, sizeof(*armed));
	exp = calloc(FILL_N, sizeof(*exp));
	ASSERT_NE(NULL, armed);
	ASSERT_NE(NULL, exp);
	ASSERT_EQ(0, worker_start(&self->fill, 1, NULL, NULL));
	for (i = 0; i < FILL_N / FILL_BATCH; i++) {
		ASSERT_EQ(0, worker_call(&self->fill, 0, fill_batch, i, &ret));
		ASSERT_EQ(0, ret) TH_LOG("filler thread: %s", strerror(-ret));
	}
	/* A slab page an arm got for the next stays this CPU's. */
	pin_to_this_cpu();

	wsize = watch_size(_metadata, self);
	ASSERT_LT(0, wsize);
	ksft_print_msg("a watch is %d bytes to failslab\n", wsize);

	for (int t = 32; t <= FILL_MAX_T; t *= 2) {
		for (int at = t - 1; at <= t; at++) {
			while ((nr = pw_nr_watches(self->fda)) < at) {
				ASSERT_LT(next, FILL_N);
				ASSERT_EQ(0, fill_arm(self->fda, next));
				armed[next++] = true;
			}
			ASSERT_EQ(at, nr);
			c.pid = fill_tids[next];
			c.cookie = FILL_COOKIE + (__u64)next;
			ASSERT_EQ(0, counts_get(self->fda, self->fdb, &c0));
			arm_but_watch_failing(_metadata, self, &c, wsize,
					      &at_slab, &at_page);
			armed[next++] = true;
			ASSERT_COUNTS(self->fda, self->fdb, c0.a + 1, c0.b,
				      c0.user + 1);
			if (at < t) {
				before_slab = at_slab;
				before_page = at_page;
			}
		}
		ksft_print_msg("%d watches: all but the watch failing: %ld slab and %ld page allocations failed (%ld and %ld on the arm before)\n",
			       t, at_slab, at_page, before_slab, before_page);
		/* The growth's own allocations, beyond the arm's. */
		ASSERT_LT(before_slab + before_page, at_slab + at_page);

		if (t == 32 || t >= 1024)
			step_growth(_metadata, self, t);
	}

	/* One exit_group ends them all: each thread's status is the group's. */
	ASSERT_EQ(0, counts_get(self->fda, self->fdb, &c1));
	ASSERT_EQ(0, worker_cmd(&self->fill, 0, W_EXIT_GROUP, FILL_CODE));
	ASSERT_EQ(0, worker_reap(&self->fill, &st));
	ASSERT_EQ(W_EXITCODE(FILL_CODE, 0), st);
	for (i = n = 0; i < next; i++)
		if (armed[i])
			exp[n++] = expect(fill_tids[i],
					  PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD,
					  st, FILL_COOKIE + (__u64)i);
	ASSERT_EQ(c1.a - NR_BY_A, (unsigned int)n);
	expect_events(_metadata, self->fda, exp, n, timeout_ms() * 12);
	ASSERT_COUNTS(self->fda, self->fdb, NR_BY_A, c1.b, c1.user - n);
	free(exp);
	free(armed);
	bystanders_fire(_metadata, self);
}

/* ---- leaks ------------------------------------------------------------- */

/* ---- a probe that cannot be unregistered --------------------------------- */

#define TRACEFS		"/sys/kernel/tracing/events/"
#define BACKEND		"/sys/module/pidwait/parameters/backend"
#define LINGER		"/sys/module/pidwait/parameters/hook_linger_ms"
/* Longer than any step: the unload, not the linger's work, disarms. */
#define LINGER_HOLD	"3600000"
#define RETRY_MSG	"out of memory, trying again"

/* The tracepoints the tracepoint backend probes. */
static const char * const tp_events[] = {
	"sched/sched_process_exit", "signal/signal_generate", "sched/sched_process_exec",
};

/*
 * Before 5.12 (and 5.10.y's stub backport), tracepoint_probe_unregister()
 * allocates the tracepoint's new array of probes when others stay on it,
 * and fails with ENOMEM if it cannot, leaving the probe registered. The
 * module must not go while its probe is: it tries again. Tracing's own
 * probes on the same tracepoints make the unload's unregister allocate,
 * and fail-nth fails each of the unload's allocations in turn; a module
 * freed with its probe still there would crash the next exit.
 */
FIXTURE(unreg) {
	bool enabled[ARRAY_SIZE(tp_events)];
	int nth, kofd, kmsg;
	char linger[32];
	struct knobs_saved knobs;
};

static int event_enable(const char *event, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), TRACEFS "%s/enable", event);
	return pw_write_str(path, value);
}

FIXTURE_SETUP(unreg)
{
	const char *ko = getenv("PIDWAIT_KO");
	char backend[32] = "";
	int ret;

	self->nth = self->kofd = self->kmsg = -1;
	memset(self->enabled, 0, sizeof(self->enabled));
	self->linger[0] = 0;
	self->knobs.set = false;
	if (geteuid())
		SKIP(return, "needs root");
	if (pw_read_str(BACKEND, backend, sizeof(backend)) || strcmp(backend, "tracepoint"))
		SKIP(return, "backend %s: only the tracepoint backend unregisters tracepoint probes",
		     backend);
	/* 5.12, and the stable lines since, put a stub where they cannot drop a probe. */
	if (pw_kernel_has("tp_stub_func"))
		SKIP(return, "this kernel's tracepoint unregister cannot fail (tp_stub_func)");
	if (!ko || !*ko)
		SKIP(return, "PIDWAIT_KO is not set: no way to reload, so no unload");
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (self->nth < 0)
		SKIP(return, "no fail-nth: no fault injection in this kernel");
	self->kofd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->kofd) TH_LOG("%s: %s", ko, strerror(errno));
	self->kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, pw_read_str(LINGER, self->linger, sizeof(self->linger)));
	for (size_t i = 0; i < ARRAY_SIZE(tp_events); i++) {
		ASSERT_EQ(0, event_enable(tp_events[i], "1")) TH_LOG("%s", tp_events[i]);
		self->enabled[i] = true;
	}
	/*
	 * fail-nth needs no probability, but failslab counts an allocation
	 * that may sleep (the unregister's) only with ignore-gfp-wait off,
	 * and the failures are to be silent.
	 */
	if (access(FAILSLAB, F_OK) || access(FAILPAGE, F_OK))
		SKIP(return, "no %s: no failslab or fail_page_alloc in this kernel, or no debugfs",
		     FAILSLAB);
	ret = knobs_save_and_set(&self->knobs);
	if (ret && self->knobs.set)
		knobs_restore(&self->knobs);
	ASSERT_EQ(0, ret) TH_LOG("setting the fault injection knobs: %s", strerror(-ret));
}

/* Loads the module again, if it is not. */
static int reload(int kofd)
{
	if (!access("/sys/module/pidwait", F_OK))
		return 0;
	if (syscall(SYS_finit_module, kofd, "", 0))
		return -errno;
	/* devtmpfs makes the node as the device is added; mdev where there is none. */
	if (access(PIDWAIT_DEVICE, F_OK) && system("mdev -s"))
		return -ENOENT;
	return 0;
}

FIXTURE_TEARDOWN(unreg)
{
	for (size_t i = 0; i < ARRAY_SIZE(tp_events); i++)
		if (self->enabled[i])
			event_enable(tp_events[i], "0");
	if (self->kofd >= 0) {
		EXPECT_EQ(0, reload(self->kofd));
		close(self->kofd);
	}
	if (self->linger[0]) {
		EXPECT_EQ(0, pw_write_str(LINGER, self->linger));
	}
	if (self->knobs.set) {
		EXPECT_EQ(0, knobs_restore(&self->knobs));
	}
	if (self->nth >= 0)
		close(self->nth);
	if (self->kmsg >= 0)
		close(self->kmsg);
}

/* Whether the kernel's log gained a line with needle since the last call. */
static bool kmsg_says(int kmsg, const char *needle)
{
	char rec[1024];
	bool found = false;
	ssize_t n;

	while ((n = read(kmsg, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = 0;
		if (strstr(rec, needle))
			found = true;
	}
	return found;
}

TEST_F_TIMEOUT(unreg, retried_at_unload, 900)
{
	int retried = 0, steps = 0, fd, ret, st;
	struct worker w;
	unsigned long k;
	char buf[32];
	ssize_t n;

	lseek(self->kmsg, 0, SEEK_END);
	for (k = 1; k < MAX_STEPS; k++) {
		/*
		 * A watch arms the hooks, and they stay armed after it until
		 * the unload: a second's linger may pass on a slow kernel
		 * before the unload starts, and the work that disarms them then
		 * is not the task that fail-nth fails.
		 */
		ASSERT_EQ(0, pw_write_str(LINGER, LINGER_HOLD));
		fd = pw_open(0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, worker_start(&w, 1, NULL, NULL));
		ASSERT_EQ(0, pw_arm(fd, w.pid, 0, k));
		ASSERT_EQ(0, close(fd));
		ASSERT_EQ(1, pw_read_long("/sys/module/pidwait/parameters/hooks"));

		ASSERT_EQ(0, proc_set(self->nth, k));
		ret = syscall(SYS_delete_module, "pidwait", O_NONBLOCK) ? -errno : 0;
		n = pread(self->nth, buf, sizeof(buf) - 1, 0);
		proc_set(self->nth, 0);
		ASSERT_EQ(0, ret) TH_LOG("unload %lu: %s", k, strerror(-ret));
		ASSERT_LT(0, n);
		buf[n] = 0;
		steps++;
		if (kmsg_says(self->kmsg, RETRY_MSG))
			retried++;

		/* Exits after it: a probe left behind would run freed code. */
		ASSERT_EQ(0, worker_cmd(&w, 0, W_EXIT_GROUP, 3));
		ASSERT_EQ(0, worker_reap(&w, &st));
		worker_free(&w);
		ASSERT_EQ(0, reload(self->kofd));
		/* fail-nth still set: the unload made fewer than k allocations. */
		if (strtoul(buf, NULL, 10))
			break;
	}
	ksft_print_msg("unload: %d steps, %d of them retried an unregister\n", steps, retried);
	ASSERT_LE(1, retried);
}

/* A fixture only for the timeout: a scan of the debug kernel is slow. */
FIXTURE(leak) {};
FIXTURE_SETUP(leak) {}
FIXTURE_TEARDOWN(leak) {}

/*
 * After the tests above, only ours count here (a backtrace through the
 * module); the runner checks the rest.
 */
TEST_F_TIMEOUT(leak, kmemleak, 600)
{
	int leaks;

	if (access(PW_KMEMLEAK, W_OK))
		SKIP(return, "no %s: no kmemleak in this kernel (CONFIG_DEBUG_KMEMLEAK) or no debugfs",
		     PW_KMEMLEAK);
	leaks = pw_kmemleak_ours();
	ASSERT_LE(0, leaks) TH_LOG("kmemleak: %s", strerror(-leaks));
	ASSERT_EQ(0, leaks) TH_LOG("%d objects leaked by the module", leaks);
}

PIDWAIT_HARNESS_MAIN
