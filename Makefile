# SPDX-License-Identifier: GPL-2.0
#
# Builds the module for the running kernel by default, so DKMS and distro
# builds work unchanged; KERNELRELEASE or KDIR select another kernel.

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
PREFIX ?= /usr/local
DESTDIR ?=
# systemd reads /usr/lib/modules-load.d whatever PREFIX is (RHEL 7's too).
MODULESLOADDIR ?= /usr/lib/modules-load.d
MANDIR ?= $(PREFIX)/share/man

SRC := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

all: module

module:
	$(MAKE) -C $(KDIR) M=$(SRC) modules

module-clean:
	$(MAKE) -C $(KDIR) M=$(SRC) clean

clean: module-clean
	$(MAKE) -C tools clean
	$(MAKE) -C lib clean
	$(MAKE) -C preload clean
	$(MAKE) -C selftests/pidwait clean

tools:
	$(MAKE) -C lib PREFIX=$(PREFIX)
	$(MAKE) -C tools
	$(MAKE) -C preload LIBDIR=$(PREFIX)/lib/pidwait

install: module tools
	$(MAKE) -C $(KDIR) M=$(SRC) INSTALL_MOD_DIR=kernel/drivers/misc \
		INSTALL_MOD_PATH=$(DESTDIR) modules_install
	$(if $(DESTDIR),,depmod -a $(KERNELRELEASE))
	$(MAKE) -C tools install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	$(MAKE) -C lib install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) MANDIR=$(MANDIR)
	$(MAKE) -C preload install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) LIBDIR=$(PREFIX)/lib/pidwait
	install -D -m 0644 uapi/linux/pidwait.h $(DESTDIR)$(PREFIX)/include/linux/pidwait.h
	install -D -m 0644 packaging/modules-load.conf $(DESTDIR)$(MODULESLOADDIR)/pidwait.conf
	install -D -m 0644 man/pidwait.4 $(DESTDIR)$(MANDIR)/man4/pidwait.4
	install -D -m 0644 man/pidwait-cat.1 $(DESTDIR)$(MANDIR)/man1/pidwait-cat.1
	install -D -m 0644 man/pidwait-pidfd.1 $(DESTDIR)$(MANDIR)/man1/pidwait-pidfd.1

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KERNELRELEASE)/kernel/drivers/misc/pidwait.ko* \
		$(DESTDIR)$(PREFIX)/bin/pidwait-cat $(DESTDIR)$(PREFIX)/bin/pidwait-pidfd \
		$(DESTDIR)$(PREFIX)/lib/pidwait/libpidwait-pidfd.so \
		$(DESTDIR)$(PREFIX)/include/linux/pidwait.h \
		$(DESTDIR)$(MODULESLOADDIR)/pidwait.conf \
		$(DESTDIR)$(MANDIR)/man4/pidwait.4 $(DESTDIR)$(MANDIR)/man1/pidwait-cat.1 \
		$(DESTDIR)$(MANDIR)/man1/pidwait-pidfd.1
	$(MAKE) -C lib uninstall DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) MANDIR=$(MANDIR)
	$(if $(DESTDIR),,depmod -a $(KERNELRELEASE))

# Everything the builds and checks below need, on a Debian or Ubuntu host.
deps:
	selftests/qemu/install-deps

# The whole suite on every kernel of the QEMU matrix, and the host checks.
# KERNELS="6.1 7.x" or TESTS="pidwait_api_test" narrow it down.
check: deps
	selftests/check $(if $(KERNELS),--kernels "$(KERNELS)") \
		$(if $(TESTS),--tests "$(TESTS)")

# The suite on the debug kernels (KASAN, lockdep, kmemleak, debug objects,
# fault injection), built here from linux-source-6.12 and -5.10 on first
# use; not part of make check. KERNELS="6.12-debug" narrows it.
check-debug: deps
	selftests/qemu/run --kernels "$(or $(KERNELS),6.12-debug 5.10-debug)" \
		$(if $(TESTS),--tests "$(TESTS)")

# pidwait-cat at work in a QEMU guest on the newest kernel.
demo: deps
	selftests/qemu/run --demo

# pidwait-bench in QEMU guests: the newest kernel, 6.1, and 6.1 with the
# hook backends forced. KERNELS="7.x" narrows it; BENCH_ARGS="--samples 200"
# passes options to pidwait-bench.
bench: deps
	PIDWAIT_BENCH_ARGS="$(BENCH_ARGS)" selftests/qemu/run --bench \
		$(if $(KERNELS),--kernels "$(KERNELS)")

# pidwait-py-bench in a QEMU guest on the newest kernel: pidwait.wait_procs
# against psutil's, and libpidwait's three backends, for 1, 100 and 10,000
# watched processes (about an hour, 21 minutes of it the 1-minute waits).
# BENCH_ARGS="--samples 10 --big-samples 3 --idle 2" for a 5-minute trial;
# KERNELS="6.1" for another kernel.
bench-lib: deps
	PIDWAIT_BENCH_ARGS="$(BENCH_ARGS)" selftests/qemu/run --bench-lib \
		$(if $(KERNELS),--kernels "$(KERNELS)")

# The release tarball, pidwait-$(VERSION).tar.gz, and the Debian and RPM
# packages made from it, under PKGDIR (build/ is git-ignored). See
# packaging/ and README.md's "Packages".
PKGDIR ?= $(SRC)/build

dist:
	$(SRC)/packaging/dist $(PKGDIR)

deb:
	$(SRC)/packaging/build-deb $(PKGDIR)/deb

rpm:
	$(SRC)/packaging/build-rpm $(PKGDIR)/rpm

.PHONY: all module module-clean clean tools install uninstall deps check check-debug demo bench bench-lib dist deb rpm
