/* SPDX-License-Identifier: GPL-2.0 */
/* Large tables, and memory charged to the caller's memory cgroup. */
#ifndef _PIDWAIT_COMPAT_KVMALLOC_H
#define _PIDWAIT_COMPAT_KVMALLOC_H

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#if defined(PIDWAIT_HAVE_KVMALLOC)
#define pidwait_kvmalloc_array kvmalloc_array
#define pidwait_kvfree kvfree
#else
/* Before 4.12. */
static inline void *pidwait_kvmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	size_t bytes = n * size;
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	if (bytes <= PAGE_SIZE << PAGE_ALLOC_COSTLY_ORDER) {
		p = kmalloc(bytes, gfp | __GFP_NOWARN | __GFP_NORETRY);
		if (p)
			return p;
	}
	return __vmalloc(bytes, gfp | __GFP_HIGHMEM, PAGE_KERNEL);
}

static inline void pidwait_kvfree(const void *p)
{
	if (is_vmalloc_addr(p))
		vfree(p);
	else
		kfree(p);
}
#endif

/* 4.5 brought memory cgroup accounting of kernel objects. */
#if defined(PIDWAIT_HAVE_GFP_KERNEL_ACCOUNT)
#define PIDWAIT_GFP_ACCOUNT GFP_KERNEL_ACCOUNT
#define PIDWAIT_SLAB_ACCOUNT SLAB_ACCOUNT
#else
#define PIDWAIT_GFP_ACCOUNT GFP_KERNEL
#define PIDWAIT_SLAB_ACCOUNT 0
#endif

#endif /* _PIDWAIT_COMPAT_KVMALLOC_H */
