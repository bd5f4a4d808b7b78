// SPDX-License-Identifier: GPL-2.0
/*
 * pidwait's Python module (python/pidwait) with its unittest suite, run by
 * Debian trixie's python3, which the runner puts under PIDWAIT_CLIENTS
 * with the module and its tests beside: every backend the guest has.
 */
#include "pidwait_util.h"

#include "kselftest_harness.h"

#define CLIENTS_DEFAULT	"/pidwait/clients"
#define PYTHON_DEFAULT	"/pidwait/python"

static const char *env_or(const char *name, const char *def)
{
	const char *d = getenv(name);

	return d && *d ? d : def;
}

/* Runs argv with its output as KTAP comments; its wait status. */
static int run_commented(char *const argv[])
{
	char line[1024];
	int p[2], st = -1;
	FILE *f;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		setenv("LD_LIBRARY_PATH", env_or("PIDWAIT_CLIENTS", CLIENTS_DEFAULT), 1);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	while (f && fgets(line, sizeof(line), f))
		printf("# %s", line);
	if (f)
		fclose(f);
	waitpid(pid, &st, 0);
	return st;
}

FIXTURE(python) {
	int unused;
};

FIXTURE_SETUP(python)
{
}

FIXTURE_TEARDOWN(python)
{
}

/* The suite skips only the backends the guest lacks; it fails on any failure. */
TEST_F_TIMEOUT(python, unittest, 600)
{
	char python[PATH_MAX], tests[PATH_MAX];
	char *argv[] = { python, "-W", "error::ResourceWarning", "-m", "unittest",
			 "discover", "-v", "-s", tests, NULL };
	int st;

	snprintf(python, sizeof(python), "%s/python3", env_or("PIDWAIT_CLIENTS", CLIENTS_DEFAULT));
	snprintf(tests, sizeof(tests), "%s/tests", env_or("PIDWAIT_PYTHON", PYTHON_DEFAULT));
	ASSERT_EQ(0, access(python, X_OK)) TH_LOG("%s: %s", python, strerror(errno));
	ASSERT_EQ(0, access(tests, R_OK)) TH_LOG("%s: %s", tests, strerror(errno));
	st = run_commented(argv);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("status 0x%x", st);
}

PIDWAIT_HARNESS_MAIN
