// SPDX-License-Identifier: GPL-2.0
/*
 * pidwait-cat - print a line for each of the given processes as it exits.
 *
 * Adds every PID to one libpidwait watcher, then waits on its descriptor
 * and reads exits in batches until every PID (or --count of them) has
 * exited or --timeout expires. The watcher takes /dev/pidwait where the
 * module is loaded, else pidfds, else /proc polling; --backend picks one.
 *
 * Exit status, in the manner of util-linux waitpid(1):
 *   0   every requested exit was seen
 *   1   failure: a PID could not be watched (no such process, permission
 *       denied, too many PIDs), or reading or writing failed
 *   2   unsupported: the backend asked for is missing (e.g. --backend
 *       module without the module loaded), or the backend lacks something
 *       this tool needs (e.g. --thread)
 *   3   --timeout expired before the requested exits were seen
 *   64  usage: bad option or argument (EX_USAGE of sysexits.h)
 *
 * A PID must be a decimal number > 0 and may appear only once: each PID
 * gives exactly one line, so --count stays unambiguous.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/pidwait.h>

#include <libpidwait.h>

#ifndef PIDWAIT_VERSION
#define PIDWAIT_VERSION "0.4.0"
#endif

#define PROG "pidwait-cat"

enum {
	RC_OK = 0,
	RC_FAIL = 1,
	RC_UNSUPPORTED = 2,
	RC_TIMEOUT = 3,
	RC_USAGE = 64,
};

/* Events per read: one call drains a burst of exits. */
#define BATCH 64

static struct {
	bool verbose;
	bool json;
	bool thread;
	bool exited_ok;
	enum pidwait_backend backend;
} opt;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: " PROG " [options] PID...\n"
"\n"
"Wait for the given processes to exit and print a line for each as it\n"
"exits, in the order they exit, e.g.:\n"
"  1234 exited 0\n"
"  1235 killed by SIGKILL (core dumped)\n"
"  1236 exited (status unknown)\n"
"\n"
"Options:\n"
"  -t, --timeout SECS  give up after SECS seconds (fractions allowed)\n"
"  -c, --count N       stop after N of the PIDs have exited\n"
"  -e, --exited        a PID that is already gone is not an error; it\n"
"                      counts as exited but prints no line\n"
"  -T, --thread        the ids are thread ids: report each thread's exit\n"
"  -b, --backend NAME  how to wait: auto (the default: the best this\n"
"                      machine has), module (/dev/pidwait), pidfd (5.3+;\n"
"                      threads from 6.9) or proc (polling /proc)\n"
"      --json          print one JSON object per line instead\n"
"  -v, --verbose       say which backend waits, what is watched and skipped,\n"
"                      on stderr\n"
"  -h, --help          print this help and exit\n"
"  -V, --version       print the version and exit\n"
"\n"
"A PID is a decimal number > 0 and may be given only once. A process that\n"
"has exited but is not yet reaped (a zombie) is reported at once. The\n"
"status of another user's process may be withheld: \"status unknown\".\n"
"Only the module shows statuses: the pidfd and proc backends show only a\n"
"child's, and the processes given here are never this tool's children.\n"
"JSON keys: pid, thread, event (\"exited\", \"killed\" or \"unknown\"),\n"
"code, signal, signo, core_dumped (null where not known or not relevant),\n"
"exit_time_ns (CLOCK_MONOTONIC), exit_time (UTC, RFC 3339).\n"
"\n"
"Exit status:\n"
"  0   every requested exit was seen\n"
"  1   failure (no such process, permission denied, I/O error)\n"
"  2   unsupported: the backend asked for is missing or lacks a feature\n"
"  3   the timeout expired\n"
"  64  usage error\n");
}

static void __attribute__((format(printf, 1, 2))) msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void __attribute__((noreturn)) usage_error(const char *what, const char *arg)
{
	if (arg)
		msg("%s '%s'", what, arg);
	else
		msg("%s", what);
	fputs("Try '" PROG " --help' for more information.\n", stderr);
	exit(RC_USAGE);
}

/* Strict: digits only, so "12x", " 12", "+12" and "" are all rejected. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return true;
}

/* Returns the timeout in ns, or UINT64_MAX for one too long to matter. */
static uint64_t parse_timeout(const char *s)
{
	char *end;
	double secs;

	errno = 0;
	secs = strtod(s, &end);
	if (end == s || *end || (errno == ERANGE && secs != 0) || !(secs >= 0))
		usage_error("invalid timeout", s);
	if (secs > 1e9)
		return UINT64_MAX;
	return (uint64_t)(secs * 1e9);
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *signame(int sig, char *buf, size_t len)
{
	static const struct { int no; const char *name; } names[] = {
#define S(x) { SIG##x, "SIG" #x }
		S(HUP), S(INT), S(QUIT), S(ILL), S(TRAP), S(ABRT), S(BUS),
		S(FPE), S(KILL), S(USR1), S(SEGV), S(USR2), S(PIPE), S(ALRM),
		S(TERM), S(CHLD), S(CONT), S(STOP), S(TSTP), S(TTIN), S(TTOU),
		S(URG), S(XCPU), S(XFSZ), S(VTALRM), S(PROF), S(WINCH), S(IO),
		S(SYS),
#ifdef SIGSTKFLT
		S(STKFLT),
#endif
#ifdef SIGPWR
		S(PWR),
#endif
#ifdef SIGEMT
		S(EMT),
#endif
#undef S
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].no == sig)
			return names[i].name;
	if (sig >= SIGRTMIN && sig <= SIGRTMAX && sig != SIGRTMIN)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else if (sig == SIGRTMIN)
		snprintf(buf, len, "SIGRTMIN");
	else
		snprintf(buf, len, "SIG%d", sig);
	return buf;
}

/* Every string we emit goes through here, whatever it holds. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(pid_t pid, const struct pidwait_watcher_event *ev,
		       int64_t real_minus_mono)
{
	bool known = ev->flags & PIDWAIT_WEVENT_STATUS;
	int st = ev->status;
	char buf[32], when[64];
	int64_t real = (int64_t)ev->time_ns + real_minus_mono;
	time_t secs = (time_t)(real / 1000000000);
	struct tm tm;

	printf("{\"pid\":%d,\"thread\":%s,\"event\":", pid,
	       ev->flags & PIDWAIT_WEVENT_THREAD ? "true" : "false");
	if (known && WIFEXITED(st)) {
		json_str("exited");
		printf(",\"code\":%d,\"signal\":null,\"signo\":null,"
		       "\"core_dumped\":false", WEXITSTATUS(st));
	} else if (known && WIFSIGNALED(st)) {
		json_str("killed");
		printf(",\"code\":null,\"signal\":");
		json_str(signame(WTERMSIG(st), buf, sizeof(buf)));
		printf(",\"signo\":%d,\"core_dumped\":%s", WTERMSIG(st),
		       WCOREDUMP(st) ? "true" : "false");
	} else {
		json_str("unknown");
		printf(",\"code\":null,\"signal\":null,\"signo\":null,"
		       "\"core_dumped\":null");
	}
	printf(",\"exit_time_ns\":%" PRIu64 ",\"exit_time\":",
	       ev->time_ns);
	gmtime_r(&secs, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(real % 1000000000));
	json_str(when);
	printf("}\n");
}

static void print_text(pid_t pid, const struct pidwait_watcher_event *ev)
{
	int st = ev->status;
	char buf[32];

	if (!(ev->flags & PIDWAIT_WEVENT_STATUS))
		printf("%d exited (status unknown)\n", pid);
	else if (WIFEXITED(st))
		printf("%d exited %d\n", pid, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%d killed by %s%s\n", pid,
		       signame(WTERMSIG(st), buf, sizeof(buf)),
		       WCOREDUMP(st) ? " (core dumped)" : "");
	else
		printf("%d exited (status %#x)\n", pid, (unsigned int)st);
}

static void __attribute__((noreturn)) no_device(int err)
{
	msg("cannot open " PIDWAIT_DEVICE ": %s", strerror(err));
	if (access("/sys/module/pidwait", F_OK) == 0)
		msg("the pidwait module is loaded but its device node is "
		    "missing: is devtmpfs mounted on /dev?");
	msg("is the pidwait module loaded? Load it with 'modprobe pidwait' "
	    "(or 'insmod pidwait.ko' from a source build)");
	exit(RC_UNSUPPORTED);
}

/* Why the backend asked for cannot serve here; err is the library's errno. */
static void __attribute__((noreturn)) no_backend(int err)
{
	const char *env = getenv("PIDWAIT_BACKEND");

	switch (opt.backend) {
	case PIDWAIT_BACKEND_MODULE:
		if (err == ENOENT || err == ENODEV || err == ENXIO)
			no_device(err);
		if (err == EACCES || err == EPERM) {
			msg("cannot open " PIDWAIT_DEVICE ": %s (check its owner "
			    "and mode)", strerror(err));
			exit(RC_FAIL);
		}
		if (err == ENOTTY || err == EINVAL)
			msg(PIDWAIT_DEVICE " does not answer PIDWAIT_IOC_GET_INFO "
			    "(%s): not a pidwait device, or a module older than "
			    "this tool", strerror(err));
		else
			msg("cannot open " PIDWAIT_DEVICE ": %s", strerror(err));
		break;
	case PIDWAIT_BACKEND_PIDFD:
		msg("the pidfd backend needs pidfd_open(2), Linux 5.3 or later: "
		    "%s", strerror(err));
		break;
	case PIDWAIT_BACKEND_PROC:
		msg("the proc backend needs /proc: %s", strerror(err));
		break;
	default:
		if (err == EINVAL && env && *env)
			msg("PIDWAIT_BACKEND='%s' names no backend (module, pidfd "
			    "or proc)", env);
		else
			msg("no way to wait for processes here: %s", strerror(err));
		break;
	}
	exit(RC_UNSUPPORTED);
}

static struct pidwait_watcher *open_watcher(void)
{
	struct pidwait_watcher *w = pidwait_watcher_new(opt.backend, 0);
	enum pidwait_backend b;

	if (!w)
		no_backend(errno);
	b = pidwait_watcher_backend(w);
	if (opt.verbose)
		msg("waiting with the %s backend (%s)", pidwait_backend_name(b),
		    pidwait_watcher_statuses(w) ? "statuses where permitted" :
		    "no statuses: only a child's would be shown");
	/* A pidfd per PID: as many as the hard limit allows. */
	if (b == PIDWAIT_BACKEND_PIDFD) {
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	return w;
}

/* EINVAL may mean a thread id: /proc/ID/status tells, when mounted. */
static bool is_thread(pid_t id)
{
	char path[32], line[64];
	bool thread = false;
	int tgid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", id);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1) {
			thread = tgid != id;
			break;
		}
	fclose(f);
	return thread;
}

/* The module's limit on watches per file, for the message. */
static void too_many(const char *what, pid_t pid, enum pidwait_backend b)
{
	char limit[32] = "";
	FILE *f;

	if (b != PIDWAIT_BACKEND_MODULE) {
		msg("%s %d: too many PIDs for the %s backend (%s)", what, pid,
		    pidwait_backend_name(b), strerror(errno));
		return;
	}
	f = fopen("/sys/module/pidwait/parameters/max_watches", "re");
	if (f && fgets(limit, sizeof(limit), f))
		limit[strcspn(limit, "\n")] = 0;
	if (f)
		fclose(f);
	msg("%s %d: too many PIDs, the module allows %s per file", what, pid,
	    *limit ? limit : "no more");
}

struct target {
	pid_t pid;
	bool done;
};

/* Adds all targets; returns how many are already gone (with --exited). */
static size_t add_all(struct pidwait_watcher *w, struct target *t, size_t n)
{
	enum pidwait_backend b = pidwait_watcher_backend(w);
	const char *what = opt.thread ? "TID" : "PID";
	unsigned int flags = opt.thread ? PIDWAIT_WATCH_THREAD : 0;
	size_t i, gone = 0;
	bool failed = false;

	for (i = 0; i < n; i++) {
		if (pidwait_watcher_add(w, t[i].pid, i, flags) == 0) {
			if (opt.verbose)
				msg("watching %s %d", what, t[i].pid);
			continue;
		}
		switch (errno) {
		case ESRCH:
			if (opt.exited_ok) {
				if (opt.verbose)
					msg("%s %d is not running", what,
					    t[i].pid);
				t[i].done = true;
				gone++;
				continue;
			}
			msg("%s %d: no such process", what, t[i].pid);
			break;
		case EINVAL:
			if (!opt.thread && is_thread(t[i].pid))
				msg("PID %d is a thread, not a process: use "
				    "--thread to wait for that thread",
				    t[i].pid);
			else
				msg("%s %d: rejected by the %s backend (%s)",
				    what, t[i].pid, pidwait_backend_name(b),
				    strerror(EINVAL));
			break;
		case EPERM:
		case EACCES:
			msg("%s %d: permission denied", what, t[i].pid);
			break;
		case ENOSPC:
		case EMFILE:
		case ENFILE:
			too_many(what, t[i].pid, b);
			break;
		case EOPNOTSUPP:
			msg("the %s backend cannot watch threads here (--thread)%s",
			    pidwait_backend_name(b),
			    b == PIDWAIT_BACKEND_PIDFD ? ": pidfd needs Linux 6.9" :
			    "");
			exit(RC_UNSUPPORTED);
		case ENOTTY:
			msg("this pidwait module does not know "
			    "PIDWAIT_IOC_ARM");
			exit(RC_UNSUPPORTED);
		default:
			msg("%s %d: %s", what, t[i].pid, strerror(errno));
			break;
		}
		failed = true;
	}
	if (failed)
		exit(RC_FAIL);
	return gone;
}

static void check_output(void)
{
	if (!ferror(stdout) && fflush(stdout) == 0)
		return;
	/* The reader went away (head, a closed pipe): nobody to tell. */
	if (errno != EPIPE)
		msg("write error: %s", strerror(errno));
	exit(RC_FAIL);
}

/* Reports one exit; a second one for a PID (never expected) is dropped. */
static void handle(const struct pidwait_watcher_event *ev, struct target *t,
		   size_t n, size_t *seen)
{
	struct timespec r, m;
	pid_t pid = ev->pid;

	if (ev->cookie < n) {
		if (t[ev->cookie].done)
			return;
		t[ev->cookie].done = true;
		pid = t[ev->cookie].pid;
	}
	(*seen)++;
	if (opt.json) {
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m);
		print_json(pid, ev, ((int64_t)r.tv_sec - m.tv_sec) * 1000000000 +
			   (r.tv_nsec - m.tv_nsec));
	} else {
		print_text(pid, ev);
	}
	check_output();
}

static int wait_loop(struct pidwait_watcher *w, struct target *t, size_t n,
		     size_t seen, size_t want, uint64_t timeout)
{
	uint64_t deadline = timeout == UINT64_MAX ? UINT64_MAX :
			    now_ns(CLOCK_MONOTONIC) + timeout;
	struct pidwait_watcher_event ev[BATCH];
	size_t i;

	while (seen < want) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		int got, ms;

		/* Round up: waking a little early would only spin. */
		if (now >= deadline)
			ms = 0;
		else if (deadline - now > (uint64_t)INT_MAX * 1000000)
			ms = -1;
		else
			ms = (int)((deadline - now + 999999) / 1000000);
		got = pidwait_watcher_read(w, ev, BATCH, ms);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			msg("waiting: %s", strerror(errno));
			return RC_FAIL;
		}
		for (i = 0; i < (size_t)got && seen < want; i++)
			handle(&ev[i], t, n, &seen);
		if (got || seen >= want || now_ns(CLOCK_MONOTONIC) < deadline)
			continue;
		msg("timed out waiting for %zu more exit%s", want - seen,
		    want - seen == 1 ? "" : "s");
		for (i = 0; opt.verbose && i < n; i++)
			if (!t[i].done)
				msg("%d is still running", t[i].pid);
		return RC_TIMEOUT;
	}
	return RC_OK;
}

static enum pidwait_backend parse_backend(const char *s)
{
	enum pidwait_backend b;

	for (b = PIDWAIT_BACKEND_AUTO; b <= PIDWAIT_BACKEND_PROC; b++)
		if (!strcmp(s, pidwait_backend_name(b)))
			return b;
	usage_error("unknown backend (auto, module, pidfd or proc):", s);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "count",   required_argument, NULL, 'c' },
		{ "exited",  no_argument,       NULL, 'e' },
		{ "thread",  no_argument,       NULL, 'T' },
		{ "backend", required_argument, NULL, 'b' },
		{ "json",    no_argument,       NULL, 'j' },
		{ "verbose", no_argument,       NULL, 'v' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "version", no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t timeout = UINT64_MAX;
	const char *count_arg = NULL;
	unsigned long count = 0, v;
	struct pidwait_watcher *w;
	struct target *t;
	size_t n, i, j, gone;
	char optname[3];
	int c;

	/* A vanished reader must not kill us mid-line; see check_output(). */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:c:eTb:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			timeout = parse_timeout(optarg);
			break;
		case 'c':
			count_arg = optarg;
			break;
		case 'e':
			opt.exited_ok = true;
			break;
		case 'T':
			opt.thread = true;
			break;
		case 'b':
			opt.backend = parse_backend(optarg);
			break;
		case 'j':
			opt.json = true;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return RC_OK;
		case 'V':
			printf(PROG " " PIDWAIT_VERSION "\n");
			return RC_OK;
		default:
			/* Name a long option as typed, a short one alone. */
			snprintf(optname, sizeof(optname), "-%c", optopt);
			usage_error(c == ':' ? "missing argument for" :
				    "unknown option",
				    strncmp(argv[optind - 1], "--", 2) ?
				    optname : argv[optind - 1]);
		}
	}
	n = (size_t)(argc - optind);
	if (n == 0)
		usage_error("no PID given", NULL);
	if (count_arg && (!parse_uint(count_arg, ULONG_MAX, &count) ||
			  count == 0 || count > n))
		usage_error("--count must be from 1 to the number of PIDs, not",
			    count_arg);

	t = calloc(n, sizeof(*t));
	if (!t) {
		msg("out of memory");
		return RC_FAIL;
	}
	for (i = 0; i < n; i++) {
		const char *arg = argv[optind + i];

		if (!parse_uint(arg, INT_MAX, &v) || v == 0)
			usage_error("invalid PID (a number > 0 is needed):", arg);
		t[i].pid = (pid_t)v;
		for (j = 0; j < i; j++)
			if (t[j].pid == t[i].pid)
				usage_error("PID given more than once:", arg);
	}

	w = open_watcher();
	gone = add_all(w, t, n);
	return wait_loop(w, t, n, gone, count ? count : n, timeout);
}
