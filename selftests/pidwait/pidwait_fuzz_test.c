// SPDX-License-Identifier: GPL-2.0
/*
 * A fuzzer that knows the /dev/pidwait ABI: real and near-miss ioctl
 * numbers, valid and invalid pids, pointers that are NULL, kernel, not
 * canonical, unmapped, unaligned, read-only or that run into an
 * inaccessible page, read sizes from 0 to huge, poll, epoll, FIONREAD,
 * close and reopen. It checks invariants, not just survival:
 *
 *  - single: one thread against a model of every watch of four files.
 *    Each call's result is predicted exactly (errno included), and after
 *    every call GET_INFO and FIONREAD must agree with the model, so a
 *    failed call that changed anything is caught; events must come back
 *    in order, with the cookie, flags and status they were armed with,
 *    and the bytes of a buffer beyond what read() returned are untouched.
 *  - threads: several threads on shared files, while children and threads
 *    come and go and signals interrupt the calls; every errno must be one
 *    the call may give, every record well formed.
 *  - trinity: Debian's trinity, unprivileged, with /dev/pidwait as its
 *    only file.
 *
 * PIDWAIT_FUZZ_SEED replays a run (the seed is printed); PIDWAIT_FUZZ_CALLS
 * sets the number of calls (default 1000000, 40% single, the rest
 * threaded); PIDWAIT_FUZZ_TRINITY_OPS the number of trinity's,
 * PIDWAIT_FUZZ_TRINITY_CALLS (ioctl,read,...) its syscalls instead of ours,
 * PIDWAIT_FUZZ_TRINITY_VERBOSE=1 its verbose output.
 */
#include "pidwait_util.h"

#include <grp.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "kselftest_harness.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define PAGE		4096UL
#define RW_SIZE		(16 * PAGE)
#define NFILES		4
#define MT_THREADS	4
#define POOL		64
/* The per-file cap in the single phase: small, so that ENOSPC happens. */
#define ST_CAP		24
#define MAX_RW		0x7ffff000UL	/* INT_MAX & PAGE_MASK: what read() caps */
#define USER_TOP	0x7ffffffff000UL	/* TASK_SIZE_MAX with 4-level paging */
#define MAX_WATCHES_PARAM "/sys/module/pidwait/parameters/max_watches"
#define TRINITY		"/usr/bin/trinity"
#define NOBODY		65534

/* ---- randomness and the seed -------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rnd(s) % n);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *e = getenv(name);

	return e && *e ? strtoull(e, NULL, 0) : def;
}

static uint64_t fuzz_seed(void)
{
	return env_u64("PIDWAIT_FUZZ_SEED", pw_now_ns() ^ ((uint64_t)getpid() << 40));
}

static uint64_t fuzz_calls(void)
{
	return env_u64("PIDWAIT_FUZZ_CALLS", 1000000);
}

/* ---- memory ------------------------------------------------------------- */

/*
 * Every region is followed by a PROT_NONE page, never unmapped, so that no
 * later mapping (a thread's stack) makes a bad pointer good, and a read
 * that runs past a region faults instead of writing over something else.
 */
struct arena {
	unsigned char *rw;	/* RW_SIZE writable */
	unsigned char *ro;	/* a read-only page: a valid struct pidwait_arm */
	unsigned char *none;	/* PROT_NONE */
};

static void *guarded(size_t len)
{
	unsigned char *p = mmap(NULL, len + PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + len, PAGE, PROT_NONE))
		return NULL;
	return p;
}

static int arena_init(struct arena *a, const struct pidwait_arm *ro_arm)
{
	a->rw = guarded(RW_SIZE);
	a->ro = guarded(PAGE);
	a->none = guarded(0);
	if (!a->rw || !a->ro || !a->none)
		return -ENOMEM;
	memcpy(a->ro, ro_arm, sizeof(*ro_arm));
	return mprotect(a->ro, PAGE, PROT_READ) ? -errno : 0;
}

enum ptr_kind {
	P_RW, P_ODD, P_END, P_RO, P_NONE, P_NULL, P_LOW, P_KERNEL,
	P_NONCANON, P_WRAP, P_KINDS
};

/* A user pointer and how many bytes from it may be accessed. */
struct uptr {
	unsigned char *p;
	size_t span;
	int kind;
};

/*
 * A pointer for an access of len bytes: valid three times in four, and
 * otherwise anything from a near miss (the last bytes before a fault) to
 * a kernel address. write says whether the kernel will write there.
 */
static struct uptr pick_ptr(uint64_t *s, const struct arena *a, size_t len,
			    bool write)
{
	static const unsigned long kernel[] = {
		0xffffffff81000000UL, 0xffff888000000000UL, 0xffffffffff600000UL,
		~0UL, ~0UL - 7, 0x8000000000000000UL,
	};
	static const unsigned long noncanon[] = {
		0x0000800000000000UL, 0x00ff000000000000UL, 0x7fff000000000000UL,
	};
	struct uptr u = { NULL, 0, P_RW };
	size_t off;

	u.kind = below(s, 4) ? P_RW + (int)below(s, 2) : (int)below(s, P_KINDS);
	switch (u.kind) {
	case P_RW:
	case P_ODD:
		off = below(s, RW_SIZE / 2) & ~7UL;
		if (u.kind == P_ODD)
			off += 1 + below(s, 7);
		u.p = a->rw + off;
		u.span = RW_SIZE - off;
		break;
	case P_END:
		u.span = below(s, (uint32_t)(len < PAGE ? 2 * len + 2 : PAGE));
		u.p = a->rw + RW_SIZE - u.span;
		break;
	case P_RO:
		off = below(s, 2) ? 0 : below(s, 64);
		u.p = a->ro + off;
		u.span = write ? 0 : PAGE - off;
		break;
	case P_NONE:
		u.p = a->none + below(s, PAGE);
		break;
	case P_NULL:
		break;
	case P_LOW:
		u.p = (unsigned char *)(uintptr_t)(1 + below(s, 0xffff));
		break;
	case P_KERNEL:
		u.p = (unsigned char *)(kernel[below(s, 6)] + below(s, 64));
		break;
	case P_NONCANON:
		u.p = (unsigned char *)(noncanon[below(s, 3)] + below(s, 4096));
		break;
	case P_WRAP:
		u.p = (unsigned char *)(~0UL - below(s, 64));
		break;
	}
	return u;
}

static bool in_rw(const struct arena *a, const struct uptr *u)
{
	return u->p >= a->rw && u->p < a->rw + RW_SIZE;
}

/* read()'s own check before the driver: 1 passes, 0 fails, -1 depends on the kernel. */
static int access_ok_for(const unsigned char *p, size_t len)
{
	uintptr_t b = (uintptr_t)p, e = b + len;

	if (e < b || b >= 1UL << 63 || e >= 1UL << 63)
		return 0;
	if (e <= USER_TOP)
		return 1;
	return -1;
}

/* ---- the ioctl numbers -------------------------------------------------- */

static const unsigned int real_cmds[] = {
	PIDWAIT_IOC_ARM, PIDWAIT_IOC_DISARM, PIDWAIT_IOC_GET_INFO, FIONREAD,
};

/* Numbers the VFS answers before the driver sees them. */
static bool vfs_cmd(unsigned int c)
{
	static const unsigned int vfs[] = {
		FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC, FIOQSIZE,
		1 /* FIBMAP */, 2 /* FIGETBSZ */,
		0xc0045877 /* FIFREEZE */, 0xc0045878 /* FITHAW */,
		0xc020660b /* FS_IOC_FIEMAP */, 0x40049409 /* FICLONE */,
		0x4020940d /* FICLONERANGE */, 0xc0189436 /* FIDEDUPERANGE */,
		0x40305828, 0x40305829, 0x4030582a, 0x4030582b, /* RESVSP... */
		0x40305830, 0x4030582c, 0x4030583f, 0x4030587d, /* ZERO_RANGE... */
		0x80086601, 0x40086602, 0x80046601, 0x40046602, /* GET/SETFLAGS */
		0x801c581f, 0x401c5820, /* FSGETXATTR, FSSETXATTR */
		0x80111500, 0x80811501, /* GETFSUUID, GETFSSYSFSPATH */
	};

	for (unsigned int i = 0; i < sizeof(vfs) / sizeof(vfs[0]); i++)
		if (c == vfs[i])
			return true;
	return false;
}

/*
 * An ioctl number the driver must refuse: a real one with its direction,
 * size, type or number bits changed, one bit flipped, or anything.
 * Bits above 32 are dropped by the syscall: that case is a real number.
 */
static unsigned long bad_cmd(uint64_t *s)
{
	unsigned int c;

	do {
		c = real_cmds[below(s, 4)];
		switch (below(s, 6)) {
		case 0:
			c ^= (1 + below(s, 3)) << _IOC_DIRSHIFT;
			break;
		case 1:
			c = (c & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
			    (below(s, 1 << _IOC_SIZEBITS) << _IOC_SIZESHIFT);
			break;
		case 2:
			c ^= (1 + below(s, 255)) << _IOC_TYPESHIFT;
			break;
		case 3:
			c = (c & ~0xffU) | ((c + (below(s, 2) ? 1 : 255)) & 0xffU);
			break;
		case 4:
			c ^= 1U << below(s, 32);
			break;
		default:
			c = (unsigned int)rnd(s);
		}
	} while (vfs_cmd(c) || c == PIDWAIT_IOC_ARM || c == PIDWAIT_IOC_DISARM ||
		 c == PIDWAIT_IOC_GET_INFO || c == FIONREAD);
	return c;
}

static long sys_ioctl(int fd, unsigned long cmd, const void *arg)
{
	long r = syscall(SYS_ioctl, fd, cmd, arg);

	return r < 0 ? -errno : r;
}

static uint64_t cookie_of(pid_t pid, uint32_t thread)
{
	return ((uint64_t)(uint32_t)pid << 32) ^ (thread ? 0xc0ffee : 0xfee1) ^
	       0x5157000000000000ull;
}

/* A record's own sanity, whatever the test: the first words of the contract. */
static const char *record_bad(const struct pidwait_event *ev, uint64_t now)
{
	if (ev->reserved)
		return "reserved is not zero";
	if (ev->flags & ~(PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD))
		return "undocumented flags";
	if (!(ev->flags & PIDWAIT_EVENT_STATUS) && ev->status)
		return "a status without PIDWAIT_EVENT_STATUS";
	if (ev->pid <= 0)
		return "pid <= 0";
	if (!ev->exit_time_ns || ev->exit_time_ns > now)
		return "exit_time_ns not in the past";
	return NULL;
}

/* ---- processes -------------------------------------------------------- */

static pid_t pid_max(void)
{
	long n = pw_read_long("/proc/sys/kernel/pid_max");

	return n > 0 ? (pid_t)n : 4194304;
}

/* A child that waits, blocked on a pipe, until it is killed. */
static pid_t spawn_waiting(int pipe_rd)
{
	pid_t parent = getpid(), pid = fork();
	char c;

	if (pid)
		return pid;
	pw_child_init(parent);
	while (read(pipe_rd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

static pid_t spawn_exiting(int code)
{
	pid_t parent = getpid(), pid = fork();

	if (pid)
		return pid;
	pw_child_init(parent);
	_exit(code);
}

struct blocker {
	int rd;
	pid_t tid;
	int tidpipe[2];
};

static void *blocker_main(void *p)
{
	struct blocker *b = p;
	pid_t tid = pw_gettid();
	char c;

	if (write(b->tidpipe[1], &tid, sizeof(tid)) != sizeof(tid))
		return NULL;
	while (read(b->rd, &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* ---- the single-threaded phase: a model of every watch ------------------ */

enum pid_kind { K_LIVE, K_ZOMBIE, K_REAPED, K_SELF, K_THREAD, K_INIT,
		K_HUGE, K_NONPOS, K_KINDS };

struct ppid {
	pid_t pid;
	int kind;
	int status;	/* a zombie's wait status */
};

struct mwatch {
	pid_t pid;
	uint32_t thread;
	uint64_t cookie;
	int status;
	bool fired;
	unsigned long seq;	/* when it fired: read order */
};

struct mfile {
	int fd;
	int n;
	struct mwatch w[ST_CAP];
};

struct st {
	uint64_t seed, s, ops, calls;
	struct arena a;
	struct ppid pool[32];
	int npool;
	struct mfile f[NFILES];
	int epfd;
	uint32_t arm_flags;
	unsigned long fire_seq;
	uint64_t t0;
	char why[512];
};

static int mfind(const struct mfile *m, pid_t pid, uint32_t thread)
{
	for (int i = 0; i < m->n; i++)
		if (m->w[i].pid == pid && m->w[i].thread == thread)
			return i;
	return -1;
}

static int mfired(const struct mfile *m)
{
	int n = 0;

	for (int i = 0; i < m->n; i++)
		n += m->w[i].fired;
	return n;
}

/* The oldest unread event of the model, or -1. */
static int moldest(const struct mfile *m)
{
	int best = -1;

	for (int i = 0; i < m->n; i++)
		if (m->w[i].fired && (best < 0 || m->w[i].seq < m->w[best].seq))
			best = i;
	return best;
}

static void mdel(struct mfile *m, int i)
{
	m->w[i] = m->w[--m->n];
}

static const struct ppid *pool_find(const struct st *t, pid_t pid)
{
	for (int i = 0; i < t->npool; i++)
		if (t->pool[i].pid == pid)
			return &t->pool[i];
	return NULL;
}

/*
 * A number the model does not own: one a read-only page happened to hold,
 * or a reaped child's, which any process may take (kernel threads too, and
 * PREEMPT_RT has many). If it names a process now, no model predicts the
 * call; a pool entry of that kind leaves the pool (a negative number,
 * which the model rejects).
 */
static bool reaped_reused(struct st *t, pid_t pid)
{
	bool in_pool = false;

	if (pid <= 0)
		return false;
	for (int i = 0; i < t->npool; i++) {
		if (t->pool[i].pid != pid)
			continue;
		in_pool = true;
		if (t->pool[i].kind == K_REAPED && (kill(pid, 0) == 0 || errno == EPERM)) {
			t->pool[i].pid = -pid;
			return true;
		}
	}
	return !in_pool && (kill(pid, 0) == 0 || errno == EPERM);
}

/* A pid for an arm: from the pool, above pid_max, or not positive. */
static pid_t pick_pid(struct st *t, pid_t pmax)
{
	static const pid_t nonpos[] = { 0, -1, -2, INT_MIN, INT_MIN + 1 };

	switch (below(&t->s, 10)) {
	case 0:
		return below(&t->s, 2) ? INT_MAX : pmax + (pid_t)below(&t->s, 1 << 20);
	case 1:
		return nonpos[below(&t->s, 5)];
	default:
		return t->pool[below(&t->s, t->npool)].pid;
	}
}

static uint32_t pick_flags(uint64_t *s)
{
	switch (below(s, 10)) {
	case 0:
	case 1:
		return (uint32_t)rnd(s);
	case 2:
		return 1U << below(s, 32);
	default:
		return below(s, 2) ? PIDWAIT_ARM_THREAD : 0;
	}
}

#define ST_FAIL(t, ...)							\
	do {								\
		snprintf((t)->why, sizeof((t)->why), __VA_ARGS__);	\
		return false;						\
	} while (0)

/* What ARM of (pid, flags) must give on m, and whether it fires at once. */
static int expect_arm(const struct st *t, const struct mfile *m, pid_t pid,
		      uint32_t flags, bool *fires, int *status)
{
	uint32_t thread = flags & PIDWAIT_ARM_THREAD;
	const struct ppid *pp;

	*fires = false;
	if (pid <= 0 || (flags & ~t->arm_flags))
		return -EINVAL;
	pp = pool_find(t, pid);
	if (!pp || pp->kind == K_REAPED)
		return -ESRCH;
	if (pp->kind == K_THREAD && !thread)
		return -EINVAL;
	if (mfind(m, pid, thread) >= 0)
		return -EEXIST;
	if (m->n >= ST_CAP)
		return -ENOSPC;
	*fires = pp->kind == K_ZOMBIE;
	*status = pp->status;
	return 0;
}

static int expect_disarm(const struct st *t, const struct mfile *m, pid_t pid,
			 uint32_t flags)
{
	const struct ppid *pp;
	int i;

	if (pid <= 0 || (flags & ~PIDWAIT_ARM_THREAD))
		return -EINVAL;
	pp = pool_find(t, pid);
	if (!pp || pp->kind == K_REAPED)
		return -ENOENT;
	i = mfind(m, pid, flags & PIDWAIT_ARM_THREAD);
	return i >= 0 && !m->w[i].fired ? 0 : -ENOENT;
}

/* On a mismatch: the model's watches beside the file's fdinfo. */
static void dump_model(const struct st *t, const struct mfile *m)
{
	for (int i = 0; i < m->n; i++) {
		const struct ppid *pp = pool_find(t, m->w[i].pid);

		printf("# model: pid %d thread %u kind %d fired %d state %c\n",
		       m->w[i].pid, m->w[i].thread, pp ? pp->kind : -1, m->w[i].fired,
		       pw_task_state(m->w[i].pid, m->w[i].pid) ?: '-');
	}
	pw_print_fdinfo(m->fd);
	/* What a read finds on the queue, whatever the count says. */
	{
		struct pidwait_event ev[ST_CAP + 1];
		ssize_t n = read(m->fd, ev, sizeof(ev));

		printf("# read: %zd bytes", n);
		for (ssize_t i = 0; n > 0 && i < n / PW_EVSZ; i++)
			printf(" [pid %d flags 0x%x]", ev[i].pid, ev[i].flags);
		printf("\n");
	}
	fflush(stdout);
}

/* GET_INFO and FIONREAD must agree with the model. */
static bool st_check_state(struct st *t, const struct mfile *m, const char *after)
{
	struct pidwait_info info;
	int fr;

	t->calls += 2;
	if (pw_info(m->fd, &info))
		ST_FAIL(t, "GET_INFO failed after %s: %s", after, strerror(errno));
	fr = pw_fionread(m->fd);
	if ((int)info.nr_watches != m->n || fr != mfired(m) * PW_EVSZ) {
		dump_model(t, m);
		ST_FAIL(t, "after %s: nr_watches %u FIONREAD %d, the model says %d and %d",
			after, info.nr_watches, fr, m->n, mfired(m) * PW_EVSZ);
	}
	if (info.api_version != PIDWAIT_API_VERSION || info.event_size != PW_EVSZ ||
	    info.max_watches != ST_CAP || info.arm_flags != t->arm_flags ||
	    info.reserved[0] || info.reserved[1] || info.reserved[2] ||
	    !(info.features & PIDWAIT_FEATURE_PIDFD))
		ST_FAIL(t, "GET_INFO after %s: garbage", after);
	return true;
}

/* Checks n bytes of records against the model's oldest events, and drops them. */
static bool st_take(struct st *t, struct mfile *m, const unsigned char *buf,
		    size_t n, const char *what)
{
	struct pidwait_event ev;
	uint64_t now = pw_now_ns();
	const char *bad;
	int i;

	if (n % PW_EVSZ)
		ST_FAIL(t, "%s returned %zu, not whole records", what, n);
	for (size_t off = 0; off < n; off += PW_EVSZ) {
		memcpy(&ev, buf + off, sizeof(ev));
		i = moldest(m);
		if (i < 0)
			ST_FAIL(t, "%s returned an event the model lacks (pid %d)", what, ev.pid);
		bad = record_bad(&ev, now);
		if (!bad && ev.exit_time_ns < t->t0)
			bad = "exit_time_ns before the test";
		if (!bad && (ev.pid != m->w[i].pid || ev.cookie != m->w[i].cookie))
			bad = "not the oldest event, or the wrong cookie";
		if (!bad && !!(ev.flags & PIDWAIT_EVENT_THREAD) != !!m->w[i].thread)
			bad = "PIDWAIT_EVENT_THREAD wrong";
		if (!bad && (!(ev.flags & PIDWAIT_EVENT_STATUS) || ev.status != m->w[i].status))
			bad = "status wrong (root must see it)";
		if (bad)
			ST_FAIL(t, "%s: record pid %d flags 0x%x status 0x%x reserved %u cookie 0x%llx: %s (expected pid %d cookie 0x%llx status 0x%x)",
				what, ev.pid, ev.flags, ev.status, ev.reserved,
				(unsigned long long)ev.cookie, bad, m->w[i].pid,
				(unsigned long long)m->w[i].cookie, m->w[i].status);
		mdel(m, i);
	}
	return true;
}

static bool untouched(const unsigned char *p, size_t n, unsigned char fill)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != fill)
			return false;
	return true;
}

static bool st_ioctl_arm(struct st *t, struct mfile *m, bool disarm)
{
	unsigned long cmd = disarm ? PIDWAIT_IOC_DISARM : PIDWAIT_IOC_ARM;
	struct uptr u = pick_ptr(&t->s, &t->a, sizeof(struct pidwait_arm), false);
	struct pidwait_arm arm = {
		.pid = pick_pid(t, pid_max()),
		.flags = pick_flags(&t->s),
	};
	bool fires = false;
	int status = 0;
	long r, want;

	arm.cookie = below(&t->s, 4) ? cookie_of(arm.pid, arm.flags & PIDWAIT_ARM_THREAD) :
		     rnd(&t->s);
	if (below(&t->s, 8) == 0)
		cmd |= (unsigned long)(1 + below(&t->s, 0xffff)) << 32;
	if (u.kind == P_RO)
		memcpy(&arm, u.p, sizeof(arm));
	else if (u.span >= sizeof(arm))
		memcpy(u.p, &arm, sizeof(arm));
	else if (in_rw(&t->a, &u) && u.span)
		memcpy(u.p, &arm, u.span);
	if (u.span < sizeof(arm))
		want = -EFAULT;
	else if (disarm)
		want = expect_disarm(t, m, arm.pid, arm.flags);
	else
		want = expect_arm(t, m, arm.pid, arm.flags, &fires, &status);

	r = sys_ioctl(m->fd, cmd, u.p);
	t->calls++;
	if (r != want && reaped_reused(t, arm.pid)) {
		/* Not ours to judge: undo an arm, and the number leaves the pool. */
		if (!r && !disarm)
			pw_disarm(m->fd, arm.pid, arm.flags);
		return st_check_state(t, m, "ARM of a reused PID");
	}
	if (r != want && !(want == -EEXIST && r == -ENOSPC && m->n >= ST_CAP))
		ST_FAIL(t, "%s(pid %d flags 0x%x) at %p (kind %d): %ld (%s), expected %ld (%s)",
			disarm ? "DISARM" : "ARM", arm.pid, arm.flags, (void *)u.p,
			u.kind, r, strerror((int)-r), want, strerror((int)-want));
	if (!r && disarm) {
		mdel(m, mfind(m, arm.pid, arm.flags & PIDWAIT_ARM_THREAD));
	} else if (!r) {
		struct mwatch *w = &m->w[m->n++];

		w->pid = arm.pid;
		w->thread = arm.flags & PIDWAIT_ARM_THREAD;
		w->cookie = arm.cookie;
		w->fired = fires;
		w->status = status;
		w->seq = t->fire_seq++;
	}
	return st_check_state(t, m, disarm ? "DISARM" : "ARM");
}

/* GET_INFO and FIONREAD write: only their own bytes, and only when they succeed. */
static bool st_ioctl_out(struct st *t, struct mfile *m, bool info)
{
	size_t len = info ? sizeof(struct pidwait_info) : sizeof(int);
	struct uptr u = pick_ptr(&t->s, &t->a, len, true);
	unsigned char *guard = NULL;
	long r, want = u.span >= len ? 0 : -EFAULT;

	if (in_rw(&t->a, &u) && u.p >= t->a.rw + 16 && u.span >= len + 64) {
		guard = u.p - 16;
		memset(guard, 0xa5, len + 80);
	}
	r = sys_ioctl(m->fd, info ? PIDWAIT_IOC_GET_INFO : FIONREAD, u.p);
	t->calls++;
	if (r != want)
		ST_FAIL(t, "%s at %p (kind %d): %ld, expected %ld", info ? "GET_INFO" : "FIONREAD",
			(void *)u.p, u.kind, r, want);
	if (guard && (!untouched(guard, 16, 0xa5) || !untouched(u.p + len, 64, 0xa5)))
		ST_FAIL(t, "%s wrote outside its %zu bytes", info ? "GET_INFO" : "FIONREAD", len);
	if (!r && !info && *(int *)u.p != mfired(m) * PW_EVSZ)
		ST_FAIL(t, "FIONREAD gave %d, the model says %d", *(int *)u.p, mfired(m) * PW_EVSZ);
	if (!r && info && ((struct pidwait_info *)u.p)->nr_watches != (unsigned int)m->n)
		ST_FAIL(t, "GET_INFO gave nr_watches %u, the model says %d",
			((struct pidwait_info *)u.p)->nr_watches, m->n);
	return st_check_state(t, m, info ? "GET_INFO" : "FIONREAD");
}

static bool st_ioctl_bad(struct st *t, struct mfile *m)
{
	unsigned long cmd = bad_cmd(&t->s);
	struct uptr u = pick_ptr(&t->s, &t->a, 64, true);
	unsigned char *probe = in_rw(&t->a, &u) && u.span >= 256 ? u.p : NULL;
	long r;

	if (probe)
		memset(probe, 0x3c, 256);
	r = sys_ioctl(m->fd, cmd, u.p);
	t->calls++;
	if (r != -ENOTTY)
		ST_FAIL(t, "ioctl 0x%lx at %p: %ld (%s), expected ENOTTY", cmd,
			(void *)u.p, r, strerror((int)-r));
	if (probe && !untouched(probe, 256, 0x3c))
		ST_FAIL(t, "ioctl 0x%lx wrote to its argument and failed", cmd);
	return st_check_state(t, m, "a bad ioctl");
}

static size_t pick_count(uint64_t *s)
{
	static const size_t odd[] = {
		0, 1, PW_EVSZ - 1, PW_EVSZ + 1, 2 * PW_EVSZ - 1, MAX_RW, MAX_RW + 1,
		1UL << 31, 1UL << 40, SIZE_MAX, SIZE_MAX / 2, SIZE_MAX / 2 + 1,
	};

	switch (below(s, 4)) {
	case 0:
		return odd[below(s, sizeof(odd) / sizeof(odd[0]))];
	case 1:
		return below(s, 8 * PW_EVSZ);
	default:
		return (size_t)PW_EVSZ * (1 + below(s, 8));
	}
}

/* What read(u, count) must give, given the events the model holds. */
static long expect_read(const struct mfile *m, const struct uptr *u, size_t count,
			long *alt)
{
	int ok = access_ok_for(u->p, count), fired = mfired(m);
	size_t n;
	long drv;

	*alt = 1;	/* none */
	if (count < PW_EVSZ)
		drv = -EINVAL;
	else if (!fired)
		drv = -EAGAIN;
	else {
		n = (count > MAX_RW ? MAX_RW : count) / PW_EVSZ;
		if (n > (size_t)fired)
			n = fired;
		if (n > u->span / PW_EVSZ)
			n = u->span / PW_EVSZ;
		drv = n ? (long)(n * PW_EVSZ) : -EFAULT;
	}
	if (!ok)
		return -EFAULT;
	if (ok < 0)
		*alt = -EFAULT;
	return drv;
}

static bool st_read(struct st *t, struct mfile *m)
{
	size_t count = pick_count(&t->s), fill;
	struct uptr u = pick_ptr(&t->s, &t->a, count, true);
	bool whole = in_rw(&t->a, &u) && u.span >= count;
	long r, want, alt;

	fill = in_rw(&t->a, &u) ? (u.span < count ? u.span : count) : 0;
	if (fill)
		memset(u.p, 0x5e, fill);
	want = expect_read(m, &u, count, &alt);
	r = read(m->fd, u.p, count);
	r = r < 0 ? -errno : r;
	t->calls++;
	if (r != want && r != alt)
		ST_FAIL(t, "read(%p kind %d, %zu) with %d events: %ld (%s), expected %ld",
			(void *)u.p, u.kind, count, mfired(m), r,
			r < 0 ? strerror((int)-r) : "bytes", want);
	if (r > 0 && !st_take(t, m, u.p, (size_t)r, "read"))
		return false;
	/* A record that ran into a fault may be written in part; else nothing. */
	if (whole && !untouched(u.p + (r > 0 ? r : 0), fill - (r > 0 ? (size_t)r : 0), 0x5e))
		ST_FAIL(t, "read(%zu) returned %ld but wrote beyond it", count, r);
	return st_check_state(t, m, "read");
}

/* readv: the driver reads each segment on its own; the records must still be whole. */
static bool st_readv(struct st *t, struct mfile *m)
{
	struct iovec iov[3];
	int n = 1 + (int)below(&t->s, 3), fired = mfired(m);
	unsigned char *p = t->a.rw + RW_SIZE / 2;
	size_t total = 0, rem, take;
	ssize_t r;
	int i;

	for (i = 0; i < n; i++) {
		iov[i].iov_len = pick_count(&t->s) % (4 * PW_EVSZ + 1);
		iov[i].iov_base = p;
		memset(p, 0x77, iov[i].iov_len);
		p += iov[i].iov_len + 8;
		total += iov[i].iov_len;
	}
	if (below(&t->s, 4) == 0) {
		struct uptr u = pick_ptr(&t->s, &t->a, 64, true);

		if (!in_rw(&t->a, &u))
			iov[below(&t->s, n)].iov_base = u.p;
	}
	r = readv(m->fd, iov, n);
	t->calls++;
	if (r < 0 && errno != EINVAL && errno != EFAULT && errno != EAGAIN)
		ST_FAIL(t, "readv: %s", strerror(errno));
	if (r < 0 && errno == EAGAIN && fired)
		ST_FAIL(t, "readv: EAGAIN with %d events", fired);
	if (r == 0 && total)
		ST_FAIL(t, "readv of %zu bytes returned 0", total);
	for (i = 0, rem = r > 0 ? (size_t)r : 0; i < n && rem; i++) {
		take = rem < iov[i].iov_len ? rem : iov[i].iov_len;
		if (!st_take(t, m, iov[i].iov_base, take, "readv"))
			return false;
		rem -= take;
		if (take != iov[i].iov_len)
			break;
	}
	if (rem)
		ST_FAIL(t, "readv returned %zd: more than its segments took", r);
	return st_check_state(t, m, "readv");
}

static bool st_poll(struct st *t, struct mfile *m)
{
	struct pollfd pfd = { .fd = m->fd, .events = POLLIN | POLLOUT | POLLPRI |
			      POLLRDNORM | POLLWRNORM | POLLRDHUP };
	struct epoll_event ev[NFILES];
	short want = mfired(m) ? POLLIN | POLLRDNORM : 0;
	int n, i, ready = 0;

	n = poll(&pfd, 1, 0);
	t->calls++;
	if (n != !!want || pfd.revents != want)
		ST_FAIL(t, "poll: %d revents 0x%x, expected 0x%x", n, pfd.revents, want);
	n = epoll_wait(t->epfd, ev, NFILES, 0);
	for (i = 0; i < NFILES; i++)
		ready += mfired(&t->f[i]) > 0;
	if (n != ready) {
		for (i = 0; i < NFILES; i++)
			printf("# file %d: FIONREAD %d, the model's fired %d\n", i,
			       pw_fionread(t->f[i].fd), mfired(&t->f[i]));
		for (i = 0; i < n; i++)
			printf("# epoll: file %u ready\n", ev[i].data.u32);
		fflush(stdout);
		ST_FAIL(t, "epoll_wait: %d ready, the model says %d", n, ready);
	}
	for (i = 0; i < n; i++)
		if (ev[i].events != EPOLLIN || !mfired(&t->f[ev[i].data.u32]))
			ST_FAIL(t, "epoll_wait: events 0x%x on file %u", ev[i].events, ev[i].data.u32);
	return true;
}

static bool st_misc(struct st *t, struct mfile *m)
{
	char b[64];
	long r;

	switch (below(&t->s, 4)) {
	case 0:
		r = pread(m->fd, b, sizeof(b), (off_t)below(&t->s, 2));
		if (r != -1 || errno != ESPIPE)
			ST_FAIL(t, "pread: %ld (%s), expected ESPIPE", r, strerror(errno));
		break;
	case 1:
		r = lseek(m->fd, 0, SEEK_CUR);
		if (r != -1 || errno != ESPIPE)
			ST_FAIL(t, "lseek: %ld (%s), expected ESPIPE", r, strerror(errno));
		break;
	case 2:
		r = write(m->fd, b, sizeof(b));
		if (r != -1 || errno != EBADF)
			ST_FAIL(t, "write: %ld (%s), expected EBADF", r, strerror(errno));
		break;
	default:
		r = (long)mmap(NULL, PAGE, PROT_READ, MAP_SHARED, m->fd, 0);
		if ((void *)r != MAP_FAILED || errno != ENODEV)
			ST_FAIL(t, "mmap: %ld (%s), expected ENODEV", r, strerror(errno));
	}
	t->calls++;
	return st_check_state(t, m, "pread/lseek/write/mmap");
}

static bool st_reopen(struct st *t, int i)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
	int fd = pw_open(O_NONBLOCK);

	if (fd < 0)
		ST_FAIL(t, "open: %s", strerror(errno));
	/* dup2 keeps the number, so that the epoll set and the model stay right. */
	if (dup2(fd, t->f[i].fd) < 0 || close(fd))
		ST_FAIL(t, "dup2: %s", strerror(errno));
	if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->f[i].fd, &ev))
		ST_FAIL(t, "epoll_ctl: %s", strerror(errno));
	t->calls += 2;
	t->f[i].n = 0;
	return st_check_state(t, &t->f[i], "close and reopen");
}

static bool st_step(struct st *t)
{
	int i = (int)below(&t->s, NFILES);
	struct mfile *m = &t->f[i];
	uint32_t op = below(&t->s, 100);

	t->ops++;
	if (op < 30)
		return st_ioctl_arm(t, m, false);
	if (op < 45)
		return st_ioctl_arm(t, m, true);
	if (op < 50)
		return st_ioctl_out(t, m, true);
	if (op < 55)
		return st_ioctl_out(t, m, false);
	if (op < 67)
		return st_ioctl_bad(t, m);
	if (op < 82)
		return st_read(t, m);
	if (op < 87)
		return st_readv(t, m);
	if (op < 95)
		return st_poll(t, m);
	if (op < 99)
		return st_misc(t, m);
	return st_reopen(t, i);
}

FIXTURE(fuzz) {
	long saved_cap;
	int kill_rd, kill_wr;
	pid_t children[16];
	int nchildren;
	struct blocker blk[2];
	pthread_t blk_t[2];
	int nblk;
};

FIXTURE_SETUP(fuzz)
{
	int fd = pw_open(0), p[2];

	ASSERT_LE(0, fd) TH_LOG("open %s: %s (is the module loaded?)", PIDWAIT_DEVICE,
				strerror(errno));
	close(fd);
	self->saved_cap = pw_read_long(MAX_WATCHES_PARAM);
	ASSERT_LT(0, self->saved_cap);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	self->kill_rd = p[0];
	self->kill_wr = p[1];
	self->nchildren = 0;
	self->nblk = 0;
}

FIXTURE_TEARDOWN(fuzz)
{
	char buf[32];

	/* First: should a join below hang, the programs after still get the cap. */
	snprintf(buf, sizeof(buf), "%ld", self->saved_cap);
	pw_write_str(MAX_WATCHES_PARAM, buf);
	close(self->kill_wr);
	for (int i = 0; i < self->nchildren; i++) {
		kill(self->children[i], SIGKILL);
		pw_reap(self->children[i], NULL);
	}
	for (int i = 0; i < self->nblk; i++)
		pthread_join(self->blk_t[i], NULL);
	close(self->kill_rd);
}

static void report(const char *phase, uint64_t seed, uint64_t ops, uint64_t calls,
		   uint64_t t0)
{
	uint64_t ns = pw_now_ns() - t0;

	printf("# %s: calls=%llu ops=%llu seed=0x%llx secs=%llu.%02llu (replay: PIDWAIT_FUZZ_SEED=0x%llx)\n",
	       phase, (unsigned long long)calls, (unsigned long long)ops,
	       (unsigned long long)seed, (unsigned long long)(ns / 1000000000ull),
	       (unsigned long long)(ns / 10000000ull % 100), (unsigned long long)seed);
	fflush(stdout);
}

/*
 * One thread, four files, a pool of pids whose fate is known: live
 * children, zombies, reaped ones, this process, two of its threads, init,
 * pids above pid_max and below 1. Every result is predicted.
 */
TEST_F_TIMEOUT(fuzz, single, 240)
{
	static struct st t;
	struct pidwait_arm ro_arm;
	long taint = pw_taint();
	uint64_t n;
	int i;

	memset(&t, 0, sizeof(t));
	t.seed = t.s = fuzz_seed();
	t.t0 = pw_now_ns();
	n = fuzz_calls() * 2 / 5;
	printf("# single: seed=0x%llx\n", (unsigned long long)t.seed);
	ASSERT_EQ(0, pw_write_str(MAX_WATCHES_PARAM, "24"));

	for (i = 0; i < 4; i++) {
		pid_t pid = spawn_waiting(self->kill_rd);

		ASSERT_LT(0, pid);
		self->children[self->nchildren++] = pid;
		t.pool[t.npool++] = (struct ppid){ pid, K_LIVE, 0 };
	}
	for (i = 0; i < 3; i++) {
		pid_t pid = spawn_exiting(i + 3);

		ASSERT_LT(0, pid);
		self->children[self->nchildren++] = pid;
		ASSERT_EQ(0, pw_wait_zombie(pid));
		t.pool[t.npool++] = (struct ppid){ pid, K_ZOMBIE, (i + 3) << 8 };
	}
	/*
	 * No reaped PIDs: after the stress program the PID counter may wrap,
	 * and a reaped number then names processes that come and go, which no
	 * model predicts (6.12-rt did twice). pidwait_api_test covers ESRCH
	 * for a reaped PID deterministically.
	 */
	for (i = 0; i < 2; i++) {
		struct blocker *b = &self->blk[i];

		b->rd = self->kill_rd;
		ASSERT_EQ(0, pipe(b->tidpipe));
		ASSERT_EQ(0, pthread_create(&self->blk_t[i], NULL, blocker_main, b));
		self->nblk++;
		ASSERT_EQ(sizeof(pid_t), read(b->tidpipe[0], &b->tid, sizeof(pid_t)));
		close(b->tidpipe[0]);
		close(b->tidpipe[1]);
		t.pool[t.npool++] = (struct ppid){ b->tid, K_THREAD, 0 };
	}
	t.pool[t.npool++] = (struct ppid){ getpid(), K_SELF, 0 };
	t.pool[t.npool++] = (struct ppid){ 1, K_INIT, 0 };

	ro_arm = (struct pidwait_arm){ .pid = getpid(), .cookie = cookie_of(getpid(), 0) };
	ASSERT_EQ(0, arena_init(&t.a, &ro_arm));
	t.epfd = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, t.epfd);
	for (i = 0; i < NFILES; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		struct pidwait_info info;

		t.f[i].fd = pw_open(O_NONBLOCK);
		ASSERT_LE(0, t.f[i].fd);
		ASSERT_EQ(0, epoll_ctl(t.epfd, EPOLL_CTL_ADD, t.f[i].fd, &ev));
		ASSERT_EQ(0, pw_info(t.f[i].fd, &info));
		t.arm_flags = info.arm_flags;
	}

	while (t.calls < n) {
		/* Braces: the harness's TH_LOG clause is what stops the test. */
		ASSERT_TRUE(st_step(&t)) TH_LOG("op %llu, seed 0x%llx: %s",
						(unsigned long long)t.ops,
						(unsigned long long)t.seed, t.why);
	}
	for (i = 0; i < NFILES; i++)
		close(t.f[i].fd);
	close(t.epfd);
	report("single", t.seed, t.ops, t.calls, t.t0);
	ASSERT_EQ(0, (pw_taint() ^ taint) & PW_TAINT_BAD);
}

/* ---- the threaded phase ------------------------------------------------ */

struct mt {
	uint64_t seed, t0, quota;
	struct arena a;
	int fd[NFILES];			/* numbers fixed: reopen is dup2 */
	int epfd;
	_Atomic pid_t pool[POOL];
	_Atomic uint64_t calls;
	_Atomic int done;
	_Atomic bool failed;
	pthread_t tid[MT_THREADS];
	_Atomic pid_t ktid[MT_THREADS];
	atomic_flag why_set;
	char why[512];
	uint64_t forks, threads, signals;
};

static struct mt mt;

static void mt_fail(const char *fmt, ...)
{
	va_list ap;

	if (atomic_flag_test_and_set(&mt.why_set))
		return;
	va_start(ap, fmt);
	vsnprintf(mt.why, sizeof(mt.why), fmt, ap);
	va_end(ap);
	atomic_store(&mt.failed, true);
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

static bool errno_in(long r, const int *ok, int n)
{
	for (int i = 0; i < n; i++)
		if (r == -ok[i])
			return true;
	return false;
}

static bool mt_records(const unsigned char *buf, size_t n, const char *what)
{
	struct pidwait_event ev;
	uint64_t now = pw_now_ns();
	const char *bad;

	if (n % PW_EVSZ) {
		mt_fail("%s returned %zu: not whole records", what, n);
		return false;
	}
	for (size_t off = 0; off < n; off += PW_EVSZ) {
		memcpy(&ev, buf + off, sizeof(ev));
		bad = record_bad(&ev, now);
		if (!bad && ev.exit_time_ns < mt.t0)
			bad = "exit_time_ns before the test";
		if (!bad && ev.cookie != cookie_of(ev.pid, ev.flags & PIDWAIT_EVENT_THREAD))
			bad = "a cookie it was not armed with";
		if (bad) {
			mt_fail("%s: record pid %d flags 0x%x status 0x%x reserved %u cookie 0x%llx: %s",
				what, ev.pid, ev.flags, ev.status, ev.reserved,
				(unsigned long long)ev.cookie, bad);
			return false;
		}
	}
	return true;
}

static void mt_arm(uint64_t *s, int fd)
{
	/* EINTR: both wait for the file's lock, interruptibly (no SA_RESTART here). */
	static const int arm_ok[] = { ESRCH, EEXIST, ENOSPC, EINTR };
	static const int disarm_ok[] = { ENOENT, EINTR };
	struct uptr u = pick_ptr(s, &mt.a, sizeof(struct pidwait_arm), false);
	bool disarm = below(s, 3) == 0;
	struct pidwait_arm arm;
	uint32_t r5 = below(s, 20);
	long r;

	if (r5 == 0)
		arm.pid = (pid_t)rnd(s);
	else if (r5 == 1)
		arm.pid = getpid();
	else
		arm.pid = atomic_load(&mt.pool[below(s, POOL)]);
	arm.flags = pick_flags(s);
	arm.cookie = cookie_of(arm.pid, arm.flags & PIDWAIT_ARM_THREAD);
	/* Stack copies: other threads scribble on the shared arena. */
	if (u.kind != P_RO && u.span >= sizeof(arm))
		u.p = (unsigned char *)&arm;
	else if (u.kind == P_RO)
		memcpy(&arm, u.p, sizeof(arm));
	r = sys_ioctl(fd, disarm ? PIDWAIT_IOC_DISARM : PIDWAIT_IOC_ARM, u.p);
	atomic_fetch_add(&mt.calls, 1);
	if (u.span < sizeof(arm)) {
		if (r != -EFAULT)
			mt_fail("%s at %p (kind %d): %ld, expected EFAULT",
				disarm ? "DISARM" : "ARM", (void *)u.p, u.kind, r);
		return;
	}
	if (arm.pid <= 0 || (arm.flags & ~PIDWAIT_ARM_THREAD)) {
		if (r != -EINVAL)
			mt_fail("%s(pid %d, flags 0x%x): %ld, expected EINVAL",
				disarm ? "DISARM" : "ARM", arm.pid, arm.flags, r);
		return;
	}
	/* A pid may be a thread's (or become one): only then EINVAL. */
	if (r == 0 || (r == -EINVAL && !(arm.flags & PIDWAIT_ARM_THREAD)))
		return;
	if (disarm ? !errno_in(r, disarm_ok, 2) : !errno_in(r, arm_ok, 4))
		mt_fail("%s(pid %d, flags 0x%x): %ld (%s)", disarm ? "DISARM" : "ARM",
			arm.pid, arm.flags, r, strerror((int)-r));
}

static void mt_read(uint64_t *s, int fd, timer_t timer)
{
	struct itimerspec its = { .it_value.tv_nsec = 300000 };
	unsigned char buf[8 * PW_EVSZ + 64];
	size_t count = pick_count(s), fill;
	struct uptr u;
	long r;

	if (below(s, 2)) {
		/* A private buffer: its bytes beyond what read returns are checked. */
		count = count > 8 * PW_EVSZ ? 8 * PW_EVSZ : count;
		u.p = buf + (below(s, 4) ? 0 : 1 + below(s, 7));
		u.span = sizeof(buf) - (size_t)(u.p - buf);
		u.kind = P_RW;
	} else {
		u = pick_ptr(s, &mt.a, count, true);
		if (in_rw(&mt.a, &u) && u.kind != P_END)
			u.span = 0;	/* shared: cannot be checked, nor trusted */
	}
	fill = u.p >= buf && u.p < buf + sizeof(buf) ? count : 0;
	if (fill)
		memset(u.p, 0x5e, fill);
	/* On the blocking file, an event or this thread's timer ends the read. */
	if (fd == mt.fd[NFILES - 1])
		timer_settime(timer, 0, &its, NULL);
	r = read(fd, u.p, count);
	r = r < 0 ? -errno : r;
	atomic_fetch_add(&mt.calls, 1);
	if (r > 0) {
		if ((size_t)r > count || (u.span && (size_t)r > u.span) ||
		    (u.kind != P_RW && u.kind != P_ODD && u.kind != P_END))
			mt_fail("read(%p kind %d, %zu) returned %ld", (void *)u.p, u.kind, count, r);
		else if (fill)
			mt_records(u.p, (size_t)r, "read");
		if (fill && !untouched(u.p + r, fill - (size_t)r, 0x5e))
			mt_fail("read(%zu) returned %ld but wrote beyond it", count, r);
		return;
	}
	if (r == 0) {
		mt_fail("read(%zu) returned 0", count);
		return;
	}
	if (count < PW_EVSZ && access_ok_for(u.p, count) == 1) {
		if (r != -EINVAL)
			mt_fail("read(%zu): %ld, expected EINVAL", count, r);
		return;
	}
	if (r != -EAGAIN && r != -EINTR && r != -EFAULT && r != -EINVAL)
		mt_fail("read(%p, %zu): %ld (%s)", (void *)u.p, count, r, strerror((int)-r));
	if (r == -EFAULT && fill)
		mt_fail("read(%zu) into a good buffer: EFAULT", count);
	if (fill && !untouched(u.p, fill, 0x5e))
		mt_fail("read(%zu) failed (%ld) but wrote to the buffer", count, r);
}

static void mt_small(uint64_t *s, int fd)
{
	struct pidwait_info info;
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI };
	struct epoll_event ev[NFILES];
	int v, n;
	long r;

	switch (below(s, 6)) {
	case 0:
		r = sys_ioctl(fd, PIDWAIT_IOC_GET_INFO, &info);
		if (r || info.api_version != PIDWAIT_API_VERSION || info.event_size != PW_EVSZ ||
		    info.reserved[0] || info.reserved[2] || info.nr_watches > info.max_watches)
			mt_fail("GET_INFO: %ld, or garbage", r);
		break;
	case 1:
		v = -1;
		r = sys_ioctl(fd, FIONREAD, &v);
		if (r || v < 0 || v % PW_EVSZ)
			mt_fail("FIONREAD: %ld, %d", r, v);
		break;
	case 2:
		r = sys_ioctl(fd, below(s, 2) ? PIDWAIT_IOC_GET_INFO : FIONREAD,
			      pick_ptr(s, &mt.a, 64, true).p);
		if (r && r != -EFAULT)
			mt_fail("GET_INFO/FIONREAD: %ld", r);
		break;
	case 3:
		r = sys_ioctl(fd, bad_cmd(s), pick_ptr(s, &mt.a, 64, true).p);
		if (r != -ENOTTY)
			mt_fail("a bad ioctl: %ld, expected ENOTTY", r);
		break;
	case 4:
		n = poll(&pfd, 1, 0);
		if (n < 0 ? errno != EINTR : pfd.revents & ~(POLLIN | POLLRDNORM))
			mt_fail("poll: %d revents 0x%x", n, pfd.revents);
		break;
	default:
		n = epoll_wait(mt.epfd, ev, NFILES, 0);
		for (int i = 0; i < n; i++)
			if (ev[i].events & ~EPOLLIN)
				mt_fail("epoll_wait: events 0x%x", ev[i].events);
		if (n < 0 && errno != EINTR)
			mt_fail("epoll_wait: %s", strerror(errno));
	}
	atomic_fetch_add(&mt.calls, 1);
}

static void mt_reopen(uint64_t *s, int i)
{
	struct epoll_event ev = { .events = EPOLLIN | (below(s, 2) ? EPOLLET : 0) };
	int fd = pw_open(i < NFILES - 1 ? O_NONBLOCK : 0);

	if (fd < 0 || dup2(fd, mt.fd[i]) < 0) {
		mt_fail("reopen: %s", strerror(errno));
		return;
	}
	close(fd);
	epoll_ctl(mt.epfd, EPOLL_CTL_ADD, mt.fd[i], &ev);
	atomic_fetch_add(&mt.calls, 3);
}

static void *mt_fuzzer(void *arg)
{
	int idx = (int)(intptr_t)arg;
	uint64_t s = mt.seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(idx + 1));
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1 };
	uint64_t mine = 0;
	timer_t timer;

	atomic_store(&mt.ktid[idx], pw_gettid());
	sev.sigev_notify_thread_id = pw_gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer)) {
		mt_fail("timer_create: %s", strerror(errno));
		atomic_fetch_add(&mt.done, 1);
		return NULL;
	}
	while (mine < mt.quota && !atomic_load(&mt.failed)) {
		uint64_t before = atomic_load(&mt.calls);
		int i = (int)below(&s, NFILES);
		uint32_t op = below(&s, 1000);

		if (op < 450)
			mt_arm(&s, mt.fd[i]);
		else if (op < 800)
			mt_read(&s, mt.fd[i == NFILES - 1 && below(&s, 8) ? (int)below(&s, NFILES - 1) : i],
				timer);
		else if (op < 999)
			mt_small(&s, mt.fd[i]);
		else
			mt_reopen(&s, i);
		mine += atomic_load(&mt.calls) > before ? 1 : 0;
	}
	timer_delete(timer);
	atomic_fetch_add(&mt.done, 1);
	return NULL;
}

static void *short_thread(void *arg)
{
	_Atomic pid_t *slot = arg;

	atomic_store(slot, pw_gettid());
	return NULL;
}

/*
 * The churn: children that exit at once, with a code or by a signal, or
 * wait to be killed; threads that come and go; signals that interrupt
 * the fuzzers' calls. Runs until every fuzzer is done. A few zombies are
 * kept unreaped for a while.
 */
static void churn(uint64_t seed, int kill_rd)
{
	pid_t zombies[8] = { 0 };
	uint64_t s = seed ^ 0xc4c4c4c4ull;
	unsigned int slot = 0, z = 0;

	while (atomic_load(&mt.done) < MT_THREADS) {
		uint32_t op = below(&s, 10);
		pid_t pid;

		/*
		 * Pacing, not synchronisation: a fork costs milliseconds under
		 * TCG, and unpaced they would take the CPUs from the fuzzers.
		 */
		if (op < 4) {
			pw_sleep_ms(2);
			pid = op < 2 ? spawn_exiting((int)below(&s, 256)) : spawn_waiting(kill_rd);
			if (pid < 0)
				continue;
			mt.forks++;
			atomic_store(&mt.pool[slot++ % POOL], pid);
			/* A waiting child dies now, or lives until its reap. */
			if (op == 2)
				kill(pid, SIGKILL);
			if (zombies[z % 8] > 0) {
				kill(zombies[z % 8], SIGKILL);
				pw_reap(zombies[z % 8], NULL);
			}
			zombies[z++ % 8] = pid;
		} else if (op < 5) {
			pthread_t t;

			if (!pthread_create(&t, NULL, short_thread, &mt.pool[slot++ % POOL])) {
				pthread_join(t, NULL);
				mt.threads++;
			}
		} else {
			pid_t tid = atomic_load(&mt.ktid[below(&s, MT_THREADS)]);

			if (tid > 0 && !syscall(SYS_tgkill, getpid(), tid, SIGUSR1))
				mt.signals++;
		}
		if (!below(&s, 8))
			atomic_store(&mt.pool[below(&s, POOL)],
				     atomic_load(&mt.ktid[below(&s, MT_THREADS)]));
	}
	for (unsigned int i = 0; i < 8; i++) {
		if (zombies[i] > 0) {
			kill(zombies[i], SIGKILL);
			pw_reap(zombies[i], NULL);
		}
	}
}

/*
 * Several threads on four shared files, while processes and threads
 * exit, a file is closed under the others (dup2 over it) and signals
 * interrupt blocking reads. No model: every result must be one the call
 * may give, and every record well formed.
 */
TEST_F_TIMEOUT(fuzz, threads, 240)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };	/* no SA_RESTART */
	struct pidwait_arm ro_arm;
	long taint = pw_taint();
	int i;

	memset(&mt, 0, sizeof(mt));
	atomic_flag_clear(&mt.why_set);
	mt.seed = fuzz_seed();
	mt.t0 = pw_now_ns();
	mt.quota = (fuzz_calls() - fuzz_calls() * 2 / 5) / MT_THREADS;
	printf("# threads: seed=0x%llx\n", (unsigned long long)mt.seed);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ro_arm = (struct pidwait_arm){ .pid = getpid(), .cookie = cookie_of(getpid(), 0) };
	ASSERT_EQ(0, arena_init(&mt.a, &ro_arm));
	mt.epfd = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, mt.epfd);
	for (i = 0; i < NFILES; i++) {
		struct epoll_event ev = { .events = EPOLLIN };

		/* The last one blocks: its reads end with an event or a signal. */
		mt.fd[i] = pw_open(i < NFILES - 1 ? O_NONBLOCK : 0);
		ASSERT_LE(0, mt.fd[i]);
		ASSERT_EQ(0, epoll_ctl(mt.epfd, EPOLL_CTL_ADD, mt.fd[i], &ev));
	}
	for (i = 0; i < POOL; i++)
		atomic_store(&mt.pool[i], getpid());
	for (i = 0; i < MT_THREADS; i++) {
		ASSERT_EQ(0, pthread_create(&mt.tid[i], NULL, mt_fuzzer, (void *)(intptr_t)i));
	}
	churn(mt.seed, self->kill_rd);
	for (i = 0; i < MT_THREADS; i++)
		pthread_join(mt.tid[i], NULL);
	for (i = 0; i < NFILES; i++)
		close(mt.fd[i]);
	close(mt.epfd);
	report("threads", mt.seed, atomic_load(&mt.calls), atomic_load(&mt.calls), mt.t0);
	printf("# threads: forks=%llu threads=%llu signals=%llu\n",
	       (unsigned long long)mt.forks, (unsigned long long)mt.threads,
	       (unsigned long long)mt.signals);
	ASSERT_FALSE(atomic_load(&mt.failed)) TH_LOG("seed 0x%llx: %s",
						     (unsigned long long)mt.seed, mt.why);
	ASSERT_EQ(0, (pw_taint() ^ taint) & PW_TAINT_BAD);
}

/* ---- trinity ------------------------------------------------------------ */

/*
 * trinity, as nobody, with /dev/pidwait its only file (the "pseudo" fd
 * provider opens the victim path; every other provider is off), limited
 * to the calls that reach a character device's file operations.
 */
TEST_F_TIMEOUT(fuzz, trinity, 240)
{
	static const char *const calls[] = {
		"ioctl", "read", "readv", "pread64", "preadv", "preadv2", "poll",
		"ppoll", "select", "epoll_create1", "epoll_ctl",
		"epoll_wait", "epoll_pwait", "dup", "dup2", "dup3", "fcntl",
		"newfstat", "lseek", "write", "mmap", "flock", "fsync",
	};
	char dir[] = "/tmp/pidwait-trinity-XXXXXX", ops[32], seed[32], *argv[96];
	uint64_t sd = fuzz_seed(), t0 = pw_now_ns();
	long taint = pw_taint();
	int p[2], st = 0, argc = 0;
	bool added = false, ran = false, enotty = false;
	char *line = NULL;
	size_t cap = 0;
	FILE *out;
	pid_t pid;

	if (access(TRINITY, X_OK))
		SKIP(return, "no %s in this guest (selftests/qemu/install-deps installs it)",
		     TRINITY);
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, chown(dir, NOBODY, NOBODY));
	ASSERT_EQ(0, pipe(p));
	snprintf(ops, sizeof(ops), "-N%llu",
		 (unsigned long long)env_u64("PIDWAIT_FUZZ_TRINITY_OPS", 1500));
	snprintf(seed, sizeof(seed), "-s%u", (unsigned int)sd);
	argv[argc++] = TRINITY;
	argv[argc++] = getenv("PIDWAIT_FUZZ_TRINITY_VERBOSE") ? "-v" : "-q";
	argv[argc++] = "--stats";
	argv[argc++] = ops;
	argv[argc++] = seed;
	argv[argc++] = "-C2";
	argv[argc++] = "-V" PIDWAIT_DEVICE;
	argv[argc++] = "--enable-fds=pseudo";
	argv[argc++] = "-loff";
	if (getenv("PIDWAIT_FUZZ_TRINITY_CALLS")) {
		/* A comma-separated list, to look at a few calls alone. */
		for (char *c = strtok(getenv("PIDWAIT_FUZZ_TRINITY_CALLS"), ","); c && argc < 90;
		     c = strtok(NULL, ",")) {
			argv[argc++] = "-c";
			argv[argc++] = c;
		}
	} else {
		for (unsigned int i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
			argv[argc++] = "-c";
			argv[argc++] = (char *)calls[i];
		}
	}
	argv[argc] = NULL;
	printf("# trinity: seed=%u, %s\n", (unsigned int)sd, ops);
	fflush(stdout);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *envp[] = { "PATH=/usr/bin:/bin", "HOME=/tmp", NULL };

		dup2(p[1], 1);
		dup2(p[1], 2);
		pw_child_init(getppid());
		CHILD_CHECK(!chdir(dir));
		CHILD_CHECK(!setgroups(0, NULL));
		CHILD_CHECK(!setresgid(NOBODY, NOBODY, NOBODY));
		CHILD_CHECK(!setresuid(NOBODY, NOBODY, NOBODY));
		execve(TRINITY, argv, envp);
		_exit(127);
	}
	close(p[1]);
	/* Its whole output, as it comes, as diagnostics. */
	out = fdopen(p[0], "r");
	ASSERT_NE(NULL, out);
	while (getline(&line, &cap, out) > 0) {
		line[strcspn(line, "\n")] = 0;
		printf("# trinity| %s\n", line);
		added |= !!strstr(line, "Added 1 filenames from " PIDWAIT_DEVICE);
		ran |= !!strstr(line, "] Ran ");
		enotty |= !!strstr(line, "Inappropriate ioctl for device");
	}
	free(line);
	fclose(out);
	ASSERT_EQ(0, pw_reap(pid, &st));
	/*
	 * It ran, on the device: its only file was opened and it counted its
	 * calls. Whether its ioctl() calls got through is shown, not asserted:
	 * with one file, opened blocking half the time, its reads wait for
	 * trinity's alarm, and what an alarm ends is not counted.
	 */
	printf("# trinity: ioctl reached the driver (ENOTTY): %s\n", enotty ? "yes" : "no");
	printf("# trinity: secs=%llu\n", (unsigned long long)((pw_now_ns() - t0) / 1000000000ull));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("trinity: status 0x%x", st);
	ASSERT_TRUE(added && ran) TH_LOG("trinity did not report calls on %s", PIDWAIT_DEVICE);
	ASSERT_EQ(0, (pw_taint() ^ taint) & PW_TAINT_BAD);
	rmdir(dir);
}

PIDWAIT_HARNESS_MAIN
