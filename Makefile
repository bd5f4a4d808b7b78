# SPDX-License-Identifier: GPL-2.0
#
# Builds the module for the running kernel by default, so DKMS and distro
# builds work unchanged; KERNELRELEASE or KDIR select another kernel.

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
PREFIX ?= /usr/local
DESTDIR ?=

SRC := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))

all: module

module:
	$(MAKE) -C $(KDIR) M=$(SRC) modules

clean:
	$(MAKE) -C $(KDIR) M=$(SRC) clean
	$(MAKE) -C tools clean
	$(MAKE) -C selftests/pidwait clean

tools:
	$(MAKE) -C tools

install: module tools
	$(MAKE) -C $(KDIR) M=$(SRC) INSTALL_MOD_DIR=kernel/drivers/misc \
		INSTALL_MOD_PATH=$(DESTDIR) modules_install
	$(if $(DESTDIR),,depmod -a $(KERNELRELEASE))
	$(MAKE) -C tools install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	install -D -m 0644 uapi/linux/pidwait.h $(DESTDIR)$(PREFIX)/include/linux/pidwait.h

.PHONY: all module clean tools install
