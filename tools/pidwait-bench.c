// SPDX-License-Identifier: GPL-2.0
/*
 * pidwait-bench - how fast, how cheap and how big /dev/pidwait is, next to
 * pidfd, the proc connector and polling, on the machine it runs on.
 *
 * Every figure is printed with what it was measured on (kernel release,
 * pidwait backend, QEMU TCG / other VM / real hardware, vCPUs), because a
 * figure from a TCG guest says little about real hardware and the reverse.
 *
 * Design choices that shape the figures:
 *
 *  - Latency subjects are forked by a separate "spawner" process that
 *    blocks in waitpid() for each, as a supervisor would for its service;
 *    the waiter is not the parent. Each method thus measures the signal it
 *    really gets: pidwait and pidfd fire when the process becomes a zombie,
 *    the proc connector at its exit, and kill(pid, 0) or /proc/PID polling
 *    only once the parent has reaped it (a zombie still answers both). The
 *    subject writes a CLOCK_MONOTONIC stamp to shared memory as its last
 *    act; the waiter stamps when it wakes. Pollers start at a random phase
 *    of their period, as a real poller is not synchronised with the exit.
 *
 *  - Sleepers (the "other processes" watched in bulk) are clone(CLONE_VM)
 *    children with a 1 KiB stack, a thousand to an mm, so that 100,000 of
 *    them cost the kernel their tasks and little else, and live in a process
 *    group of their own so that one kill() is a mass kill. Their parent
 *    ignores SIGCHLD, so they are reaped as they die.
 *
 *  - Throughput is measured in a fresh small process, never in one that
 *    holds watches or sleepers, so that its fork() copies the same mm in
 *    every phase; a phase with the same 100,000 sleepers unwatched
 *    separates the cost of the watches from that of the sleepers.
 *
 *  - A table of N watches on one fd cannot be N live processes for N = 1M
 *    in a small guest. Watches whose process has exited stay in the table
 *    until read, pinning only a struct pid: the table is filled with such
 *    fired, unread watches, in waves of sleepers armed then killed, and
 *    the per-op time is that of arming (then disarming) the last K live
 *    sleepers into it, K = min(1000, N/10). For the hook backends those
 *    watches also stay in the global pid table, so both backends see the
 *    full load.
 *
 * Exit status: 0 all ran (figures may be n/a where the kernel lacks
 * something), 1 a functional check failed (a lost or duplicated event, an
 * arm that failed), 4 /dev/pidwait is missing and could not be loaded,
 * 64 usage. No figure is ever judged: goals are reported, not asserted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/pidwait.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#ifndef PIDWAIT_VERSION
#define PIDWAIT_VERSION "0.4.0"
#endif

#define PROG "pidwait-bench"
#define MODNAME "pidwait"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

enum { RC_OK = 0, RC_FAIL = 1, RC_SKIP = 4, RC_USAGE = 64 };

#define NSEC ((uint64_t)1000000000)
#define SLEEPER_STACK 1024
#define MAX_SIZES 4
#define EV_BATCH 4096

static struct {
	bool shrt;
	unsigned int samples;
	unsigned int proc_samples;
	unsigned long watches;
	unsigned long drain;
	unsigned long sizes[MAX_SIZES];
	unsigned int nsizes;
	unsigned long fan[MAX_SIZES];
	unsigned int nfan;
	double secs;
	unsigned int rounds;
	const char *ko;
	bool reload;
	bool do_latency, do_cost, do_scale;
} opt;

static int failures;

/* ------------------------------------------------------------------ */

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(RC_FAIL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / NSEC), (long)(t % NSEC) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void sleep_ms(unsigned int ms)
{
	sleep_until(now_ns() + (uint64_t)ms * 1000000);
}

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static bool write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static void xpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
}

/* Children must not repeat what stdio buffered before the fork. */
static pid_t xfork(void)
{
	pid_t p;

	fflush(stdout);
	fflush(stderr);
	p = fork();
	if (p < 0)
		die("fork: %s", strerror(errno));
	return p;
}

static void *shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu bytes: %s", len, strerror(errno));
	return p;
}

static bool read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return true;
}

static bool write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok;
}

static long read_long(const char *path)
{
	char buf[64];

	return read_file(path, buf, sizeof(buf)) ? strtol(buf, NULL, 10) : -1;
}

static long meminfo_kb(const char *key)
{
	char line[128];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts @v. */
static double median_dbl(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n ? v[n / 2] : 0;
}

/* ------------------------------------------------------------------ */
/* Results, in shared memory: the sections run in child processes. */

enum lat_method {
	L_PW_EPOLL, L_PW_READ, L_PW_PIDFD, L_PIDFD, L_NETLINK, L_KILL, L_PROC, L_NR
};

static const char *const lat_names[L_NR] = {
	"/dev/pidwait + epoll",
	"/dev/pidwait + blocking read",
	"pidwait's pidfd file + epoll",
	"pidfd + epoll",
	"proc connector (netlink)",
	"kill(pid, 0) every 1 ms",
	"/proc/PID every 1 s",
};

enum cost_phase {
	C_UNLOADED, C_IDLE, C_SLEEPERS_UNLOADED, C_SLEEPERS, C_WATCHED, C_NR
};

static const char *const cost_names[C_NR] = {
	"module not loaded",
	"loaded, idle",
	"not loaded, N sleepers",
	"loaded, N sleepers unwatched",
	"loaded, N watches on sleepers",
};

#define COST_ROUNDS 16

struct na {
	char why[120];
};

struct results {
	char env[384];
	char backend[C_NR][32];
	char lat_backend[32];
	char scale_backend[32];
	struct {
		unsigned int n;
		uint64_t med, p99, max;
		struct na na;
	} lat[L_NR];
	unsigned long cost_n;
	struct {
		bool ok;
		unsigned int n;
		double fork, thread;
		double fork_r[COST_ROUNDS], thread_r[COST_ROUNDS];
		struct na na;
	} cost[C_NR];
	/* Watched over not loaded, the same sleepers, round by round. */
	double pair_fork, pair_thread;
	double pair_fork_lo, pair_fork_hi;	/* the spread of rounds */
	double ctl_fork, ctl_thread;		/* loaded, unwatched: the control */
	unsigned int pairs;
	struct {
		unsigned long n, k;
		double arm, disarm, arm_best, disarm_best;
		bool ok;
		struct na na;
	} scale[MAX_SIZES];
	unsigned long scale_reached;
	struct na scale_na;
	double mem_per_watch, mem_slab_per_watch;
	unsigned long mem_n;
	/* Per watched process: pidwait's pidfd file; a pidfd in an epoll set. */
	double mem_per_pw_pidfd, mem_per_pidfd;
	struct na mem_pw_pidfd_na, mem_pidfd_na;
	long slab_obj, slab_size;
	struct na mem_na;
	struct {
		unsigned long f;
		unsigned int rounds;
		uint64_t all, first, kfan;
		bool ok;
		struct na na;
	} fan[MAX_SIZES];
	struct {
		unsigned long n, got;
		uint64_t arm_ns, kill_to_fired, total, reading;
		bool ok, tried;
		struct na na;
	} drain;
};

static struct results *R;

static void __attribute__((format(printf, 2, 3))) set_na(struct na *na, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(na->why, sizeof(na->why), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* What the figures are measured on. */

static void platform(char *buf, size_t len)
{
	char vendor[64] = "", product[64] = "";
	char sig[13] = "";
	bool hv = false;

#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d))
		hv = c & (1U << 31);
	if (hv) {
		__cpuid(0x40000000, a, b, c, d);
		memcpy(sig, &b, 4);
		memcpy(sig + 4, &c, 4);
		memcpy(sig + 8, &d, 4);
		sig[12] = 0;
	}
#endif
	read_file("/sys/class/dmi/id/sys_vendor", vendor, sizeof(vendor));
	read_file("/sys/class/dmi/id/product_name", product, sizeof(product));
	if (!strncmp(sig, "TCGTCGTCGTCG", 12))
		snprintf(buf, len, "QEMU TCG");
	else if (!strncmp(sig, "KVMKVMKVM", 9))
		snprintf(buf, len, "KVM guest%s%s%s", vendor[0] ? " (" : "",
			 vendor, vendor[0] ? ")" : "");
	else if (!strcmp(vendor, "QEMU"))
		/* QEMU without a KVM signature: TCG (it need not say so). */
		snprintf(buf, len, "QEMU TCG");
	else if (hv)
		snprintf(buf, len, "VM (%s%s%s)", sig[0] ? sig : "hypervisor",
			 vendor[0] ? ", " : "", vendor);
	else if (vendor[0])
		snprintf(buf, len, "real hardware (%s %s)", vendor, product);
	else
		snprintf(buf, len, "real hardware");
}

static void backend_now(char *buf, size_t len)
{
	if (!read_file("/sys/module/" MODNAME "/parameters/backend", buf, len))
		snprintf(buf, len, "not loaded");
}

static void describe_env(void)
{
	struct utsname u;
	char plat[128], cpu[128] = "?", line[256], clk[32];
	FILE *f = fopen("/proc/cpuinfo", "re");

	uname(&u);
	platform(plat, sizeof(plat));
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(cpu, sizeof(cpu), "%s", strchr(line, ':') + 2);
			cpu[strcspn(cpu, "\n")] = 0;
			break;
		}
	if (f)
		fclose(f);
	/* Every stamp reads it: under a VM, hpet or acpi_pm cost a device exit. */
	if (!read_file("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		       clk, sizeof(clk)))
		snprintf(clk, sizeof(clk), "?");
	snprintf(R->env, sizeof(R->env),
		 "Linux %.64s, %.100s, %ld vCPUs, CPU %.100s, clocksource %.32s",
		 u.release, plat, sysconf(_SC_NPROCESSORS_ONLN), cpu, clk);
}

/* ------------------------------------------------------------------ */
/* The module. */

static bool module_loaded(void)
{
	return access("/sys/module/" MODNAME "/initstate", F_OK) == 0 ||
	       access("/sys/module/" MODNAME "/parameters", F_OK) == 0;
}

static int pw_open(int flags)
{
	uint64_t end = now_ns() + 3 * NSEC;
	int fd;

	/* devtmpfs creates the node a moment after insmod returns. */
	for (;;) {
		fd = open(PIDWAIT_DEVICE, O_RDONLY | O_CLOEXEC | flags);
		if (fd >= 0 || errno != ENOENT || !module_loaded() ||
		    now_ns() > end)
			return fd;
		sleep_ms(10);
	}
}

static bool module_unload(void)
{
	uint64_t end = now_ns() + 10 * NSEC;

	while (syscall(SYS_delete_module, MODNAME, O_NONBLOCK) != 0) {
		if (errno == ENOENT)
			return true;
		/* A file closing in a child we just reaped may still hold it. */
		if (errno != EAGAIN && errno != EBUSY)
			break;
		if (now_ns() > end)
			break;
		sleep_ms(50);
	}
	if (module_loaded()) {
		note("rmmod " MODNAME ": %s", strerror(errno));
		return false;
	}
	return true;
}

static bool module_load(void)
{
	int fd;

	if (module_loaded())
		return true;
	fd = open(opt.ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		note("cannot open %s: %s", opt.ko, strerror(errno));
		return false;
	}
	if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST) {
		note("insmod %s: %s", opt.ko, strerror(errno));
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

static int pw_arm(int fd, pid_t pid, uint64_t cookie)
{
	struct pidwait_arm a = { .pid = pid, .cookie = cookie };

	return ioctl(fd, PIDWAIT_IOC_ARM, &a) ? errno : 0;
}

/* A pidfd-compatible file for @pid (API 3), or -1 with errno set. */
static int pw_pidfd_open(int fd, pid_t pid)
{
	struct pidwait_pidfd_open req = { .pid = pid };

	return ioctl(fd, PIDWAIT_IOC_PIDFD_OPEN, &req);
}

static int pw_disarm(int fd, pid_t pid)
{
	struct pidwait_arm a = { .pid = pid };

	return ioctl(fd, PIDWAIT_IOC_DISARM, &a) ? errno : 0;
}

/* ------------------------------------------------------------------ */
/* System limits: many processes and fds; put back on exit. */

static long saved_pid_max = -1, saved_threads_max = -1, saved_user_watches = -1;

#define USER_WATCHES_PARAM "/sys/module/" MODNAME "/parameters/max_user_watches"

static void limits_restore(void)
{
	char buf[32];

	if (saved_user_watches > 0) {
		snprintf(buf, sizeof(buf), "%ld", saved_user_watches);
		write_str(USER_WATCHES_PARAM, buf);
	}

	if (saved_pid_max > 0) {
		snprintf(buf, sizeof(buf), "%ld", saved_pid_max);
		write_str("/proc/sys/kernel/pid_max", buf);
	}
	if (saved_threads_max > 0) {
		snprintf(buf, sizeof(buf), "%ld", saved_threads_max);
		write_str("/proc/sys/kernel/threads-max", buf);
	}
}

static void limits_raise(unsigned long procs, unsigned long fds)
{
	long pm = read_long("/proc/sys/kernel/pid_max");
	long tm = read_long("/proc/sys/kernel/threads-max");
	long want = procs ? (long)procs * 2 + 20000 : 0;
	struct rlimit rl;
	char buf[32];

	if (pm > 0 && pm < want) {
		snprintf(buf, sizeof(buf), "%ld", want > 4194304 ? 4194304 : want);
		if (write_str("/proc/sys/kernel/pid_max", buf))
			saved_pid_max = pm;
	}
	if (tm > 0 && tm < want) {
		snprintf(buf, sizeof(buf), "%ld", want);
		if (write_str("/proc/sys/kernel/threads-max", buf))
			saved_threads_max = tm;
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < fds + 64) {
		rl.rlim_cur = fds + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			note("cannot raise RLIMIT_NOFILE to %lu: %s",
			     (unsigned long)rl.rlim_cur, strerror(errno));
	}
	atexit(limits_restore);
}

/*
 * A million watches on one fd are more than one user may hold by default
 * (max_user_watches, 1% of memory): as root, allow @n for the run. A
 * reload of the module in between puts the default back.
 */
static void user_watches_raise(unsigned long n)
{
	long cur = read_long(USER_WATCHES_PARAM);
	char buf[32];

	if (geteuid() || cur < 0 || (unsigned long)cur >= n)
		return;
	snprintf(buf, sizeof(buf), "%lu", n);
	if (write_str(USER_WATCHES_PARAM, buf) && saved_user_watches < 0)
		saved_user_watches = cur;
}

/* ------------------------------------------------------------------ */
/* Sleepers: groups of cheap blocked processes, killed with one kill(). */

struct group {
	pid_t leader;
	pid_t *pids;
	unsigned long n;
	size_t maplen;
	char why[64];
};

static int sleeper(void *arg)
{
	(void)arg;
	for (;;)
		syscall(SYS_pause);
	return 0;
}

struct group_report {
	unsigned long n;
	int err;
	bool memory;
};

/*
 * Up to this many sleepers share an mm: 7.x serialises the exits of an
 * mm's users on a mutex of the mm (mm_cid), so 100,000 on one mm take
 * minutes to die and trip the hung task detector; unrelated processes do
 * not share one mm anyway.
 */
#define SLEEPERS_PER_MM 1000

static void __attribute__((noreturn)) sub_leader(pid_t *pids, unsigned long want, int rep)
{
	/* Leave room for the rest of the bench; the OOM killer must not. */
	long total = meminfo_kb("MemTotal");
	long floor_kb = total / 12 > 262144 ? total / 12 : 262144;
	struct group_report r = { 0, 0, false };
	char *stacks;

	stacks = mmap(NULL, want * SLEEPER_STACK, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (stacks == MAP_FAILED) {
		r.err = errno;
		write_full(rep, &r, sizeof(r));
		_exit(1);
	}
	for (r.n = 0; r.n < want; r.n++) {
		pid_t p;

		if (r.n % 500 == 0 && meminfo_kb("MemAvailable") < floor_kb) {
			r.memory = true;
			break;
		}
		p = clone(sleeper, stacks + (r.n + 1) * SLEEPER_STACK,
			  CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
			  CLONE_SYSVSEM | SIGCHLD, NULL);
		if (p < 0) {
			r.err = errno;
			break;
		}
		pids[r.n] = p;
	}
	write_full(rep, &r, sizeof(r));
	for (;;)
		pause();
}

static void __attribute__((noreturn)) group_leader(pid_t *pids, unsigned long want, int rep)
{
	struct group_report r = { 0, 0, false }, sr;
	unsigned long n;
	int p[2];

	setpgid(0, 0);
	for (; r.n < want; r.n += sr.n) {
		n = want - r.n < SLEEPERS_PER_MM ? want - r.n : SLEEPERS_PER_MM;
		xpipe(p);
		if (!xfork()) {
			close(p[0]);
			sub_leader(pids + r.n, n, p[1]);
		}
		close(p[1]);
		memset(&sr, 0, sizeof(sr));
		if (!read_full(p[0], &sr, sizeof(sr)))
			sr.err = ECHILD;
		close(p[0]);
		if (sr.n < n) {
			r.n += sr.n;
			r.err = sr.err;
			r.memory = sr.memory;
			break;
		}
	}
	write_full(rep, &r, sizeof(r));
	for (;;)
		pause();
}

/*
 * The caller must ignore SIGCHLD (the leader and the sleepers are reaped
 * as they die) and be a subreaper (orphaned sleepers come back to it).
 */
static bool group_spawn(struct group *g, unsigned long want)
{
	struct group_report r;
	int p[2];

	memset(g, 0, sizeof(*g));
	g->maplen = (want ? want : 1) * sizeof(pid_t);
	g->pids = shared_alloc(g->maplen);
	xpipe(p);
	g->leader = xfork();
	if (!g->leader) {
		close(p[0]);
		group_leader(g->pids, want, p[1]);
	}
	close(p[1]);
	if (!read_full(p[0], &r, sizeof(r))) {
		close(p[0]);
		snprintf(g->why, sizeof(g->why), "sleeper group died");
		return false;
	}
	close(p[0]);
	g->n = r.n;
	if (r.memory)
		snprintf(g->why, sizeof(g->why), "memory (MemAvailable low)");
	else if (r.err)
		snprintf(g->why, sizeof(g->why), "clone: %s", strerror(r.err));
	return g->n == want;
}

static void group_kill(struct group *g, bool wait)
{
	uint64_t t0 = now_ns(), next = t0 + 10 * NSEC;

	if (g->leader <= 0)
		return;
	kill(-g->leader, SIGKILL);
	while (wait && kill(-g->leader, 0) == 0) {
		sleep_ms(5);
		if (now_ns() > next) {
			note("%lu sleepers still dying after %" PRIu64 " s", g->n,
			     (uint64_t)((now_ns() - t0) / NSEC));
			next = now_ns() + 10 * NSEC;
		}
	}
	munmap(g->pids, g->maplen);
	g->leader = 0;
}

/*
 * Where no mass kill is measured: 100,000 tasks made runnable at once
 * starve everything else for minutes under TCG (RCU stall and hung task
 * reports), so they go a thousand at a time.
 */
static void group_kill_gently(struct group *g)
{
	unsigned long i, j, end;
	uint64_t deadline;

	for (i = 0; g->leader > 0 && i < g->n; i = end) {
		end = g->n - i < 1000 ? g->n : i + 1000;
		for (j = i; j < end; j++)
			kill(g->pids[j], SIGKILL);
		deadline = now_ns() + 60 * NSEC;
		for (j = i; j < end && now_ns() < deadline; )
			if (kill(g->pids[j], 0) && errno == ESRCH)
				j++;
			else
				sleep_ms(2);
	}
	group_kill(g, true);
}

static void become_holder(void)
{
	signal(SIGCHLD, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* ------------------------------------------------------------------ */
/* Latency subjects: forked and reaped by a spawner, not by the waiter. */

struct spawner {
	pid_t pid;
	int cmd, pids, go;
	volatile uint64_t *stamp;
};

static void __attribute__((noreturn)) spawner_loop(int cmd, int pids, int go,
						   volatile uint64_t *stamp)
{
	char c;

	while (read_full(cmd, &c, 1)) {
		pid_t p = fork();

		if (!p) {
			if (!read_full(go, &c, 1))
				_exit(1);
			*stamp = now_ns();
			_exit(0);
		}
		write_full(pids, &p, sizeof(p));
		if (p > 0)
			while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
				;
	}
	_exit(0);
}

static void spawner_start(struct spawner *s)
{
	int c[2], p[2], g[2];

	xpipe(c);
	xpipe(p);
	xpipe(g);
	s->stamp = shared_alloc(4096);
	s->pid = xfork();
	if (!s->pid) {
		/* Killed with the bench, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		close(c[1]);
		close(p[0]);
		close(g[1]);
		spawner_loop(c[0], p[1], g[0], s->stamp);
	}
	close(c[0]);
	close(p[1]);
	close(g[0]);
	s->cmd = c[1];
	s->pids = p[0];
	s->go = g[1];
}

static pid_t subject_new(struct spawner *s)
{
	pid_t p;

	if (!write_full(s->cmd, "f", 1) || !read_full(s->pids, &p, sizeof(p)))
		die("the spawner died");
	if (p < 0)
		die("the spawner cannot fork");
	*s->stamp = 0;
	return p;
}

static void subject_go(struct spawner *s)
{
	if (!write_full(s->go, "g", 1))
		die("cannot start the subject");
}

/* ------------------------------------------------------------------ */
/* 1. Exit-to-wakeup latency. */

static void on_alarm(int sig)
{
	(void)sig;
}

struct lat_ctx {
	struct spawner *s;
	int pw_nb, pw_blk, ep_pw, ep_pidfd, nl;
};

static int nl_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = CN_IDX_PROC,
	};
	struct {
		struct nlmsghdr nl;
		struct cn_msg cn;
		enum proc_cn_mcast_op op;
	} __attribute__((packed)) req;
	struct timeval tv = { 5, 0 };
	int rcvbuf = 4 << 20;
	int fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);

	if (fd < 0)
		return -errno;
	sa.nl_pid = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail;
	memset(&req, 0, sizeof(req));
	req.nl.nlmsg_len = sizeof(req);
	req.nl.nlmsg_type = NLMSG_DONE;
	req.nl.nlmsg_pid = (__u32)getpid();
	req.cn.id.idx = CN_IDX_PROC;
	req.cn.id.val = CN_VAL_PROC;
	req.cn.len = sizeof(req.op);
	req.op = PROC_CN_MCAST_LISTEN;
	if (send(fd, &req, sizeof(req), 0) != sizeof(req))
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	return fd;
fail:
	rcvbuf = -errno;
	close(fd);
	return rcvbuf;
}

/* Waits for @pid's exit on the proc connector; false on timeout. */
static bool nl_wait_exit(int fd, pid_t pid)
{
	char buf[8192] __attribute__((aligned(8)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0 && (errno == EINTR || errno == ENOBUFS))
			continue;
		if (n <= 0)
			return false;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct cn_msg *cn = NLMSG_DATA(h);
			struct proc_event *ev = (struct proc_event *)cn->data;

			if (ev->what == PROC_EVENT_EXIT &&
			    ev->event_data.exit.process_pid == pid &&
			    ev->event_data.exit.process_tgid == pid)
				return true;
		}
	}
}

static void nl_drain(int fd)
{
	char buf[8192];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static bool gone_kill(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

static bool gone_proc(pid_t pid)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return stat(path, &st) < 0 && errno == ENOENT;
}

/* Polls from a random phase of the period, as a poller is not in step. */
static uint64_t poll_until_gone(pid_t pid, uint64_t period, bool (*gone)(pid_t))
{
	uint64_t t = now_ns() + rnd() % period, end = t + 30 * NSEC;

	for (;;) {
		sleep_until(t);
		if (gone(pid))
			return now_ns();
		if (t > end)
			return 0;
		t += period;
	}
}

/* One sample: the ns from the subject's last stamp to our wakeup, or 0. */
static uint64_t lat_sample(struct lat_ctx *c, enum lat_method m)
{
	struct epoll_event ee = { .events = EPOLLIN };
	struct pidwait_event ev;
	pid_t pid = subject_new(c->s);
	uint64_t t = 0;
	int pfd = -1;
	ssize_t n;

	switch (m) {
	case L_PW_EPOLL:
		if (pw_arm(c->pw_nb, pid, 1))
			die("arm %d: %s", pid, strerror(errno));
		subject_go(c->s);
		if (epoll_wait(c->ep_pw, &ee, 1, 10000) == 1)
			t = now_ns();
		n = read(c->pw_nb, &ev, sizeof(ev));
		if (n != sizeof(ev) || ev.pid != pid)
			t = 0;
		break;
	case L_PW_READ:
		if (pw_arm(c->pw_blk, pid, 1))
			die("arm %d: %s", pid, strerror(errno));
		subject_go(c->s);
		alarm(10);
		n = read(c->pw_blk, &ev, sizeof(ev));
		if (n == sizeof(ev) && ev.pid == pid)
			t = now_ns();
		alarm(0);
		break;
	case L_PW_PIDFD:
	case L_PIDFD:
		pfd = m == L_PIDFD ? (int)syscall(SYS_pidfd_open, pid, 0) :
				     pw_pidfd_open(c->pw_nb, pid);
		if (pfd < 0)
			die("%s %d: %s", m == L_PIDFD ? "pidfd_open" : "PIDWAIT_IOC_PIDFD_OPEN",
			    pid, strerror(errno));
		if (epoll_ctl(c->ep_pidfd, EPOLL_CTL_ADD, pfd, &ee))
			die("epoll_ctl: %s", strerror(errno));
		subject_go(c->s);
		if (epoll_wait(c->ep_pidfd, &ee, 1, 10000) == 1)
			t = now_ns();
		close(pfd);
		break;
	case L_NETLINK:
		nl_drain(c->nl);
		subject_go(c->s);
		if (nl_wait_exit(c->nl, pid))
			t = now_ns();
		break;
	case L_KILL:
		subject_go(c->s);
		t = poll_until_gone(pid, 1000000, gone_kill);
		break;
	case L_PROC:
		subject_go(c->s);
		t = poll_until_gone(pid, NSEC, gone_proc);
		break;
	default:
		break;
	}
	/* Every method wakes after the last act: the stamp is there now. */
	if (!t || !*c->s->stamp || t < *c->s->stamp)
		return 0;
	return t - *c->s->stamp;
}

/* Samples of one method, and its figures once sorted. */
struct lat_samples {
	uint64_t *v;
	unsigned int got;
	bool on;
};

static void lat_take(struct lat_ctx *c, enum lat_method m, struct lat_samples *ls)
{
	uint64_t ns = lat_sample(c, m);

	if (ns) {
		ls->v[ls->got++] = ns;
		return;
	}
	/* The proc connector may simply be compiled out. */
	if (m == L_NETLINK && ls->got == 0) {
		set_na(&R->lat[m].na, "no exit event in 5 s (CONFIG_PROC_EVENTS?)");
		ls->on = false;
		return;
	}
	note("%s: sample lost", lat_names[m]);
	failures++;
}

static void lat_figures(enum lat_method m, struct lat_samples *ls)
{
	unsigned int got = ls->got;
	uint64_t *v = ls->v;

	qsort(v, got, sizeof(*v), cmp_u64);
	R->lat[m].n = got;
	if (got) {
		R->lat[m].med = v[got / 2];
		R->lat[m].p99 = v[(got * 99 + 99) / 100 - 1];
		R->lat[m].max = v[got - 1];
	}
	free(v);
}

/*
 * The event methods take turns, sample by sample, so that a drift of the
 * host or of TCG weighs on each alike and their ratios hold. Each turn is
 * in a new random order: in a fixed cycle a method would always follow
 * the same other one, and inherit what that one leaves behind (a poller's
 * timers, a reaping). /proc polling, up to a second a sample, comes last.
 */
static void lat_all(struct lat_ctx *c, const bool *on)
{
	struct lat_samples ls[L_NR];
	unsigned int i, k, m, n, order[L_PROC];

	memset(ls, 0, sizeof(ls));
	for (m = 0; m < L_NR; m++) {
		n = m == L_PROC ? opt.proc_samples : opt.samples;
		ls[m].on = on[m];
		ls[m].v = calloc(n ? n : 1, sizeof(uint64_t));
		if (!ls[m].v)
			die("out of memory");
		if (on[m])
			note("latency: %s, %u samples", lat_names[m], n);
	}
	for (k = 0; k < L_PROC; k++)
		order[k] = k;
	for (i = 0; i < opt.samples; i++) {
		for (k = L_PROC - 1; k > 0; k--) {
			unsigned int j = (unsigned int)(rnd() % (k + 1)), tmp = order[k];

			order[k] = order[j];
			order[j] = tmp;
		}
		for (k = 0; k < L_PROC; k++) {
			m = order[k];
			if (ls[m].on)
				lat_take(c, m, &ls[m]);
		}
	}
	for (i = 0; ls[L_PROC].on && i < opt.proc_samples; i++)
		lat_take(c, L_PROC, &ls[L_PROC]);
	for (m = 0; m < L_NR; m++)
		lat_figures(m, &ls[m]);
}

static void section_latency(struct spawner *s)
{
	struct lat_ctx c = { .s = s, .nl = -1 };
	struct epoll_event ee = { .events = EPOLLIN };
	struct sigaction sa = { .sa_handler = on_alarm };
	bool on[L_NR] = { false };
	int fd;

	sigaction(SIGALRM, &sa, NULL);
	backend_now(R->lat_backend, sizeof(R->lat_backend));
	c.pw_nb = pw_open(O_NONBLOCK);
	c.pw_blk = pw_open(0);
	c.ep_pw = epoll_create1(EPOLL_CLOEXEC);
	c.ep_pidfd = epoll_create1(EPOLL_CLOEXEC);
	if (c.pw_nb >= 0 && c.pw_blk >= 0 &&
	    !epoll_ctl(c.ep_pw, EPOLL_CTL_ADD, c.pw_nb, &ee)) {
		on[L_PW_EPOLL] = true;
		on[L_PW_READ] = true;
	} else {
		set_na(&R->lat[L_PW_EPOLL].na, PIDWAIT_DEVICE ": %s", strerror(errno));
		R->lat[L_PW_READ].na = R->lat[L_PW_EPOLL].na;
	}
	fd = c.pw_nb >= 0 ? pw_pidfd_open(c.pw_nb, getpid()) : -1;
	if (fd >= 0) {
		close(fd);
		on[L_PW_PIDFD] = true;
	} else {
		set_na(&R->lat[L_PW_PIDFD].na, "PIDWAIT_IOC_PIDFD_OPEN: %s", strerror(errno));
	}
	fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (fd >= 0) {
		close(fd);
		on[L_PIDFD] = true;
	} else {
		set_na(&R->lat[L_PIDFD].na, "pidfd_open: %s", strerror(errno));
	}
	c.nl = nl_open();
	if (c.nl >= 0)
		on[L_NETLINK] = true;
	else
		set_na(&R->lat[L_NETLINK].na, "proc connector: %s", strerror(-c.nl));
	on[L_KILL] = true;
	on[L_PROC] = true;
	lat_all(&c, on);
	if (c.nl >= 0)
		close(c.nl);
	if (c.pw_nb >= 0)
		close(c.pw_nb);
	if (c.pw_blk >= 0)
		close(c.pw_blk);
	close(c.ep_pw);
	close(c.ep_pidfd);
}

/* ------------------------------------------------------------------ */
/* 2. Cost on unrelated processes. */

static void *thread_fn(void *arg)
{
	return arg;
}

struct rates {
	double fork, thread;
};

static void fork_once(void)
{
	pid_t p = fork();

	if (!p)
		_exit(0);
	if (p < 0 || waitpid(p, NULL, 0) != p)
		_exit(1);
}

static void thread_once(void)
{
	pthread_t th;

	if (pthread_create(&th, NULL, thread_fn, NULL) || pthread_join(th, NULL))
		_exit(1);
}

/* In the measuring process: @op, over and over for @dur; how many a second. */
static double rate_for(void (*op)(void), uint64_t dur)
{
	uint64_t t0 = now_ns(), t;
	unsigned long k = 0;

	do {
		op();
		k++;
	} while ((t = now_ns()) - t0 < dur);
	return (double)k * NSEC / (double)(t - t0);
}

/*
 * One round, in a fresh small process, so that every phase forks the same
 * mm. A quarter of a round forks unmeasured first: what the change of
 * phase left running (an unload's RCU work, the frees of a close) settles,
 * and the fresh process has its code translated (TCG) before it counts.
 */
static bool measure_rates(double *fork_ps, double *thread_ps)
{
	struct rates *r = shared_alloc(sizeof(*r));
	uint64_t dur = (uint64_t)(opt.secs * NSEC);
	int status;
	pid_t m;
	bool ok;

	m = xfork();
	if (!m) {
		rate_for(fork_once, dur / 4);
		r->fork = rate_for(fork_once, dur);
		r->thread = rate_for(thread_once, dur);
		_exit(0);
	}
	ok = waitpid(m, &status, 0) == m && WIFEXITED(status) &&
	     !WEXITSTATUS(status);
	if (ok) {
		*fork_ps = r->fork;
		*thread_ps = r->thread;
	}
	munmap(r, sizeof(*r));
	return ok;
}

static unsigned int cost_rounds(void)
{
	return opt.rounds > COST_ROUNDS ? COST_ROUNDS : opt.rounds;
}

/* One more round of @ph; the medians are taken at the end. */
static void cost_round(enum cost_phase ph)
{
	unsigned int n = R->cost[ph].n;

	if (!n) {
		note("cost: %s", cost_names[ph]);
		backend_now(R->backend[ph], sizeof(R->backend[ph]));
	}
	if (n >= COST_ROUNDS)
		return;
	if (!measure_rates(&R->cost[ph].fork_r[n], &R->cost[ph].thread_r[n])) {
		set_na(&R->cost[ph].na, "the measuring process failed");
		failures++;
		return;
	}
	R->cost[ph].n = n + 1;
}

/* The rounds of @ph still missing. */
static void cost_phase(enum cost_phase ph)
{
	unsigned int r;

	for (r = R->cost[ph].n; r < cost_rounds(); r++)
		cost_round(ph);
}

/* Round by round, @a over @b. */
static unsigned int pair_ratios(enum cost_phase a, enum cost_phase b,
				double *f, double *t)
{
	unsigned int r;

	for (r = 0; r < cost_rounds(); r++) {
		f[r] = R->cost[a].fork_r[r] / R->cost[b].fork_r[r];
		t[r] = R->cost[a].thread_r[r] / R->cost[b].thread_r[r];
	}
	return r;
}

static void cost_medians(void)
{
	unsigned int p, n;
	double f[COST_ROUNDS], t[COST_ROUNDS];

	for (p = 0; p < C_NR; p++)
		R->cost[p].ok = R->cost[p].n == cost_rounds() && !R->cost[p].na.why[0];
	/*
	 * Rounds taken side by side: what drifts (the host, TCG) cancels.
	 * Before the medians below, which sort the rounds.
	 */
	if (R->cost[C_WATCHED].ok && R->cost[C_SLEEPERS_UNLOADED].ok &&
	    R->cost[C_SLEEPERS].ok) {
		n = pair_ratios(C_SLEEPERS, C_SLEEPERS_UNLOADED, f, t);
		R->ctl_fork = median_dbl(f, n);
		R->ctl_thread = median_dbl(t, n);
		n = pair_ratios(C_WATCHED, C_SLEEPERS_UNLOADED, f, t);
		R->pair_fork = median_dbl(f, n);
		R->pair_thread = median_dbl(t, n);
		R->pair_fork_lo = f[0];
		R->pair_fork_hi = f[n - 1];
		R->pairs = n;
	}
	for (p = 0; p < C_NR; p++) {
		if (R->cost[p].ok) {
			R->cost[p].fork = median_dbl(R->cost[p].fork_r, R->cost[p].n);
			R->cost[p].thread = median_dbl(R->cost[p].thread_r, R->cost[p].n);
		}
	}
}

/*
 * The holder: sleepers; on 'a' a file with watches on all of them, on 'c'
 * that file closed, on 'q' the end. It reports the number spawned, then
 * the number armed at each 'a' and a byte at each 'c'.
 */
static void __attribute__((noreturn)) holder_main(unsigned long n, int cmd, int rep)
{
	unsigned long i, armed;
	struct group g;
	int fd = -1;
	char c;

	become_holder();
	group_spawn(&g, n);
	write_full(rep, &g.n, sizeof(g.n));
	while (read_full(cmd, &c, 1) && c != 'q') {
		if (c == 'a') {
			fd = pw_open(O_NONBLOCK);
			for (i = 0, armed = 0; fd >= 0 && i < g.n; i++)
				if (!pw_arm(fd, g.pids[i], i))
					armed++;
			write_full(rep, &armed, sizeof(armed));
		} else if (c == 'c') {
			if (fd >= 0)
				close(fd);
			fd = -1;
			write_full(rep, &c, 1);
		}
	}
	group_kill_gently(&g);
	if (fd >= 0)
		close(fd);
	_exit(0);
}

/*
 * Module not loaded and loaded idle, then with N sleepers: not loaded,
 * loaded, and N watches on them, each group round after round in turns,
 * reloading the module between. So the goal's ratio (watched over not
 * loaded) compares the same processes, taken within seconds of each other.
 */
static void section_cost(void)
{
	bool was_loaded = module_loaded();
	bool can_reload = opt.reload && opt.ko && !geteuid();
	unsigned long spawned = 0, armed = 0;
	int cmd[2], rep[2];
	unsigned int r;
	char c;
	pid_t h;

	R->cost_n = opt.watches;
	if (was_loaded && can_reload && !module_unload())
		can_reload = false;
	if (!module_loaded()) {
		/* In turns too: the first seconds of a run are not like the rest. */
		for (r = 0; r < cost_rounds(); r++) {
			if (r && !module_unload()) {
				set_na(&R->cost[C_UNLOADED].na, "cannot unload");
				failures++;
				break;
			}
			cost_round(C_UNLOADED);
			if (!can_reload || !module_load()) {
				cost_phase(C_UNLOADED);
				set_na(&R->cost[C_IDLE].na,
				       "module not loaded (no --module/PIDWAIT_KO)");
				R->cost[C_SLEEPERS].na = R->cost[C_IDLE].na;
				R->cost[C_WATCHED].na = R->cost[C_IDLE].na;
				R->cost[C_SLEEPERS_UNLOADED].na = R->cost[C_IDLE].na;
				cost_medians();
				return;
			}
			cost_round(C_IDLE);
		}
	} else {
		set_na(&R->cost[C_UNLOADED].na, "module loaded and not reloadable%s",
		       opt.ko ? "" : " (no --module/PIDWAIT_KO)");
		R->cost[C_SLEEPERS_UNLOADED].na = R->cost[C_UNLOADED].na;
	}
	cost_phase(C_IDLE);

	note("cost: spawning %lu sleepers", opt.watches);
	xpipe(cmd);
	xpipe(rep);
	h = xfork();
	if (!h) {
		close(cmd[1]);
		close(rep[0]);
		holder_main(opt.watches, cmd[0], rep[1]);
	}
	close(cmd[0]);
	close(rep[1]);
	if (!read_full(rep[0], &spawned, sizeof(spawned)))
		spawned = 0;
	R->cost_n = spawned;
	if (!spawned) {
		set_na(&R->cost[C_SLEEPERS].na, "no sleepers");
		R->cost[C_WATCHED].na = R->cost[C_SLEEPERS].na;
		if (can_reload)
			R->cost[C_SLEEPERS_UNLOADED].na = R->cost[C_SLEEPERS].na;
	}
	for (r = 0; spawned && r < cost_rounds(); r++) {
		if (can_reload) {
			if (!module_unload()) {
				set_na(&R->cost[C_SLEEPERS_UNLOADED].na, "cannot unload");
				can_reload = false;
				failures++;
			} else {
				cost_round(C_SLEEPERS_UNLOADED);
				if (!module_load()) {
					set_na(&R->cost[C_WATCHED].na, "cannot reload");
					failures++;
					break;
				}
			}
		}
		cost_round(C_SLEEPERS);
		if (!write_full(cmd[1], "a", 1) ||
		    !read_full(rep[0], &armed, sizeof(armed)) || armed != spawned) {
			set_na(&R->cost[C_WATCHED].na, "armed %lu of %lu", armed, spawned);
			failures++;
			break;
		}
		cost_round(C_WATCHED);
		if (!write_full(cmd[1], "c", 1) || !read_full(rep[0], &c, 1)) {
			failures++;
			break;
		}
	}
	write_full(cmd[1], "q", 1);
	close(cmd[1]);
	close(rep[0]);
	waitpid(h, NULL, 0);
	cost_medians();
	if (!was_loaded && module_loaded() && opt.reload && opt.ko && !geteuid())
		module_unload();
}

/* ------------------------------------------------------------------ */
/* 3. Scale: memory, drain, arm/disarm at table sizes (in a holder). */

static char cg_path[128];

/* A memory cgroup of our own, so memory.current counts only our charges. */
static bool cgroup_enter(void)
{
	char buf[32], p[160];

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK))
		return false;
	write_str("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	snprintf(cg_path, sizeof(cg_path), "/sys/fs/cgroup/pidwait-bench-%d",
		 (int)getpid());
	if (mkdir(cg_path, 0755) && errno != EEXIST)
		return false;
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	snprintf(p, sizeof(p), "%s/cgroup.procs", cg_path);
	if (!write_str(p, buf))
		return false;
	snprintf(p, sizeof(p), "%s/memory.current", cg_path);
	return access(p, R_OK) == 0;
}

static long cg_read(const char *file, const char *key)
{
	char p[160], line[128];
	size_t kl = key ? strlen(key) : 0;
	long v = -1;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", cg_path, file);
	if (!key)
		return read_long(p);
	f = fopen(p, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ' ') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}

static void slab_info(void)
{
	R->slab_obj = read_long("/sys/kernel/slab/pidwait_watch/object_size");
	R->slab_size = read_long("/sys/kernel/slab/pidwait_watch/slab_size");
}

/* Reads all events (count and identity checked); the ns spent reading. */
static unsigned long drain_all(int fd, const struct group *g, uint64_t *reading,
			       uint64_t *last_fire)
{
	struct pidwait_event *ev = malloc(EV_BATCH * sizeof(*ev));
	unsigned char *seen = calloc(g->n ? g->n : 1, 1);
	struct epoll_event ee = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned long got = 0;
	uint64_t idle_since = now_ns();

	*reading = 0;
	*last_fire = 0;
	if (!ev || !seen || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee))
		die("drain setup: %s", strerror(errno));
	while (got < g->n) {
		uint64_t t0 = now_ns();
		ssize_t n = read(fd, ev, EV_BATCH * sizeof(*ev));
		long i;

		*reading += now_ns() - t0;
		if (n < 0 && errno == EAGAIN) {
			if (now_ns() - idle_since > 60 * NSEC)
				break;
			epoll_wait(ep, &ee, 1, 1000);
			continue;
		}
		if (n <= 0 || n % sizeof(*ev))
			break;
		idle_since = now_ns();
		for (i = 0; i < n / (long)sizeof(*ev); i++) {
			uint64_t k = ev[i].cookie;

			if (k >= g->n || seen[k] || ev[i].pid != g->pids[k]) {
				note("drain: bad or duplicate event pid %d cookie %" PRIu64,
				     ev[i].pid, k);
				failures++;
				continue;
			}
			seen[k] = 1;
			got++;
			if (ev[i].exit_time_ns > *last_fire)
				*last_fire = ev[i].exit_time_ns;
		}
	}
	close(ep);
	free(seen);
	free(ev);
	return got;
}

/*
 * Kernel memory per watched process held as a descriptor each: pidwait's
 * pidfd-compatible file (@dev >= 0), or a real pidfd added to an epoll
 * set, as an event loop holds it. Measured on the drain's sleepers.
 */
static void mem_per_fd(const struct group *g, int dev, double *per, struct na *na)
{
	struct epoll_event ee = { .events = EPOLLIN };
	int *fds = calloc(g->n, sizeof(int)), ep = -1;
	unsigned long i, k = 0;
	long m0, m1;

	if (!fds) {
		set_na(na, "out of memory");
		return;
	}
	if (dev < 0) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0) {
			set_na(na, "epoll_create1: %s", strerror(errno));
			free(fds);
			return;
		}
	}
	sleep_ms(2500);
	m0 = cg_read("memory.current", NULL);
	for (i = 0; i < g->n; i++) {
		int fd = dev >= 0 ? pw_pidfd_open(dev, g->pids[i]) :
				    (int)syscall(SYS_pidfd_open, g->pids[i], 0);

		if (fd < 0) {
			set_na(na, "%s: %s after %lu",
			       dev >= 0 ? "PIDWAIT_IOC_PIDFD_OPEN" : "pidfd_open",
			       strerror(errno), k);
			break;
		}
		fds[k++] = fd;
		if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ee)) {
			set_na(na, "epoll_ctl: %s", strerror(errno));
			break;
		}
	}
	sleep_ms(2500);
	m1 = cg_read("memory.current", NULL);
	if (!na->why[0]) {
		if (m0 < 0 || m1 < 0)
			set_na(na, "no memory cgroup (cgroup2 with +memory)");
		else if (m1 - m0 < 4 << 20)
			set_na(na, "%ld B over %lu descriptors: too few to measure", m1 - m0, k);
		else
			*per = (double)(m1 - m0) / (double)k;
	}
	for (i = 0; i < k; i++)
		close(fds[i]);
	if (ep >= 0)
		close(ep);
	free(fds);
}

static void scale_memory_drain(bool memcg)
{
	unsigned long n = opt.drain, i, bad = 0;
	long m0 = -1, m1 = -1, s0 = -1, s1 = -1;
	uint64_t t0, t1, t2, last;
	struct group g;
	int fd;

	note("drain: spawning %lu sleepers", n);
	R->drain.tried = true;
	if (!group_spawn(&g, n))
		note("drain: %lu of %lu sleepers (%s)", g.n, n, g.why);
	R->drain.n = g.n;
	fd = pw_open(O_NONBLOCK);
	if (fd < 0) {
		set_na(&R->drain.na, PIDWAIT_DEVICE ": %s", strerror(errno));
		R->mem_na = R->drain.na;
		group_kill(&g, true);
		return;
	}
	/* memcg folds its per-CPU counts into memory.stat every 2 s. */
	if (memcg) {
		sleep_ms(2500);
		m0 = cg_read("memory.current", NULL);
		s0 = cg_read("memory.stat", "slab");
	}
	t0 = now_ns();
	for (i = 0; i < g.n; i++)
		if (pw_arm(fd, g.pids[i], i))
			bad++;
	t1 = now_ns();
	R->drain.arm_ns = g.n ? (t1 - t0) / g.n : 0;
	if (memcg) {
		sleep_ms(2500);
		m1 = cg_read("memory.current", NULL);
		s1 = cg_read("memory.stat", "slab");
	}
	if (bad) {
		note("drain: %lu arms failed", bad);
		failures++;
	}
	R->mem_n = g.n - bad;
	/* Below a few MB, memcg's per-CPU charge batches drown the figure. */
	if (m0 >= 0 && m1 >= 0 && R->mem_n && m1 - m0 < 4 << 20) {
		set_na(&R->mem_na, "%ld B over %lu watches: too few to measure",
		       m1 - m0, R->mem_n);
	} else if (m0 >= 0 && m1 >= 0 && R->mem_n) {
		R->mem_per_watch = (double)(m1 - m0) / (double)R->mem_n;
		if (s0 >= 0 && s1 >= 0)
			R->mem_slab_per_watch = (double)(s1 - s0) / (double)R->mem_n;
	} else {
		set_na(&R->mem_na, "no memory cgroup (cgroup2 with +memory)");
	}
	slab_info();
	if (memcg) {
		mem_per_fd(&g, fd, &R->mem_per_pw_pidfd, &R->mem_pw_pidfd_na);
		int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);

		if (pfd < 0) {
			set_na(&R->mem_pidfd_na, "pidfd_open: %s", strerror(errno));
		} else {
			close(pfd);
			mem_per_fd(&g, -1, &R->mem_per_pidfd, &R->mem_pidfd_na);
		}
	} else {
		set_na(&R->mem_pw_pidfd_na, "no memory cgroup (cgroup2 with +memory)");
		R->mem_pidfd_na = R->mem_pw_pidfd_na;
	}

	/*
	 * Read only once all have fired: under TCG the exits themselves take
	 * minutes, and a reader racing them would time the scheduler.
	 */
	note("drain: killing %lu sleepers", g.n);
	t0 = now_ns();
	kill(-g.leader, SIGKILL);
	{
		int bytes = 0, expect = (int)((g.n - bad) * sizeof(struct pidwait_event));
		uint64_t end = now_ns() + 1800 * NSEC;

		while (!ioctl(fd, FIONREAD, &bytes) && bytes < expect &&
		       now_ns() < end)
			sleep_ms(1);
	}
	t1 = now_ns();
	R->drain.got = drain_all(fd, &g, &R->drain.reading, &last);
	t2 = now_ns();
	R->drain.total = t2 - t1;
	R->drain.kill_to_fired = last > t0 ? last - t0 : 0;
	R->drain.ok = R->drain.got == g.n - bad && !bad;
	if (!R->drain.ok) {
		set_na(&R->drain.na, "got %lu events of %lu", R->drain.got, g.n - bad);
		failures++;
	}
	group_kill(&g, true);
	close(fd);
}

/* Adds @want fired, unread watches to @fd, in waves of sleepers. */
static unsigned long fill(int fd, unsigned long want, unsigned long wave_max,
			  unsigned long *filled, struct na *na)
{
	while (want) {
		unsigned long w = want < wave_max ? want : wave_max, i, armed = 0;
		struct group g;
		int bytes = 0, expect;
		uint64_t end;

		group_spawn(&g, w);
		if (!g.n) {
			set_na(na, "no sleepers: %s", g.why);
			group_kill(&g, true);
			break;
		}
		for (i = 0; i < g.n; i++) {
			int e = pw_arm(fd, g.pids[i], (uint64_t)-1);

			if (e) {
				set_na(na, "arm #%lu: %s", *filled + armed, strerror(e));
				break;
			}
			armed++;
		}
		group_kill_gently(&g);
		*filled += armed;
		want -= armed < want ? armed : want;
		/* Filler counts only once fired: then it is the table's load. */
		expect = (int)(*filled * sizeof(struct pidwait_event));
		end = now_ns() + 60 * NSEC;
		while (!ioctl(fd, FIONREAD, &bytes) && bytes < expect &&
		       now_ns() < end)
			sleep_ms(10);
		if (i < g.n)
			break;
		note("scale: %lu fired watches on the fd", *filled);
	}
	return *filled;
}

static void scale_arm_disarm(void)
{
	unsigned long kmax = 0, filled = 0, j;
	struct group live;
	unsigned int s, r;
	int fd;

	for (s = 0; s < opt.nsizes; s++) {
		unsigned long k = opt.sizes[s] / 10 < 1000 ? opt.sizes[s] / 10 : 1000;

		if (k > kmax)
			kmax = k;
	}
	if (!kmax)
		kmax = 1;
	fd = pw_open(O_NONBLOCK);
	if (fd < 0) {
		set_na(&R->scale_na, PIDWAIT_DEVICE ": %s", strerror(errno));
		return;
	}
	if (!group_spawn(&live, kmax)) {
		set_na(&R->scale_na, "live sleepers: %s", live.why);
		group_kill(&live, true);
		close(fd);
		return;
	}
	for (s = 0; s < opt.nsizes; s++) {
		unsigned long n = opt.sizes[s];
		unsigned long k = n / 10 < 1000 ? n / 10 : 1000;
		/* Cheap rounds, and preemption only ever adds: take many. */
		unsigned int rounds = opt.rounds * 3 > 31 ? 31 : opt.rounds * 3;
		double arm[31], dis[31];

		if (!k)
			k = 1;
		R->scale[s].n = n;
		R->scale[s].k = k;
		note("scale: table of %lu watches", n);
		if (filled < n - k &&
		    fill(fd, n - k - filled, opt.drain ? opt.drain : 1000, &filled,
			 &R->scale[s].na) < n - k)
			break;
		R->scale[s].ok = true;
		for (r = 0; r < rounds && R->scale[s].ok; r++) {
			uint64_t t0, t1;

			/* Apart, so that one stall of a shared host spoils one round. */
			sleep_ms(20);
			t0 = now_ns();

			for (j = 0; j < k; j++)
				if (pw_arm(fd, live.pids[j], j)) {
					set_na(&R->scale[s].na, "arm at %lu: %s",
					       filled + j, strerror(errno));
					R->scale[s].ok = false;
					break;
				}
			t1 = now_ns();
			arm[r] = (double)(t1 - t0) / (double)k;
			for (j = 0; j < k; j++)
				if (pw_disarm(fd, live.pids[j]) &&
				    R->scale[s].ok) {
					set_na(&R->scale[s].na, "disarm: %s",
					       strerror(errno));
					R->scale[s].ok = false;
				}
			dis[r] = (double)(now_ns() - t1) / (double)k;
		}
		if (!R->scale[s].ok) {
			failures++;
			break;
		}
		R->scale[s].arm = median_dbl(arm, rounds);
		R->scale[s].disarm = median_dbl(dis, rounds);
		R->scale[s].arm_best = arm[0];
		R->scale[s].disarm_best = dis[0];
		R->scale_reached = filled + k;
	}
	group_kill(&live, true);
	note("scale: closing the fd");
	close(fd);
}

static void section_scale_holder(void)
{
	bool memcg;

	become_holder();
	memcg = !geteuid() && cgroup_enter();
	backend_now(R->scale_backend, sizeof(R->scale_backend));
	scale_memory_drain(memcg);
	scale_arm_disarm();
}

static void section_scale(void)
{
	int status;
	pid_t x;
	unsigned long most = opt.drain;
	unsigned int s;

	for (s = 0; s < opt.nsizes; s++)
		if (opt.sizes[s] > most)
			most = opt.sizes[s];
	/* The cost section may have reloaded the module: its default again. */
	/* The drain's watches, and as many pidfd files beside them. */
	user_watches_raise(2 * most + 10000);
	x = xfork();

	if (!x) {
		section_scale_holder();
		fflush(NULL);
		_exit(failures ? 1 : 0);
	}
	if (waitpid(x, &status, 0) != x || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		failures++;
	if (cg_path[0] == 0)
		snprintf(cg_path, sizeof(cg_path), "/sys/fs/cgroup/pidwait-bench-%d",
			 (int)x);
	rmdir(cg_path);
}

/* Wake-up fan-out: one exit, F files armed on it, one epoll set. */
static void section_fanout(struct spawner *s)
{
	unsigned int fi;

	for (fi = 0; fi < opt.nfan; fi++) {
		unsigned long f = opt.fan[fi], i;
		unsigned int rounds = f >= 10000 ? 5 : f >= 100 ? 20 : 50, r, done = 0;
		uint64_t *all, *first, *kfan;
		struct epoll_event *evs;
		unsigned char *seen;
		int *fds, ep;

		if (opt.shrt)
			rounds = 3;
		R->fan[fi].f = f;
		fds = calloc(f, sizeof(*fds));
		evs = calloc(f, sizeof(*evs));
		seen = calloc(f, 1);
		all = calloc(rounds, sizeof(*all));
		first = calloc(rounds, sizeof(*first));
		kfan = calloc(rounds, sizeof(*kfan));
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (!fds || !evs || !seen || !all || !first || !kfan || ep < 0)
			die("out of memory");
		note("fan-out: %lu files", f);
		for (i = 0; i < f; i++) {
			struct epoll_event ee = { .events = EPOLLIN | EPOLLET,
						  .data.u32 = (uint32_t)i };

			fds[i] = pw_open(O_NONBLOCK);
			if (fds[i] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ee)) {
				set_na(&R->fan[fi].na, "file %lu: %s", i, strerror(errno));
				f = i + (fds[i] >= 0);
				goto out;
			}
		}
		for (r = 0; r < rounds; r++) {
			pid_t pid = subject_new(s);
			uint64_t t, lo = UINT64_MAX, hi = 0, st;
			unsigned long got = 0;

			for (i = 0; i < f; i++)
				if (pw_arm(fds[i], pid, i))
					die("fan-out arm: %s", strerror(errno));
			memset(seen, 0, f);
			subject_go(s);
			while (got < f) {
				int n = epoll_wait(ep, evs, (int)f, 10000), j;

				if (n <= 0)
					break;
				for (j = 0; j < n; j++)
					if (!seen[evs[j].data.u32]) {
						seen[evs[j].data.u32] = 1;
						got++;
					}
			}
			t = now_ns();
			st = *s->stamp;
			for (i = 0; i < f; i++) {
				struct pidwait_event ev;

				if (read(fds[i], &ev, sizeof(ev)) != sizeof(ev) ||
				    ev.pid != pid) {
					got = 0;
					continue;
				}
				lo = ev.exit_time_ns < lo ? ev.exit_time_ns : lo;
				hi = ev.exit_time_ns > hi ? ev.exit_time_ns : hi;
			}
			if (got != f || !st || lo < st) {
				set_na(&R->fan[fi].na, "round %u: %lu of %lu files woke",
				       r, got, f);
				failures++;
				break;
			}
			all[done] = t - st;
			first[done] = lo - st;
			kfan[done] = hi - lo;
			done++;
		}
		if (done) {
			qsort(all, done, sizeof(*all), cmp_u64);
			qsort(first, done, sizeof(*first), cmp_u64);
			qsort(kfan, done, sizeof(*kfan), cmp_u64);
			R->fan[fi].all = all[done / 2];
			R->fan[fi].first = first[done / 2];
			R->fan[fi].kfan = kfan[done / 2];
			R->fan[fi].rounds = done;
			R->fan[fi].ok = true;
		}
out:
		for (i = 0; i < f; i++)
			close(fds[i]);
		close(ep);
		free(fds);
		free(evs);
		free(seen);
		free(all);
		free(first);
		free(kfan);
	}
}

/* ------------------------------------------------------------------ */
/* The table. */

static char tag[256];

static void make_tag(const char *backend)
{
	struct utsname u;
	char plat[128];

	uname(&u);
	platform(plat, sizeof(plat));
	snprintf(tag, sizeof(tag), "[%.64s, %.64s, %ld vCPUs, %.31s]", u.release,
		 strncmp(plat, "real", 4) ? plat : "real hw",
		 sysconf(_SC_NPROCESSORS_ONLN), backend[0] ? backend : "-");
}

static void us(char *buf, size_t len, uint64_t ns)
{
	if (ns >= 10 * NSEC / 1000)
		snprintf(buf, len, "%.0f", ns / 1e3);
	else
		snprintf(buf, len, "%.1f", ns / 1e3);
}

static void ratio(char *buf, size_t len, double a, double b)
{
	if (a > 0 && b > 0)
		snprintf(buf, len, "%.2fx", a / b);
	else
		snprintf(buf, len, "n/a");
}

static void print_latency(void)
{
	uint64_t pmed = R->lat[L_PIDFD].med, pp99 = R->lat[L_PIDFD].p99;
	int m;

	make_tag(R->lat_backend);
	printf("\n1. Exit-to-wakeup latency, microseconds (subject's last stamp to waiter awake;\n"
	       "   waiter is not the parent; a spawner reaps each subject at once)\n");
	printf("%-30s %7s %9s %9s %9s %8s %8s  %s\n", "method", "samples",
	       "median", "p99", "max", "med/pfd", "p99/pfd", "measured on");
	for (m = 0; m < L_NR; m++) {
		char a[24], b[24], c[24], d[16], e[16];

		if (!R->lat[m].n) {
			printf("%-30s %7s %9s %9s %9s %8s %8s  %s (%s)\n", lat_names[m],
			       "n/a", "", "", "", "", "", tag,
			       R->lat[m].na.why[0] ? R->lat[m].na.why : "not run");
			continue;
		}
		us(a, sizeof(a), R->lat[m].med);
		us(b, sizeof(b), R->lat[m].p99);
		us(c, sizeof(c), R->lat[m].max);
		ratio(d, sizeof(d), (double)R->lat[m].med, (double)pmed);
		ratio(e, sizeof(e), (double)R->lat[m].p99, (double)pp99);
		printf("%-30s %7u %9s %9s %9s %8s %8s  %s\n", lat_names[m],
		       R->lat[m].n, a, b, c, d, e, tag);
	}
	printf("   (/proc polling: %u samples, each up to 1 s; pollers start at a random phase.\n"
	       "    pidwait, pidfd: the zombie moment; connector: at do_exit; polling: after reaping)\n",
	       opt.proc_samples);
}

static void print_cost(void)
{
	double f0 = R->cost[C_UNLOADED].fork, t0 = R->cost[C_UNLOADED].thread;
	int p;

	printf("\n2. Cost on unrelated processes (median of %u rounds of %.1f s; N = %lu)\n",
	       cost_rounds(), opt.secs, R->cost_n);
	printf("%-32s %12s %8s %14s %8s  %s\n", "phase", "fork+exit/s", "ratio",
	       "pthread c+j/s", "ratio", "measured on");
	for (p = 0; p < C_NR; p++) {
		char a[16], b[16];
		const char *nn = strstr(cost_names[p], "N ");
		char name[96];

		if (nn)
			snprintf(name, sizeof(name), "%.*s%lu %s",
				 (int)(nn - cost_names[p]), cost_names[p],
				 R->cost_n, nn + 2);
		else
			snprintf(name, sizeof(name), "%s", cost_names[p]);
		make_tag(R->backend[p]);
		if (!R->cost[p].ok) {
			printf("%-32s %12s %8s %14s %8s  %s (%s)\n", name, "n/a", "",
			       "n/a", "", tag, R->cost[p].na.why[0] ?
			       R->cost[p].na.why : "not run");
			continue;
		}
		ratio(a, sizeof(a), R->cost[p].fork, f0);
		ratio(b, sizeof(b), R->cost[p].thread, t0);
		printf("%-32s %12.0f %8s %14.0f %8s  %s\n", name, R->cost[p].fork,
		       a, R->cost[p].thread, b, tag);
	}
	if (R->pairs)
		printf("   (watched / not loaded, the same sleepers, median of %u rounds taken in turn:\n"
		       "    fork+exit %.3fx (rounds %.3f to %.3f), pthread %.3fx;\n"
		       "    the control, loaded and unwatched / not loaded: fork+exit %.3fx,\n"
		       "    pthread %.3fx, where no code of the module runs on these forks)\n",
		       R->pairs, R->pair_fork, R->pair_fork_lo, R->pair_fork_hi,
		       R->pair_thread, R->ctl_fork, R->ctl_thread);
}

static void print_scale(void)
{
	unsigned int s;
	char a[24], b[24];

	make_tag(R->scale_backend);
	printf("\n3. Scale\n");
	printf("%-44s %10s %10s %10s %10s  %s\n", "arm/disarm on one fd, us per op",
	       "arm med", "arm best", "dis. med", "dis. best", "measured on");
	for (s = 0; s < opt.nsizes; s++) {
		char name[64];

		snprintf(name, sizeof(name), "  table of %lu (last %lu armed live)",
			 R->scale[s].n ? R->scale[s].n : opt.sizes[s], R->scale[s].k);
		if (!R->scale[s].ok) {
			printf("%-44s %10s %10s %10s %10s  %s (%s)\n", name, "n/a", "",
			       "n/a", "", tag,
			       R->scale[s].na.why[0] ? R->scale[s].na.why :
			       R->scale_na.why[0] ? R->scale_na.why : "not reached");
			continue;
		}
		printf("%-44s %10.2f %10.2f %10.2f %10.2f  %s\n", name,
		       R->scale[s].arm / 1e3, R->scale[s].arm_best / 1e3,
		       R->scale[s].disarm / 1e3, R->scale[s].disarm_best / 1e3, tag);
	}
	printf("   (%u rounds; the rest of the table: fired, unread watches of killed sleepers;\n"
	       "    largest reached %lu)\n", opt.rounds * 3 > 31 ? 31 : opt.rounds * 3,
	       R->scale_reached);

	if (R->mem_n && !R->mem_na.why[0])
		printf("%-44s %8.1f B  %s\n", "kernel memory per watch (memcg)",
		       R->mem_per_watch, tag);
	else
		printf("%-44s %10s  %s (%s)\n", "kernel memory per watch (memcg)", "n/a",
		       tag, R->mem_na.why[0] ? R->mem_na.why : "not run");
	if (R->mem_n && !R->mem_na.why[0])
		printf("   (over %lu watches on live sleepers; slab part %.1f B;\n"
		       "    struct pidwait_watch object %ld B, slab %ld B; the rest: hash table)\n",
		       R->mem_n, R->mem_slab_per_watch, R->slab_obj, R->slab_size);
	{
		static const char *const what[2] = {
			"  ... per pidwait pidfd file (memcg)",
			"  ... per pidfd in an epoll set (memcg)",
		};
		const double per[2] = { R->mem_per_pw_pidfd, R->mem_per_pidfd };
		const struct na *na[2] = { &R->mem_pw_pidfd_na, &R->mem_pidfd_na };

		for (int i = 0; i < 2; i++) {
			if (per[i] > 0)
				printf("%-44s %8.1f B  %s\n", what[i], per[i], tag);
			else
				printf("%-44s %10s  %s (%s)\n", what[i], "n/a", tag,
				       na[i]->why[0] ? na[i]->why : "not run");
		}
	}

	printf("%-44s %10s %10s %10s  %s\n", "one exit wakes F files in one epoll set",
	       "all us", "first us", "kern us", "measured on");
	for (s = 0; s < opt.nfan; s++) {
		char name[64], c[24];

		snprintf(name, sizeof(name), "  F = %lu", opt.fan[s]);
		if (!R->fan[s].ok) {
			printf("%-44s %10s %10s %10s  %s (%s)\n", name, "n/a", "", "", tag,
			       R->fan[s].na.why[0] ? R->fan[s].na.why : "not run");
			continue;
		}
		us(a, sizeof(a), R->fan[s].all);
		us(b, sizeof(b), R->fan[s].first);
		us(c, sizeof(c), R->fan[s].kfan);
		printf("%-44s %10s %10s %10s  %s\n", name, a, b, c, tag);
	}
	printf("   (median of rounds; all: exit stamp to the last file reported by epoll;\n"
	       "    first: to the first file's exit_time_ns; kern: last minus first exit_time_ns)\n");
}

static void print_drain(void)
{
	char name[64];

	snprintf(name, sizeof(name), "drain %lu events after one kill()", R->drain.n);
	if (!R->drain.tried)
		return;
	if (!R->drain.ok) {
		printf("%-44s %10s  %s (%s)\n", name, "n/a", tag, R->drain.na.why);
		return;
	}
	printf("%-44s %8.1f ms  %s\n", name, R->drain.total / 1e6, tag);
	printf("   (reading them once all had fired, %.0f events/s; count checked: %lu of %lu,\n"
	       "    each once; the last fired %.1f ms after the kill(); arming them took %.2f us each)\n",
	       R->drain.total ? R->drain.got * 1e9 / (double)R->drain.total : 0,
	       R->drain.got, R->drain.n, R->drain.kill_to_fired / 1e6,
	       R->drain.arm_ns / 1e3);
}

static const char *verdict(bool known, bool met)
{
	return !known ? "n/a " : met ? "MET " : "MISSED";
}

static void print_goals(void)
{
	double pw = (double)R->lat[L_PW_EPOLL].med, pf = (double)R->lat[L_PIDFD].med;
	double pr = (double)R->lat[L_PROC].med;
	/* Not loaded, with the same sleepers as the watches: see section_cost. */
	double fk = R->pairs ? R->pair_fork : 0;
	int lo = -1, hi = -1, s;
	double ga = 0, gd = 0;
	bool mem = R->mem_n && !R->mem_na.why[0];

	for (s = 0; s < (int)opt.nsizes; s++)
		if (R->scale[s].ok) {
			if (lo < 0)
				lo = s;
			hi = s;
		}
	/* Best of rounds: what the table costs, not what the neighbours do. */
	if (lo >= 0 && hi > lo) {
		ga = R->scale[hi].arm_best / R->scale[lo].arm_best;
		gd = R->scale[hi].disarm_best / R->scale[lo].disarm_best;
	}
	printf("\nGoals %s\n", tag);
	printf("  %-6s latency median <= 1.0x pidfd: pidwait+epoll %.2fx, blocking read %.2fx\n",
	       verdict(pw > 0 && pf > 0, pw <= pf), pf > 0 ? pw / pf : 0,
	       pf > 0 ? R->lat[L_PW_READ].med / pf : 0);
	printf("  %-6s latency >= 1000x better than 1 s polling: %.0fx\n",
	       verdict(pw > 0 && pr > 0, pr / pw >= 1000), pw > 0 ? pr / pw : 0);
	printf("  %-6s fork+exit with %lu watches >= 0.99x not loaded (same sleepers): %.3fx"
	       " (control %.3fx)\n",
	       verdict(fk > 0, fk >= 0.99), R->cost_n, fk, R->pairs ? R->ctl_fork : 0);
	printf("  %-6s arm/disarm flat from %lu to %lu (<= 1.5x, best of rounds):"
	       " arm %.2fx, disarm %.2fx\n",
	       verdict(ga > 0, ga <= 1.5 && gd <= 1.5),
	       lo >= 0 ? R->scale[lo].n : 0, hi >= 0 ? R->scale[hi].n : 0, ga, gd);
	printf("  %-6s <= 128 B kernel memory per watch: %.1f B\n",
	       verdict(mem, R->mem_per_watch <= 128), mem ? R->mem_per_watch : 0);
	printf("  %-6s 1,000,000 watches on one fd: largest reached %lu\n",
	       verdict(opt.do_scale && opt.nsizes &&
		       opt.sizes[opt.nsizes - 1] >= 1000000,
		       R->scale_reached >= 1000000),
	       R->scale_reached);
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: " PROG " [options]\n"
"\n"
"Measures /dev/pidwait against pidfd, the proc connector and polling, and\n"
"prints a table; every figure names the kernel, backend, platform and\n"
"vCPUs it was measured on. Needs root for the full run (module reload,\n"
"pid_max, memory cgroup, proc connector).\n"
"\n"
"  --short            a quick smoke run: small counts, no module reload\n"
"  --only LIST        sections: latency,cost,scale (default all)\n"
"  --samples N        latency samples per method (default 1000)\n"
"  --proc-samples N   samples of /proc polling at 1 s (default 20)\n"
"  --watches N        watched sleepers in the cost phase (default 100000)\n"
"  --drain N          sleepers killed at once for the drain (default 100000);\n"
"                     also the wave size that fills the scale table\n"
"  --sizes A,B,C      table sizes for arm/disarm (default 1000,100000,1000000)\n"
"  --fanout A,B,C     files woken by one exit (default 1,100,10000)\n"
"  --secs S           seconds per throughput round (default 1)\n"
"  --rounds N         throughput and arm/disarm rounds (default 9)\n"
"  --module PATH      pidwait.ko, to unload and reload it for the cost\n"
"                     phases (default: $PIDWAIT_KO)\n"
"  --no-reload        leave the module as it is\n"
"  -h, --help         this help\n"
"\n"
"Exit status: 0 done, 1 a functional check failed, 4 no /dev/pidwait,\n"
"64 usage.\n");
}

static unsigned int parse_list(const char *s, unsigned long *v)
{
	unsigned int n = 0;
	char *end;

	while (*s && n < MAX_SIZES) {
		v[n] = strtoul(s, &end, 10);
		if (end == s || !v[n])
			break;
		n++;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			break;
	}
	return n;
}

static unsigned long parse_num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end) {
		fprintf(stderr, PROG ": invalid number '%s'\n", s);
		exit(RC_USAGE);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "short",        no_argument,       NULL, 'S' },
		{ "only",         required_argument, NULL, 'o' },
		{ "samples",      required_argument, NULL, 'n' },
		{ "proc-samples", required_argument, NULL, 'p' },
		{ "watches",      required_argument, NULL, 'w' },
		{ "drain",        required_argument, NULL, 'd' },
		{ "sizes",        required_argument, NULL, 'z' },
		{ "fanout",       required_argument, NULL, 'f' },
		{ "secs",         required_argument, NULL, 's' },
		{ "rounds",       required_argument, NULL, 'r' },
		{ "module",       required_argument, NULL, 'm' },
		{ "no-reload",    no_argument,       NULL, 'N' },
		{ "help",         no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *only = NULL, *ko_opt = NULL;
	bool short_set = false, reload_set = false;
	struct spawner sp;
	unsigned long most;
	int c, fd;

	opt.samples = 1000;
	opt.proc_samples = 20;
	opt.watches = 100000;
	opt.drain = 100000;
	opt.nsizes = parse_list("1000,100000,1000000", opt.sizes);
	opt.nfan = parse_list("1,100,10000", opt.fan);
	opt.secs = 1;
	opt.rounds = 9;
	opt.reload = true;

	/* First pass: --short sets the defaults the other options override. */
	for (c = 1; c < argc; c++)
		if (!strcmp(argv[c], "--short"))
			short_set = true;
	if (short_set) {
		opt.shrt = true;
		opt.samples = 20;
		opt.proc_samples = 2;
		opt.watches = 1000;
		opt.drain = 1000;
		opt.nsizes = parse_list("100,1000,10000", opt.sizes);
		opt.nfan = parse_list("1,10,100", opt.fan);
		opt.secs = 0.2;
		opt.rounds = 2;
	}
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'S':
			break;
		case 'o':
			only = optarg;
			break;
		case 'n':
			opt.samples = (unsigned int)parse_num(optarg);
			break;
		case 'p':
			opt.proc_samples = (unsigned int)parse_num(optarg);
			break;
		case 'w':
			opt.watches = parse_num(optarg);
			break;
		case 'd':
			opt.drain = parse_num(optarg);
			break;
		case 'z':
			opt.nsizes = parse_list(optarg, opt.sizes);
			break;
		case 'f':
			opt.nfan = parse_list(optarg, opt.fan);
			break;
		case 's':
			opt.secs = strtod(optarg, NULL);
			break;
		case 'r':
			opt.rounds = (unsigned int)parse_num(optarg);
			if (!opt.rounds) {
				fprintf(stderr, PROG ": --rounds: at least 1\n");
				exit(RC_USAGE);
			}
			break;
		case 'm':
			ko_opt = optarg;
			break;
		case 'N':
			opt.reload = false;
			reload_set = true;
			break;
		case 'h':
			usage(stdout);
			return RC_OK;
		default:
			usage(stderr);
			return RC_USAGE;
		}
	}
	if (optind < argc || !opt.samples || !opt.rounds || opt.secs <= 0) {
		usage(stderr);
		return RC_USAGE;
	}
	/* The smoke run leaves the module alone unless told which to load. */
	opt.ko = ko_opt ? ko_opt : getenv("PIDWAIT_KO");
	if (opt.shrt && !ko_opt && !reload_set)
		opt.reload = false;
	opt.do_latency = !only || strstr(only, "latency");
	opt.do_cost = !only || strstr(only, "cost");
	opt.do_scale = !only || strstr(only, "scale");

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	rnd_state = now_ns() | 1;
	R = shared_alloc(sizeof(*R));

	if (!module_loaded() && opt.ko && !geteuid())
		module_load();
	fd = pw_open(0);
	if (fd < 0) {
		note("cannot open " PIDWAIT_DEVICE ": %s: pidwait figures are n/a",
		     strerror(errno));
		if (opt.shrt)
			return RC_SKIP;
	} else {
		close(fd);
	}
	describe_env();
	most = opt.watches > opt.drain ? opt.watches : opt.drain;
	/* The descriptors: the fan's files, or a pidfd per drain sleeper. */
	limits_raise(geteuid() || !(opt.do_cost || opt.do_scale) ? 0 : most + 10000,
		     (opt.nfan && opt.fan[opt.nfan - 1] > opt.drain ? opt.fan[opt.nfan - 1] :
		      opt.drain) + 16);
	/* The drain's watches, and as many pidfd files beside them. */
	user_watches_raise(2 * most + 10000);

	/* Forked while we are small and hold no pidwait file. */
	spawner_start(&sp);

	if (opt.do_latency)
		section_latency(&sp);
	if (opt.do_cost)
		section_cost();
	if (opt.do_scale) {
		backend_now(R->scale_backend, sizeof(R->scale_backend));
		section_fanout(&sp);
		section_scale();
	}
	kill(sp.pid, SIGKILL);
	waitpid(sp.pid, NULL, 0);

	printf("\npidwait-bench " PIDWAIT_VERSION "%s: %s\n",
	       opt.shrt ? " (--short: smoke run, figures not meaningful)" : "",
	       R->env);
	if (opt.do_latency)
		print_latency();
	if (opt.do_cost)
		print_cost();
	if (opt.do_scale) {
		print_scale();
		print_drain();
	}
	if (!opt.do_scale)
		make_tag(R->lat_backend);
	print_goals();
	if (failures)
		printf("\n%d functional check(s) failed: see the messages above\n",
		       failures);
	return failures ? RC_FAIL : RC_OK;
}
