// SPDX-License-Identifier: GPL-2.0
/*
 * The example program of pidwait(4), extracted from man/pidwait.4 at build
 * time, run against processes that end in known ways: the page cannot
 * drift from the interface. The example runs as a sibling of the children,
 * not their parent, so it also shows status for a non-parent.
 */
#include "pidwait_util.h"

#include <libgen.h>
#include "kselftest_harness.h"

static char example[PATH_MAX];

/* A child that exits with the byte its parent writes, or is killed. */
static pid_t child(int *ctl)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		unsigned char code = 0;

		close(p[1]);
		if (read(p[0], &code, 1) != 1)
			pause();
		_exit(code);
	}
	close(p[0]);
	*ctl = p[1];
	return pid;
}

TEST(example_reports_each_exit)
{
	char out[512], want[256];
	int ctl_a, ctl_b, out_pipe[2], st;
	unsigned char code = 3;
	pid_t a, b, ex;
	size_t len = 0;
	ssize_t n;

	ASSERT_EQ(0, access(example, X_OK)) TH_LOG("%s: %s", example, strerror(errno));
	a = child(&ctl_a);
	ASSERT_GT(a, 0);
	b = child(&ctl_b);
	ASSERT_GT(b, 0);
	ASSERT_EQ(0, pipe2(out_pipe, O_CLOEXEC));

	ex = fork();
	ASSERT_GE(ex, 0);
	if (ex == 0) {
		char sa[16], sb[16];

		snprintf(sa, sizeof(sa), "%d", a);
		snprintf(sb, sizeof(sb), "%d", b);
		dup2(out_pipe[1], 1);
		execl(example, example, sa, sb, (char *)NULL);
		_exit(127);
	}
	close(out_pipe[1]);

	/*
	 * Zombies stay armable and readiness is in exit order, so the lines
	 * come in this order whether the example armed before or after.
	 */
	ASSERT_EQ(1, write(ctl_a, &code, 1));
	ASSERT_EQ(0, pw_wait_zombie(a));
	ASSERT_EQ(0, kill(b, SIGKILL));
	ASSERT_EQ(0, pw_wait_zombie(b));

	while ((n = read(out_pipe[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	ASSERT_EQ(0, pw_reap(ex, &st));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("example status %#x", st);
	snprintf(want, sizeof(want), "%d exited 3\n%d killed by signal %d\n", a, b, SIGKILL);
	EXPECT_STREQ(want, out);

	close(ctl_a);
	close(ctl_b);
	close(out_pipe[0]);
	ASSERT_EQ(0, pw_reap(a, NULL));
	ASSERT_EQ(0, pw_reap(b, NULL));
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n;

	if (argc >= 2 && !strcmp(argv[1], PW_EXEC_HELPER_ARG))
		return pw_exec_helper(argc, argv);
	/* The example is built beside this program. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	snprintf(example, sizeof(example), "%s/pidwait_example", dirname(self));
	return test_harness_run(argc, argv);
}
