// SPDX-License-Identifier: GPL-2.0
/*
 * The per-user limit, max_user_watches, in the manner of inotify's: the
 * per-file cap alone lets a user with many files pin as much kernel
 * memory as it likes (watches, and the struct pids of unread events).
 * Each file is charged to the user who opened it (its effective uid, in
 * the initial user namespace), and gives its count back as its watches go.
 */
#include <linux/atomic.h>
#include <linux/cred.h>
#include <linux/hash.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>

#include "compat/kvmalloc.h"
#include "pidwait.h"

#define USERS_BITS	6

struct pidwait_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned int files;	/* under users_lock */
	atomic_t watches;
};

static struct hlist_head users[1 << USERS_BITS];
static DEFINE_SPINLOCK(users_lock);

/* Above INT_MAX, which no write may set: not given at load. */
#define PIDWAIT_USER_WATCHES_UNSET	UINT_MAX

unsigned int pidwait_max_user_watches = PIDWAIT_USER_WATCHES_UNSET;

/*
 * What a watch holds: itself, its bucket, and the struct pid it keeps
 * after its process is reaped.
 */
#define PIDWAIT_WATCH_COST \
	(sizeof(struct pidwait_watch) + sizeof(void *) + 128)

/*
 * Unless given at load, as inotify's default since 5.11: at most 1% of
 * memory, per user.
 */
void pidwait_users_init(void)
{
	struct sysinfo si;
	u64 n;

	if (pidwait_max_user_watches != PIDWAIT_USER_WATCHES_UNSET)
		return;
	si_meminfo(&si);
	n = div_u64((u64)si.totalram * si.mem_unit / 100, PIDWAIT_WATCH_COST);
	pidwait_max_user_watches = clamp_t(u64, n, 8192, INT_MAX);
}

static struct hlist_head *users_bucket(kuid_t uid)
{
	return &users[hash_32(__kuid_val(uid), USERS_BITS)];
}

static struct pidwait_user *user_find(kuid_t uid)
{
	struct pidwait_user *u;

	hlist_for_each_entry(u, users_bucket(uid), node)
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/* A record is allocated only for a user that has none yet. */
struct pidwait_user *pidwait_user_get(const struct cred *cred)
{
	struct pidwait_user *u, *fresh = NULL;

	for (;;) {
		spin_lock(&users_lock);
		u = user_find(cred->euid);
		if (!u && fresh) {
			u = fresh;
			fresh = NULL;
			u->uid = cred->euid;
			atomic_set(&u->watches, 0);
			hlist_add_head(&u->node, users_bucket(u->uid));
		}
		if (u) {
			u->files++;
			spin_unlock(&users_lock);
			kfree(fresh);
			return u;
		}
		spin_unlock(&users_lock);
		fresh = kzalloc(sizeof(*fresh), PIDWAIT_GFP_ACCOUNT);
		if (!fresh)
			return NULL;
	}
}

void pidwait_user_put(struct pidwait_user *u)
{
	spin_lock(&users_lock);
	if (--u->files) {
		u = NULL;
	} else {
		WARN_ON_ONCE(atomic_read(&u->watches));
		hlist_del(&u->node);
	}
	spin_unlock(&users_lock);
	kfree(u);
}

/* One more watch for @u, unless it has max_user_watches already. */
bool pidwait_user_charge(struct pidwait_user *u)
{
	int max = READ_ONCE(pidwait_max_user_watches);
	int n = atomic_read(&u->watches), old;

	for (;;) {
		if (n >= max)
			return false;
		old = atomic_cmpxchg(&u->watches, n, n + 1);
		if (old == n)
			return true;
		n = old;
	}
}

void pidwait_user_uncharge(struct pidwait_user *u)
{
	atomic_dec(&u->watches);
}

unsigned int pidwait_user_watches(const struct pidwait_user *u)
{
	return atomic_read(&u->watches);
}
