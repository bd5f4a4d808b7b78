// SPDX-License-Identifier: GPL-2.0
/*
 * Stress, each program bounded by a count (the contract) and by time (a
 * guard against hangs only: running out of time before the count is a
 * failure): a million concurrent operations on shared and private files
 * while the watched processes exit, exec and are killed; kills racing with
 * the arm; a PID number reused in a new pid namespace; one PID on 10,000
 * files; 100,000 watches on one file, their processes killed 10,000 at
 * once, their events read in one call that must reschedule as it goes;
 * reads blocked while they are killed or their descriptor is closed, or
 * while their copy out faults. Figures are printed as KTAP diagnostics
 * ("# key=value ...").
 * PIDWAIT_STRESS_PCT scales the counts (default 100), for debugging only.
 *
 * The kill-before-arm case at 1,000 rounds is pidwait_race_test's
 * kill_then_arm; kill_vs_arm here sends the kill from the other CPU while
 * the arm runs, 10,000 times.
 */
#include "pidwait_util.h"

#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <linux/userfaultfd.h>

#include "kselftest_harness.h"

#ifndef CLONE_NEWPID
#define CLONE_NEWPID	0x20000000
#endif

static int scaled(int n)
{
	const char *env = getenv("PIDWAIT_STRESS_PCT");
	long pct = env ? strtol(env, NULL, 0) : 100;

	if (pct < 1)
		pct = 1;
	n = (int)((long)n * pct / 100);
	return n < 1 ? 1 : n;
}

static double secs_since(uint64_t t0)
{
	return (double)(pw_now_ns() - t0) / 1e9;
}

/* A figure for the lead to collect: "# key=value ..." on stdout. */
#define FIGURE(fmt, ...)						\
	do {								\
		ksft_print_msg(fmt "\n", ##__VA_ARGS__);		\
		fflush(stdout);						\
	} while (0)

static bool two_cpus(void)
{
	cpu_set_t set;

	return !sched_getaffinity(0, sizeof(set), &set) && CPU_ISSET(0, &set) &&
	       CPU_ISSET(1, &set);
}

static void pin_tid(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(tid, sizeof(set), &set);
}

static unsigned int rnd(unsigned int *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

/* A bare child that waits to be killed; the parent's death kills it too. */
static pid_t spawn_pause(int cpu)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	if (pid > 0 && cpu >= 0)
		pin_tid(pid, cpu);
	return pid;
}

/*
 * Bounded wait for a child's exit: a hang here is what the test is
 * looking for, so it must not hang the test itself.
 */
static int reap_within(pid_t pid, int *status, int timeout_ms)
{
	uint64_t end = pw_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	int st = 0;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &st, WNOHANG | __WALL);
		if (r == pid) {
			if (status)
				*status = st;
			return 0;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (pw_now_ns() > end)
			return -ETIMEDOUT;
		pw_sleep_ms(1);
	}
}

static int raise_nofile(rlim_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= n)
		return 0;
	rl.rlim_cur = n;
	if (rl.rlim_max < n)
		rl.rlim_max = n;
	return setrlimit(RLIMIT_NOFILE, &rl) ? -errno : 0;
}

static long saved_pid_max = -1, saved_threads_max = -1;

static void restore_sysctls(void)
{
	char buf[32];

	if (saved_pid_max > 0) {
		snprintf(buf, sizeof(buf), "%ld", saved_pid_max);
		pw_write_str("/proc/sys/kernel/pid_max", buf);
		saved_pid_max = -1;
	}
	if (saved_threads_max > 0) {
		snprintf(buf, sizeof(buf), "%ld", saved_threads_max);
		pw_write_str("/proc/sys/kernel/threads-max", buf);
		saved_threads_max = -1;
	}
}

/* Sets path to want if it is below (raise) or above (!raise), keeping the old value. */
static int set_sysctl(const char *path, long want, bool raise, long *saved)
{
	char buf[32];
	long cur = pw_read_long(path);
	int ret;

	if (cur < 0)
		return (int)cur;
	if (raise ? cur >= want : cur <= want)
		return 0;
	snprintf(buf, sizeof(buf), "%ld", want);
	ret = pw_write_str(path, buf);
	if (!ret)
		*saved = cur;
	return ret;
}

/* Files open on the module: each holds a reference on it. */
static long module_refs(void)
{
	return pw_read_long("/sys/module/pidwait/refcnt");
}

FIXTURE(stress) {
	long taint;
	long refs;
	uint64_t t0;
};

FIXTURE_SETUP(stress)
{
	self->taint = pw_taint();
	self->refs = module_refs();
	self->t0 = pw_now_ns();
}

FIXTURE_TEARDOWN(stress)
{
	FIGURE("%s secs=%.1f", _metadata->name, secs_since(self->t0));
	restore_sysctls();
	EXPECT_EQ(self->taint & PW_TAINT_BAD, pw_taint() & PW_TAINT_BAD);
	/* Every file of the test is closed, every process that had one reaped. */
	EXPECT_EQ(self->refs, module_refs());
}

/* ==== 1. a million concurrent operations ================================= */

#define ST_OPS		1000000
#define ST_THREADS	6
#define ST_SHARED	8
#define ST_TARGETS	24
#define ST_SECS		170
#define ST_MAX_SERIAL	(1 << 20)
#define ST_MAX_GEN	(1 << 16)
#define ST_REC_BITS	20

/* What ends a target, and how it gets there. */
enum st_kind {
	K_EXIT,		/* exits with a code when told, over a pipe */
	K_KILL,		/* SIGKILL */
	K_EXEC,		/* a non-leader thread execs, then the new image exits */
	K_LEADER,	/* the leader exits first, then another thread ends the group */
	K_NR,
};

struct st_target {
	pthread_rwlock_t lock;	/* read: arm or disarm its number; write: change it */
	int serial;		/* 0: empty */
	pid_t pid;
	int kind;
	int stage;		/* steps taken towards its end */
	bool ended;		/* a zombie, or about to be: reap it next */
	int pipe_w;		/* K_EXIT */
	struct worker w;	/* K_EXEC, K_LEADER */
};

struct st_serial {
	pid_t pid;
	int status;		/* expected wait status, -1 while it must not fire */
};

/* One open file, from open to close. */
struct st_gen {
	int arms, disarms, reads;
};

struct st_fd {
	int fd;
	int gen;
	int users;		/* threads using fd now */
	int closing;
};

/* Per cookie: (serial << 32) | gen. */
struct st_rec {
	uint64_t key;
	int arms, disarms, reads;
};

static struct {
	struct st_target tgt[ST_TARGETS];
	struct st_serial *serials;
	struct st_gen *gens;
	struct st_rec *recs;
	struct st_fd shared[ST_SHARED];
	struct st_fd priv[ST_THREADS];
	int next_serial, next_gen;
	long ops, nops[8];
	int stop;
	int failed;
	char why[256];
	pthread_mutex_t fail_lock;
	pthread_mutex_t worker_lock;	/* worker_start() uses a global */
	long procs, churns, closes, events, arms, disarms, dropped;
} st;

enum { OP_ARM, OP_DISARM, OP_READ, OP_POLL, OP_INFO, OP_CHURN, OP_CLOSE };

/*
 * Zeroed, and not copied into the children: a fork would otherwise copy
 * and write-protect every page touched, which under TCG costs more than
 * all the rest.
 */
static void *table_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, len, MADV_DONTFORK)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

static void st_fail(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&st.fail_lock);
	if (!st.failed) {
		va_start(ap, fmt);
		vsnprintf(st.why, sizeof(st.why), fmt, ap);
		va_end(ap);
		st.failed = 1;
	}
	pthread_mutex_unlock(&st.fail_lock);
	__atomic_store_n(&st.stop, 1, __ATOMIC_SEQ_CST);
}

static uint64_t st_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

/* Finds or inserts the record of a cookie; NULL when the table is full. */
static struct st_rec *st_rec(uint64_t key, bool insert)
{
	uint64_t mask = (1ull << ST_REC_BITS) - 1, i = st_hash(key) & mask;

	for (uint64_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
		struct st_rec *r = &st.recs[i];
		uint64_t cur = __atomic_load_n(&r->key, __ATOMIC_ACQUIRE);

		if (cur == key)
			return r;
		if (cur)
			continue;
		if (!insert)
			return NULL;
		if (__atomic_compare_exchange_n(&r->key, &cur, key, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
		    cur == key)
			return r;
	}
	return NULL;
}

static void st_add(int *p, int v)
{
	__atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}

static int st_new_fd(struct st_fd *s)
{
	s->gen = __atomic_add_fetch(&st.next_gen, 1, __ATOMIC_SEQ_CST);
	if (s->gen >= ST_MAX_GEN)
		return -ENOSPC;
	s->fd = pw_open(O_NONBLOCK);
	return s->fd < 0 ? -errno : 0;
}

/* Take a file for one operation; false while it is being closed. */
static bool st_get(struct st_fd *s)
{
	__atomic_fetch_add(&s->users, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&s->closing, __ATOMIC_SEQ_CST))
		return true;
	__atomic_fetch_sub(&s->users, 1, __ATOMIC_SEQ_CST);
	return false;
}

static void st_put(struct st_fd *s)
{
	__atomic_fetch_sub(&s->users, 1, __ATOMIC_SEQ_CST);
}

/*
 * Check one event read from file s: its cookie names a watch armed on this
 * very file, on a process that has ended, with the status it ended with.
 */
static void st_event(struct st_fd *s, const struct pidwait_event *ev)
{
	int serial = (int)(ev->cookie >> 32), gen = (int)(ev->cookie & 0xffffffff);
	struct st_rec *r = st_rec(ev->cookie, false);
	int want;

	if (gen != s->gen || serial <= 0 || serial >= ST_MAX_SERIAL || !r) {
		st_fail("event pid %d cookie %#llx on file gen %d: never armed there",
			ev->pid, (unsigned long long)ev->cookie, s->gen);
		return;
	}
	want = __atomic_load_n(&st.serials[serial].status, __ATOMIC_SEQ_CST);
	if (ev->pid != st.serials[serial].pid || want == -1 ||
	    ev->flags != PIDWAIT_EVENT_STATUS || ev->status != want ||
	    ev->reserved || !ev->exit_time_ns)
		st_fail("event pid %d (serial %d, pid %d) flags %#x status %#x, expected %#x%s",
			ev->pid, serial, st.serials[serial].pid, ev->flags, ev->status, want,
			want == -1 ? ": it has not ended" : "");
	st_add(&r->reads, 1);
	st_add(&st.gens[gen].reads, 1);
}

static int st_read(struct st_fd *s, int max)
{
	struct pidwait_event ev[8];
	ssize_t n = read(s->fd, ev, (size_t)PW_EVSZ * (max > 8 ? 8 : max));

	if (n < 0) {
		if (errno != EAGAIN)
			st_fail("read: %s", strerror(errno));
		return 0;
	}
	if (n % PW_EVSZ || !n)
		st_fail("read returned %zd", n);
	for (int i = 0; i < n / PW_EVSZ; i++)
		st_event(s, &ev[i]);
	return (int)(n / PW_EVSZ);
}

/* Every watch of the file is armed, read, disarmed or now dropped by the close. */
static void st_close(struct st_fd *s, bool reopen)
{
	struct st_gen *g = &st.gens[s->gen];
	int nr = pw_nr_watches(s->fd);
	int left = __atomic_load_n(&g->arms, __ATOMIC_SEQ_CST) -
		   __atomic_load_n(&g->disarms, __ATOMIC_SEQ_CST) -
		   __atomic_load_n(&g->reads, __ATOMIC_SEQ_CST);

	if (nr != left)
		st_fail("file gen %d: nr_watches %d, but armed %d - disarmed %d - read %d = %d",
			s->gen, nr, g->arms, g->disarms, g->reads, left);
	if (nr > 0)
		__atomic_fetch_add(&st.dropped, nr, __ATOMIC_SEQ_CST);
	if (close(s->fd))
		st_fail("close: %s", strerror(errno));
	s->fd = -1;
	if (reopen) {
		int ret = st_new_fd(s);

		if (ret)
			st_fail("reopen: %s", strerror(-ret));
	}
}

static int st_setup_leader(void *arg)
{
	(void)arg;
	return 0;
}

/* Fill an empty slot with a new process of a random kind. Under its write lock. */
static void st_spawn(struct st_target *t, unsigned int *seed)
{
	int serial = __atomic_add_fetch(&st.next_serial, 1, __ATOMIC_SEQ_CST);
	pid_t parent = getpid();
	int p[2], ret;

	if (serial >= ST_MAX_SERIAL) {
		st_fail("out of serials");
		return;
	}
	t->kind = rnd(seed) % K_NR;
	t->stage = 0;
	t->ended = false;
	t->pipe_w = -1;
	worker_init(&t->w);
	switch (t->kind) {
	case K_EXIT:
	case K_KILL:
		if (pipe2(p, O_CLOEXEC)) {
			st_fail("pipe: %s", strerror(errno));
			return;
		}
		t->pid = fork();
		if (t->pid == 0) {
			unsigned char code = 0;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			close(p[1]);
#ifdef SYS_close_range
			/* Drop the pidwait files at once: their last close may be ours. */
			syscall(SYS_close_range, p[0] + 1, ~0U, 0);
#endif
			/* EOF (the test died or killed us): leave. */
			if (read(p[0], &code, 1) != 1)
				_exit(99);
			_exit(code);
		}
		close(p[0]);
		if (t->pid < 0) {
			close(p[1]);
			st_fail("fork: %s", strerror(errno));
			return;
		}
		t->pipe_w = p[1];
		break;
	default:
		pthread_mutex_lock(&st.worker_lock);
		ret = worker_start(&t->w, 2, st_setup_leader, NULL);
		pthread_mutex_unlock(&st.worker_lock);
		if (ret) {
			worker_free(&t->w);
			st_fail("worker_start: %s", strerror(-ret));
			return;
		}
		t->pid = t->w.pid;
		break;
	}
	st.serials[serial].pid = t->pid;
	__atomic_store_n(&st.serials[serial].status, -1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->serial, serial, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&st.procs, 1, __ATOMIC_SEQ_CST);
}

static void st_expect(struct st_target *t, int status)
{
	__atomic_store_n(&st.serials[t->serial].status, status, __ATOMIC_SEQ_CST);
	t->ended = true;
}

/* One step of a target's life: towards its end, or reap it and start another. */
static void st_churn(struct st_target *t, unsigned int *seed)
{
	struct w_report r;
	int code = rnd(seed) & 0x7f, st_ = -1, ret = 0;
	unsigned char c = (unsigned char)code;

	if (t->ended) {
		int want = st.serials[t->serial].status;

		ret = reap_within(t->pid, &st_, PW_TIMEOUT_MS);
		if (ret)
			st_fail("reap %d: %s", t->pid, strerror(-ret));
		else if (st_ != want)
			st_fail("pid %d (kind %d) ended with %#x, expected %#x", t->pid,
				t->kind, st_, want);
		t->w.reaped = true;
		worker_free(&t->w);
		if (t->pipe_w >= 0)
			close(t->pipe_w);
		__atomic_store_n(&t->serial, 0, __ATOMIC_SEQ_CST);
		st_spawn(t, seed);
		return;
	}
	switch (t->kind) {
	case K_EXIT:
		st_expect(t, W_EXITCODE(code, 0));
		if (write(t->pipe_w, &c, 1) != 1)
			ret = -errno;
		break;
	case K_KILL:
		st_expect(t, SIGKILL);
		ret = kill(t->pid, SIGKILL) ? -errno : 0;
		break;
	case K_EXEC:
		if (t->stage++ == 0) {
			/* Not an exit: nothing may fire. */
			ret = worker_cmd(&t->w, 1, W_EXEC, 0);
			if (!ret)
				ret = w_read_report(&t->w, &r, PW_TIMEOUT_MS);
			if (!ret && r.idx != W_EXECED)
				ret = -EPROTO;
		} else {
			st_expect(t, W_EXITCODE(code, 0));
			ret = worker_cmd(&t->w, 1, W_EXIT_GROUP, code);
		}
		break;
	case K_LEADER:
		if (t->stage++ == 0) {
			ret = worker_cmd(&t->w, 0, W_EXIT_THREAD, 0);
		} else {
			st_expect(t, W_EXITCODE(code, 0));
			ret = worker_cmd(&t->w, 1, W_EXIT_GROUP, code);
		}
		break;
	}
	if (ret)
		st_fail("ending pid %d (kind %d, stage %d): %s", t->pid, t->kind,
			t->stage, strerror(-ret));
}

/* A file for one operation: shared (3 times in 4) or the thread's own. */
static struct st_fd *st_pick_fd(int self_idx, unsigned int *seed)
{
	struct st_fd *s = &st.shared[rnd(seed) % ST_SHARED];

	/*
	 * Never wait for a shared file being closed while holding another:
	 * two closers could wait on each other's users. Only this thread
	 * closes its own file.
	 */
	if (rnd(seed) & 3 && st_get(s))
		return s;
	s = &st.priv[self_idx];
	st_get(s);
	return s;
}

static void st_op(int idx, unsigned int *seed)
{
	unsigned int r = rnd(seed) % 1000;
	struct st_target *t;
	struct st_fd *s;
	int op, ret, serial;

	op = r < 350 ? OP_ARM : r < 500 ? OP_DISARM : r < 700 ? OP_READ :
	     r < 850 ? OP_POLL : r < 994 ? OP_INFO : r < 998 ? OP_CHURN : OP_CLOSE;
	__atomic_fetch_add(&st.nops[op], 1, __ATOMIC_RELAXED);

	switch (op) {
	case OP_ARM:
	case OP_DISARM:
		t = &st.tgt[rnd(seed) % ST_TARGETS];
		/* Busy: it is being ended or reaped; do something else. */
		if (pthread_rwlock_tryrdlock(&t->lock))
			return;
		serial = __atomic_load_n(&t->serial, __ATOMIC_SEQ_CST);
		if (!serial) {
			pthread_rwlock_unlock(&t->lock);
			return;
		}
		s = st_pick_fd(idx, seed);
		if (op == OP_ARM) {
			uint64_t key = (uint64_t)serial << 32 | (uint32_t)s->gen;
			struct st_rec *rec = st_rec(key, true);

			if (!rec) {
				st_fail("record table full");
			} else {
				ret = pw_arm(s->fd, t->pid, 0, key);
				if (!ret) {
					st_add(&rec->arms, 1);
					st_add(&st.gens[s->gen].arms, 1);
				} else if (ret != -EEXIST) {
					/* Not reaped (we hold the lock): it must be there. */
					st_fail("arm pid %d: %s", t->pid, strerror(-ret));
				}
			}
		} else {
			ret = pw_disarm(s->fd, t->pid, 0);
			if (!ret) {
				uint64_t key = (uint64_t)serial << 32 | (uint32_t)s->gen;
				struct st_rec *rec = st_rec(key, false);

				if (!rec)
					st_fail("disarmed pid %d, never armed", t->pid);
				else
					st_add(&rec->disarms, 1);
				st_add(&st.gens[s->gen].disarms, 1);
			} else if (ret != -ENOENT) {
				st_fail("disarm pid %d: %s", t->pid, strerror(-ret));
			}
		}
		st_put(s);
		pthread_rwlock_unlock(&t->lock);
		break;
	case OP_READ:
		s = st_pick_fd(idx, seed);
		st_read(s, 1 + rnd(seed) % 8);
		st_put(s);
		break;
	case OP_POLL: {
		struct st_fd *ps[3];
		struct pollfd pfd[3];
		int n = 1 + rnd(seed) % 3;

		for (int i = 0; i < n; i++) {
			ps[i] = st_pick_fd(idx, seed);
			pfd[i].fd = ps[i]->fd;
			pfd[i].events = POLLIN;
		}
		/* Two picks of one file are fine. */
		if (poll(pfd, n, 0) < 0)
			st_fail("poll: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			if (pfd[i].revents & ~POLLIN)
				st_fail("poll revents %#x", pfd[i].revents);
			st_put(ps[i]);
		}
		break;
	}
	case OP_INFO: {
		struct pidwait_info info;

		s = st_pick_fd(idx, seed);
		if (rnd(seed) & 1) {
			ret = pw_info(s->fd, &info);
			if (ret || info.nr_watches > info.max_watches ||
			    info.event_size != (__u32)PW_EVSZ)
				st_fail("GET_INFO: %d, nr %u", ret, info.nr_watches);
		} else {
			ret = pw_fionread(s->fd);
			if (ret < 0 || ret % PW_EVSZ)
				st_fail("FIONREAD: %d", ret);
		}
		st_put(s);
		break;
	}
	case OP_CHURN:
		t = &st.tgt[rnd(seed) % ST_TARGETS];
		if (pthread_rwlock_trywrlock(&t->lock))
			return;
		if (t->serial)
			st_churn(t, seed);
		pthread_rwlock_unlock(&t->lock);
		__atomic_fetch_add(&st.churns, 1, __ATOMIC_RELAXED);
		break;
	case OP_CLOSE:
		if (rnd(seed) & 1) {
			st_close(&st.priv[idx], true);
		} else {
			s = &st.shared[rnd(seed) % ST_SHARED];
			if (__atomic_exchange_n(&s->closing, 1, __ATOMIC_SEQ_CST))
				return;
			/* Wait out the operations in flight: then the counts are exact. */
			while (__atomic_load_n(&s->users, __ATOMIC_SEQ_CST))
				sched_yield();
			st_close(s, true);
			__atomic_store_n(&s->closing, 0, __ATOMIC_SEQ_CST);
		}
		__atomic_fetch_add(&st.closes, 1, __ATOMIC_RELAXED);
		break;
	}
}

struct st_thread {
	int idx;
	pthread_t t;
	uint64_t deadline;
	pthread_barrier_t *done, *reaped;
};

static void *st_thread_main(void *p)
{
	struct st_thread *th = p;
	unsigned int seed = 0x5eed + 977 * th->idx;
	long n = 0;

	if (two_cpus())
		pin_tid(0, th->idx & 1);
	while (!__atomic_load_n(&st.stop, __ATOMIC_SEQ_CST)) {
		if (__atomic_fetch_add(&st.ops, 1, __ATOMIC_SEQ_CST) >= scaled(ST_OPS))
			break;
		st_op(th->idx, &seed);
		if (!(++n & 1023) && pw_now_ns() > th->deadline)
			break;
	}
	/*
	 * Our children die with this thread (PR_SET_PDEATHSIG): stay until
	 * they have ended the way they were told to, and been reaped.
	 */
	pthread_barrier_wait(th->done);
	pthread_barrier_wait(th->reaped);
	return NULL;
}

/* Read what is left of a file; every watch fires, its process being dead. */
static void st_drain(struct st_fd *s)
{
	uint64_t end = pw_now_ns() + 10000ull * 1000000ull;
	int nr;

	while ((nr = pw_nr_watches(s->fd)) > 0 && !st.failed) {
		if (pw_now_ns() > end) {
			st_fail("file gen %d: %d watches never fired", s->gen, nr);
			return;
		}
		pw_wait_readable(s->fd, 100);
		st_read(s, 8);
	}
	if (nr < 0)
		st_fail("GET_INFO: %s", strerror(-nr));
	st_close(s, false);
}

TEST_F_TIMEOUT(stress, concurrent_ops, 280)
{
	struct st_thread th[ST_THREADS];
	pthread_barrier_t done, reaped;
	int target_ops = scaled(ST_OPS), bad = 0;
	long arms = 0, disarms = 0, reads = 0, ops;
	uint64_t t0 = pw_now_ns(), deadline = t0 + ST_SECS * 1000000000ull;

	memset(&st, 0, sizeof(st));
	pthread_mutex_init(&st.fail_lock, NULL);
	pthread_mutex_init(&st.worker_lock, NULL);
	st.serials = table_alloc(ST_MAX_SERIAL * sizeof(*st.serials));
	st.gens = table_alloc(ST_MAX_GEN * sizeof(*st.gens));
	st.recs = table_alloc((1u << ST_REC_BITS) * sizeof(*st.recs));
	ASSERT_NE(NULL, st.serials);
	ASSERT_NE(NULL, st.gens);
	ASSERT_NE(NULL, st.recs);
	for (int i = 0; i < ST_SHARED; i++)
		ASSERT_EQ(0, st_new_fd(&st.shared[i]));
	for (int i = 0; i < ST_THREADS; i++)
		ASSERT_EQ(0, st_new_fd(&st.priv[i]));
	for (int i = 0; i < ST_TARGETS; i++) {
		unsigned int seed = i;

		ASSERT_EQ(0, pthread_rwlock_init(&st.tgt[i].lock, NULL));
		st_spawn(&st.tgt[i], &seed);
		ASSERT_EQ(0, st.failed) TH_LOG("%s", st.why);
	}

	ASSERT_EQ(0, pthread_barrier_init(&done, NULL, ST_THREADS + 1));
	ASSERT_EQ(0, pthread_barrier_init(&reaped, NULL, ST_THREADS + 1));
	for (int i = 0; i < ST_THREADS; i++) {
		th[i].idx = i;
		th[i].deadline = deadline;
		th[i].done = &done;
		th[i].reaped = &reaped;
		ASSERT_EQ(0, pthread_create(&th[i].t, NULL, st_thread_main, &th[i]));
	}
	pthread_barrier_wait(&done);
	ops = st.ops;

	/* The end of every process still there: killed, unless already on its way. */
	for (int i = 0; i < ST_TARGETS; i++) {
		struct st_target *t = &st.tgt[i];
		int s = -1;

		if (!t->serial)
			continue;
		if (!t->ended) {
			st_expect(t, SIGKILL);
			ASSERT_EQ(0, kill(t->pid, SIGKILL));
		}
		ASSERT_EQ(0, reap_within(t->pid, &s, PW_TIMEOUT_MS));
		ASSERT_EQ(st.serials[t->serial].status, s) TH_LOG("pid %d kind %d", t->pid, t->kind);
		t->w.reaped = true;
		worker_free(&t->w);
		if (t->pipe_w >= 0)
			close(t->pipe_w);
	}
	pthread_barrier_wait(&reaped);
	for (int i = 0; i < ST_THREADS; i++)
		pthread_join(th[i].t, NULL);
	ASSERT_EQ(0, st.failed) TH_LOG("%s", st.why);
	ASSERT_LE(target_ops, ops)
		TH_LOG("time cap of %d s reached after %ld of %d operations", ST_SECS, ops,
		       target_ops);
	for (int i = 0; i < ST_SHARED; i++)
		st_drain(&st.shared[i]);
	for (int i = 0; i < ST_THREADS; i++)
		st_drain(&st.priv[i]);
	ASSERT_EQ(0, st.failed) TH_LOG("%s", st.why);

	/* No event twice, none without its arm: per watch, reads + disarms <= arms. */
	for (unsigned int i = 0; i < 1u << ST_REC_BITS; i++) {
		struct st_rec *r = &st.recs[i];

		if (!r->key)
			continue;
		arms += r->arms;
		disarms += r->disarms;
		reads += r->reads;
		if (r->reads + r->disarms > r->arms && bad++ < 5)
			TH_LOG("cookie %#llx: armed %d, disarmed %d, read %d",
			       (unsigned long long)r->key, r->arms, r->disarms, r->reads);
	}
	ASSERT_EQ(0, bad);
	ASSERT_EQ(arms, disarms + reads + st.dropped);
	FIGURE("ops=%ld threads=%d shared_fds=%d files=%d processes=%ld secs=%.1f",
	       ops > target_ops ? (long)target_ops : ops, ST_THREADS, ST_SHARED,
	       st.next_gen, st.procs, secs_since(t0));
	FIGURE("arm=%ld disarm=%ld read=%ld poll=%ld info=%ld churn=%ld close=%ld",
	       st.nops[OP_ARM], st.nops[OP_DISARM], st.nops[OP_READ], st.nops[OP_POLL],
	       st.nops[OP_INFO], st.nops[OP_CHURN], st.nops[OP_CLOSE]);
	FIGURE("armed=%ld disarmed=%ld events_read=%ld dropped_by_close=%ld", arms, disarms,
	       reads, st.dropped);
	munmap(st.serials, ST_MAX_SERIAL * sizeof(*st.serials));
	munmap(st.gens, ST_MAX_GEN * sizeof(*st.gens));
	munmap(st.recs, (1u << ST_REC_BITS) * sizeof(*st.recs));
}

/* ==== 2. kill against arm ================================================= */

#define KA_ROUNDS	10000

struct killer {
	int in, out;
	uint64_t range_ns;
};

static void spin_ns(uint64_t ns)
{
	uint64_t end = pw_now_ns() + ns;

	while (pw_now_ns() < end)
		;
}

static char ka_stack[16384] __attribute__((aligned(16)));

static int ka_child_fn(void *arg)
{
	(void)arg;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		syscall(SYS_pause);
	return 0;
}

/*
 * A child that shares our memory (a fork would cost more than the race)
 * and waits to be killed, on CPU 1; one at a time, so one stack does.
 */
static pid_t ka_spawn(void)
{
	pid_t pid = clone(ka_child_fn, ka_stack + sizeof(ka_stack), CLONE_VM | SIGCHLD, NULL);

	if (pid > 0 && two_cpus())
		pin_tid(pid, 1);
	return pid;
}

static void *killer_main(void *p)
{
	struct killer *k = p;
	unsigned int seed = 99;
	pid_t pid;

	if (two_cpus())
		pin_tid(0, 1);
	while (read(k->in, &pid, sizeof(pid)) == sizeof(pid)) {
		spin_ns(k->range_ns ? rnd(&seed) % k->range_ns : 0);
		if (kill(pid, SIGKILL))
			pid = -errno;
		if (write(k->out, &pid, sizeof(pid)) != sizeof(pid))
			break;
	}
	return NULL;
}

/*
 * The kill comes from another CPU while the arm looks the PID up and
 * attaches: before, during or after. The process is not reaped until its
 * event is read, so the arm must succeed and the event come, once.
 */
TEST_F_TIMEOUT(stress, kill_vs_arm, 200)
{
	int n = scaled(KA_ROUNDS), to[2], from[2], fd, st_ = -1, at_once = 0, ret;
	unsigned int seed = 7;
	uint64_t t0, exit_ns;
	struct pidwait_event ev;
	struct killer k;
	pthread_t t;
	pid_t pid, got;

	if (two_cpus())
		pin_tid(0, 0);
	fd = pw_open(0);
	ASSERT_LE(0, fd);
	/* How long a kill takes to make a zombie here: the window to cover. */
	pid = ka_spawn();
	ASSERT_LE(0, pid);
	t0 = pw_now_ns();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, pw_wait_zombie(pid));
	exit_ns = pw_now_ns() - t0;
	ASSERT_EQ(0, pw_reap(pid, NULL));
	if (exit_ns > 1000000)
		exit_ns = 1000000;

	ASSERT_EQ(0, pipe2(to, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(from, O_CLOEXEC));
	k.in = to[0];
	k.out = from[1];
	/* The killer wakes first: so that the kill lands on both sides of the arm. */
	k.range_ns = exit_ns / 4;
	ASSERT_EQ(0, pthread_create(&t, NULL, killer_main, &k));
	t0 = pw_now_ns();
	for (int i = 0; i < n; i++) {
		pid = ka_spawn();
		ASSERT_LE(0, pid);
		ASSERT_EQ(sizeof(pid), write(to[1], &pid, sizeof(pid)));
		spin_ns(rnd(&seed) % (2 * exit_ns));
		ret = pw_arm(fd, pid, 0, i);
		ASSERT_EQ(0, ret) TH_LOG("round %d: %s", i, strerror(-ret));
		at_once += pw_wait_readable(fd, 0) == 1;
		ASSERT_EQ(0, pw_read_one(fd, &ev, PW_TIMEOUT_MS)) TH_LOG("round %d", i);
		ASSERT_EQ(pid, ev.pid);
		ASSERT_EQ((__u64)i, ev.cookie);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev.flags);
		ASSERT_EQ(SIGKILL, ev.status);
		ASSERT_EQ(1, pw_wait_readable(from[0], PW_TIMEOUT_MS));
		ASSERT_EQ(sizeof(got), read(from[0], &got, sizeof(got)));
		ASSERT_EQ(pid, got);
		ASSERT_EQ(0, reap_within(pid, &st_, PW_TIMEOUT_MS));
		ASSERT_EQ(SIGKILL, st_);
		ASSERT_EQ(0, pw_wait_readable(fd, 0)) TH_LOG("round %d: a second event", i);
		ASSERT_LE(pw_now_ns() - t0, 180000000000ull)
			TH_LOG("time cap reached after %d of %d rounds", i, n);
	}
	close(to[1]);
	pthread_join(t, NULL);
	ASSERT_EQ(0, pw_nr_watches(fd));
	FIGURE("kill_vs_arm rounds=%d ready_at_arm=%d later=%d exit_us=%llu secs=%.1f", n,
	       at_once, n - at_once, (unsigned long long)(exit_ns / 1000), secs_since(t0));
	close(fd);
	close(to[0]);
	close(from[0]);
	close(from[1]);
}

/* ==== 3. a PID number reused ============================================== */

#define QUICK_BATCH	32
#define QUICK_STACK	4096

static char quick_stacks[QUICK_BATCH][QUICK_STACK] __attribute__((aligned(16)));

static int quick_fn(void *arg)
{
	(void)arg;
	syscall(SYS_exit, 0);
	return 0;
}

/*
 * The cheapest new PIDs: children sharing our memory that exit at once, a
 * batch at a time (one by one, each costs a round trip between the CPUs).
 * Stops after the PID stop; the last PID made, or -1.
 */
static pid_t quick_batch(pid_t stop, long *made)
{
	pid_t pid = -1, last = -1;
	int n = 0;

	while (n < QUICK_BATCH) {
		pid = clone(quick_fn, quick_stacks[n] + QUICK_STACK, CLONE_VM | SIGCHLD, NULL);
		if (pid < 0)
			break;
		last = pid;
		n++;
		++*made;
		if (pid == stop)
			break;
	}
	while (n--)
		if (wait(NULL) < 0)
			return -1;
	return pid < 0 ? -1 : last;
}

/* PID 1 of a new namespace: the whole test; its exit code says how it went. */
/*
 * Going round the whole PID space costs a clone per PID, over a
 * millisecond under TCG even batched (the default 32768 took 100 s): so
 * pid_max is lowered for the test, and restored. Each PID still has to
 * come round.
 */
#define REUSE_PID_MAX	4096

static int reuse_ns_init(void)
{
	int fd = pw_open(O_NONBLOCK), fd2 = pw_open(O_NONBLOCK);
	struct pidwait_event ev[2];
	long pid_max, forks = 0, limit;
	pid_t a, b, p;
	uint64_t t0 = pw_now_ns();
	int st_ = -1;
	char max[16];

	/*
	 * From 6.14 each pid namespace has a pid_max of its own, which later
	 * kernels start at PID_MAX_LIMIT: lower ours too. Before, this is the
	 * global one, already lowered.
	 */
	snprintf(max, sizeof(max), "%d", REUSE_PID_MAX);
	CHILD_CHECK(!pw_write_str("/proc/sys/kernel/pid_max", max));
	pid_max = pw_read_long("/proc/sys/kernel/pid_max");
	limit = 2 * pid_max + 1000;
	CHILD_CHECK(getpid() == 1);
	CHILD_CHECK(fd >= 0 && fd2 >= 0);
	CHILD_CHECK(pid_max > 400);
	/* Past the low PIDs, which a wrapped search skips. */
	do {
		p = quick_batch(-1, &forks);
		CHILD_CHECK(p > 0);
	} while (p < 400);
	a = spawn_pause(-1);
	CHILD_CHECK(a > 0);
	forks = 0;
	CHILD_CHECK(!pw_arm(fd, a, 0, 0xa1));
	CHILD_CHECK(!pw_arm(fd2, a, 0, 0xa2));
	CHILD_CHECK(!kill(a, SIGKILL));
	CHILD_CHECK(!pw_wait_zombie(a));
	/* One file reads its event before the reuse, the other after. */
	CHILD_CHECK(pw_wait_readable(fd2, PW_TIMEOUT_MS) == 1);
	CHILD_CHECK(read(fd2, ev, sizeof(ev)) == PW_EVSZ);
	CHILD_CHECK(ev[0].pid == a && ev[0].cookie == 0xa2 && ev[0].status == SIGKILL);
	CHILD_CHECK(pw_wait_readable(fd, PW_TIMEOUT_MS) == 1);
	CHILD_CHECK(!pw_reap(a, &st_));

	/* Around the whole PID space, to just before a. */
	do {
		p = quick_batch(a - 1, &forks);
		CHILD_CHECK(p > 0);
		CHILD_CHECK(forks < limit);
	} while (p != a - 1);
	b = spawn_pause(-1);
	CHILD_CHECK(b == a);

	/* The number names b now: the old watch is not b's, and b may be armed anew. */
	CHILD_CHECK(pw_fionread(fd) == PW_EVSZ);
	CHILD_CHECK(pw_fionread(fd2) == 0);
	CHILD_CHECK(pw_disarm(fd, b, 0) == -ENOENT);
	CHILD_CHECK(pw_disarm(fd2, b, 0) == -ENOENT);
	CHILD_CHECK(pw_fionread(fd) == PW_EVSZ);
	CHILD_CHECK(!pw_arm(fd, b, 0, 0xb1));
	CHILD_CHECK(read(fd, ev, sizeof(ev)) == PW_EVSZ);
	CHILD_CHECK(ev[0].pid == a && ev[0].cookie == 0xa1 && ev[0].status == SIGKILL &&
		    ev[0].flags == PIDWAIT_EVENT_STATUS);
	CHILD_CHECK(pw_wait_readable(fd, PW_QUIET_MS) == 0);
	CHILD_CHECK(pw_nr_watches(fd) == 1);

	/* b's end: its own watch fires, the old ones never again. */
	CHILD_CHECK(!kill(b, SIGKILL));
	CHILD_CHECK(!pw_wait_zombie(b));
	CHILD_CHECK(pw_wait_readable(fd, PW_TIMEOUT_MS) == 1);
	CHILD_CHECK(read(fd, ev, sizeof(ev)) == PW_EVSZ);
	CHILD_CHECK(ev[0].pid == b && ev[0].cookie == 0xb1 && ev[0].status == SIGKILL);
	CHILD_CHECK(!pw_reap(b, &st_));
	CHILD_CHECK(pw_wait_readable(fd, PW_QUIET_MS) == 0);
	CHILD_CHECK(pw_wait_readable(fd2, 0) == 0);
	CHILD_CHECK(pw_nr_watches(fd) == 0 && pw_nr_watches(fd2) == 0);
	FIGURE("pid_reuse pid=%d pid_max=%ld forks_to_reuse=%ld secs=%.1f", a, pid_max,
	       forks, secs_since(t0));
	return 0;
}


TEST_F_TIMEOUT(stress, pid_reuse, 200)
{
	int st_ = -1;
	pid_t pid;

	ASSERT_EQ(0, set_sysctl("/proc/sys/kernel/pid_max", REUSE_PID_MAX, false,
				&saved_pid_max));

	pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, NULL, NULL, 0);
	ASSERT_LE(0, pid) TH_LOG("clone(CLONE_NEWPID): %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The parent is outside the namespace: PID 0, unless it died. */
		if (getppid() != 0)
			_exit(2);
		_exit(reuse_ns_init());
	}
	ASSERT_EQ(0, reap_within(pid, &st_, 180000));
	ASSERT_EQ(0, st_);
}

/* ==== 4. one PID on 10,000 files ========================================== */

#define MANY_FDS	10000

TEST_F_TIMEOUT(stress, one_pid_many_fds, 200)
{
	int n = scaled(MANY_FDS), *fds, ep, ready = 0, st_ = -1;
	struct epoll_event *evs;
	struct pidwait_event ev[2];
	unsigned char *seen;
	uint64_t t0, t_arm, t_kill, t_ready;
	pid_t pid;

	ASSERT_EQ(0, raise_nofile((rlim_t)n + 64));
	fds = calloc(n, sizeof(*fds));
	evs = calloc(n, sizeof(*evs));
	seen = calloc(n, 1);
	ASSERT_NE(NULL, fds);
	ASSERT_NE(NULL, evs);
	ASSERT_NE(NULL, seen);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	pid = spawn_pause(-1);
	ASSERT_LE(0, pid);

	t0 = pw_now_ns();
	for (int i = 0; i < n; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		fds[i] = pw_open(O_NONBLOCK);
		ASSERT_LE(0, fds[i]) TH_LOG("open %d: %s", i, strerror(errno));
		ASSERT_EQ(0, pw_arm(fds[i], pid, 0, i));
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e));
	}
	t_arm = pw_now_ns();
	ASSERT_EQ(0, epoll_wait(ep, evs, n, 0));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	t_kill = pw_now_ns();
	while (ready < n) {
		int k = epoll_wait(ep, evs, n, PW_TIMEOUT_MS);

		ASSERT_LT(0, k) TH_LOG("%d of %d files ready", ready, n);
		for (int i = 0; i < k; i++) {
			uint32_t j = evs[i].data.u32;

			ASSERT_EQ(EPOLLIN, evs[i].events);
			ASSERT_LT(j, (uint32_t)n);
			if (!seen[j]++) {
				ready++;
				/* Level-triggered: it must stop showing up. */
				ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_DEL, fds[j], NULL));
			}
		}
	}
	t_ready = pw_now_ns();
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(PW_EVSZ, read(fds[i], ev, sizeof(ev))) TH_LOG("file %d", i);
		ASSERT_EQ(pid, ev[0].pid);
		ASSERT_EQ((__u64)i, ev[0].cookie);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev[0].flags);
		ASSERT_EQ(SIGKILL, ev[0].status);
		ASSERT_EQ(-1, read(fds[i], ev, sizeof(ev)));
		ASSERT_EQ(EAGAIN, errno);
		ASSERT_EQ(0, pw_nr_watches(fds[i]));
	}
	ASSERT_EQ(0, reap_within(pid, &st_, PW_TIMEOUT_MS));
	ASSERT_EQ(SIGKILL, st_);
	for (int i = 0; i < n; i++)
		ASSERT_EQ(0, close(fds[i]));
	FIGURE("one_pid_many_fds fds=%d arm_secs=%.2f kill_to_all_ready_ms=%.1f", n,
	       (double)(t_arm - t0) / 1e9, (double)(t_ready - t_kill) / 1e6);
	close(ep);
	free(fds);
	free(evs);
	free(seen);
}

/* ==== reschedule points ===================================================== */

/*
 * Whether a loop in the kernel over many watches gives the CPU up: where
 * the kernel does not preempt code running in it (preempt=none, or
 * voluntary as Debian's kernels are), a thread of a higher real-time
 * priority on the same CPU runs only when the loop reschedules. It samples
 * FIONREAD (which takes no lock the loop holds) every half millisecond:
 * a count between "all" and "none" is a moment in the middle of the read.
 * Where the kernel preempts anywhere (PREEMPT, PREEMPT_RT) this proves
 * nothing and costs nothing; the debug kernel lets the test turn it off.
 */
struct yield_watch {
	pthread_t t;
	sem_t running;
	int fd, full;
	volatile bool stop;
	volatile long runs, between;
};

static void *yield_watcher(void *arg)
{
	struct yield_watch *y = arg;
	struct timespec ts = { 0, 500000 };
	int n;

	while (!y->stop) {
		if (y->fd >= 0) {
			n = pw_fionread(y->fd);
			if (n > 0 && n < y->full)
				y->between++;
		}
		if (++y->runs == 1)
			sem_post(&y->running);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Pins the caller to CPU 0, and starts the watcher there above it. */
static int yield_watch_start(struct yield_watch *y, int fd, int full)
{
	struct sched_param sp = { .sched_priority = 1 };
	pthread_attr_t attr;
	cpu_set_t set;
	int ret;

	memset(y, 0, sizeof(*y));
	y->fd = fd;
	y->full = full;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
	pthread_attr_setschedparam(&attr, &sp);
	pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	sem_init(&y->running, 0, 0);
	ret = pthread_create(&y->t, &attr, yield_watcher, y);
	pthread_attr_destroy(&attr);
	/*
	 * A new thread need not preempt its creator (on 3.10 it did not):
	 * were the loop under test to begin first, the watcher would wait for
	 * its end and prove nothing. From its first run on, its timer's
	 * wakeups do preempt.
	 */
	while (!ret && sem_wait(&y->running) && errno == EINTR)
		;
	return -ret;
}

static void yield_watch_stop(struct yield_watch *y)
{
	y->stop = true;
	pthread_join(y->t, NULL);
	sem_destroy(&y->running);
}

/*
 * How many times the watcher must have run in the middle of a read of
 * @n events that took @ns: a tenth of the chances the module gives it (a
 * reschedule every 256 events) or of its periods, whichever is fewer. A
 * read that never reschedules gives it none: the rare yield elsewhere in
 * the kernel (freeing slab pages, say) stays far below.
 */
static long yield_wanted(long n, uint64_t ns)
{
	long chances = n / 256, periods = (long)(ns / 500000);
	long want = (chances < periods ? chances : periods) / 10;

	return want > 2 ? want : 2;
}

/* Undoes yield_watch_start()'s pinning. */
static void all_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	cpu_set_t set;

	CPU_ZERO(&set);
	for (long i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

#define PREEMPT_CTL	"/sys/kernel/debug/sched/preempt"
#define WATCHDOG_THRESH	"/proc/sys/kernel/watchdog_thresh"

static char saved_preempt[16];
static long saved_thresh = -1;

/*
 * For the loops to show: no preemption in the kernel where the kernel can
 * switch it off (PREEMPT_DYNAMIC), and a soft lockup reported after two
 * seconds without a reschedule (the guest panics on one).
 */
static void nonpreempt_begin(void)
{
	char buf[64], *lp, *rp;
	int fd = open(PREEMPT_CTL, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	saved_preempt[0] = 0;
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		/* "none voluntary (full) lazy": the current one is in brackets. */
		lp = strchr(buf, '(');
		rp = lp ? strchr(lp, ')') : NULL;
		if (rp && rp - lp - 1 < (long)sizeof(saved_preempt)) {
			*rp = 0;
			snprintf(saved_preempt, sizeof(saved_preempt), "%s", lp + 1);
			if (pw_write_str(PREEMPT_CTL, "none"))
				saved_preempt[0] = 0;
		}
	}
	saved_thresh = pw_read_long(WATCHDOG_THRESH);
	if (saved_thresh > 0 && pw_write_str(WATCHDOG_THRESH, "1"))
		saved_thresh = -1;
}

static void nonpreempt_end(void)
{
	char buf[32];

	if (saved_preempt[0])
		pw_write_str(PREEMPT_CTL, saved_preempt);
	saved_preempt[0] = 0;
	if (saved_thresh > 0) {
		snprintf(buf, sizeof(buf), "%ld", saved_thresh);
		pw_write_str(WATCHDOG_THRESH, buf);
	}
	saved_thresh = -1;
}

/*
 * Bytes of this process's fdinfo for @fd, the watch lines in it, and how
 * many times the watcher ran during the first read(), where the kernel
 * lists every watch.
 */
static long fdinfo_read(int fd, char *buf, size_t len, long *lines,
			const struct yield_watch *y, long *runs)
{
	char path[64];
	long got = 0, n, r0;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	r0 = y->runs;
	n = read(f, buf, len - 1);
	*runs = y->runs - r0;
	if (n > 0)
		got = n;
	while (n > 0 && (size_t)got < len - 1 &&
	       (n = read(f, buf + got, len - 1 - got)) > 0)
		got += n;
	close(f);
	if (n < 0)
		return -errno;
	buf[got] = 0;
	*lines = 0;
	for (char *p = buf; (p = strstr(p, "pidwait pid:")); p++)
		(*lines)++;
	return got;
}

/* ==== 5. 100,000 watches, killed 10,000 at once ============================ */

#define MASS_N		100000
#define MASS_STACK	1024	/* pause() needs next to nothing */
#define MASS_SPARE_THREADS 1024	/* the guest's own, and the test's */

static int sleeper_fn(void *arg)
{
	(void)arg;
	for (;;)
		syscall(SYS_pause);
	return 0;
}

static long mem_available_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * At most this many processes share an mm: from 6.4 the exits of an mm's
 * users serialise on the mm (mm_cid), and 100,000 users of one mm take
 * minutes to die, longer still on PREEMPT_RT. Unrelated processes do not
 * share one mm anyway.
 */
#define MASS_PER_MM	1000

/*
 * Killed a wave at a time, each the next once its events are all in:
 * 100,000 processes made runnable at once keep a guest's two emulated
 * CPUs busy for a minute on a busy host, and the guest's own threads
 * starve behind them (RCU's grace-period kthread, a task preempted in an
 * RCU read-side section of do_exit(): stall reports, with or without a
 * watch on them). 10,000 at once still race each other's exits through
 * one file, whose 100,000 watches were all armed together.
 */
#define MASS_WAVE_GROUPS	10	/* groups of MASS_PER_MM */
#define MASS_WAVES_MAX		16

/*
 * A group leader: a fork of the test, so an mm of its own, whose clones
 * share it, its files and handlers, and join the test's process group. It
 * then reaps them and exits 0 only if every one was killed by SIGKILL.
 */
static void __attribute__((noreturn)) mass_leader(pid_t *pids, int n, pid_t pgid, int rep)
{
	char *stacks = mmap(NULL, (size_t)(n + 1) * MASS_STACK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int made = 0, st, bad = 0;
	pid_t p;

	if (stacks != MAP_FAILED) {
		for (; made < n; made++) {
			p = clone(sleeper_fn, stacks + (size_t)(made + 1) * MASS_STACK,
				  CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | SIGCHLD,
				  NULL);
			if (p < 0)
				break;
			pids[made] = p;
			if (setpgid(p, pgid)) {
				kill(p, SIGKILL);
				break;
			}
		}
	}
	if (write(rep, &made, sizeof(made)) != sizeof(made))
		bad = 1;
	close(rep);
	while ((p = waitpid(-1, &st, __WALL)) > 0 || errno == EINTR)
		if (p > 0 && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
			bad = 1;
	_exit(bad || made < n);
}

struct spawner {
	pthread_t t;
	pid_t *pids;
	pid_t *leaders;
	const pid_t *pgids;	/* a process group a wave */
	int from, step, n;
	int err, failed_at;
};

/* Groups from "from" on, every "step"-th: two threads fork leaders at once. */
static void *spawner_main(void *p)
{
	struct spawner *s = p;
	int g, first, cnt, rep[2], made;

	for (g = s->from; g * MASS_PER_MM < s->n; g += s->step) {
		first = g * MASS_PER_MM;
		cnt = s->n - first < MASS_PER_MM ? s->n - first : MASS_PER_MM;
		if (pipe2(rep, O_CLOEXEC)) {
			s->err = errno;
			s->failed_at = first;
			break;
		}
		s->leaders[g] = fork();
		if (s->leaders[g] == 0) {
			close(rep[0]);
			mass_leader(s->pids + first, cnt, s->pgids[g / MASS_WAVE_GROUPS],
				    rep[1]);
		}
		close(rep[1]);
		made = -1;
		if (s->leaders[g] < 0 || read(rep[0], &made, sizeof(made)) != sizeof(made) ||
		    made != cnt) {
			s->err = s->leaders[g] < 0 ? errno : EAGAIN;
			s->failed_at = first + (made > 0 ? made : 0);
			close(rep[0]);
			break;
		}
		close(rep[0]);
	}
	return NULL;
}

/*
 * Groups of n processes for pids[], their leaders in leaders[], group g in
 * process group pgids[g / MASS_WAVE_GROUPS]: two threads fork the leaders
 * (under TCG a clone takes about half a millisecond). Each spawner says
 * in err and failed_at how it ended; -errno if a thread could not start.
 */
static int spawn_groups(struct spawner sp[2], pid_t *pids, pid_t *leaders,
			const pid_t *pgids, int n)
{
	int ret = 0, started = 0;

	for (int i = 0; i < 2; i++) {
		sp[i] = (struct spawner){ .pids = pids, .leaders = leaders,
					  .pgids = pgids, .from = i, .step = 2, .n = n };
		ret = pthread_create(&sp[i].t, NULL, spawner_main, &sp[i]);
		if (ret)
			break;
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(sp[i].t, NULL);
	return -ret;
}

/*
 * PREEMPT_RT under TCG takes its processes down at about 200 a second when
 * 100,000 die at once, armed or not (measured on 6.12-rt with no watch on
 * them): 100,000 would take 8 minutes of exits that are not ours to time.
 */
#define MASS_N_RT	20000

static int mass_count(void)
{
	return pw_read_long("/sys/kernel/realtime") == 1 ? scaled(MASS_N_RT) : scaled(MASS_N);
}

FIXTURE(mass) {
	pid_t pgids[MASS_WAVES_MAX];
	int nwaves;
	pid_t *pids;
	pid_t *leaders;
	int ngroups;
	long taint;
	long refs;
};

FIXTURE_SETUP(mass)
{
	self->nwaves = 0;
	self->pids = NULL;
	self->leaders = NULL;
	self->ngroups = 0;
	self->taint = pw_taint();
	self->refs = module_refs();
}

FIXTURE_TEARDOWN(mass)
{
	/* A failure half-way must not leave 100,000 processes behind. */
	for (int w = 0; w < self->nwaves; w++)
		if (self->pgids[w] > 0)
			kill(-self->pgids[w], SIGKILL);
	for (int g = 0; self->leaders && g < self->ngroups; g++)
		if (self->leaders[g] > 0)
			kill(self->leaders[g], SIGKILL);
	if (self->nwaves || self->leaders)
		while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
			;
	restore_sysctls();
	nonpreempt_end();
	EXPECT_EQ(self->refs, module_refs());
	if (self->pids)
		munmap(self->pids, (size_t)mass_count() * sizeof(pid_t));
	free(self->leaders);
	EXPECT_EQ(self->taint & PW_TAINT_BAD, pw_taint() & PW_TAINT_BAD);
}

/* Kills wave @w, and reaps the leaders of its groups. */
static int mass_reap_wave(FIXTURE_DATA(mass) *self, int w)
{
	int st;

	for (int g = w * MASS_WAVE_GROUPS;
	     g < self->ngroups && g < (w + 1) * MASS_WAVE_GROUPS; g++) {
		st = -1;
		if (waitpid(self->leaders[g], &st, 0) != self->leaders[g])
			return -errno;
		/* Each leader saw all of its group die of SIGKILL. */
		if (st)
			return -EPROTO;
		self->leaders[g] = 0;
	}
	if (waitpid(self->pgids[w], &st, 0) != self->pgids[w])
		return -errno;
	self->pgids[w] = 0;
	return st == SIGKILL ? 0 : -EPROTO;
}

/*
 * PIDWAIT_MASS_CONTROL=1 (on the guest's kernel command line, for
 * example): the same processes killed the same way, with no watch on
 * them, to tell what the guest itself does with their exits from what
 * the module adds.
 */
TEST_F_TIMEOUT(mass, watches_100k_killed_10k_at_once, 280)
{
	bool control = getenv("PIDWAIT_MASS_CONTROL") &&
		       !strcmp(getenv("PIDWAIT_MASS_CONTROL"), "1");
	int n = mass_count(), fd, ret;
	long mem0 = mem_available_kb(), mem1, threads_max, len = -1, lines = 0, runs = 0;
	uint64_t t0, t_spawn, t_arm, t_kill, t_ready, t_reaped, t_read0 = 0, t_read = 0;
	struct pidwait_event *ev;
	struct yield_watch y;
	unsigned char *seen;
	size_t info_len;
	uint64_t wave_max = 0, tw;
	ssize_t k = -1;
	struct spawner sp[2];
	pid_t *pids;
	char *info;

	self->ngroups = (n + MASS_PER_MM - 1) / MASS_PER_MM;
	self->nwaves = 0;
	/* Shared: the leaders write their clones' PIDs into it. */
	pids = mmap(NULL, (size_t)n * sizeof(pid_t), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pids);
	self->pids = pids;
	self->leaders = calloc(self->ngroups, sizeof(pid_t));
	seen = calloc(n, 1);
	ev = calloc(n, sizeof(*ev));
	ASSERT_NE(NULL, self->leaders);
	ASSERT_NE(NULL, seen);
	ASSERT_NE(NULL, ev);
	ASSERT_EQ(0, set_sysctl("/proc/sys/kernel/pid_max", 2L * n + 32768, true,
				&saved_pid_max));
	ASSERT_EQ(0, set_sysctl("/proc/sys/kernel/threads-max", 2L * n + 32768, true,
				&saved_threads_max));
	/*
	 * Older kernels (4.19.72, 5.2.1) clamp a written threads-max to RAM /
	 * (8 x THREAD_SIZE): 32,768 in 4 GiB. Say so, not EAGAIN half-way.
	 */
	threads_max = pw_read_long("/proc/sys/kernel/threads-max");
	ASSERT_LE(n + self->ngroups + MASS_SPARE_THREADS, threads_max)
		TH_LOG("threads-max is %ld: %d processes need a guest of %ld MiB or more",
		       threads_max, n, (n + self->ngroups + MASS_SPARE_THREADS) / 8L);
	/* Should a leader die first, its clones are ours to reap, not init's. */
	ASSERT_EQ(0, prctl(PR_SET_CHILD_SUBREAPER, 1));
	/* A process group a wave: one kill ends it. */
	ASSERT_GE(MASS_WAVES_MAX * MASS_WAVE_GROUPS, self->ngroups);
	for (int w = 0; w * MASS_WAVE_GROUPS < self->ngroups; w++) {
		pid_t pg = fork();

		ASSERT_LE(0, pg);
		if (pg == 0) {
			for (;;)
				pause();
		}
		self->pgids[self->nwaves++] = pg;
		ASSERT_EQ(0, setpgid(pg, pg));
	}

	/* Processes, not threads, sharing all they can within a group of MASS_PER_MM. */
	t0 = pw_now_ns();
	ASSERT_EQ(0, spawn_groups(sp, pids, self->leaders, self->pgids, n));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, sp[i].err)
			TH_LOG("process %d: %s (MemAvailable %ld kB)", sp[i].failed_at,
			       strerror(sp[i].err), mem_available_kb());
	}
	t_spawn = pw_now_ns();
	mem1 = mem_available_kb();
	FIGURE("mass processes=%d groups=%d spawn_secs=%.1f mem_per_proc_kb=%.1f", n,
	       self->ngroups, (double)(t_spawn - t0) / 1e9,
	       mem0 > 0 && mem1 > 0 ? (double)(mem0 - mem1) / n : -1.0);
	if (control) {
		/* The same processes, the same kills, no watch: the guest alone. */
		t_kill = pw_now_ns();
		for (int w = 0; w < self->nwaves; w++) {
			ASSERT_EQ(0, kill(-self->pgids[w], SIGKILL));
			ASSERT_EQ(0, mass_reap_wave(self, w)) TH_LOG("wave %d", w);
		}
		FIGURE("mass control processes=%d kill_to_all_reaped_secs=%.1f", n,
		       secs_since(t_kill));
		free(seen);
		free(ev);
		return;
	}
	/* Opened only now, so that no leader or clone holds the file. */
	fd = pw_open(O_NONBLOCK);
	ASSERT_LE(0, fd);
	for (int i = 0; i < n; i++) {
		ret = pw_arm(fd, pids[i], 0, i);
		ASSERT_EQ(0, ret) TH_LOG("arm %d: %s", i, strerror(-ret));
	}
	t_arm = pw_now_ns();
	ASSERT_EQ(n, pw_nr_watches(fd));
	ASSERT_EQ(0, pw_fionread(fd));

	/*
	 * fdinfo lists every watch. How often the watcher ran meanwhile is
	 * only a figure: the buffers seq_file allocates for the listing give
	 * the CPU up too.
	 */
	info_len = (size_t)n * 80 + 4096;
	info = malloc(info_len);
	ASSERT_NE(NULL, info);
	nonpreempt_begin();
	ret = yield_watch_start(&y, -1, 0);
	if (!ret) {
		len = fdinfo_read(fd, info, info_len, &lines, &y, &runs);
		yield_watch_stop(&y);
	}
	nonpreempt_end();
	ASSERT_EQ(0, ret) TH_LOG("the watcher thread: %s", strerror(-ret));
	ASSERT_LT(0, len) TH_LOG("fdinfo: %s", strerror((int)-len));
	ASSERT_EQ(n, lines);
	free(info);

	/*
	 * A wave's events are all in before the next is killed; the leaders
	 * reap theirs meanwhile. From the call: the 10,000 woken may run
	 * before kill() returns.
	 */
	t_kill = pw_now_ns();
	for (int w = 0; w < self->nwaves; w++) {
		int want = (w + 1) * MASS_WAVE_GROUPS * MASS_PER_MM;

		want = (want < n ? want : n) * PW_EVSZ;
		tw = pw_now_ns();
		ASSERT_EQ(0, kill(-self->pgids[w], SIGKILL));
		ret = pw_wait_fionread(fd, want, 120000);
		ASSERT_EQ(want, ret)
			TH_LOG("wave %d: %d of %d events after 120 s, %d watches", w,
			       pw_fionread(fd) / PW_EVSZ, want / PW_EVSZ, pw_nr_watches(fd));
		if (pw_now_ns() - tw > wave_max)
			wave_max = pw_now_ns() - tw;
	}
	t_ready = pw_now_ns();
	for (int w = 0; w < self->nwaves; w++) {
		ASSERT_EQ(0, mass_reap_wave(self, w)) TH_LOG("wave %d", w);
	}
	t_reaped = pw_now_ns();

	/*
	 * Every event in one read, with nothing else for the kernel to do:
	 * it must give the CPU up as it goes. The buffer is touched first:
	 * its page faults would give it up for the read.
	 */
	memset(ev, 0, (size_t)n * sizeof(*ev));
	nonpreempt_begin();
	ret = yield_watch_start(&y, fd, n * PW_EVSZ);
	if (!ret) {
		t_read0 = pw_now_ns();
		k = read(fd, ev, (size_t)n * PW_EVSZ);
		t_read = pw_now_ns();
		yield_watch_stop(&y);
	}
	nonpreempt_end();
	ASSERT_EQ(0, ret) TH_LOG("the watcher thread: %s", strerror(-ret));
	ASSERT_EQ((ssize_t)n * PW_EVSZ, k) TH_LOG("read: %s", k < 0 ? strerror(errno) : "short");
	for (int i = 0; i < n; i++) {
		__u64 c = ev[i].cookie;

		ASSERT_LT(c, (__u64)n);
		ASSERT_EQ(0, seen[c]++) TH_LOG("cookie %llu twice", (unsigned long long)c);
		ASSERT_EQ(pids[c], ev[i].pid);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev[i].flags);
		ASSERT_EQ(SIGKILL, ev[i].status);
	}
	ASSERT_LE(yield_wanted(n, t_read - t_read0), y.between)
		TH_LOG("a read of %d events: a thread of a higher priority ran %ld times, %ld of them mid-read",
		       n, y.runs, y.between);
	ASSERT_EQ(-1, read(fd, ev, PW_EVSZ));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, pw_nr_watches(fd));
	close(fd);
	all_cpus();
	FIGURE("mass processes=%d waves=%d arm_secs=%.1f kill_to_all_events_secs=%.1f slowest_wave_secs=%.1f reap_secs=%.1f read_secs=%.2f mid_read_samples=%ld fdinfo_samples=%ld",
	       n, self->nwaves, (double)(t_arm - t_spawn) / 1e9,
	       (double)(t_ready - t_kill) / 1e9, (double)wave_max / 1e9,
	       (double)(t_reaped - t_ready) / 1e9, (double)(t_read - t_read0) / 1e9,
	       y.between, runs);
	free(seen);
	free(ev);
}

/* ==== 5b. a million unread events ========================================== */

/*
 * PIDWAIT_BULK_WATCHES=N (on the guest's kernel command line): one file
 * holds N fired, unread watches; its fdinfo lists them and one read()
 * takes them all, with preemption off where the kernel can turn it off,
 * soft-lockup detection at its lowest threshold (two seconds) and the
 * SCHED_FIFO watcher beside. A fired watch pins only its struct pid, so
 * they come in waves of BULK_WAVE processes, armed, then killed. A
 * million take minutes of process creation under TCG, an hour on the
 * debug kernel: not a test for every run (the mass test reads 100,000
 * the same way).
 */
FIXTURE(bulk) {
	pid_t pg;
	pid_t leaders[MASS_WAVE_GROUPS];
	long saved_user_max, saved_max;
	long taint;
};

/* A wave: MASS_WAVE_GROUPS groups, forked by two threads as the mass test's. */
#define BULK_WAVE	(MASS_WAVE_GROUPS * MASS_PER_MM)

#define BULK_USER_MAX	"/sys/module/pidwait/parameters/max_user_watches"
#define BULK_MAX	"/sys/module/pidwait/parameters/max_watches"

FIXTURE_SETUP(bulk)
{
	self->pg = -1;
	memset(self->leaders, 0, sizeof(self->leaders));
	self->saved_user_max = pw_read_long(BULK_USER_MAX);
	self->saved_max = pw_read_long(BULK_MAX);
	self->taint = pw_taint();
}

FIXTURE_TEARDOWN(bulk)
{
	char buf[32];

	if (self->pg > 0)
		kill(-self->pg, SIGKILL);
	for (int g = 0; g < MASS_WAVE_GROUPS; g++)
		if (self->leaders[g] > 0)
			kill(self->leaders[g], SIGKILL);
	while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
		;
	nonpreempt_end();
	all_cpus();
	restore_sysctls();
	if (self->saved_user_max > 0) {
		snprintf(buf, sizeof(buf), "%ld", self->saved_user_max);
		EXPECT_EQ(0, pw_write_str(BULK_USER_MAX, buf));
	}
	if (self->saved_max > 0) {
		snprintf(buf, sizeof(buf), "%ld", self->saved_max);
		EXPECT_EQ(0, pw_write_str(BULK_MAX, buf));
	}
	EXPECT_EQ(self->taint & PW_TAINT_BAD, pw_taint() & PW_TAINT_BAD);
}

/*
 * Each wave has its own bound (its events within two minutes of the
 * kill); the whole takes an hour and more on the debug kernel.
 */
TEST_F_TIMEOUT(bulk, million_unread_events, 7200)
{
	const char *env = getenv("PIDWAIT_BULK_WATCHES");
	long n = env ? strtol(env, NULL, 0) : 0, filled = 0, len = -1, lines = 0, runs = 0;
	struct pidwait_event *ev;
	struct yield_watch y;
	uint64_t t0, t_fill, t_read0 = 0, t_read = 0;
	unsigned char *seen;
	size_t info_len;
	ssize_t k = -1;
	char buf[32];
	pid_t *pids;
	int fd, ret, st;
	char *info;

	if (n <= 0)
		SKIP(return, "PIDWAIT_BULK_WATCHES is not set (a million take minutes under TCG)");
	if (geteuid())
		SKIP(return, "needs root for the limits and a real-time thread");
	snprintf(buf, sizeof(buf), "%ld", n + MASS_PER_MM);
	ASSERT_EQ(0, pw_write_str(BULK_USER_MAX, buf));
	ASSERT_EQ(0, pw_write_str(BULK_MAX, buf));
	ASSERT_EQ(0, set_sysctl("/proc/sys/kernel/pid_max", 4 * BULK_WAVE + 32768, true,
				&saved_pid_max));
	pids = mmap(NULL, BULK_WAVE * sizeof(pid_t), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pids);
	fd = pw_open(O_NONBLOCK);
	ASSERT_LE(0, fd);

	t0 = pw_now_ns();
	while (filled < n) {
		int w = n - filled < BULK_WAVE ? (int)(n - filled) : BULK_WAVE;
		struct spawner sp[2];

		self->pg = fork();
		ASSERT_LE(0, self->pg);
		if (self->pg == 0) {
			for (;;)
				pause();
		}
		ASSERT_EQ(0, setpgid(self->pg, self->pg));
		ASSERT_EQ(0, spawn_groups(sp, pids, self->leaders, &self->pg, w));
		for (int i = 0; i < 2; i++) {
			ASSERT_EQ(0, sp[i].err)
				TH_LOG("process %ld: %s", filled + sp[i].failed_at,
				       strerror(sp[i].err));
		}
		for (int i = 0; i < w; i++) {
			ret = pw_arm(fd, pids[i], 0, filled + i);
			ASSERT_EQ(0, ret) TH_LOG("arm %ld: %s", filled + i, strerror(-ret));
		}
		ASSERT_EQ(0, kill(-self->pg, SIGKILL));
		filled += w;
		ret = pw_wait_fionread(fd, (int)(filled * PW_EVSZ), 120000);
		ASSERT_EQ(filled * PW_EVSZ, ret);
		/* Each leader saw all of its group die of SIGKILL. */
		for (int g = 0; g * MASS_PER_MM < w; g++) {
			ASSERT_EQ(self->leaders[g], waitpid(self->leaders[g], &st, 0));
			ASSERT_EQ(0, st);
			self->leaders[g] = 0;
		}
		ASSERT_EQ(self->pg, waitpid(self->pg, &st, 0));
		self->pg = -1;
	}
	t_fill = pw_now_ns();
	ASSERT_EQ(n, pw_nr_watches(fd));

	info_len = (size_t)n * 80 + 4096;
	info = malloc(info_len);
	ev = malloc((size_t)n * sizeof(*ev));
	seen = calloc(n, 1);
	ASSERT_NE(NULL, info);
	ASSERT_NE(NULL, ev);
	ASSERT_NE(NULL, seen);
	/* Faults in the buffers would give the CPU up for the loops. */
	memset(info, 0, info_len);
	memset(ev, 0, (size_t)n * sizeof(*ev));
	nonpreempt_begin();
	ret = yield_watch_start(&y, -1, 0);
	if (!ret) {
		len = fdinfo_read(fd, info, info_len, &lines, &y, &runs);
		yield_watch_stop(&y);
		ret = yield_watch_start(&y, fd, (int)(n * PW_EVSZ));
	}
	if (!ret) {
		t_read0 = pw_now_ns();
		k = read(fd, ev, (size_t)n * PW_EVSZ);
		t_read = pw_now_ns();
		yield_watch_stop(&y);
	}
	nonpreempt_end();
	all_cpus();
	ASSERT_EQ(0, ret) TH_LOG("the watcher thread: %s", strerror(-ret));
	ASSERT_LT(0, len) TH_LOG("fdinfo: %s", strerror((int)-len));
	ASSERT_EQ(n, lines);
	ASSERT_EQ((ssize_t)n * PW_EVSZ, k) TH_LOG("read: %s", k < 0 ? strerror(errno) : "short");
	for (long i = 0; i < n; i++) {
		__u64 c = ev[i].cookie;

		ASSERT_LT(c, (__u64)n);
		ASSERT_EQ(0, seen[c]++) TH_LOG("cookie %llu twice", (unsigned long long)c);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev[i].flags);
		ASSERT_EQ(SIGKILL, ev[i].status);
	}
	ASSERT_LE(yield_wanted(n, t_read - t_read0), y.between)
		TH_LOG("a read of %ld events: a thread of a higher priority ran %ld times, %ld of them mid-read",
		       n, y.runs, y.between);
	ASSERT_EQ(0, pw_nr_watches(fd));
	FIGURE("bulk watches=%ld fill_secs=%.0f fdinfo_bytes=%ld fdinfo_samples=%ld read_secs=%.2f mid_read_samples=%ld",
	       n, (double)(t_fill - t0) / 1e9, len, runs, (double)(t_read - t_read0) / 1e9,
	       y.between);
	close(fd);
	free(info);
	free(ev);
	free(seen);
	munmap(pids, BULK_WAVE * sizeof(pid_t));
}

/* ==== 6. blocked reads ====================================================== */

static void *read_in_thread(void *arg)
{
	struct pidwait_event ev;
	int fd = (int)(long)arg;

	return (void *)(long)(read(fd, &ev, sizeof(ev)) < 0 ? -errno : 0);
}

/*
 * Blocked in read() on a file whose only watch never fires (the test
 * itself), alone or beside other threads blocked on the same file:
 * SIGKILL ends it at once.
 */
TEST_F_TIMEOUT(stress, blocked_read_killed, 60)
{
	pid_t parent = getpid(), pid, tid;
	int st_ = -1;

	for (int threads = 1; threads <= 3; threads += 2) {
		int p[2];

		ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct pidwait_event ev;
			pthread_t t;
			int fd;

			pw_child_init(parent);
			fd = pw_open(0);
			CHILD_CHECK(fd >= 0);
			CHILD_CHECK(!pw_arm(fd, parent, 0, 1));
			for (int i = 1; i < threads; i++)
				CHILD_CHECK(!pthread_create(&t, NULL, read_in_thread,
							    (void *)(long)fd));
			tid = pw_gettid();
			CHILD_CHECK(write(p[1], &tid, sizeof(tid)) == sizeof(tid));
			CHILD_CHECK(read(fd, &ev, sizeof(ev)) < 0);
			_exit(3);
		}
		close(p[1]);
		ASSERT_EQ(sizeof(tid), read(p[0], &tid, sizeof(tid)));
		close(p[0]);
		/* Asleep interruptibly (S, not D): no hung-task report can come. */
		ASSERT_EQ(0, pw_wait_in_syscall(pid, tid, SYS_read, SYS_read, PW_TIMEOUT_MS));
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(0, reap_within(pid, &st_, PW_TIMEOUT_MS));
		ASSERT_EQ(SIGKILL, st_);
	}
}

struct blocked {
	int fd;
	int tidpipe;
	ssize_t ret;
	int err;
	struct pidwait_event ev;
};

static void *blocked_reader(void *p)
{
	struct blocked *b = p;
	pid_t tid = pw_gettid();

	if (write(b->tidpipe, &tid, sizeof(tid)) != sizeof(tid))
		return NULL;
	b->ret = read(b->fd, &b->ev, sizeof(b->ev));
	b->err = b->ret < 0 ? errno : 0;
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Starts a reader blocked on fd and returns once it sleeps in read(). */
static int start_blocked(struct blocked *b, pthread_t *t)
{
	int p[2], ret;
	pid_t tid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	b->tidpipe = p[1];
	b->ret = 1;
	ret = pthread_create(t, NULL, blocked_reader, b);
	if (ret) {
		close(p[0]);
		close(p[1]);
		return -ret;
	}
	ret = read(p[0], &tid, sizeof(tid)) == sizeof(tid) ? 0 : -EIO;
	close(p[0]);
	close(p[1]);
	if (!ret)
		ret = pw_wait_in_syscall(getpid(), tid, SYS_read, SYS_read, PW_TIMEOUT_MS);
	return ret;
}

/*
 * Another thread closes the descriptor a read() sleeps on. The read keeps
 * the file (the kernel took a reference for it): it stays asleep, harmlessly,
 * and returns the next event of that file, or for a signal (EINTR; after
 * SA_RESTART, the restarted read finds the descriptor gone: EBADF). Then
 * the last reference goes and nothing is left behind.
 */
TEST_F_TIMEOUT(stress, close_under_blocked_read, 60)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	long refs0 = module_refs();
	struct worker w[3];
	struct blocked b;
	pthread_t t;
	int st_ = -1, ret;

	ASSERT_LE(0, refs0);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, worker_start(&w[i], 1, NULL, NULL));

	/* An event. */
	b.fd = pw_open(0);
	ASSERT_LE(0, b.fd);
	ASSERT_EQ(0, pw_arm(b.fd, w[0].pid, 0, 5));
	ASSERT_EQ(0, start_blocked(&b, &t));
	ASSERT_EQ(0, close(b.fd));
	ASSERT_EQ(refs0 + 1, module_refs());
	pw_sleep_ms(PW_QUIET_MS);
	ASSERT_EQ(EBUSY, pthread_tryjoin_np(t, NULL));
	ASSERT_EQ(0, worker_cmd(&w[0], 0, W_EXIT_GROUP, 7));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(PW_EVSZ, b.ret) TH_LOG("read: %s", strerror(b.err));
	ASSERT_EQ(w[0].pid, b.ev.pid);
	ASSERT_EQ(5u, b.ev.cookie);
	ASSERT_EQ(W_EXITCODE(7, 0), b.ev.status);
	ASSERT_EQ(0, worker_reap(&w[0], &st_));
	ASSERT_EQ(refs0, module_refs());

	/* A signal, with and without SA_RESTART; the watch is still armed then. */
	for (int restart = 0; restart <= 1; restart++) {
		sa.sa_flags = restart ? SA_RESTART : 0;
		ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
		b.fd = pw_open(0);
		ASSERT_LE(0, b.fd);
		ASSERT_EQ(0, pw_arm(b.fd, w[1 + restart].pid, 0, 6));
		ASSERT_EQ(0, start_blocked(&b, &t));
		ASSERT_EQ(0, close(b.fd));
		ASSERT_EQ(0, pthread_kill(t, SIGUSR1));
		ASSERT_EQ(0, pthread_join(t, NULL));
		ASSERT_EQ(-1, b.ret);
		ASSERT_EQ(restart ? EBADF : EINTR, b.err) TH_LOG("%s", strerror(b.err));
		/* The last reference went with the read: the file is released. */
		ASSERT_EQ(refs0, module_refs());
		/* Its watch with it: the exit finds nothing to fire. */
		ret = worker_cmd(&w[1 + restart], 0, W_EXIT_GROUP, 0);
		ASSERT_EQ(0, ret);
		ASSERT_EQ(0, worker_reap(&w[1 + restart], &st_));
	}
	signal(SIGUSR1, SIG_DFL);
	for (int i = 0; i < 3; i++)
		worker_free(&w[i]);
}

/*
 * A read holds the file's lock while it copies an event out; if that copy
 * faults and the fault is slow (userfaultfd, FUSE), an arm or disarm on the
 * same file waits for the lock. It must wait interruptibly: killable,
 * stopped by a signal, and never reported as a hung task.
 */
struct armer {
	int fd;
	pid_t pid;
	int ret;
	int disarm;
	int tidpipe;
};

static void *armer_main(void *p)
{
	struct armer *a = p;
	pid_t tid = pw_gettid();

	if (write(a->tidpipe, &tid, sizeof(tid)) != sizeof(tid))
		return NULL;
	a->ret = a->disarm ? pw_disarm(a->fd, a->pid, 0) : pw_arm(a->fd, a->pid, 0, 1);
	return NULL;
}

struct uffd_reader {
	int fd;
	void *buf;
	ssize_t ret;
};

static void *uffd_reader_main(void *p)
{
	struct uffd_reader *r = p;

	r->ret = read(r->fd, r->buf, PW_EVSZ);
	return NULL;
}

TEST_F_TIMEOUT(stress, arm_while_read_faults, 60)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct uffdio_register reg;
	struct uffdio_zeropage zp;
	struct uffd_reader r;
	struct armer a;
	struct worker w, live;
	pthread_t tr, ta;
	long page = sysconf(_SC_PAGESIZE);
	struct pidwait_event *ev;
	int uffd, tp[2], st_ = -1;
	pid_t tid;

	/* Non-blocking, or poll() reports only POLLERR. */
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	r.buf = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.buf);
	reg.range.start = (unsigned long)r.buf;
	reg.range.len = page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));

	ASSERT_EQ(0, worker_start(&w, 1, NULL, NULL));
	ASSERT_EQ(0, worker_start(&live, 1, NULL, NULL));
	r.fd = pw_open(0);
	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, pw_arm(r.fd, w.pid, 0, 3));
	ASSERT_EQ(0, pw_arm(r.fd, live.pid, 0, 4));
	ASSERT_EQ(0, worker_cmd(&w, 0, W_EXIT_GROUP, 2));
	ASSERT_EQ(1, pw_wait_readable(r.fd, PW_TIMEOUT_MS));

	/* The read faults on the copy out, holding the lock. */
	ASSERT_EQ(0, pthread_create(&tr, NULL, uffd_reader_main, &r));
	ASSERT_EQ(1, pw_wait_readable(uffd, PW_TIMEOUT_MS));

	for (int disarm = 0; disarm <= 1; disarm++) {
		ASSERT_EQ(0, pipe2(tp, O_CLOEXEC));
		a = (struct armer){ .fd = r.fd, .pid = disarm ? live.pid : getpid(), .ret = 1,
				    .disarm = disarm, .tidpipe = tp[1] };
		ASSERT_EQ(0, pthread_create(&ta, NULL, armer_main, &a));
		ASSERT_EQ(sizeof(tid), read(tp[0], &tid, sizeof(tid)));
		close(tp[0]);
		close(tp[1]);
		/* Asleep in the ioctl, interruptibly (S): a D here never ends. */
		EXPECT_EQ(0, pw_wait_in_syscall(getpid(), tid, SYS_ioctl, SYS_ioctl,
						PW_TIMEOUT_MS))
			TH_LOG("%s waits in state %c", disarm ? "disarm" : "arm",
			       pw_task_state(getpid(), tid));
		ASSERT_EQ(0, pthread_kill(ta, SIGUSR1));
		pw_sleep_ms(PW_QUIET_MS);
		if (pthread_tryjoin_np(ta, NULL) == EBUSY) {
			/* Without the fix: let it through, to fail cleanly. */
			zp.range.start = (unsigned long)r.buf;
			zp.range.len = page;
			zp.mode = 0;
			ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zp));
			pthread_join(ta, NULL);
			ASSERT_EQ(-EINTR, a.ret) TH_LOG("a signal did not stop the wait");
		}
		ASSERT_EQ(-EINTR, a.ret) TH_LOG("%s: %d", disarm ? "disarm" : "arm", a.ret);
	}

	/* The fault resolved, the read completes with the event. */
	zp.range.start = (unsigned long)r.buf;
	zp.range.len = page;
	zp.mode = 0;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zp));
	ASSERT_EQ(0, pthread_join(tr, NULL));
	ASSERT_EQ(PW_EVSZ, r.ret);
	ev = r.buf;
	ASSERT_EQ(w.pid, ev->pid);
	ASSERT_EQ(3u, ev->cookie);
	ASSERT_EQ(1, pw_nr_watches(r.fd));
	ASSERT_EQ(0, worker_reap(&w, &st_));
	signal(SIGUSR1, SIG_DFL);
	close(r.fd);
	close(uffd);
	munmap(r.buf, page);
	worker_free(&w);
	worker_free(&live);
}

PIDWAIT_HARNESS_MAIN
