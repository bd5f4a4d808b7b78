// SPDX-License-Identifier: GPL-2.0
/*
 * pidwait-lib-bench - libpidwait's three backends (the pidwait module, a
 * pidfd per process, /proc polling) waiting on 1, 100 and 10,000
 * processes: the time from an exit to the pidwait_watcher_read() that
 * returns it, and the CPU time a watcher uses while the processes it
 * waits on do not exit. pidwait-py-bench runs it beside pidwait.wait_procs
 * and psutil.wait_procs, and prints them all in one table.
 *
 * Design choices that shape the figures:
 *
 *  - The watched processes are children of a spawner, not of the waiter,
 *    as a supervisor's are to its neighbours: every backend must find out
 *    about a process it did not fork. The spawner reaps each at once.
 *
 *  - An exit comes DELAY to 2 * DELAY ms after the wait began, at random:
 *    by then the pollers (the proc backend's period grows from 1 to
 *    200 ms, or to ten scans where a scan takes longer; psutil's from 0.1
 *    to 40 ms) are in their steady state, at a random phase. The spawner
 *    sends SIGUSR1 then, and the process writes a CLOCK_MONOTONIC stamp to
 *    shared memory as its last act; the waiter stamps when the read
 *    returns. Nothing here sleeps to synchronise.
 *
 *  - The backends take turns sample by sample, in a new random order each
 *    turn, on one set of processes that each backend's watcher holds, so
 *    that a drift of the host weighs on each alike. Each exited process is
 *    replaced at once, so that N are always watched.
 *
 *  - CPU time is the waiter's user + system time (getrusage) over one long
 *    read on N watches that do not fire: what waiting costs the program.
 *
 * --spawner is the spawner alone, for pidwait-py-bench, a line a command
 * on stdin, a line a reply on stdout:
 *   spawn K          "pids P1 ... PK": K more processes, blocked in pause()
 *   exit PID AT      at CLOCK_MONOTONIC AT (ns) PID exits; once it is
 *                    reaped, "exited PID STAMP", STAMP its last act's time
 *   end of input     the rest are killed and reaped
 *
 * Exit status: 0 all ran (figures may be n/a where a backend is missing),
 * 1 a functional check failed (a lost or unexpected event, an add that
 * failed), 64 usage.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpidwait.h>

#ifndef PIDWAIT_VERSION
#define PIDWAIT_VERSION "0.4.0"
#endif

enum { RC_OK = 0, RC_FAIL = 1, RC_USAGE = 64 };

#define NSEC		((uint64_t)1000000000)
#define MAX_COUNTS	4
/* From this many watched processes, --big-samples samples. */
#define BIG_COUNT	10000
/* Subjects are killed and reaped in batches: a mass kill stalls TCG. */
#define KILL_BATCH	1000

static struct {
	unsigned long counts[MAX_COUNTS];
	unsigned int ncounts;
	unsigned int samples, big_samples;
	unsigned int delay_ms;
	double idle;
	bool on[3];
	bool machine;
} opt;

static int failures;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

/* The waiter's user + system time, all its threads. */
static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * NSEC +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000;
}

/* ------------------------------------------------------------------ */
/* The spawner and its subjects. */

/* Read after waitpid(), which orders it after the subject's store. */
static uint64_t *last_stamp;

/* The subject's last act: when it exits, and nothing after. */
static void on_go(int sig)
{
	struct timespec ts;

	(void)sig;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	*last_stamp = (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
	_exit(0);
}

static pid_t subject_fork(int in, int out)
{
	pid_t spawner = getpid(), p = fork();

	if (p)
		return p;
	/* Gone with the spawner, however it ends; its pipes are not ours. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != spawner)
		_exit(1);
	close(in);
	close(out);
	for (;;)
		pause();
}

struct pidset {
	pid_t *v;
	size_t n, cap;
};

static void pidset_add(struct pidset *s, pid_t p)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			errx(RC_FAIL, "out of memory");
	}
	s->v[s->n++] = p;
}

static void pidset_del(struct pidset *s, pid_t p)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == p) {
			s->v[i] = s->v[--s->n];
			return;
		}
}

static void reap(pid_t p)
{
	while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
		;
}

static int spawner_main(int in, int out)
{
	struct sigaction sa = { .sa_handler = on_go };
	FILE *fin = fdopen(in, "r"), *fout = fdopen(out, "w");
	struct pidset subjects = { 0 };
	unsigned long long at;
	struct timespec ts;
	char *line = NULL;
	size_t cap = 0, i, j;
	unsigned long k;
	pid_t pid;

	if (!fin || !fout)
		err(RC_FAIL, "spawner: fdopen");
	last_stamp = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (last_stamp == MAP_FAILED)
		err(RC_FAIL, "spawner: mmap");
	/* Installed once here, inherited by every subject. */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (getline(&line, &cap, fin) > 0) {
		if (sscanf(line, "spawn %lu", &k) == 1) {
			fputs("pids", fout);
			/* A subject never flushes what it inherits: it pauses or _exit()s. */
			for (i = 0; i < k; i++) {
				pid = subject_fork(in, out);
				if (pid < 0) {
					fprintf(fout, " error:%s", strerror(errno));
					break;
				}
				pidset_add(&subjects, pid);
				fprintf(fout, " %d", (int)pid);
			}
			fputc('\n', fout);
		} else if (sscanf(line, "exit %d %llu", &pid, &at) == 2) {
			*last_stamp = 0;
			ts.tv_sec = (time_t)(at / NSEC);
			ts.tv_nsec = (long)(at % NSEC);
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				;
			if (kill(pid, SIGUSR1)) {
				fprintf(fout, "error kill %d: %s\n", (int)pid, strerror(errno));
			} else {
				/* Reaped at once, as a supervisor would. */
				reap(pid);
				pidset_del(&subjects, pid);
				fprintf(fout, "exited %d %" PRIu64 "\n", (int)pid, *last_stamp);
			}
		} else {
			fprintf(fout, "error unknown command: %s", line);
		}
		fflush(fout);
	}
	for (i = 0; i < subjects.n; i = j) {
		for (j = i; j < subjects.n && j < i + KILL_BATCH; j++)
			kill(subjects.v[j], SIGKILL);
		for (j = i; j < subjects.n && j < i + KILL_BATCH; j++)
			reap(subjects.v[j]);
	}
	return 0;
}

/* The bench's side of the spawner. */
struct spawner {
	pid_t pid;
	FILE *cmd, *rep;
	char *line;
	size_t cap;
};

static void spawner_start(struct spawner *s)
{
	int c[2], r[2];

	memset(s, 0, sizeof(*s));
	if (pipe2(c, O_CLOEXEC) || pipe2(r, O_CLOEXEC))
		err(RC_FAIL, "pipe");
	fflush(stdout);
	fflush(stderr);
	s->pid = fork();
	if (s->pid < 0)
		err(RC_FAIL, "fork");
	if (!s->pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		close(c[1]);
		close(r[0]);
		_exit(spawner_main(c[0], r[1]));
	}
	close(c[0]);
	close(r[1]);
	s->cmd = fdopen(c[1], "w");
	s->rep = fdopen(r[0], "r");
	if (!s->cmd || !s->rep)
		err(RC_FAIL, "fdopen");
}

static char *spawner_reply(struct spawner *s, const char *what)
{
	if (fflush(s->cmd) || getline(&s->line, &s->cap, s->rep) <= 0)
		errx(RC_FAIL, "the spawner died");
	if (strncmp(s->line, what, strlen(what)))
		errx(RC_FAIL, "spawner: %s", s->line);
	return s->line + strlen(what);
}

/* @k more subjects, into @v from @v[at]. */
static void spawn(struct spawner *s, pid_t *v, size_t at, size_t k)
{
	char *p, *end;
	size_t i;

	fprintf(s->cmd, "spawn %zu\n", k);
	p = spawner_reply(s, "pids");
	for (i = 0; i < k; i++) {
		long pid = strtol(p, &end, 10);

		if (end == p || pid <= 0)
			errx(RC_FAIL, "spawner: fork: %s", p);
		v[at + i] = (pid_t)pid;
		p = end;
	}
}

static void spawner_stop(struct spawner *s)
{
	fclose(s->cmd);
	reap(s->pid);
	fclose(s->rep);
	free(s->line);
}

/* ------------------------------------------------------------------ */
/* The figures. */

enum { B_MODULE, B_PIDFD, B_PROC, B_NR };

static const enum pidwait_backend backend_id[B_NR] = {
	PIDWAIT_BACKEND_MODULE, PIDWAIT_BACKEND_PIDFD, PIDWAIT_BACKEND_PROC,
};

struct fig {
	char na[96];
	unsigned int n;			/* latency samples */
	uint64_t med, p99, max;
	uint64_t add_ns, add_cpu_ns;	/* adding the N watches */
	uint64_t idle_ns, idle_cpu_ns;	/* the long read */
};

static struct fig F[B_NR][MAX_COUNTS];
static char env[320];

struct run {
	struct spawner *s;
	struct pidwait_watcher *w[B_NR];
	pid_t *pids;
	size_t n;
	struct fig *f[B_NR];
	uint64_t *lat[B_NR];
};

static const char *bname(int b)
{
	return pidwait_backend_name(backend_id[b]);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A watcher of backend @b on every subject, or the reason there is none. */
static void watch_all(struct run *r, int b)
{
	struct fig *f = r->f[b];
	uint64_t t0, c0;
	size_t i;

	r->w[b] = pidwait_watcher_new(backend_id[b], 0);
	if (!r->w[b]) {
		snprintf(f->na, sizeof(f->na), "pidwait_watcher_new: %s", strerror(errno));
		return;
	}
	t0 = now_ns();
	c0 = cpu_ns();
	for (i = 0; i < r->n; i++)
		if (pidwait_watcher_add(r->w[b], r->pids[i], i, 0)) {
			snprintf(f->na, sizeof(f->na), "add %d: %s", (int)r->pids[i],
				 strerror(errno));
			warnx("%s, N=%zu: %s", bname(b), r->n, f->na);
			failures++;
			pidwait_watcher_free(r->w[b]);
			r->w[b] = NULL;
			return;
		}
	f->add_cpu_ns = cpu_ns() - c0;
	f->add_ns = now_ns() - t0;
}

/* One exit, waited for with backend @b; the subject is replaced after. */
static void sample(struct run *r, int b)
{
	struct pidwait_watcher_event ev[16];
	size_t i = (size_t)random() % r->n;
	pid_t pid = r->pids[i];
	uint64_t d = (uint64_t)opt.delay_ms * 1000000, t = 0, stamp;
	bool got = false;
	int k, j, o, rp;

	fprintf(r->s->cmd, "exit %d %" PRIu64 "\n", (int)pid,
		now_ns() + d + (uint64_t)random() % d);
	fflush(r->s->cmd);
	while (!got) {
		k = pidwait_watcher_read(r->w[b], ev, 16, 30000);
		t = now_ns();
		if (k <= 0) {
			warnx("%s, N=%zu: %s waiting for %d", bname(b), r->n,
			      k ? strerror(errno) : "no event in 30 s", (int)pid);
			failures++;
			break;
		}
		for (j = 0; j < k; j++) {
			if (ev[j].pid == pid && ev[j].cookie == i) {
				got = true;
			} else {
				warnx("%s, N=%zu: an exit of %d that did not happen", bname(b),
				      r->n, (int)ev[j].pid);
				failures++;
			}
		}
	}
	if (sscanf(spawner_reply(r->s, "exited"), "%d %" SCNu64, &rp, &stamp) != 2 || rp != pid)
		errx(RC_FAIL, "spawner: %s", r->s->line);
	if (got && stamp && t >= stamp) {
		r->lat[b][r->f[b]->n++] = t - stamp;
	} else if (got) {
		warnx("%s: %d left no stamp before its exit", bname(b), (int)pid);
		failures++;
	}
	/* The others' watches on it fired unread: they go, and a new one comes. */
	for (o = 0; o < B_NR; o++)
		if (o != b && r->w[o] && pidwait_watcher_remove(r->w[o], pid, 0)) {
			warnx("%s: remove %d: %s", bname(o), (int)pid, strerror(errno));
			failures++;
		}
	spawn(r->s, r->pids, i, 1);
	for (o = 0; o < B_NR; o++)
		if (r->w[o] && pidwait_watcher_add(r->w[o], r->pids[i], i, 0)) {
			warnx("%s: add %d: %s", bname(o), (int)r->pids[i], strerror(errno));
			failures++;
		}
}

static void latency(struct run *r)
{
	unsigned int s, n = r->n >= BIG_COUNT ? opt.big_samples : opt.samples;
	int order[B_NR], b, k, tmp;

	for (b = 0; b < B_NR; b++) {
		order[b] = b;
		if (r->w[b]) {
			r->lat[b] = calloc(n ? n : 1, sizeof(uint64_t));
			if (!r->lat[b])
				errx(RC_FAIL, "out of memory");
		}
	}
	for (s = 0; s < n; s++) {
		for (k = B_NR - 1; k > 0; k--) {
			b = (int)(random() % (k + 1));
			tmp = order[k];
			order[k] = order[b];
			order[b] = tmp;
		}
		for (k = 0; k < B_NR; k++)
			if (r->w[order[k]])
				sample(r, order[k]);
	}
	for (b = 0; b < B_NR; b++) {
		struct fig *f = r->f[b];

		if (!r->w[b] || !f->n)
			continue;
		qsort(r->lat[b], f->n, sizeof(uint64_t), cmp_u64);
		f->med = r->lat[b][f->n / 2];
		f->p99 = r->lat[b][(f->n * 99 + 99) / 100 - 1];
		f->max = r->lat[b][f->n - 1];
		free(r->lat[b]);
	}
}

/* The watcher of @b waits --idle seconds on processes that do not exit. */
static void idle(struct run *r, int b)
{
	struct pidwait_watcher_event ev[16];
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(opt.idle * 1e9), c0 = cpu_ns(), t;
	int k;

	while ((t = now_ns()) < end) {
		k = pidwait_watcher_read(r->w[b], ev, 16, (int)((end - t + 999999) / 1000000));
		if (k) {
			warnx("%s, N=%zu: idle read: %s", bname(b), r->n,
			      k < 0 ? strerror(errno) : "an event");
			failures++;
			break;
		}
	}
	r->f[b]->idle_cpu_ns = cpu_ns() - c0;
	r->f[b]->idle_ns = now_ns() - t0;
}

static void run_count(struct spawner *s, unsigned int c, pid_t *pids, size_t *have)
{
	struct run r = { .s = s, .pids = pids, .n = opt.counts[c] };
	int b;

	if (*have < r.n) {
		warnx("N=%zu: spawning %zu processes", r.n, r.n - *have);
		spawn(s, pids, *have, r.n - *have);
		*have = r.n;
	}
	for (b = 0; b < B_NR; b++) {
		r.f[b] = &F[b][c];
		if (opt.on[b])
			watch_all(&r, b);
		else
			snprintf(r.f[b]->na, sizeof(r.f[b]->na), "not asked for");
	}
	warnx("N=%zu: latency, %u samples a backend", r.n,
	      r.n >= BIG_COUNT ? opt.big_samples : opt.samples);
	latency(&r);
	for (b = 0; b < B_NR; b++)
		if (r.w[b]) {
			warnx("N=%zu: %s, waiting %.0f s", r.n, bname(b), opt.idle);
			idle(&r, b);
			pidwait_watcher_free(r.w[b]);
		}
}

/* ------------------------------------------------------------------ */
/* The tables. */

/* The first line of @path; with @key, what follows "@key...: " on its line. */
static void read_line(const char *path, const char *key, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[256], *p;
	size_t n;

	while (f && fgets(line, sizeof(line), f)) {
		p = key ? strchr(line, ':') : line;
		if (key && (strncmp(line, key, strlen(key)) || !p))
			continue;
		p += key ? 2 : 0;
		n = strcspn(p, "\n");
		n = n < len ? n : len - 1;
		memcpy(buf, p, n);
		buf[n] = 0;
		break;
	}
	if (f)
		fclose(f);
}

static void describe_env(void)
{
	char clk[32] = "?", cpu[96] = "?", mod[32] = "not loaded";
	struct utsname u;

	uname(&u);
	read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", NULL,
		  clk, sizeof(clk));
	read_line("/sys/module/pidwait/parameters/backend", NULL, mod, sizeof(mod));
	read_line("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
	snprintf(env, sizeof(env), "Linux %.64s, %ld vCPUs, CPU %.96s, clocksource %.32s, "
		 "module backend %.32s", u.release, sysconf(_SC_NPROCESSORS_ONLN), cpu, clk, mod);
}

/* Microseconds, with a decimal where it says something. */
static void us(char *buf, size_t len, uint64_t ns)
{
	snprintf(buf, len, ns < 10000 ? "%.1f" : "%.0f", ns / 1e3);
}

/* For pidwait-py-bench: one line a figure, nanoseconds. */
static void print_machine(void)
{
	unsigned int c;
	int b;

	printf("env %s\n", env);
	for (c = 0; c < opt.ncounts; c++)
		for (b = 0; b < B_NR; b++) {
			struct fig *f = &F[b][c];

			if (f->na[0]) {
				printf("na %s %lu %s\n", bname(b), opt.counts[c], f->na);
				continue;
			}
			printf("lat %s %lu %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", bname(b),
			       opt.counts[c], f->n, f->med, f->p99, f->max);
			printf("cpu %s %lu %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			       bname(b), opt.counts[c], f->idle_ns, f->idle_cpu_ns,
			       f->add_ns, f->add_cpu_ns);
		}
}

typedef void cell_fn(const struct fig *f, char *buf, size_t len);

static void lat_cell(const struct fig *f, char *buf, size_t len)
{
	char a[24], p[24];

	us(a, sizeof(a), f->med);
	us(p, sizeof(p), f->p99);
	snprintf(buf, len, f->n ? "%s (%s)" : "n/a", a, p);
}

static void cpu_cell(const struct fig *f, char *buf, size_t len)
{
	if (f->idle_ns)
		snprintf(buf, len, "%.1f [%.1f]", f->idle_cpu_ns / 1e6 * 60e9 / (double)f->idle_ns,
			 f->add_cpu_ns / 1e6);
	else
		snprintf(buf, len, "n/a");
}

/* A row a backend, a column a count; the last column unpadded. */
static void print_table(cell_fn *cell)
{
	char buf[64];
	unsigned int c;
	int b;

	printf("%-20s", "libpidwait backend");
	for (c = 0; c < opt.ncounts; c++) {
		snprintf(buf, sizeof(buf), "N=%lu", opt.counts[c]);
		printf(c + 1 < opt.ncounts ? "  %-20s" : "  %s\n", buf);
	}
	for (b = 0; b < B_NR; b++) {
		printf("%-20s", bname(b));
		for (c = 0; c < opt.ncounts; c++) {
			if (F[b][c].na[0])
				snprintf(buf, sizeof(buf), "n/a");
			else
				cell(&F[b][c], buf, sizeof(buf));
			printf(c + 1 < opt.ncounts ? "  %-20s" : "  %s\n", buf);
		}
	}
	for (b = 0; b < B_NR; b++)
		for (c = 0; c < opt.ncounts; c++)
			if (F[b][c].na[0]) {
				printf("   (%s, from N=%lu: n/a: %s)\n", bname(b), opt.counts[c],
				       F[b][c].na);
				break;
			}
}

static void print_tables(void)
{
	unsigned long most = 0;
	unsigned int c;

	for (c = 0; c < opt.ncounts; c++)
		most = opt.counts[c] > most ? opt.counts[c] : most;
	printf("\npidwait-lib-bench " PIDWAIT_VERSION ": %s\n", env);
	printf("\n1. Exit to return, microseconds: median (p99) over %u exits", opt.samples);
	if (most >= BIG_COUNT)
		printf(" (%u from N=%u)", opt.big_samples, BIG_COUNT);
	printf("\n   (the watched: children of a spawner that reaps each at once, not of the\n"
	       "    waiter; each exit comes %u to %u ms into the wait; from the exit's last\n"
	       "    stamp to pidwait_watcher_read() returning)\n", opt.delay_ms, 2 * opt.delay_ms);
	print_table(lat_cell);
	printf("\n2. CPU time while waiting on N processes that do not exit, ms per minute\n"
	       "   (user + system time of the waiter over one %g s read; in brackets, ms of\n"
	       "    CPU to add the N watches)\n", opt.idle);
	print_table(cpu_cell);
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: pidwait-lib-bench [options]\n"
"       pidwait-lib-bench --spawner\n"
"\n"
"Measures libpidwait's backends waiting on N processes that are not its\n"
"children: exit-to-return latency, and CPU time while nothing exits.\n"
"Run as root for N = 10,000 (the pidfd backend's descriptors).\n"
"\n"
"  --counts A,B,C     numbers of watched processes (default 1,100,10000)\n"
"  --samples N        exits per backend and count (default 200)\n"
"  --big-samples N    the same from N=%u on (default 50)\n"
"  --delay MS         each exit comes MS to 2*MS ms into the wait (default 300)\n"
"  --idle S           seconds of waiting for the CPU figure (default 60)\n"
"  --backends LIST    module,pidfd,proc (default all three)\n"
"  --machine          the figures as lines for pidwait-py-bench, not tables\n"
"  --spawner          be the spawner, on stdin and stdout (see the source)\n"
"  -h, --help         this help\n"
"\n"
"Exit status: 0 done, 1 a functional check failed, 64 usage.\n", BIG_COUNT);
}

static unsigned long parse_num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end)
		errx(RC_USAGE, "invalid number '%s'", s);
	return v;
}

static void parse_opts(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "counts",      required_argument, NULL, 'c' },
		{ "samples",     required_argument, NULL, 'n' },
		{ "big-samples", required_argument, NULL, 'N' },
		{ "delay",       required_argument, NULL, 'd' },
		{ "idle",        required_argument, NULL, 'i' },
		{ "backends",    required_argument, NULL, 'b' },
		{ "machine",     no_argument,       NULL, 'm' },
		{ "help",        no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *tok, *save, *end;
	int c, b;

	opt.ncounts = 3;
	opt.counts[0] = 1;
	opt.counts[1] = 100;
	opt.counts[2] = 10000;
	opt.samples = 200;
	opt.big_samples = 50;
	opt.delay_ms = 300;
	opt.idle = 60;
	opt.on[B_MODULE] = opt.on[B_PIDFD] = opt.on[B_PROC] = true;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			for (opt.ncounts = 0, tok = strtok_r(optarg, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (opt.ncounts == MAX_COUNTS)
					errx(RC_USAGE, "--counts: at most %d", MAX_COUNTS);
				opt.counts[opt.ncounts] = parse_num(tok);
				if (!opt.counts[opt.ncounts++])
					errx(RC_USAGE, "--counts: at least 1 process");
			}
			break;
		case 'n':
			opt.samples = (unsigned int)parse_num(optarg);
			break;
		case 'N':
			opt.big_samples = (unsigned int)parse_num(optarg);
			break;
		case 'd':
			opt.delay_ms = (unsigned int)parse_num(optarg);
			break;
		case 'i':
			opt.idle = strtod(optarg, &end);
			if (end == optarg || *end || opt.idle <= 0)
				errx(RC_USAGE, "invalid --idle '%s'", optarg);
			break;
		case 'b':
			memset(opt.on, 0, sizeof(opt.on));
			for (tok = strtok_r(optarg, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				for (b = 0; b < B_NR && strcmp(tok, bname(b)); b++)
					;
				if (b == B_NR)
					errx(RC_USAGE, "no backend '%s'", tok);
				opt.on[b] = true;
			}
			break;
		case 'm':
			opt.machine = true;
			break;
		case 'h':
			usage(stdout);
			exit(RC_OK);
		default:
			usage(stderr);
			exit(RC_USAGE);
		}
	}
	if (optind < argc || !opt.ncounts || !opt.samples || !opt.big_samples ||
	    !opt.delay_ms) {
		usage(stderr);
		exit(RC_USAGE);
	}
}

int main(int argc, char **argv)
{
	unsigned long most = 0;
	struct spawner sp;
	struct rlimit rl;
	size_t have = 0;
	unsigned int c;
	pid_t *pids;

	if (argc == 2 && !strcmp(argv[1], "--spawner"))
		return spawner_main(0, 1);
	parse_opts(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned int)now_ns());
	for (c = 0; c < opt.ncounts; c++)
		most = opt.counts[c] > most ? opt.counts[c] : most;
	/* A pidfd a watched process, and the spawner's replacements. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < most + 64) {
		rl.rlim_cur = most + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			warn("cannot raise RLIMIT_NOFILE to %lu", most + 64);
	}
	pids = calloc(most, sizeof(*pids));
	if (!pids)
		errx(RC_FAIL, "out of memory");
	describe_env();
	/* Forked while we are small and hold no watcher. */
	spawner_start(&sp);
	for (c = 0; c < opt.ncounts; c++)
		run_count(&sp, c, pids, &have);
	spawner_stop(&sp);
	free(pids);
	if (opt.machine)
		print_machine();
	else
		print_tables();
	if (failures)
		printf("\n%d functional check(s) failed: see the messages above\n", failures);
	return failures ? RC_FAIL : RC_OK;
}
