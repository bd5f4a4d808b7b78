// SPDX-License-Identifier: GPL-2.0
/*
 * End-to-end test of the pidwait-cat tool: runs the real binary
 * ($PIDWAIT_CAT, else pidwait-cat from PATH) on children this test controls
 * and checks its output lines, their order, its exit codes and its messages.
 *
 * Children block on a pipe until told how to end; the test learns that an
 * exit was reported by reading pidwait-cat's line for it, never by sleeping.
 * Every child also ends when the test dies, since its pipe then reads EOF.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#define DEVICE		"/dev/pidwait"
#define NOBODY		65534
/* Generous for a slow emulated guest; only reached when something hangs. */
#define LINE_MS		10000

/* Exit codes documented by pidwait-cat. */
#define RC_OK		0
#define RC_FAIL		1
#define RC_UNSUPPORTED	2
#define RC_TIMEOUT	3
#define RC_USAGE	64
#define RUN_HUNG	-1000	/* our own: it did not end in time */

/* --- children that exit on command ------------------------------------- */

struct child {
	pid_t pid;
	int ctl;	/* write end: an int says how to end */
};

/* How a child ends: an exit code 0..255, or KILLED_BY(sig). */
#define KILLED_BY(sig)	(-(sig))

static void close_other_fds(int keep)
{
	int fd;

	for (fd = 3; fd < 1024; fd++)
		if (fd != keep)
			close(fd);
}

/* With dumpdir set, the child can leave a core dump there. */
static pid_t spawn_child(struct child *c, const char *dumpdir)
{
	int p[2], how;
	ssize_t r;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		close_other_fds(p[0]);
		if (dumpdir) {
			struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

			if (setrlimit(RLIMIT_CORE, &rl) || chdir(dumpdir))
				_exit(98);
			prctl(PR_SET_DUMPABLE, 1);
		}
		do
			r = read(p[0], &how, sizeof(how));
		while (r < 0 && errno == EINTR);
		if (r != sizeof(how))
			_exit(99);	/* the test went away */
		if (how < 0) {
			signal(-how, SIG_DFL);
			raise(-how);
			_exit(97);
		}
		_exit(how);
	}
	close(p[0]);
	c->ctl = p[1];
	return c->pid;
}

static int release(struct child *c, int how)
{
	int r = write(c->ctl, &how, sizeof(how)) == sizeof(how) ? 0 : -1;

	close(c->ctl);
	c->ctl = -1;
	return r;
}

/* Status of an exited child, left a zombie so its PID stays taken. */
static int peek_exit(pid_t pid)
{
	siginfo_t si = { 0 };

	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT))
		return -1;
	return si.si_code == CLD_EXITED ? si.si_status : 1000 + si.si_status;
}

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

/* A PID that was just ours and is now free: nobody has it. */
static pid_t reaped_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	reap(pid);
	return pid;
}

/* --- running pidwait-cat ------------------------------------------------ */

struct cat {
	pid_t pid;
	int out, err;
	char obuf[65536], ebuf[8192];
	size_t olen, elen;	/* bytes held; obuf is consumed by lines */
	struct timespec start;
	int status;
};

/* Runs in the child before exec: the hooks for the namespace tests. */
typedef int (*setup_fn)(void *arg);

static const char *cat_path(void)
{
	const char *p = getenv("PIDWAIT_CAT");

	return p && *p ? p : "pidwait-cat";
}

static double elapsed(const struct cat *c)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - c->start.tv_sec) +
	       (now.tv_nsec - c->start.tv_nsec) / 1e9;
}

/* Added to the errno of a failed setup hook, to tell it from exec's. */
#define SETUP_FAILED	1000

/*
 * Starts pidwait-cat with argv (NULL-terminated, argv[0] included).
 * Returns 0, the errno of a failed exec, or SETUP_FAILED + errno.
 */
static int cat_start_setup(struct cat *c, char *const argv[], setup_fn setup,
			   void *arg)
{
	int o[2], e[2], x[2], err = 0, devnull;

	memset(c, 0, sizeof(*c));
	if (pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC) || pipe2(x, O_CLOEXEC))
		return errno;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	c->pid = fork();
	if (c->pid < 0)
		return errno;
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		if (setup && setup(arg)) {
			err = errno ? errno : EINVAL;
			fprintf(stderr, "setup: %s\n", strerror(err));
			err += SETUP_FAILED;
		} else {
			execvp(cat_path(), argv);
			err = errno;
			fprintf(stderr, "exec %s: %s\n", cat_path(), strerror(err));
		}
		if (write(x[1], &err, sizeof(err)) < 0)
			_exit(126);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	close(x[1]);
	c->out = o[0];
	c->err = e[0];
	/* The exec-error pipe closes unread when exec succeeds. */
	if (read(x[0], &err, sizeof(err)) != sizeof(err))
		err = 0;
	close(x[0]);
	return err;
}

static int cat_start(struct cat *c, char *const argv[])
{
	return cat_start_setup(c, argv, NULL, NULL);
}

/* Reads whatever is ready on stdout and stderr; returns false on timeout. */
static bool cat_pump(struct cat *c, int ms)
{
	struct pollfd p[2] = {
		{ .fd = c->out, .events = POLLIN },
		{ .fd = c->err, .events = POLLIN },
	};
	ssize_t r;
	int n;

	do
		n = poll(p, 2, ms);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false;
	if (p[0].revents && c->out >= 0) {
		r = read(c->out, c->obuf + c->olen, sizeof(c->obuf) - 1 - c->olen);
		if (r <= 0) {
			close(c->out);
			c->out = -1;
		} else {
			c->olen += r;
		}
	}
	if (p[1].revents && c->err >= 0) {
		r = read(c->err, c->ebuf + c->elen, sizeof(c->ebuf) - 1 - c->elen);
		if (r <= 0) {
			close(c->err);
			c->err = -1;
		} else {
			c->elen += r;
		}
	}
	c->obuf[c->olen] = c->ebuf[c->elen] = 0;
	return true;
}

/* Takes the next stdout line (without its newline); false if none came. */
static bool cat_line(struct cat *c, char *line, size_t size, int ms)
{
	char *nl;
	size_t len;

	while (!(nl = memchr(c->obuf, '\n', c->olen))) {
		if (c->out < 0 || !cat_pump(c, ms))
			return false;
	}
	len = nl - c->obuf;
	snprintf(line, size, "%.*s", (int)len, c->obuf);
	memmove(c->obuf, nl + 1, c->olen - len - 1);
	c->olen -= len + 1;
	c->obuf[c->olen] = 0;
	return true;
}

/* Waits for needle on stderr: -v says there what is armed. */
static bool cat_stderr_has(struct cat *c, const char *needle, int ms)
{
	while (!strstr(c->ebuf, needle))
		if (c->err < 0 || !cat_pump(c, ms))
			return false;
	return true;
}

/*
 * Collects the rest of the output and the exit status. Returns the exit
 * code, 128 + signal if killed, or RUN_HUNG if it had not ended within ms.
 */
static int cat_finish(struct cat *c, int ms)
{
	while (c->out >= 0 || c->err >= 0)
		if (!cat_pump(c, ms))
			break;
	if (c->out >= 0 || c->err >= 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &c->status, 0);
		return RUN_HUNG;
	}
	if (waitpid(c->pid, &c->status, 0) != c->pid)
		return -1;
	if (WIFSIGNALED(c->status))
		return 128 + WTERMSIG(c->status);
	return WEXITSTATUS(c->status);
}

/*
 * Runs pidwait-cat to the end; returns as cat_finish(), or -errno when the
 * setup hook or exec failed.
 */
static int cat_run_setup(struct cat *c, char *const argv[], setup_fn setup,
			 void *arg)
{
	int err = cat_start_setup(c, argv, setup, arg);

	if (err) {
		cat_finish(c, LINE_MS);	/* for the child's message */
		return -err;
	}
	return cat_finish(c, LINE_MS);
}

static int cat_run(struct cat *c, char *const argv[])
{
	return cat_run_setup(c, argv, NULL, NULL);
}

#define ARGS(...) ((char *const[]){ "pidwait-cat", __VA_ARGS__, NULL })

static char *num(char buf[16], long v)
{
	snprintf(buf, 16, "%ld", v);
	return buf;
}

/* rc: what cat_run() returned; exec's ENOENT is -ENOENT there. */
#define SKIP_IF_NO_CAT(rc) do { \
	if ((rc) == -ENOENT) \
		SKIP(return, "%s not found: set PIDWAIT_CAT or PATH", \
		     cat_path()); \
} while (0)

#define NEED_MODULE() do { \
	if (access(DEVICE, F_OK)) \
		SKIP(return, DEVICE " is missing: load the pidwait module"); \
} while (0)

/* Starts pidwait-cat, skipping when it cannot be found. */
#define START(c, argv) do { \
	int __err = cat_start((c), (argv)); \
	SKIP_IF_NO_CAT(-__err); \
	ASSERT_EQ(0, __err); \
} while (0)

#define EXPECT_LINE(c, fmt, ...) do { \
	char __want[256], __got[256]; \
	snprintf(__want, sizeof(__want), fmt, ##__VA_ARGS__); \
	ASSERT_TRUE(cat_line((c), __got, sizeof(__got), LINE_MS)) \
		TH_LOG("no line, wanted '%s'; stderr: %s", __want, (c)->ebuf); \
	ASSERT_STREQ(__want, __got); \
} while (0)

/* --- a strict parser for the flat JSON objects pidwait-cat prints ------ */

enum jtype { J_STR, J_INT, J_TRUE, J_FALSE, J_NULL };

struct jfield {
	char key[32];
	int type;	/* enum jtype */
	long long i;
	char s[128];
};

static const char *jstring(const char *p, char *out, size_t size)
{
	size_t n = 0;
	unsigned int u;

	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		char ch = *p++;

		if ((unsigned char)ch < 0x20)
			return NULL;
		if (ch == '\\') {
			static const char names[] = "\"\\/bfnrt";
			static const char chars[] = "\"\\/\b\f\n\r\t";
			const char *esc = *p ? strchr(names, *p) : NULL;

			if (esc) {
				ch = chars[esc - names];
				p++;
			} else if (*p++ == 'u') {
				if (!isxdigit((unsigned char)p[0]) ||
				    !isxdigit((unsigned char)p[1]) ||
				    !isxdigit((unsigned char)p[2]) ||
				    !isxdigit((unsigned char)p[3]) ||
				    sscanf(p, "%4x", &u) != 1 || u > 0x7f)
					return NULL;	/* we only emit ASCII */
				ch = (char)u;
				p += 4;
			} else {
				return NULL;
			}
		}
		if (n + 1 >= size)
			return NULL;
		out[n++] = ch;
	}
	out[n] = 0;
	return p + 1;
}

static const char *jws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Returns the number of fields, or -1 for anything but one flat object. */
static int json_parse(const char *p, struct jfield *f, int max)
{
	int n = 0, k;

	p = jws(p);
	if (*p++ != '{')
		return -1;
	p = jws(p);
	if (*p == '}')
		return *jws(p + 1) ? -1 : 0;
	for (;;) {
		if (n == max)
			return -1;
		p = jstring(jws(p), f[n].key, sizeof(f[n].key));
		if (!p)
			return -1;
		for (k = 0; k < n; k++)
			if (!strcmp(f[k].key, f[n].key))
				return -1;	/* duplicate key */
		p = jws(p);
		if (*p++ != ':')
			return -1;
		p = jws(p);
		if (*p == '"') {
			f[n].type = J_STR;
			p = jstring(p, f[n].s, sizeof(f[n].s));
			if (!p)
				return -1;
		} else if (*p == '-' || isdigit((unsigned char)*p)) {
			const char *d = *p == '-' ? p + 1 : p;
			char *end;

			if (!isdigit((unsigned char)d[0]) ||
			    (d[0] == '0' && isdigit((unsigned char)d[1])))
				return -1;
			errno = 0;
			f[n].type = J_INT;
			f[n].i = strtoll(p, &end, 10);
			if (errno || *end == '.' || *end == 'e' || *end == 'E')
				return -1;
			p = end;
		} else if (!strncmp(p, "true", 4)) {
			f[n].type = J_TRUE;
			p += 4;
		} else if (!strncmp(p, "false", 5)) {
			f[n].type = J_FALSE;
			p += 5;
		} else if (!strncmp(p, "null", 4)) {
			f[n].type = J_NULL;
			p += 4;
		} else {
			return -1;
		}
		n++;
		p = jws(p);
		if (*p == '}')
			return *jws(p + 1) ? -1 : n;
		if (*p++ != ',')
			return -1;
	}
}

static const struct jfield *jget(const struct jfield *f, int n, const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].key, key))
			return &f[i];
	return NULL;
}

/* The exact key set of pidwait-cat --json, in its order. */
static const char *const json_keys[] = {
	"pid", "thread", "event", "code", "signal", "signo", "core_dumped",
	"exit_time_ns", "exit_time",
};
#define NKEYS ((int)(sizeof(json_keys) / sizeof(json_keys[0])))

static bool rfc3339_utc(const char *s, time_t *secs)
{
	struct tm tm = { 0 };
	int frac = 0, i;

	for (i = 0; s[i]; i++)
		if (!strchr("0123456789-:.TZ", s[i]))
			return false;
	if (strlen(s) != 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != '.' || s[29] != 'Z' ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%9d", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac) != 7)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*secs = timegm(&tm);
	return true;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* --- usage, help, version: no module needed ---------------------------- */

TEST(version)
{
	static const char *const opts[] = { "--version", "-V" };
	struct cat c;
	int i, rc;

	for (i = 0; i < 2; i++) {
		rc = cat_run(&c, ARGS((char *)opts[i]));
		SKIP_IF_NO_CAT(rc);
		ASSERT_EQ(RC_OK, rc);
		ASSERT_EQ(0, strncmp(c.obuf, "pidwait-cat ", 12))
			TH_LOG("stdout: %s", c.obuf);
		ASSERT_TRUE(isdigit(c.obuf[12]));
		/* One line, the version one word. */
		ASSERT_TRUE(!strchr(c.obuf + 12, ' '));
		ASSERT_TRUE(strchr(c.obuf, '\n') == c.obuf + c.olen - 1);
		ASSERT_STREQ("", c.ebuf);
	}
}

TEST(help)
{
	static const char *const want[] = {
		"Usage: pidwait-cat [options] PID...", "--timeout", "--count",
		"--exited", "--thread", "--json", "--verbose", "--version",
		"Exit status", "  3   the timeout expired", "  64  usage error",
	};
	static const char *const opts[] = { "--help", "-h" };
	struct cat c;
	size_t j;
	int i, rc;

	for (i = 0; i < 2; i++) {
		rc = cat_run(&c, ARGS((char *)opts[i]));
		SKIP_IF_NO_CAT(rc);
		ASSERT_EQ(RC_OK, rc);
		for (j = 0; j < sizeof(want) / sizeof(want[0]); j++) {
			const char *w = want[j];

			ASSERT_TRUE(strstr(c.obuf, w) != NULL)
				TH_LOG("'%s' missing from --help", w);
		}
		ASSERT_STREQ("", c.ebuf);
	}
}

TEST(usage_errors)
{
	char me[16];
	struct {
		char *const *argv;
		const char *msg;
	} cases[] = {
		{ ARGS(NULL), "no PID given" },
		{ ARGS("abc"), "invalid PID" },
		{ ARGS("0"), "invalid PID" },
		{ ARGS("12x"), "invalid PID" },
		{ ARGS(""), "invalid PID" },
		{ ARGS("+5"), "invalid PID" },
		{ ARGS("99999999999"), "invalid PID" },
		{ ARGS("--", "-5"), "invalid PID" },
		{ ARGS(num(me, getpid()), me), "PID given more than once" },
		{ ARGS("-t", "abc", me), "invalid timeout" },
		{ ARGS("-t", "-1", me), "invalid timeout" },
		{ ARGS("--timeout", "1s", me), "invalid timeout" },
		{ ARGS("-c", "0", me), "--count" },
		{ ARGS("-c", "2", me), "--count" },
		{ ARGS("--count", "x", me), "--count" },
		{ ARGS("-t"), "missing argument" },
		{ ARGS("--bogus", me), "unknown option '--bogus'" },
		{ ARGS("-x", me), "unknown option '-x'" },
	};
	struct cat c;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = cat_run(&c, cases[i].argv);
		SKIP_IF_NO_CAT(rc);
		EXPECT_EQ(RC_USAGE, rc) TH_LOG("case %zu", i);
		EXPECT_NE(NULL, strstr(c.ebuf, cases[i].msg))
			TH_LOG("case %zu: stderr '%s' lacks '%s'", i, c.ebuf,
			       cases[i].msg);
		EXPECT_NE(NULL, strstr(c.ebuf, "--help"));
		EXPECT_STREQ("", c.obuf);
	}
}

/* --- exits as they happen ---------------------------------------------- */

TEST(exit_codes_in_exit_order)
{
	struct child a, b, d;
	char pa[16], pb[16], pd[16];
	struct cat c;

	NEED_MODULE();
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));
	ASSERT_LT(0, spawn_child(&d, NULL));
	START(&c, ARGS(num(pa, a.pid), num(pb, b.pid), num(pd, d.pid)));

	/* Not the command-line order: lines follow the exits. */
	ASSERT_EQ(0, release(&d, 3));
	EXPECT_LINE(&c, "%d exited 3", d.pid);
	ASSERT_EQ(0, release(&a, 0));
	EXPECT_LINE(&c, "%d exited 0", a.pid);
	ASSERT_EQ(0, release(&b, 255));
	EXPECT_LINE(&c, "%d exited 255", b.pid);

	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	ASSERT_STREQ("", c.obuf);
	ASSERT_STREQ("", c.ebuf);
	ASSERT_EQ(3 << 8, reap(d.pid));
	ASSERT_EQ(0, reap(a.pid));
	ASSERT_EQ(255 << 8, reap(b.pid));
}

TEST(killed_by_signal)
{
	struct child a, b, d;
	char pa[16], pb[16], pd[16];
	struct cat c;

	NEED_MODULE();
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));
	ASSERT_LT(0, spawn_child(&d, NULL));
	START(&c, ARGS(num(pa, a.pid), num(pb, b.pid), num(pd, d.pid)));

	ASSERT_EQ(0, kill(a.pid, SIGKILL));
	EXPECT_LINE(&c, "%d killed by SIGKILL", a.pid);
	ASSERT_EQ(0, release(&b, KILLED_BY(SIGTERM)));
	EXPECT_LINE(&c, "%d killed by SIGTERM", b.pid);
	ASSERT_EQ(0, release(&d, KILLED_BY(SIGUSR1)));
	EXPECT_LINE(&c, "%d killed by SIGUSR1", d.pid);

	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	ASSERT_STREQ("", c.obuf);
	reap(a.pid);
	reap(b.pid);
	reap(d.pid);
}

static void remove_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] ||
		    (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

TEST(core_dump)
{
	char dir[] = "/tmp/pidwait_cat_core.XXXXXX", pa[16];
	siginfo_t si = { 0 };
	struct child a;
	struct cat c;

	NEED_MODULE();
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_LT(0, spawn_child(&a, dir));
	START(&c, ARGS(num(pa, a.pid)));
	ASSERT_EQ(0, release(&a, KILLED_BY(SIGQUIT)));

	/*
	 * Whether a core is written depends on core_pattern and limits; the
	 * tool must say "(core dumped)" exactly when wait(2) says so.
	 */
	ASSERT_EQ(0, waitid(P_PID, a.pid, &si, WEXITED | WNOWAIT));
	ASSERT_EQ(SIGQUIT, si.si_status);
	if (si.si_code == CLD_DUMPED) {
		EXPECT_LINE(&c, "%d killed by SIGQUIT (core dumped)", a.pid);
	} else {
		TH_LOG("no core was dumped here: checking the plain line");
		EXPECT_LINE(&c, "%d killed by SIGQUIT", a.pid);
	}
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	reap(a.pid);
	remove_dir(dir);
}

TEST(zombie_reported_at_once)
{
	char pa[16], pb[16];
	struct child a, b;
	struct cat c;

	NEED_MODULE();
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));
	ASSERT_EQ(0, release(&a, 5));
	ASSERT_EQ(0, release(&b, KILLED_BY(SIGKILL)));
	ASSERT_EQ(5, peek_exit(a.pid));
	ASSERT_EQ(1000 + SIGKILL, peek_exit(b.pid));

	/* Both are zombies: even a zero timeout sees them. */
	START(&c, ARGS("-t", "0", num(pa, a.pid), num(pb, b.pid)));
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS)) TH_LOG("stderr: %s", c.ebuf);
	{
		char want[128];

		snprintf(want, sizeof(want), "%d exited 5\n%d killed by SIGKILL\n",
			 a.pid, b.pid);
		/* Zombies armed in argv order; their exits raced, so allow both. */
		if (strcmp(want, c.obuf))
			snprintf(want, sizeof(want),
				 "%d killed by SIGKILL\n%d exited 5\n", b.pid,
				 a.pid);
		ASSERT_STREQ(want, c.obuf);
	}
	reap(a.pid);
	reap(b.pid);
}

TEST(many_exits_read_in_batches)
{
	enum { N = 150 };
	struct child ch[N];
	char *argv[N + 2], pids[N][16], line[64];
	bool seen[N] = { false };
	struct cat c;
	int i, j;

	NEED_MODULE();
	argv[0] = "pidwait-cat";
	for (i = 0; i < N; i++) {
		ASSERT_LT(0, spawn_child(&ch[i], NULL));
		argv[i + 1] = num(pids[i], ch[i].pid);
	}
	argv[N + 1] = NULL;
	START(&c, argv);
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, release(&ch[i], i % 100));
	for (i = 0; i < N; i++) {
		int pid, code;

		ASSERT_TRUE(cat_line(&c, line, sizeof(line), LINE_MS))
			TH_LOG("line %d missing; stderr: %s", i, c.ebuf);
		ASSERT_EQ(2, sscanf(line, "%d exited %d", &pid, &code))
			TH_LOG("line '%s'", line);
		for (j = 0; j < N && ch[j].pid != pid; j++)
			;
		ASSERT_LT(j, N);
		ASSERT_FALSE(seen[j]);
		seen[j] = true;
		ASSERT_EQ(j % 100, code);
	}
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	ASSERT_STREQ("", c.obuf);
	for (i = 0; i < N; i++)
		reap(ch[i].pid);
}

/* --- timeout, count, exited -------------------------------------------- */

TEST(timeout_expires)
{
	char pa[16], pb[16];
	struct child a, b;
	struct cat c;
	double t;
	int rc;

	NEED_MODULE();
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));

	START(&c, ARGS("--timeout", "0.5", num(pa, a.pid)));
	rc = cat_finish(&c, LINE_MS);
	t = elapsed(&c);
	ASSERT_EQ(RC_TIMEOUT, rc);
	ASSERT_STREQ("", c.obuf);
	ASSERT_NE(NULL, strstr(c.ebuf, "timed out")) TH_LOG("%s", c.ebuf);
	EXPECT_LE(0.5, t);
	EXPECT_GT(0.5 + 2.0, t) TH_LOG("took %.3f s for a 0.5 s timeout", t);

	/* One of two exits, then the rest of the timeout. */
	START(&c, ARGS("-t", "1.5", num(pa, a.pid), num(pb, b.pid)));
	ASSERT_EQ(0, release(&b, 4));
	EXPECT_LINE(&c, "%d exited 4", b.pid);
	rc = cat_finish(&c, LINE_MS);
	t = elapsed(&c);
	ASSERT_EQ(RC_TIMEOUT, rc);
	ASSERT_STREQ("", c.obuf);
	EXPECT_LE(1.5, t);
	EXPECT_GT(1.5 + 2.0, t) TH_LOG("took %.3f s for a 1.5 s timeout", t);

	/* A timeout that is not reached changes nothing. */
	START(&c, ARGS("-t", "30", num(pa, a.pid)));
	ASSERT_EQ(0, release(&a, 0));
	EXPECT_LINE(&c, "%d exited 0", a.pid);
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	EXPECT_GT(10.0, elapsed(&c));
	reap(a.pid);
	reap(b.pid);
}

TEST(count_stops_early)
{
	struct child a, b, d;
	char pa[16], pb[16], pd[16];
	struct cat c;

	NEED_MODULE();
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));
	ASSERT_LT(0, spawn_child(&d, NULL));
	START(&c, ARGS("--count", "2", num(pa, a.pid), num(pb, b.pid),
		       num(pd, d.pid)));
	ASSERT_EQ(0, release(&b, 1));
	EXPECT_LINE(&c, "%d exited 1", b.pid);
	ASSERT_EQ(0, release(&d, 2));
	EXPECT_LINE(&c, "%d exited 2", d.pid);
	/* Ends with a still running. */
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	ASSERT_STREQ("", c.obuf);
	ASSERT_EQ(0, waitpid(a.pid, NULL, WNOHANG));

	/* -c 1 of two zombies: exactly one line. */
	START(&c, ARGS("-c", "1", num(pb, b.pid), num(pd, d.pid)));
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	ASSERT_EQ(1, c.olen && strchr(c.obuf, '\n') == c.obuf + c.olen - 1);

	ASSERT_EQ(0, release(&a, 0));
	reap(a.pid);
	reap(b.pid);
	reap(d.pid);
}

TEST(exited_option)
{
	char pr[16], pa[16];
	pid_t gone = reaped_pid();
	struct child a;
	struct cat c;

	NEED_MODULE();
	ASSERT_LT(0, gone);
	ASSERT_LT(0, spawn_child(&a, NULL));

	/* Gone already: fine with -e, and it prints nothing. */
	ASSERT_EQ(RC_OK, cat_run(&c, ARGS("-e", num(pr, gone))));
	ASSERT_STREQ("", c.obuf);
	ASSERT_STREQ("", c.ebuf);

	/* It counts as exited: -c 1 is met before a exits. */
	ASSERT_EQ(RC_OK, cat_run(&c, ARGS("--exited", "-c", "1", pr,
					  num(pa, a.pid))));
	ASSERT_STREQ("", c.obuf);

	/* The live one is still waited for. */
	START(&c, ARGS("-e", pr, pa));
	ASSERT_EQ(0, release(&a, 6));
	EXPECT_LINE(&c, "%d exited 6", a.pid);
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	ASSERT_STREQ("", c.obuf);
	reap(a.pid);
}

TEST(no_such_process)
{
	char pr[16], pa[16], want[64];
	pid_t gone = reaped_pid();
	struct child a;
	struct cat c;

	NEED_MODULE();
	ASSERT_LT(0, spawn_child(&a, NULL));
	snprintf(want, sizeof(want), "PID %d: no such process", gone);

	ASSERT_EQ(RC_FAIL, cat_run(&c, ARGS(num(pr, gone))));
	ASSERT_NE(NULL, strstr(c.ebuf, want)) TH_LOG("stderr: %s", c.ebuf);
	ASSERT_STREQ("", c.obuf);

	/* It fails at once, not after waiting for the live one. */
	ASSERT_EQ(RC_FAIL, cat_run(&c, ARGS(num(pa, a.pid), pr)));
	ASSERT_NE(NULL, strstr(c.ebuf, want));
	ASSERT_STREQ("", c.obuf);
	ASSERT_EQ(0, release(&a, 0));
	reap(a.pid);
}

TEST(verbose)
{
	char pr[16], pa[16], want[64];
	pid_t gone = reaped_pid();
	struct child a;
	struct cat c;

	NEED_MODULE();
	ASSERT_LT(0, spawn_child(&a, NULL));
	START(&c, ARGS("-v", "-e", num(pa, a.pid), num(pr, gone)));
	ASSERT_EQ(0, release(&a, 0));
	EXPECT_LINE(&c, "%d exited 0", a.pid);
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	snprintf(want, sizeof(want), "watching PID %d\n", a.pid);
	EXPECT_NE(NULL, strstr(c.ebuf, want)) TH_LOG("stderr: %s", c.ebuf);
	snprintf(want, sizeof(want), "PID %d is not running\n", gone);
	EXPECT_NE(NULL, strstr(c.ebuf, want)) TH_LOG("stderr: %s", c.ebuf);
	EXPECT_NE(NULL, strstr(c.ebuf, "waiting with the module backend "
				 "(statuses where permitted)\n"));
	reap(a.pid);
}

TEST(too_many_pids)
{
	static const char param[] = "/sys/module/pidwait/parameters/max_watches";
	char pa[16], pb[16], pd[16], saved[32] = "";
	struct child a, b, d;
	struct cat c;
	int fd, rc;

	NEED_MODULE();
	fd = open(param, O_RDWR);
	if (fd < 0)
		SKIP(return, "%s: %s", param, strerror(errno));
	ASSERT_LT(0, read(fd, saved, sizeof(saved) - 1));
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));
	ASSERT_LT(0, spawn_child(&d, NULL));

	/* Lowered only for this one run, then put back before any check. */
	ASSERT_EQ(2, pwrite(fd, "2\n", 2, 0));
	rc = cat_run(&c, ARGS(num(pa, a.pid), num(pb, b.pid), num(pd, d.pid)));
	ASSERT_EQ((ssize_t)strlen(saved), pwrite(fd, saved, strlen(saved), 0));
	close(fd);
	SKIP_IF_NO_CAT(rc);
	ASSERT_EQ(RC_FAIL, rc) TH_LOG("stderr: %s", c.ebuf);
	ASSERT_NE(NULL, strstr(c.ebuf, "too many PIDs, the module allows 2 "
				 "per file")) TH_LOG("stderr: %s", c.ebuf);
	ASSERT_STREQ("", c.obuf);
	release(&a, 0);
	release(&b, 0);
	release(&d, 0);
	reap(a.pid);
	reap(b.pid);
	reap(d.pid);
}

/* --- JSON ---------------------------------------------------------------- */

/* code, sig < 0 and core < 0 mean null; signame goes with sig. */
static void check_json(struct __test_metadata *_metadata, const char *line,
		       pid_t pid, const char *event, int code, int sig,
		       const char *signame, int core, uint64_t t0, uint64_t t1)
{
	struct jfield f[16];
	const struct jfield *v;
	time_t secs;
	int n, i;

	n = json_parse(line, f, 16);
	ASSERT_EQ(NKEYS, n) TH_LOG("bad JSON line: %s", line);
	for (i = 0; i < NKEYS; i++)
		ASSERT_STREQ(json_keys[i], f[i].key);

	v = jget(f, n, "pid");
	ASSERT_EQ(J_INT, v->type);
	ASSERT_EQ(pid, v->i);
	ASSERT_EQ(J_FALSE, jget(f, n, "thread")->type);
	v = jget(f, n, "event");
	ASSERT_EQ(J_STR, v->type);
	ASSERT_STREQ(event, v->s);

	v = jget(f, n, "code");
	if (code >= 0) {
		ASSERT_EQ(J_INT, v->type);
		ASSERT_EQ(code, v->i);
	} else {
		ASSERT_EQ(J_NULL, v->type);
	}
	if (sig > 0) {
		v = jget(f, n, "signal");
		ASSERT_EQ(J_STR, v->type);
		ASSERT_STREQ(signame, v->s);
		v = jget(f, n, "signo");
		ASSERT_EQ(J_INT, v->type);
		ASSERT_EQ(sig, v->i);
	} else {
		ASSERT_EQ(J_NULL, jget(f, n, "signal")->type);
		ASSERT_EQ(J_NULL, jget(f, n, "signo")->type);
	}
	v = jget(f, n, "core_dumped");
	ASSERT_EQ(core < 0 ? J_NULL : core ? J_TRUE : J_FALSE, v->type);

	/* Stamped between our releasing the child and reading the line. */
	v = jget(f, n, "exit_time_ns");
	ASSERT_EQ(J_INT, v->type);
	ASSERT_LE(t0, (uint64_t)v->i);
	ASSERT_GE(t1, (uint64_t)v->i);
	v = jget(f, n, "exit_time");
	ASSERT_EQ(J_STR, v->type);
	ASSERT_TRUE(rfc3339_utc(v->s, &secs)) TH_LOG("exit_time %s", v->s);
	ASSERT_GT(5, labs((long)(time(NULL) - secs)));
}

TEST(json_lines)
{
	char pa[16], pb[16], line[512];
	struct child a, b;
	uint64_t t0, t1;
	struct cat c;

	NEED_MODULE();
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));
	START(&c, ARGS("--json", num(pa, a.pid), num(pb, b.pid)));

	t0 = mono_ns();
	ASSERT_EQ(0, release(&a, 7));
	ASSERT_TRUE(cat_line(&c, line, sizeof(line), LINE_MS));
	t1 = mono_ns();
	check_json(_metadata, line, a.pid, "exited", 7, -1, NULL, 0, t0, t1);

	t0 = mono_ns();
	ASSERT_EQ(0, release(&b, KILLED_BY(SIGTERM)));
	ASSERT_TRUE(cat_line(&c, line, sizeof(line), LINE_MS));
	t1 = mono_ns();
	check_json(_metadata, line, b.pid, "killed", -1, SIGTERM, "SIGTERM", 0,
		   t0, t1);

	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	ASSERT_STREQ("", c.obuf);
	reap(a.pid);
	reap(b.pid);
}

TEST(json_parser_is_strict)
{
	struct jfield f[4];

	ASSERT_EQ(2, json_parse("{\"a\":1,\"b\":\"x\\\"\\u0041\"}", f, 4));
	ASSERT_STREQ("x\"A", f[1].s);
	ASSERT_EQ(-1, json_parse("{\"a\":1,}", f, 4));
	ASSERT_EQ(-1, json_parse("{\"a\":1}x", f, 4));
	ASSERT_EQ(-1, json_parse("{\"a\":1,\"a\":2}", f, 4));
	ASSERT_EQ(-1, json_parse("{\"a\":01}", f, 4));
	ASSERT_EQ(-1, json_parse("{\"a\":1.5}", f, 4));
	ASSERT_EQ(-1, json_parse("{\"a\":\"\x01\"}", f, 4));
	ASSERT_EQ(-1, json_parse("{\"a\":{}}", f, 4));
	ASSERT_EQ(-1, json_parse("{\"a\":tru}", f, 4));
	ASSERT_EQ(-1, json_parse("{\"a\":\"\\q\"}", f, 4));
}

/* --- as another user ----------------------------------------------------- */

static int become_nobody(void *arg)
{
	(void)arg;
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return -1;
	return 0;
}

TEST(other_users_status_unknown)
{
	char pa[16], pb[16], line[512];
	struct child a, b;
	uint64_t t0, t1;
	struct cat c;
	int err;

	NEED_MODULE();
	if (geteuid())
		SKIP(return, "needs root to switch users");
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));

	err = cat_start_setup(&c, ARGS(num(pa, a.pid)), become_nobody, NULL);
	SKIP_IF_NO_CAT(-err);
	if (err == EACCES)
		SKIP(return, "user %d may not run %s", NOBODY, cat_path());
	ASSERT_EQ(0, err);
	ASSERT_EQ(0, release(&a, 9));
	if (!cat_line(&c, line, sizeof(line), LINE_MS)) {
		int rc = cat_finish(&c, LINE_MS);

		/* A root-only device node is a setup, not a tool, matter. */
		if (rc == RC_FAIL && strstr(c.ebuf, "Permission denied"))
			SKIP(return, "user %d may not open " DEVICE, NOBODY);
		ASSERT_TRUE(false) TH_LOG("rc %d, stderr: %s", rc, c.ebuf);
	}
	{
		char want[64];

		snprintf(want, sizeof(want), "%d exited (status unknown)", a.pid);
		ASSERT_STREQ(want, line);
	}
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));

	/* The same in JSON: an "unknown" event with null details. */
	err = cat_start_setup(&c, ARGS("--json", num(pb, b.pid)),
			      become_nobody, NULL);
	ASSERT_EQ(0, err);
	t0 = mono_ns();
	ASSERT_EQ(0, release(&b, KILLED_BY(SIGKILL)));
	ASSERT_TRUE(cat_line(&c, line, sizeof(line), LINE_MS));
	t1 = mono_ns();
	check_json(_metadata, line, b.pid, "unknown", -1, -1, NULL, -1, t0, t1);
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	reap(a.pid);
	reap(b.pid);
}

/* --- a /dev of our own: no module, no access, not a pidwait device ------ */

struct fake_dev {
	bool node;		/* make DEVICE at all */
	dev_t rdev;
	mode_t mode;
	bool nobody;		/* run as NOBODY */
};

/* Runs in pidwait-cat's child: the test's own /dev stays untouched. */
static int fake_dev_setup(void *arg)
{
	const struct fake_dev *fd = arg;

	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("pidwait_test", "/dev", "tmpfs", 0, "mode=0755"))
		return -1;
	if (fd->node && mknod(DEVICE, S_IFCHR | fd->mode, fd->rdev))
		return -1;
	if (fd->node && chmod(DEVICE, fd->mode))
		return -1;
	return fd->nobody ? become_nobody(NULL) : 0;
}

static int run_fake_dev(struct cat *c, struct fake_dev *fd)
{
	char me[16];

	return cat_run_setup(c, ARGS("--backend", "module", num(me, getpid())),
			     fake_dev_setup, fd);
}

/* Without root there is no private /dev to make: nothing to test. */
#define SKIP_IF_NO_FAKE_DEV(rc, c) do { \
	SKIP_IF_NO_CAT(rc); \
	if ((rc) < 0 && (rc) != RUN_HUNG) \
		SKIP(return, "cannot fake /dev: %.200s", (c)->ebuf); \
} while (0)

TEST(no_module_loaded)
{
	struct fake_dev fd = { .node = false };
	struct cat c;
	int rc;

	rc = run_fake_dev(&c, &fd);
	SKIP_IF_NO_FAKE_DEV(rc, &c);
	ASSERT_EQ(RC_UNSUPPORTED, rc) TH_LOG("stderr: %s", c.ebuf);
	ASSERT_NE(NULL, strstr(c.ebuf, "cannot open /dev/pidwait: No such file"))
		TH_LOG("stderr: %s", c.ebuf);
	ASSERT_NE(NULL, strstr(c.ebuf, "'modprobe pidwait'"));
	ASSERT_NE(NULL, strstr(c.ebuf, "'insmod pidwait.ko'"));
	ASSERT_STREQ("", c.obuf);
}

/* Without the module the default takes the next backend, and says which. */
TEST(no_module_falls_back)
{
	struct fake_dev fd = { .node = false };
	char me[16];
	struct cat c;
	int rc, pidfd = (int)syscall(__NR_pidfd_open, getpid(), 0);

	if (pidfd >= 0)
		close(pidfd);
	rc = cat_run_setup(&c, ARGS("-v", "-t", "0.2", num(me, getpid())),
			   fake_dev_setup, &fd);
	SKIP_IF_NO_FAKE_DEV(rc, &c);
	ASSERT_EQ(RC_TIMEOUT, rc) TH_LOG("stderr: %s", c.ebuf);
	ASSERT_NE(NULL, strstr(c.ebuf, pidfd >= 0 ?
			       "waiting with the pidfd backend" :
			       "waiting with the proc backend"))
		TH_LOG("stderr: %s", c.ebuf);
	ASSERT_STREQ("", c.obuf);
}

TEST(device_permission_denied)
{
	struct fake_dev fd = { .node = true, .mode = 0600, .nobody = true };
	struct stat st;
	struct cat c;
	int rc;

	NEED_MODULE();
	ASSERT_EQ(0, stat(DEVICE, &st));
	fd.rdev = st.st_rdev;
	rc = run_fake_dev(&c, &fd);
	SKIP_IF_NO_FAKE_DEV(rc, &c);
	ASSERT_EQ(RC_FAIL, rc) TH_LOG("stderr: %s", c.ebuf);
	ASSERT_NE(NULL, strstr(c.ebuf, "cannot open /dev/pidwait: Permission denied"))
		TH_LOG("stderr: %s", c.ebuf);
	ASSERT_STREQ("", c.obuf);
}

TEST(not_a_pidwait_device)
{
	/* /dev/null answers no pidwait ioctl: as a module too old would. */
	struct fake_dev fd = { .node = true, .rdev = makedev(1, 3),
			       .mode = 0666 };
	struct cat c;
	int rc;

	rc = run_fake_dev(&c, &fd);
	SKIP_IF_NO_FAKE_DEV(rc, &c);
	ASSERT_EQ(RC_UNSUPPORTED, rc) TH_LOG("stderr: %s", c.ebuf);
	ASSERT_NE(NULL, strstr(c.ebuf, "PIDWAIT_IOC_GET_INFO"))
		TH_LOG("stderr: %s", c.ebuf);
	ASSERT_STREQ("", c.obuf);
}

/* --- threads -------------------------------------------------------------- */

struct thread_arg {
	int ctl;
	pid_t tid;
	int ready[2];
};

static void *thread_fn(void *p)
{
	struct thread_arg *t = p;
	char b;

	t->tid = syscall(SYS_gettid);
	if (write(t->ready[1], "r", 1) != 1)
		return NULL;
	while (read(t->ctl, &b, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* --- output robustness ------------------------------------------------------ */

TEST(reader_gone_sigpipe)
{
	char pa[16], pb[16];
	struct child a, b;
	struct cat c;

	NEED_MODULE();
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));
	START(&c, ARGS(num(pa, a.pid), num(pb, b.pid)));
	/* Like "| head -0": the first line has nowhere to go. */
	close(c.out);
	c.out = -1;
	ASSERT_EQ(0, release(&a, 0));
	ASSERT_EQ(RC_FAIL, cat_finish(&c, LINE_MS))
		TH_LOG("status %#x, stderr: %s", c.status, c.ebuf);
	ASSERT_TRUE(WIFEXITED(c.status));
	ASSERT_STREQ("", c.ebuf);
	ASSERT_EQ(0, release(&b, 0));
	reap(a.pid);
	reap(b.pid);
}

TEST(survives_stop_and_continue)
{
	char pa[16];
	struct child a;
	struct cat c;
	int st;

	NEED_MODULE();
	ASSERT_LT(0, spawn_child(&a, NULL));
	START(&c, ARGS("-t", "60", num(pa, a.pid)));
	ASSERT_EQ(0, kill(c.pid, SIGSTOP));
	ASSERT_EQ(c.pid, waitpid(c.pid, &st, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(st));
	ASSERT_EQ(0, release(&a, 8));
	ASSERT_EQ(8, peek_exit(a.pid));
	ASSERT_EQ(0, kill(c.pid, SIGCONT));
	EXPECT_LINE(&c, "%d exited 8", a.pid);
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	reap(a.pid);
}

/* --- each backend, chosen with --backend ------------------------------- */

FIXTURE(backend) {
	bool here;		/* this machine can serve it */
};

FIXTURE_VARIANT(backend) {
	const char *name;
	bool statuses;		/* of processes that are not its children */
};

FIXTURE_VARIANT_ADD(backend, module) {
	.name = "module",
	.statuses = true,
};

FIXTURE_VARIANT_ADD(backend, pidfd) {
	.name = "pidfd",
};

FIXTURE_VARIANT_ADD(backend, proc) {
	.name = "proc",
};

FIXTURE_SETUP(backend)
{
	int fd;

	if (!strcmp(variant->name, "module")) {
		self->here = !access(DEVICE, F_OK);
	} else if (!strcmp(variant->name, "pidfd")) {
		fd = (int)syscall(__NR_pidfd_open, getpid(), 0);
		self->here = fd >= 0;
		if (fd >= 0)
			close(fd);
	} else {
		self->here = true;
	}
}

FIXTURE_TEARDOWN(backend)
{
}

#define BARGS(...) ARGS("--backend", (char *)variant->name, __VA_ARGS__)

/* The line of an exit, as this backend can tell it to a non-parent. */
static void exit_line(char *buf, size_t size, bool statuses, pid_t pid,
		      const char *how)
{
	if (statuses)
		snprintf(buf, size, "%d %s", pid, how);
	else
		snprintf(buf, size, "%d exited (status unknown)", pid);
}

/* A backend the machine lacks is refused, and says what it needs. */
TEST_F(backend, missing_backend_refused)
{
	char me[16];
	struct cat c;
	int rc;

	if (self->here)
		SKIP(return, "this machine has the %s backend", variant->name);
	rc = cat_run(&c, BARGS(num(me, getpid())));
	SKIP_IF_NO_CAT(rc);
	ASSERT_EQ(RC_UNSUPPORTED, rc) TH_LOG("stderr: %s", c.ebuf);
	ASSERT_NE(NULL, strstr(c.ebuf, !strcmp(variant->name, "module") ?
			       "cannot open /dev/pidwait" :
			       "the pidfd backend needs pidfd_open(2)"))
		TH_LOG("stderr: %s", c.ebuf);
}

TEST_F(backend, exits_in_exit_order)
{
	char pa[16], pb[16], pd[16], want[128], line[128];
	struct child a, b, d;
	struct cat c;

	if (!self->here)
		SKIP(return, "no %s backend here: missing_backend_refused "
		     "checks the refusal", variant->name);
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));
	ASSERT_LT(0, spawn_child(&d, NULL));
	START(&c, BARGS("-v", num(pa, a.pid), num(pb, b.pid), num(pd, d.pid)));
	snprintf(want, sizeof(want), "watching PID %d\n", d.pid);
	ASSERT_TRUE(cat_stderr_has(&c, want, LINE_MS)) TH_LOG("stderr: %s", c.ebuf);
	snprintf(want, sizeof(want), "waiting with the %s backend (%s)",
		 variant->name, variant->statuses ? "statuses where permitted" :
		 "no statuses: only a child's would be shown");
	ASSERT_NE(NULL, strstr(c.ebuf, want)) TH_LOG("stderr: %s", c.ebuf);

	ASSERT_EQ(0, release(&d, 3));
	exit_line(want, sizeof(want), variant->statuses, d.pid, "exited 3");
	ASSERT_TRUE(cat_line(&c, line, sizeof(line), LINE_MS));
	ASSERT_STREQ(want, line);
	ASSERT_EQ(0, kill(a.pid, SIGKILL));
	exit_line(want, sizeof(want), variant->statuses, a.pid,
		  "killed by SIGKILL");
	ASSERT_TRUE(cat_line(&c, line, sizeof(line), LINE_MS));
	ASSERT_STREQ(want, line);
	ASSERT_EQ(0, release(&b, 0));
	exit_line(want, sizeof(want), variant->statuses, b.pid, "exited 0");
	ASSERT_TRUE(cat_line(&c, line, sizeof(line), LINE_MS));
	ASSERT_STREQ(want, line);
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS)) TH_LOG("stderr: %s", c.ebuf);
	ASSERT_STREQ("", c.obuf);
	/* Statuses are shown without taking them from their parent. */
	ASSERT_EQ(3 << 8, reap(d.pid));
	ASSERT_EQ(SIGKILL, reap(a.pid));
	ASSERT_EQ(0, reap(b.pid));
}

TEST_F(backend, zombie_gone_and_timeout)
{
	char pa[16], pb[16], pr[16], want[128];
	pid_t gone = reaped_pid();
	struct child a, b;
	struct cat c;
	int rc;

	if (!self->here)
		SKIP(return, "no %s backend here", variant->name);
	ASSERT_LT(0, spawn_child(&a, NULL));
	ASSERT_LT(0, spawn_child(&b, NULL));
	ASSERT_EQ(0, release(&a, 5));
	ASSERT_EQ(5, peek_exit(a.pid));

	/* A zombie is seen by a zero timeout, and the live one times out. */
	rc = cat_run(&c, BARGS("-t", "0", num(pa, a.pid), num(pb, b.pid)));
	SKIP_IF_NO_CAT(rc);
	ASSERT_EQ(RC_TIMEOUT, rc) TH_LOG("stderr: %s", c.ebuf);
	exit_line(want, sizeof(want), variant->statuses, a.pid, "exited 5");
	strcat(want, "\n");
	ASSERT_STREQ(want, c.obuf);
	ASSERT_NE(NULL, strstr(c.ebuf, "timed out waiting for 1 more exit"));

	/* A number nobody has: an error, or with -e an exit already seen. */
	rc = cat_run(&c, BARGS(num(pr, gone)));
	ASSERT_EQ(RC_FAIL, rc) TH_LOG("stderr: %s", c.ebuf);
	snprintf(want, sizeof(want), "PID %d: no such process", gone);
	ASSERT_NE(NULL, strstr(c.ebuf, want)) TH_LOG("stderr: %s", c.ebuf);
	rc = cat_run(&c, BARGS("-e", num(pr, gone), num(pa, a.pid)));
	ASSERT_EQ(RC_OK, rc) TH_LOG("stderr: %s", c.ebuf);
	exit_line(want, sizeof(want), variant->statuses, a.pid, "exited 5");
	strcat(want, "\n");
	ASSERT_STREQ(want, c.obuf);

	ASSERT_EQ(0, release(&b, 0));
	reap(a.pid);
	reap(b.pid);
}

TEST_F(backend, threads)
{
	struct thread_arg t = { 0 };
	char ptid[16], want[128], line[256];
	int ctl[2], rc;
	pthread_t th;
	struct cat c;

	if (!self->here)
		SKIP(return, "no %s backend here", variant->name);
	ASSERT_EQ(0, pipe2(ctl, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(t.ready, O_CLOEXEC));
	t.ctl = ctl[0];
	ASSERT_EQ(0, pthread_create(&th, NULL, thread_fn, &t));
	ASSERT_EQ(1, read(t.ready[0], line, 1));
	num(ptid, t.tid);

	rc = cat_run(&c, BARGS(ptid));
	SKIP_IF_NO_CAT(rc);
	ASSERT_EQ(RC_FAIL, rc);
	snprintf(want, sizeof(want), "PID %d is a thread, not a process: use "
		 "--thread", t.tid);
	ASSERT_NE(NULL, strstr(c.ebuf, want)) TH_LOG("stderr: %s", c.ebuf);

	START(&c, BARGS("--thread", "--verbose", ptid));
	snprintf(want, sizeof(want), "watching TID %d\n", t.tid);
	if (!cat_stderr_has(&c, want, LINE_MS)) {
		rc = cat_finish(&c, LINE_MS);
		/* pidfd_open() takes a thread's id from 6.9: before, it is refused. */
		ASSERT_EQ(RC_UNSUPPORTED, rc) TH_LOG("stderr: %s", c.ebuf);
		ASSERT_NE(NULL, strstr(c.ebuf, "cannot watch threads"));
		ASSERT_STRNE("proc", variant->name);
		ASSERT_EQ(0, close(ctl[1]));
		pthread_join(th, NULL);
		return;
	}
	ASSERT_EQ(0, close(ctl[1]));	/* the thread returns */
	ASSERT_TRUE(cat_line(&c, line, sizeof(line), LINE_MS))
		TH_LOG("stderr: %s", c.ebuf);
	pthread_join(th, NULL);
	snprintf(want, sizeof(want), "%d exited 0", t.tid);
	if (strcmp(want, line))
		snprintf(want, sizeof(want), "%d exited (status unknown)", t.tid);
	ASSERT_STREQ(want, line);
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
}

TEST_F(backend, json_without_status)
{
	char pa[16], line[512];
	struct child a;
	uint64_t t0, t1;
	struct cat c;

	if (!self->here)
		SKIP(return, "no %s backend here", variant->name);
	ASSERT_LT(0, spawn_child(&a, NULL));
	START(&c, BARGS("--json", num(pa, a.pid)));
	t0 = mono_ns();
	ASSERT_EQ(0, release(&a, 9));
	ASSERT_TRUE(cat_line(&c, line, sizeof(line), LINE_MS))
		TH_LOG("stderr: %s", c.ebuf);
	t1 = mono_ns();
	/* The time is the exit's (module) or when it was seen (the others). */
	if (variant->statuses)
		check_json(_metadata, line, a.pid, "exited", 9, -1, NULL, 0, t0, t1);
	else
		check_json(_metadata, line, a.pid, "unknown", -1, -1, NULL, -1,
			   t0, t1);
	ASSERT_EQ(RC_OK, cat_finish(&c, LINE_MS));
	reap(a.pid);
}

TEST(backend_option_errors)
{
	char me[16];
	struct cat c;
	int rc;

	rc = cat_run(&c, ARGS("--backend", "epoll", num(me, getpid())));
	SKIP_IF_NO_CAT(rc);
	ASSERT_EQ(RC_USAGE, rc);
	ASSERT_NE(NULL, strstr(c.ebuf, "unknown backend (auto, module, pidfd "
				 "or proc): 'epoll'")) TH_LOG("stderr: %s", c.ebuf);
	ASSERT_EQ(RC_USAGE, cat_run(&c, ARGS(num(me, getpid()), "--backend")));
	ASSERT_NE(NULL, strstr(c.ebuf, "missing argument for '--backend'"))
		TH_LOG("stderr: %s", c.ebuf);
}

TEST_HARNESS_MAIN
