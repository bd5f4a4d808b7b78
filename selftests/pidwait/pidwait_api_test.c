// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/pidwait interface itself: every ioctl and its error codes,
 * read() sizes and the bytes it returns, FIONREAD and fdinfo.
 */
#include "pidwait_util.h"

#include <sys/mman.h>
#include <termios.h>

#include "kselftest_harness.h"

#define MAX_WATCHES_PARAM "/sys/module/pidwait/parameters/max_watches"
#define MAX_USER_WATCHES_PARAM "/sys/module/pidwait/parameters/max_user_watches"

/*
 * A page with nothing mapped there. Take it after every other mapping of
 * the test: a later mmap() could land on it (ASSERT_UNMAPPED checks).
 */
static void *unmapped_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munmap(p, 4096);
	return p;
}

#define ASSERT_UNMAPPED(p)						\
	do {								\
		unsigned char _vec;					\
		ASSERT_EQ(-1, mincore((p), 4096, &_vec));		\
		ASSERT_EQ(ENOMEM, errno);				\
	} while (0)

/* A page holding data, mapped read-only. */
static void *readonly_page(const void *data, size_t len)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, data, len);
	if (mprotect(p, 4096, PROT_READ)) {
		munmap(p, 4096);
		return NULL;
	}
	return p;
}

/* Read the fdinfo of fd into buf; the number of bytes, or -errno. */
static int read_fdinfo(int fd, char *buf, size_t len)
{
	char path[64];
	ssize_t n, total = 0;
	int ifd;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ifd = open(path, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		return -errno;
	while ((n = read(ifd, buf + total, len - 1 - total)) > 0)
		total += n;
	close(ifd);
	buf[total] = 0;
	return (int)total;
}

/* Number of lines of fdinfo that start with prefix, and whether line is one. */
static int fdinfo_lines(int fd, const char *prefix, const char *line, bool *found)
{
	static char buf[65536];
	char *p, *nl;
	int count = 0;

	*found = false;
	if (read_fdinfo(fd, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		if (!strncmp(p, prefix, strlen(prefix)))
			count++;
		if (line && (size_t)(nl - p) == strlen(line) &&
		    !strncmp(p, line, strlen(line)))
			*found = true;
		if (!nl[1])
			break;
	}
	return count;
}

FIXTURE(api) {
	int fd;
	struct worker w;
};

FIXTURE_SETUP(api)
{
	self->w.pid = -1;
	self->w.report = -1;
	for (int i = 0; i < W_MAX_THREADS; i++)
		self->w.cmd[i] = -1;
	self->fd = pw_open(0);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s (is the module loaded?)",
				     PIDWAIT_DEVICE, strerror(errno));
}

FIXTURE_TEARDOWN(api)
{
	worker_free(&self->w);
	close(self->fd);
}

/* The device node: a character device that anybody may open. */
TEST(device_node)
{
	struct stat st;
	int fd;

	ASSERT_EQ(0, stat(PIDWAIT_DEVICE, &st)) TH_LOG("%s", strerror(errno));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(0666, st.st_mode & 07777);
	ASSERT_EQ(0, access("/sys/class/misc/pidwait", F_OK));

	fd = pw_open(O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}

TEST_F(api, get_info)
{
	struct pidwait_info info;
	long param;

	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, PIDWAIT_IOC_GET_INFO, &info));
	EXPECT_EQ(PIDWAIT_API_VERSION, info.api_version);
	EXPECT_EQ(PIDWAIT_ARM_THREAD, info.arm_flags);
	EXPECT_EQ(PIDWAIT_EVENT_STATUS | PIDWAIT_EVENT_THREAD, info.event_flags);
	EXPECT_EQ(sizeof(struct pidwait_event), info.event_size);
	EXPECT_EQ(0u, info.nr_watches);
	EXPECT_EQ(0u, info.user_watches);
	EXPECT_EQ(PIDWAIT_FEATURE_PIDFD | PIDWAIT_FEATURE_SIGNAL,
		  info.features & ~(__u64)PIDWAIT_FEATURE_SIGINFO);
	for (int i = 0; i < PW_INFO_RESERVED; i++) {
		EXPECT_EQ(0ull, info.reserved[i]) TH_LOG("reserved[%d]", i);
	}

	param = pw_read_long(MAX_WATCHES_PARAM);
	ASSERT_LT(0, param) TH_LOG("%s: %s", MAX_WATCHES_PARAM, strerror((int)-param));
	EXPECT_EQ((__u32)param, info.max_watches);
	param = pw_read_long(MAX_USER_WATCHES_PARAM);
	ASSERT_LT(0, param) TH_LOG("%s: %s", MAX_USER_WATCHES_PARAM, strerror((int)-param));
	EXPECT_EQ((__u32)param, info.max_user_watches);

	/* nr_watches follows arms and disarms on this file only. */
	ASSERT_EQ(0, pw_arm(self->fd, getpid(), 0, 1));
	ASSERT_EQ(0, pw_arm(self->fd, getpid(), PIDWAIT_ARM_THREAD, 2));
	ASSERT_EQ(2, pw_nr_watches(self->fd));
	ASSERT_EQ(0, pw_info(self->fd, &info));
	ASSERT_EQ(2u, info.user_watches);
	ASSERT_EQ(0, pw_disarm(self->fd, getpid(), 0));
	ASSERT_EQ(1, pw_nr_watches(self->fd));
	ASSERT_EQ(0, pw_disarm(self->fd, getpid(), PIDWAIT_ARM_THREAD));
	ASSERT_EQ(0, pw_nr_watches(self->fd));
}

TEST_F(api, get_info_efault)
{
	struct pidwait_info info = { 0 };
	void *ro = readonly_page(&info, sizeof(info));
	void *gone = unmapped_page();
	char *edge;

	ASSERT_NE(NULL, ro);
	ASSERT_NE(NULL, gone);
	ASSERT_EQ(-1, ioctl(self->fd, PIDWAIT_IOC_GET_INFO, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_UNMAPPED(gone);
	ASSERT_EQ(-1, ioctl(self->fd, PIDWAIT_IOC_GET_INFO, gone));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, ioctl(self->fd, PIDWAIT_IOC_GET_INFO, ro));
	ASSERT_EQ(EFAULT, errno);

	/* The struct straddles the end of a mapping. */
	edge = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, edge);
	ASSERT_EQ(0, munmap(edge + 4096, 4096));
	ASSERT_EQ(-1, ioctl(self->fd, PIDWAIT_IOC_GET_INFO, edge + 4096 - 8));
	ASSERT_EQ(EFAULT, errno);
	munmap(edge, 4096);
	munmap(ro, 4096);
}

TEST_F(api, arm_einval_pid)
{
	static const pid_t bad[] = { 0, -1, -2, INT_MIN };

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, pw_arm(self->fd, bad[i], 0, 0)) TH_LOG("pid %d", bad[i]);
		EXPECT_EQ(-EINVAL, pw_arm(self->fd, bad[i], PIDWAIT_ARM_THREAD, 0))
			TH_LOG("tid %d", bad[i]);
	}
	ASSERT_EQ(0, pw_nr_watches(self->fd));
}

TEST_F(api, arm_einval_flags)
{
	static const uint32_t bad[] = { 1u << 1, 1u << 2, 1u << 31, ~0u,
					~PIDWAIT_ARM_THREAD, PIDWAIT_ARM_THREAD | 1u << 7 };

	/* A valid pid, so that only the flags are wrong. */
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, pw_arm(self->fd, getpid(), bad[i], 0))
			TH_LOG("flags 0x%x", bad[i]);
	}
	ASSERT_EQ(0, pw_nr_watches(self->fd));
}

/* A thread id that is not a group leader needs PIDWAIT_ARM_THREAD. */
TEST_F(api, arm_einval_nonleader)
{
	ASSERT_EQ(0, worker_start(&self->w, 2, NULL, NULL));
	ASSERT_NE(self->w.tid[0], self->w.tid[1]);

	ASSERT_EQ(-EINVAL, pw_arm(self->fd, self->w.tid[1], 0, 0));
	ASSERT_EQ(0, pw_nr_watches(self->fd));
	ASSERT_EQ(0, pw_arm(self->fd, self->w.tid[1], PIDWAIT_ARM_THREAD, 0));
	ASSERT_EQ(1, pw_nr_watches(self->fd));
}

static void *idle_thread(void *arg)
{
	int *tid = arg;

	*tid = pw_gettid();
	return NULL;
}

TEST_F(api, arm_esrch)
{
	pthread_t t;
	int tid = 0;
	pid_t pid;

	/* A reaped child: its number is free (pids are not reused this fast). */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(0);
	ASSERT_EQ(0, pw_reap(pid, NULL));
	ASSERT_EQ(-1, kill(pid, 0));
	ASSERT_EQ(ESRCH, errno);
	EXPECT_EQ(-ESRCH, pw_arm(self->fd, pid, 0, 0));
	EXPECT_EQ(-ESRCH, pw_arm(self->fd, pid, PIDWAIT_ARM_THREAD, 0));

	/* Above any possible pid_max. */
	EXPECT_EQ(-ESRCH, pw_arm(self->fd, INT_MAX, 0, 0));
	EXPECT_EQ(-ESRCH, pw_arm(self->fd, 4194305, PIDWAIT_ARM_THREAD, 0));

	/* A thread of ours that has exited and been joined. */
	ASSERT_EQ(0, pthread_create(&t, NULL, idle_thread, &tid));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_LT(0, tid);
	ASSERT_EQ(0, pw_wait_thread_exited(getpid(), tid, PW_TIMEOUT_MS));
	EXPECT_EQ(-ESRCH, pw_arm(self->fd, tid, PIDWAIT_ARM_THREAD, 0));

	ASSERT_EQ(0, pw_nr_watches(self->fd));
}

TEST_F(api, arm_eexist)
{
	pid_t pid;

	ASSERT_EQ(0, worker_start(&self->w, 2, NULL, NULL));
	pid = self->w.pid;

	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 1));
	ASSERT_EQ(-EEXIST, pw_arm(self->fd, pid, 0, 1));
	ASSERT_EQ(-EEXIST, pw_arm(self->fd, pid, 0, 2));	/* cookie is no key */
	/* The leader as a thread is a different watch. */
	ASSERT_EQ(0, pw_arm(self->fd, pid, PIDWAIT_ARM_THREAD, 3));
	ASSERT_EQ(-EEXIST, pw_arm(self->fd, pid, PIDWAIT_ARM_THREAD, 3));
	ASSERT_EQ(0, pw_arm(self->fd, self->w.tid[1], PIDWAIT_ARM_THREAD, 4));
	ASSERT_EQ(-EEXIST, pw_arm(self->fd, self->w.tid[1], PIDWAIT_ARM_THREAD, 4));
	ASSERT_EQ(3, pw_nr_watches(self->fd));
}

/*
 * A zombie arms and is ready at once; fired-but-unread still counts as
 * armed; once read it may be armed again while the zombie stays, and
 * after the reap the pid is gone.
 */
TEST_F(api, arm_zombie_and_rearm)
{
	struct pidwait_event ev;
	uint64_t t0, t1;
	pid_t pid;
	int st = -1;

	ASSERT_EQ(0, worker_start(&self->w, 1, NULL, NULL));
	pid = self->w.pid;
	t0 = pw_now_ns();
	ASSERT_EQ(0, worker_cmd(&self->w, 0, W_EXIT_GROUP, 3));
	ASSERT_EQ(0, pw_wait_zombie(pid));

	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 11));
	ASSERT_EQ(1, pw_wait_readable(self->fd, 0));
	ASSERT_EQ(-EEXIST, pw_arm(self->fd, pid, 0, 12));
	ASSERT_EQ(1, pw_nr_watches(self->fd));
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
	t1 = pw_now_ns();
	ASSERT_EVENT(&ev, pid, PIDWAIT_EVENT_STATUS, W_EXITCODE(3, 0), 11, t0, t1);
	ASSERT_EQ(0, pw_nr_watches(self->fd));
	ASSERT_EQ(0, pw_wait_readable(self->fd, 0));

	/* Read: gone from the file; the zombie is still there to arm. */
	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 13));
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
	ASSERT_EVENT(&ev, pid, PIDWAIT_EVENT_STATUS, W_EXITCODE(3, 0), 13, t0, pw_now_ns());

	ASSERT_EQ(0, worker_reap(&self->w, &st));
	ASSERT_EQ(W_EXITCODE(3, 0), st);
	ASSERT_EQ(-ESRCH, pw_arm(self->fd, pid, 0, 14));
	ASSERT_EQ(0, pw_nr_watches(self->fd));
}

TEST_F(api, arm_efault)
{
	struct pidwait_arm arm = { .pid = getpid(), .flags = 0, .cookie = 5 };
	void *ro = readonly_page(&arm, sizeof(arm));
	void *gone = unmapped_page();

	ASSERT_NE(NULL, gone);
	ASSERT_NE(NULL, ro);
	ASSERT_EQ(-1, ioctl(self->fd, PIDWAIT_IOC_ARM, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_UNMAPPED(gone);
	ASSERT_EQ(-1, ioctl(self->fd, PIDWAIT_IOC_ARM, gone));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, pw_nr_watches(self->fd));

	/* ARM only reads its argument: a read-only one is fine. */
	ASSERT_EQ(0, ioctl(self->fd, PIDWAIT_IOC_ARM, ro)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(1, pw_nr_watches(self->fd));

	ASSERT_EQ(-1, ioctl(self->fd, PIDWAIT_IOC_DISARM, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_UNMAPPED(gone);
	ASSERT_EQ(-1, ioctl(self->fd, PIDWAIT_IOC_DISARM, gone));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(1, pw_nr_watches(self->fd));
	ASSERT_EQ(0, ioctl(self->fd, PIDWAIT_IOC_DISARM, ro)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, pw_nr_watches(self->fd));
	munmap(ro, 4096);
}

TEST_F(api, disarm)
{
	pid_t pid;
	int st = -1;

	ASSERT_EQ(0, worker_start(&self->w, 2, NULL, NULL));
	pid = self->w.pid;

	ASSERT_EQ(-ENOENT, pw_disarm(self->fd, pid, 0));	/* never armed */
	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 5));
	ASSERT_EQ(-ENOENT, pw_disarm(self->fd, pid, PIDWAIT_ARM_THREAD));
	ASSERT_EQ(-ENOENT, pw_disarm(self->fd, self->w.tid[1], PIDWAIT_ARM_THREAD));
	ASSERT_EQ(1, pw_nr_watches(self->fd));
	/* Cookie is ignored: pw_disarm passes 0. */
	ASSERT_EQ(0, pw_disarm(self->fd, pid, 0));
	ASSERT_EQ(0, pw_nr_watches(self->fd));
	ASSERT_EQ(-ENOENT, pw_disarm(self->fd, pid, 0));

	/* Thread watches are dropped the same way. */
	ASSERT_EQ(0, pw_arm(self->fd, self->w.tid[1], PIDWAIT_ARM_THREAD, 6));
	ASSERT_EQ(0, pw_disarm(self->fd, self->w.tid[1], PIDWAIT_ARM_THREAD));
	ASSERT_EQ(-ENOENT, pw_disarm(self->fd, self->w.tid[1], PIDWAIT_ARM_THREAD));

	/* A dropped watch never fires. */
	ASSERT_EQ(0, worker_cmd(&self->w, 0, W_EXIT_GROUP, 0));
	ASSERT_EQ(0, worker_reap(&self->w, &st));
	ASSERT_EQ(0, pw_wait_readable(self->fd, PW_QUIET_MS));
	ASSERT_EQ(0, pw_fionread(self->fd));
	ASSERT_EQ(0, pw_nr_watches(self->fd));
}

TEST_F(api, disarm_einval_flags)
{
	ASSERT_EQ(0, pw_arm(self->fd, getpid(), 0, 0));
	EXPECT_EQ(-EINVAL, pw_disarm(self->fd, getpid(), 1u << 1));
	EXPECT_EQ(-EINVAL, pw_disarm(self->fd, getpid(), ~0u));
	EXPECT_EQ(-EINVAL, pw_disarm(self->fd, getpid(), 1u << 31));
	ASSERT_EQ(1, pw_nr_watches(self->fd));
	ASSERT_EQ(0, pw_disarm(self->fd, getpid(), 0));
}

/* A fired watch cannot be disarmed; its event stays readable. */
TEST_F(api, disarm_fired)
{
	struct pidwait_event ev;
	uint64_t t0;
	pid_t pid;
	int st = -1;

	ASSERT_EQ(0, worker_start(&self->w, 1, NULL, NULL));
	pid = self->w.pid;
	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 77));
	t0 = pw_now_ns();
	ASSERT_EQ(0, worker_cmd(&self->w, 0, W_EXIT_GROUP, 9));
	ASSERT_EQ(1, pw_wait_readable(self->fd, PW_TIMEOUT_MS));
	ASSERT_EQ(-ENOENT, pw_disarm(self->fd, pid, 0));
	ASSERT_EQ(1, pw_nr_watches(self->fd));
	ASSERT_EQ(PW_EVSZ, pw_fionread(self->fd));
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
	ASSERT_EVENT(&ev, pid, PIDWAIT_EVENT_STATUS, W_EXITCODE(9, 0), 77, t0, pw_now_ns());
	ASSERT_EQ(0, pw_nr_watches(self->fd));
	ASSERT_EQ(-ENOENT, pw_disarm(self->fd, pid, 0));
	ASSERT_EQ(0, worker_reap(&self->w, &st));
	ASSERT_EQ(st, ev.status);
}

TEST_F(api, enotty)
{
	struct pidwait_info info;
	struct termios tio;
	char buf[256] = { 0 };
	const unsigned long cmds[] = {
		_IO(PIDWAIT_IOC_MAGIC, 0),
		_IO(PIDWAIT_IOC_MAGIC, 0x01),			/* ARM without size */
		_IOW(PIDWAIT_IOC_MAGIC, 0x01, __u32),		/* ARM, wrong size */
		_IOWR(PIDWAIT_IOC_MAGIC, 0x01, struct pidwait_arm), /* wrong direction */
		_IOR(PIDWAIT_IOC_MAGIC, 0x03, __u64),		/* GET_INFO, wrong size */
		_IOW(PIDWAIT_IOC_MAGIC, 0x03, struct pidwait_info),
		_IOW(PIDWAIT_IOC_MAGIC, 0x04, struct pidwait_arm),
		_IOR(PIDWAIT_IOC_MAGIC, 0x7f, struct pidwait_info),
		_IOW(PIDWAIT_IOC_MAGIC + 1, 0x01, struct pidwait_arm),
	};

	for (unsigned int i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], buf)) TH_LOG("cmd 0x%lx", cmds[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd 0x%lx", cmds[i]);
	}
	EXPECT_EQ(-1, ioctl(self->fd, TCGETS, &tio));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_FALSE(isatty(self->fd));
	/* None of that armed anything. */
	ASSERT_EQ(0, pw_info(self->fd, &info));
	ASSERT_EQ(0u, info.nr_watches);
}

/* Fire the one process watch armed on fd, wait for the event, return the status. */
static int fire_worker(struct worker *w, int code)
{
	int st = -1;

	if (worker_cmd(w, 0, W_EXIT_GROUP, code) || worker_reap(w, &st))
		return -1;
	return st;
}

TEST_F(api, read_einval_short)
{
	char buf[PW_EVSZ];
	int nbfd;

	nbfd = pw_open(O_NONBLOCK);
	ASSERT_LE(0, nbfd);
	/* Nothing ready: still EINVAL, not EAGAIN. */
	ASSERT_EQ(-1, read(nbfd, buf, 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, read(nbfd, buf, PW_EVSZ - 1));
	ASSERT_EQ(EINVAL, errno);

	ASSERT_EQ(0, worker_start(&self->w, 1, NULL, NULL));
	ASSERT_EQ(0, pw_arm(nbfd, self->w.pid, 0, 0));
	ASSERT_LE(0, fire_worker(&self->w, 0));
	ASSERT_EQ(1, pw_wait_readable(nbfd, PW_TIMEOUT_MS));
	/* An event ready: EINVAL, and the event is not consumed. */
	ASSERT_EQ(-1, read(nbfd, buf, 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, read(nbfd, buf, PW_EVSZ - 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(PW_EVSZ, pw_fionread(nbfd));
	ASSERT_EQ(PW_EVSZ, read(nbfd, buf, PW_EVSZ));
	close(nbfd);
}

/* Start nr one-thread workers, arm them on fd with cookie i, make them exit in order. */
static int fire_n(int fd, struct worker *ws, int nr, int *status)
{
	int i;

	for (i = 0; i < nr; i++)
		if (worker_start(&ws[i], 1, NULL, NULL) ||
		    pw_arm(fd, ws[i].pid, 0, (uint64_t)i))
			return -1;
	for (i = 0; i < nr; i++) {
		status[i] = fire_worker(&ws[i], 10 + i);
		if (status[i] < 0 || pw_wait_fionread(fd, (i + 1) * PW_EVSZ, PW_TIMEOUT_MS) < 0)
			return -1;
	}
	return 0;
}

static void free_n(struct worker *ws, int nr)
{
	for (int i = 0; i < nr; i++)
		worker_free(&ws[i]);
}

/* As many whole records as fit; every byte returned defined, none beyond. */
TEST_F(api, read_sizes_and_bytes)
{
	unsigned char buf[5 * sizeof(struct pidwait_event) + 7];
	struct pidwait_event ev[5];
	struct worker ws[4];
	int status[4];
	ssize_t n;

	ASSERT_EQ(0, fire_n(self->fd, ws, 4, status));
	ASSERT_EQ(4 * PW_EVSZ, pw_fionread(self->fd));

	/* 1.5 records of room: one record. */
	memset(buf, 0xa5, sizeof(buf));
	n = read(self->fd, buf, PW_EVSZ + PW_EVSZ / 2);
	ASSERT_EQ(PW_EVSZ, n);
	for (size_t i = PW_EVSZ; i < sizeof(buf); i++) {
		ASSERT_EQ(0xa5, buf[i]) TH_LOG("byte %zu written past the record", i);
	}
	memcpy(&ev[0], buf, PW_EVSZ);

	/* Room for 5 and 7 bytes more: the 3 left, oldest first. */
	memset(buf, 0x5a, sizeof(buf));
	n = read(self->fd, buf, sizeof(buf));
	ASSERT_EQ(3 * PW_EVSZ, n);
	for (size_t i = 3 * PW_EVSZ; i < sizeof(buf); i++) {
		ASSERT_EQ(0x5a, buf[i]) TH_LOG("byte %zu written past the records", i);
	}
	memcpy(&ev[1], buf, 3 * PW_EVSZ);

	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(ws[i].pid, ev[i].pid);
		ASSERT_EQ((__u64)i, ev[i].cookie);
		ASSERT_EQ(PIDWAIT_EVENT_STATUS, ev[i].flags);
		ASSERT_EQ(status[i], ev[i].status);
		ASSERT_EQ(0u, ev[i].reserved);
		if (i) {
			ASSERT_LE(ev[i - 1].exit_time_ns, ev[i].exit_time_ns);
		}
	}
	ASSERT_EQ(0, pw_fionread(self->fd));
	free_n(ws, 4);
}

/* A read that faults consumes nothing. */
TEST_F(api, read_efault_keeps_event)
{
	struct pidwait_event ev = { 0 };
	struct worker ws[1];
	void *ro = readonly_page(&ev, sizeof(ev));
	void *gone = unmapped_page();
	int status[1];

	ASSERT_NE(NULL, gone);
	ASSERT_NE(NULL, ro);
	ASSERT_EQ(0, fire_n(self->fd, ws, 1, status));

	ASSERT_EQ(-1, syscall(SYS_read, self->fd, NULL, PW_EVSZ));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_UNMAPPED(gone);
	ASSERT_EQ(-1, read(self->fd, gone, PW_EVSZ));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(-1, read(self->fd, ro, PW_EVSZ));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(PW_EVSZ, pw_fionread(self->fd));
	ASSERT_EQ(1, pw_nr_watches(self->fd));
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
	ASSERT_EQ(ws[0].pid, ev.pid);
	ASSERT_EQ(status[0], ev.status);
	munmap(ro, 4096);
	free_n(ws, 1);
}

TEST_F(api, fionread)
{
	struct pidwait_event ev;
	struct worker ws[2];
	int status[2];

	ASSERT_EQ(0, pw_fionread(self->fd));
	ASSERT_EQ(-1, ioctl(self->fd, FIONREAD, NULL));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, fire_n(self->fd, ws, 2, status));
	ASSERT_EQ(2 * PW_EVSZ, pw_fionread(self->fd));
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
	ASSERT_EQ(PW_EVSZ, pw_fionread(self->fd));
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
	ASSERT_EQ(0, pw_fionread(self->fd));
	free_n(ws, 2);
}

TEST_F(api, nonblock_eagain)
{
	char buf[PW_EVSZ];
	int nbfd = pw_open(O_NONBLOCK);

	ASSERT_LE(0, nbfd);
	ASSERT_EQ(-1, read(nbfd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	/* With a watch armed on a live process: still nothing to read. */
	ASSERT_EQ(0, worker_start(&self->w, 1, NULL, NULL));
	ASSERT_EQ(0, pw_arm(nbfd, self->w.pid, 0, 0));
	ASSERT_EQ(-1, read(nbfd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	/* O_NONBLOCK set later with fcntl counts too. */
	ASSERT_EQ(0, pw_arm(self->fd, self->w.pid, 0, 0));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EAGAIN, errno);
	close(nbfd);
}

/* Each open file is its own set of watches. */
TEST_F(api, independent_files)
{
	struct pidwait_event ev;
	int fd2 = pw_open(0);
	pid_t pid;
	int st = -1;

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, worker_start(&self->w, 1, NULL, NULL));
	pid = self->w.pid;
	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 1));
	ASSERT_EQ(0, pw_arm(fd2, pid, 0, 2));
	ASSERT_EQ(1, pw_nr_watches(self->fd));
	ASSERT_EQ(1, pw_nr_watches(fd2));
	ASSERT_EQ(0, pw_disarm(self->fd, pid, 0));
	ASSERT_EQ(0, pw_nr_watches(self->fd));
	ASSERT_EQ(1, pw_nr_watches(fd2));

	st = fire_worker(&self->w, 4);
	ASSERT_LE(0, st);
	ASSERT_EQ(0, pw_read_one(fd2, &ev, PW_TIMEOUT_MS));
	ASSERT_EQ(pid, ev.pid);
	ASSERT_EQ(2u, ev.cookie);
	ASSERT_EQ(st, ev.status);
	ASSERT_EQ(0, pw_wait_readable(self->fd, 0));
	close(fd2);
}

TEST_F(api, fdinfo)
{
	char line[256];
	bool found;
	pid_t pid, tid;
	int st = -1;

	ASSERT_EQ(0, fdinfo_lines(self->fd, "pidwait ", NULL, &found));
	/* The kernel's own lines come first. */
	ASSERT_EQ(1, fdinfo_lines(self->fd, "pos:", NULL, &found));

	ASSERT_EQ(0, worker_start(&self->w, 2, NULL, NULL));
	pid = self->w.pid;
	tid = self->w.tid[1];
	ASSERT_EQ(0, pw_arm(self->fd, pid, 0, 0x1234abcd5678ull));
	ASSERT_EQ(0, pw_arm(self->fd, tid, PIDWAIT_ARM_THREAD, 7));
	ASSERT_EQ(0, pw_arm(self->fd, pid, PIDWAIT_ARM_THREAD, ~0ull));
	ASSERT_EQ(3, fdinfo_lines(self->fd, "pidwait ", NULL, &found));

	snprintf(line, sizeof(line), "pidwait pid:%d flags:0x0 cookie:0x1234abcd5678 state:armed", pid);
	fdinfo_lines(self->fd, "pidwait ", line, &found);
	ASSERT_TRUE(found) TH_LOG("no line '%s'", line);
	snprintf(line, sizeof(line), "pidwait pid:%d flags:0x1 cookie:0x7 state:armed", tid);
	fdinfo_lines(self->fd, "pidwait ", line, &found);
	ASSERT_TRUE(found) TH_LOG("no line '%s'", line);
	snprintf(line, sizeof(line), "pidwait pid:%d flags:0x1 cookie:0xffffffffffffffff state:armed", pid);
	fdinfo_lines(self->fd, "pidwait ", line, &found);
	ASSERT_TRUE(found) TH_LOG("no line '%s'", line);

	/* The non-leader thread exits: its watch is ready, the others armed. */
	ASSERT_EQ(0, worker_cmd(&self->w, 1, W_EXIT_THREAD, 0));
	ASSERT_EQ(1, pw_wait_readable(self->fd, PW_TIMEOUT_MS));
	snprintf(line, sizeof(line), "pidwait pid:%d flags:0x1 cookie:0x7 state:ready", tid);
	fdinfo_lines(self->fd, "pidwait ", line, &found);
	ASSERT_TRUE(found) TH_LOG("no line '%s'", line);
	snprintf(line, sizeof(line), "pidwait pid:%d flags:0x0 cookie:0x1234abcd5678 state:armed", pid);
	fdinfo_lines(self->fd, "pidwait ", line, &found);
	ASSERT_TRUE(found) TH_LOG("no line '%s'", line);

	/* Read: that line goes. */
	ASSERT_EQ(PW_EVSZ, pw_fionread(self->fd));
	{
		struct pidwait_event ev;

		ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
		ASSERT_EQ(tid, ev.pid);
	}
	ASSERT_EQ(2, fdinfo_lines(self->fd, "pidwait ", NULL, &found));

	/* Disarmed: that line goes too. */
	ASSERT_EQ(0, pw_disarm(self->fd, pid, PIDWAIT_ARM_THREAD));
	ASSERT_EQ(1, fdinfo_lines(self->fd, "pidwait ", NULL, &found));

	st = fire_worker(&self->w, 0);
	ASSERT_LE(0, st);
	ASSERT_EQ(1, pw_wait_readable(self->fd, PW_TIMEOUT_MS));
	snprintf(line, sizeof(line), "pidwait pid:%d flags:0x0 cookie:0x1234abcd5678 state:ready", pid);
	fdinfo_lines(self->fd, "pidwait ", line, &found);
	ASSERT_TRUE(found) TH_LOG("no line '%s'", line);
}

/* ---- the per-file cap ---------------------------------------------------- */

FIXTURE(cap) {
	int fd, fd2;
	char saved[32];
	bool writable;
	struct worker w[3];
};

FIXTURE_SETUP(cap)
{
	int pfd;
	ssize_t n;

	for (int i = 0; i < 3; i++)
		self->w[i].pid = -1, self->w[i].report = -1;
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < W_MAX_THREADS; j++)
			self->w[i].cmd[j] = -1;
	self->saved[0] = 0;
	self->fd = pw_open(0);
	self->fd2 = pw_open(0);
	ASSERT_LE(0, self->fd);
	ASSERT_LE(0, self->fd2);
	pfd = open(MAX_WATCHES_PARAM, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, pfd) TH_LOG("%s: %s", MAX_WATCHES_PARAM, strerror(errno));
	n = read(pfd, self->saved, sizeof(self->saved) - 1);
	close(pfd);
	ASSERT_LT(0, n);
	self->saved[n] = 0;
	self->writable = !access(MAX_WATCHES_PARAM, W_OK);
}

FIXTURE_TEARDOWN(cap)
{
	for (int i = 0; i < 3; i++)
		worker_free(&self->w[i]);
	close(self->fd);
	close(self->fd2);
	if (self->writable) {
		EXPECT_EQ(0, pw_write_str(MAX_WATCHES_PARAM, self->saved));
	}
}

TEST_F(cap, enospc)
{
	struct pidwait_info info;
	struct pidwait_event ev;
	int st = -1;

	if (!self->writable)
		SKIP(return, "%s is not writable: not root", MAX_WATCHES_PARAM);
	ASSERT_EQ(0, worker_start(&self->w[0], 2, NULL, NULL));
	ASSERT_EQ(0, worker_start(&self->w[1], 1, NULL, NULL));
	ASSERT_EQ(0, worker_start(&self->w[2], 1, NULL, NULL));

	ASSERT_EQ(0, pw_write_str(MAX_WATCHES_PARAM, "3"));
	ASSERT_EQ(3, pw_read_long(MAX_WATCHES_PARAM));
	ASSERT_EQ(0, pw_info(self->fd, &info));
	ASSERT_EQ(3u, info.max_watches);

	ASSERT_EQ(0, pw_arm(self->fd, self->w[0].pid, 0, 0));
	ASSERT_EQ(0, pw_arm(self->fd, self->w[0].pid, PIDWAIT_ARM_THREAD, 0));
	ASSERT_EQ(0, pw_arm(self->fd, self->w[1].pid, 0, 0));
	ASSERT_EQ(-ENOSPC, pw_arm(self->fd, self->w[2].pid, 0, 0));
	ASSERT_EQ(-ENOSPC, pw_arm(self->fd, self->w[0].tid[1], PIDWAIT_ARM_THREAD, 0));
	ASSERT_EQ(3, pw_nr_watches(self->fd));

	/* The cap is per file. */
	ASSERT_EQ(0, pw_arm(self->fd2, self->w[2].pid, 0, 0));
	ASSERT_EQ(0, pw_arm(self->fd2, self->w[1].pid, 0, 0));

	/* A disarm makes room. */
	ASSERT_EQ(0, pw_disarm(self->fd, self->w[0].pid, PIDWAIT_ARM_THREAD));
	ASSERT_EQ(0, pw_arm(self->fd, self->w[2].pid, 0, 0));
	ASSERT_EQ(-ENOSPC, pw_arm(self->fd, self->w[0].pid, PIDWAIT_ARM_THREAD, 0));

	/* Fired but unread still counts; read, it does not. */
	st = fire_worker(&self->w[1], 0);
	ASSERT_LE(0, st);
	ASSERT_EQ(1, pw_wait_readable(self->fd, PW_TIMEOUT_MS));
	ASSERT_EQ(3, pw_nr_watches(self->fd));
	ASSERT_EQ(-ENOSPC, pw_arm(self->fd, self->w[0].pid, PIDWAIT_ARM_THREAD, 0));
	ASSERT_EQ(0, pw_read_one(self->fd, &ev, 0));
	ASSERT_EQ(self->w[1].pid, ev.pid);
	ASSERT_EQ(2, pw_nr_watches(self->fd));
	ASSERT_EQ(0, pw_arm(self->fd, self->w[0].pid, PIDWAIT_ARM_THREAD, 0));

	/* Lowered below what a file holds: the watches stay, new arms fail. */
	ASSERT_EQ(0, pw_write_str(MAX_WATCHES_PARAM, "1"));
	ASSERT_EQ(3, pw_nr_watches(self->fd));
	ASSERT_EQ(-ENOSPC, pw_arm(self->fd, self->w[0].tid[1], PIDWAIT_ARM_THREAD, 0));
	ASSERT_EQ(0, pw_info(self->fd, &info));
	ASSERT_EQ(1u, info.max_watches);

	/* Raised again: room again. */
	ASSERT_EQ(0, pw_write_str(MAX_WATCHES_PARAM, self->saved));
	ASSERT_EQ(0, pw_arm(self->fd, self->w[0].tid[1], PIDWAIT_ARM_THREAD, 0));
	ASSERT_EQ(4, pw_nr_watches(self->fd));
}

PIDWAIT_HARNESS_MAIN
