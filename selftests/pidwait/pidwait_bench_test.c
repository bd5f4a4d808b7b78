// SPDX-License-Identifier: GPL-2.0
/*
 * pidwait-bench --short as a smoke test: every section runs, and the
 * bench's own functional checks hold (no lost or doubled event, no failed
 * arm). Its figures are not judged here: a benchmark is not a timed test.
 */
#include "pidwait_util.h"
#include "kselftest_harness.h"

#ifndef PIDWAIT_BENCH
#define PIDWAIT_BENCH "/usr/bin/pidwait-bench"
#endif

FIXTURE(bench) {
	int unused;
};

FIXTURE_SETUP(bench)
{
	self->unused = 0;
}

FIXTURE_TEARDOWN(bench)
{
}

TEST_F_TIMEOUT(bench, short_run, 300)
{
	const char *bench = getenv("PIDWAIT_BENCH") ?: PIDWAIT_BENCH;
	char line[512];
	int st = -1, p[2];
	FILE *out;
	pid_t pid;

	ASSERT_EQ(0, access(bench, X_OK)) TH_LOG("%s: %s", bench, strerror(errno));
	/*
	 * The default cap, whatever a program before left behind when it
	 * failed (that failure is reported there): the bench arms 1,000s.
	 */
	ASSERT_EQ(0, pw_write_str("/sys/module/pidwait/parameters/max_watches", "1048576"));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execl(bench, bench, "--short", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* Its table goes to the log as KTAP diagnostics. */
	out = fdopen(p[0], "r");
	ASSERT_NE(NULL, out);
	while (fgets(line, sizeof(line), out))
		printf("# %s", line);
	fclose(out);
	ASSERT_EQ(0, pw_reap(pid, &st));
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("pidwait-bench: status %#x", st);
	ASSERT_EQ(0, WEXITSTATUS(st)) TH_LOG("pidwait-bench --short failed (1: a check, 4: no device)");
}

PIDWAIT_HARNESS_MAIN
