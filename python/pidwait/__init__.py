# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tell me when these processes exit, on every kernel.

A Watcher takes the best mechanism the machine has and says which:
the pidwait module (/dev/pidwait: any process, exit statuses wherever
ptrace would show them), else a pidfd per process in one epoll set
(Linux 5.3 and later), else /proc polled with a backoff. The last two
know the statuses of the caller's children only.

    with pidwait.Watcher() as w:
        w.add(pid, cookie="worker 1")
        for event in w.read(timeout=10):
            print(event.pid, event.cookie, event.returncode)

Pure Python on the standard library, for Python 3.6 and later.
"""

import collections
import errno
import fcntl
import os
import select
import struct
import threading
import time

__all__ = [
    "Event", "Watcher", "wait_procs", "wait", "events", "pidfd_open",
    "BACKENDS", "__version__",
]

__version__ = "0.4.0"

#: The backends, best first: the order of the fallback chain.
BACKENDS = ("module", "pidfd", "proc")

DEVICE = "/dev/pidwait"

# linux/pidwait.h: _IOW/_IOR(0xC3, nr, struct)
_ARM = 0x4010C301
_DISARM = 0x4010C302
_GET_INFO = 0x8040C303
_PIDFD_OPEN = 0x4008C304
_ARM_THREAD = 0x1
_EVENT_STATUS = 0x1
_EVENT_THREAD = 0x2
_ARM_FMT = "=iIQ"           # struct pidwait_arm
_EVENT_FMT = "=iIiIQQ"      # struct pidwait_event
_EVENT_SIZE = struct.calcsize(_EVENT_FMT)
_SYS_PIDFD_OPEN = 434

Event = collections.namedtuple("Event", "pid cookie returncode thread time")
Event.__doc__ = """One exit.

pid: as added; cookie: as added; returncode: as subprocess gives it
(the exit code, or minus the signal number for a kill), None where the
status may not be shown; thread: added with thread=True; time: the
time.monotonic() seconds at which the exit was seen."""


def _returncode(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return None


# os has these from Python 3.9; Linux's values (asm-generic/siginfo.h).
_CLD_KILLED = getattr(os, "CLD_KILLED", 2)
_CLD_DUMPED = getattr(os, "CLD_DUMPED", 3)


def _child_returncode(pid):
    """The caller's child's returncode, leaving it to be reaped."""
    try:
        r = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except (ChildProcessError, OSError):
        return None
    if r is None or r.si_pid != pid:
        return None
    if r.si_code == os.CLD_EXITED:
        return r.si_status
    if r.si_code in (_CLD_KILLED, _CLD_DUMPED):
        return -r.si_status
    return None


def _check_pid(pid):
    if not isinstance(pid, int) or isinstance(pid, bool):
        raise TypeError("pid must be an int, not %s" % type(pid).__name__)
    if pid <= 0:
        raise ValueError("pid must be positive: %d" % pid)


def _sys_pidfd_open(pid, flags=0):
    if hasattr(os, "pidfd_open"):
        return os.pidfd_open(pid, flags)  # novermin: guarded
    raise OSError(errno.ENOSYS, "os.pidfd_open needs Python 3.9")


def pidfd_open(pid, flags=0):
    """A pidfd for pid: the kernel's (5.3 and later), else the pidwait
    module's pidfd-compatible file, which polls and signals as one."""
    _check_pid(pid)
    try:
        return _sys_pidfd_open(pid, flags)
    except OSError as e:
        if e.errno != errno.ENOSYS:
            raise
    try:
        dev = os.open(DEVICE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        raise OSError(errno.ENOSYS, "no pidfd_open and no " + DEVICE)
    try:
        return fcntl.ioctl(dev, _PIDFD_OPEN, struct.pack("=iI", pid, flags))
    finally:
        os.close(dev)


class _Module(object):
    name = "module"
    statuses = True

    def __init__(self):
        self.fd = os.open(DEVICE, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        info = bytearray(64)
        fcntl.ioctl(self.fd, _GET_INFO, info)
        self.arm_flags = struct.unpack_from("=I", info, 4)[0]

    def add(self, key, pid, thread):
        if thread and not self.arm_flags & _ARM_THREAD:
            raise OSError(errno.EOPNOTSUPP, "this module cannot watch threads")
        fcntl.ioctl(self.fd, _ARM, struct.pack(
            _ARM_FMT, pid, _ARM_THREAD if thread else 0, key))

    def remove(self, key, pid, thread):
        try:
            fcntl.ioctl(self.fd, _DISARM, struct.pack(
                _ARM_FMT, pid, _ARM_THREAD if thread else 0, 0))
        except OSError as e:
            if e.errno != errno.ENOENT:     # fired: its event waits unread
                raise

    def collect(self, table):
        out = []
        while True:
            try:
                data = os.read(self.fd, _EVENT_SIZE * 256)
            except BlockingIOError:
                return out
            for off in range(0, len(data), _EVENT_SIZE):
                pid, flags, status, _, key, _ = struct.unpack_from(
                    _EVENT_FMT, data, off)
                ent = table.pop(key, None)
                if ent is None:             # removed after it fired
                    continue
                rc = _returncode(status) if flags & _EVENT_STATUS else None
                out.append(Event(pid, ent[1], rc, bool(flags & _EVENT_THREAD),
                                 time.monotonic()))
            if len(data) < _EVENT_SIZE * 256:
                return out

    def close(self):
        os.close(self.fd)


class _Pidfd(object):
    name = "pidfd"
    statuses = False

    def __init__(self):
        os.close(_sys_pidfd_open(os.getpid()))
        self.ep = select.epoll()
        self.fd = self.ep.fileno()
        self.fds = {}

    def add(self, key, pid, thread):
        try:
            fd = _sys_pidfd_open(pid, 0x80 if thread else 0)  # PIDFD_THREAD
        except OSError as e:
            if thread and e.errno == errno.EINVAL:
                raise OSError(errno.EOPNOTSUPP, "thread pidfds need Linux 6.9")
            if not thread and e.errno == errno.ENOENT:
                raise OSError(errno.EINVAL, "%d is a thread's id" % pid)
            raise
        self.ep.register(fd, select.EPOLLIN)
        self.fds[fd] = key
        return fd

    def remove(self, key, pid, thread, fd=None):
        for f, k in list(self.fds.items()):
            if k == key:
                self._forget(f)

    def _forget(self, fd):
        # Out of the set before the close: a forked child may hold it.
        self.ep.unregister(fd)
        os.close(fd)
        del self.fds[fd]

    def collect(self, table):
        out = []
        for fd, _ in self.ep.poll(0):
            key = self.fds.get(fd)
            self._forget(fd)
            ent = table.pop(key, None)
            if ent is None:
                continue
            pid, cookie, thread = ent
            rc = None if thread else _child_returncode(pid)
            out.append(Event(pid, cookie, rc, thread, time.monotonic()))
        return out

    def close(self):
        for fd in list(self.fds):
            self._forget(fd)
        self.ep.close()


_ProcStat = collections.namedtuple(
    "_ProcStat", "state threads start exit_signal")


def _proc_stat(pid):
    """What a scan and an add need of an id, from /proc/ID/stat, or None
    once it is gone: the state, the live threads (field 20, a zombie
    leader's too), the start time (22) and the exit signal (38, -1 for
    a thread and never for a leader)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if not data:                # reaped as it was read
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return _ProcStat(fields[0], int(fields[17]), int(fields[19]),
                     int(fields[35]))


def _proc_exited(pid, start, thread):
    """Gone, or not the process it was. A leader that ended before its
    other threads is a zombie while its process still runs."""
    st = _proc_stat(pid)
    if st is None or st.start != start or st.state == b"X":
        return True
    if st.state != b"Z":
        return False
    return thread or st.threads <= 1


class _Proc(object):
    """/proc polled by a thread with a backoff; it wakes the caller
    through a pipe, so that the descriptor suits any event loop. A scan
    reads a file a watch, so a period is never shorter than SHARE scans:
    with many watches the thread keeps to about a tenth of a CPU."""

    name = "proc"
    statuses = False
    MIN, MAX, SHARE = 0.001, 0.2, 10

    def __init__(self):
        if _proc_stat(os.getpid()) is None:
            raise OSError(errno.ENOSYS, "no /proc")
        self.rfd, self.wfd = os.pipe()
        for fd in (self.rfd, self.wfd):
            fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.FD_CLOEXEC)
            fcntl.fcntl(fd, fcntl.F_SETFL, os.O_NONBLOCK)
        self.fd = self.rfd
        self.starts = {}
        self.ready = []
        self.lock = threading.Lock()
        self.kick = threading.Condition(self.lock)
        self.stop = False
        self.period = self.MIN
        self.floor = self.MIN   # SHARE times the last scan's CPU time
        self.added = False      # since the last scan began
        self.thread = threading.Thread(target=self._run, name="pidwait-proc")
        self.thread.daemon = True
        self.thread.start()

    def add(self, key, pid, thread):
        st = _proc_stat(pid)
        if st is None:
            raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))
        if not thread and st.exit_signal == -1:
            raise OSError(errno.EINVAL, "%d is a thread's id" % pid)
        with self.lock:
            # One wakeup a burst: at the floor with others watched, the
            # next scan is due soon; with none, the thread waits for this.
            if self.period != self.floor or not self.starts:
                self.period = self.floor
                self.kick.notify()
            self.added = True
            self.starts[key] = (pid, st.start, thread)

    def remove(self, key, pid, thread):
        with self.lock:
            self.starts.pop(key, None)

    def _run(self):
        """Scans without the lock, so that adds never wait for a scan of
        everything (that made adding N processes cost N scans of N)."""
        while True:
            with self.lock:
                if self.stop:
                    return
                watched = list(self.starts.items())
                self.added = False
            # CPU time: waits for the GIL or the CPU make a scan no dearer.
            t0 = time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID)
            exited = [(key, ent) for key, ent in watched
                      if _proc_exited(*ent)]
            cost = time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID) - t0
            with self.lock:
                if self.stop:
                    return
                gone = []
                for key, ent in exited:
                    # Not removed, nor removed and added again, since.
                    if self.starts.get(key) is ent:
                        del self.starts[key]
                        gone.append((key, ent[0], ent[2]))
                self.floor = max(self.MIN, self.SHARE * cost)
                if gone:
                    self.ready.extend(gone)
                    try:
                        os.write(self.wfd, b"x")
                    except BlockingIOError:
                        pass
                # An add since the scan began: the next one at the floor.
                if gone or self.added:
                    self.period = self.floor
                else:
                    self.period = min(max(self.period * 2, self.floor),
                                      max(self.MAX, self.floor))
                self.kick.wait(self.period if self.starts else None)

    def collect(self, table):
        try:
            while os.read(self.rfd, 4096):
                pass
        except BlockingIOError:
            pass
        with self.lock:
            ready, self.ready = self.ready, []
        out = []
        for key, pid, thread in ready:
            ent = table.pop(key, None)
            if ent is None:
                continue
            rc = None if thread else _child_returncode(pid)
            out.append(Event(pid, ent[1], rc, thread, time.monotonic()))
        return out

    def close(self):
        with self.lock:
            self.stop = True
            self.kick.notify()
        self.thread.join()
        os.close(self.rfd)
        os.close(self.wfd)


_CLASSES = {"module": _Module, "pidfd": _Pidfd, "proc": _Proc}


class Watcher(object):
    """Processes (or threads) to wait for, and one descriptor to poll.

    backend: None for the best available (the environment variable
    PIDWAIT_BACKEND may name one), or one of BACKENDS. Safe to share
    between threads. A context manager; iterating it yields events as
    they come."""

    def __init__(self, backend=None):
        if backend is None:
            backend = os.environ.get("PIDWAIT_BACKEND") or None
        if backend is not None and backend not in BACKENDS:
            raise ValueError("backend must be one of %s, not %r"
                             % (", ".join(BACKENDS), backend))
        names = (backend,) if backend else BACKENDS
        err = None
        for name in names:
            try:
                self._b = _CLASSES[name]()
                break
            except OSError as e:
                err = e
        else:
            raise err
        self._lock = threading.RLock()
        self._table = {}        # key: (pid, cookie, thread)
        self._keys = {}         # (pid, thread): key
        self._next = 1

    @property
    def backend(self):
        """The backend in use: "module", "pidfd" or "proc"."""
        return self._b.name

    @property
    def statuses(self):
        """True if exit statuses come for any process (where ptrace
        would show them); False if for the caller's children only."""
        return self._b.statuses

    def _live(self):
        if self._b is None:
            raise ValueError("I/O operation on a closed Watcher")

    def fileno(self):
        """The descriptor to poll: readable when events may be in."""
        self._live()
        return self._b.fd

    def add(self, pid, cookie=None, thread=False):
        """Watch pid (a thread's id with thread=True) until it exits."""
        _check_pid(pid)
        with self._lock:
            self._live()
            if (pid, bool(thread)) in self._keys:
                raise FileExistsError(errno.EEXIST, "%d is watched already" % pid)
            key = self._next
            self._next += 1
            self._b.add(key, pid, bool(thread))
            self._table[key] = (pid, cookie, bool(thread))
            self._keys[(pid, bool(thread))] = key

    def remove(self, pid, thread=False):
        """Stop watching pid: KeyError if it is not watched."""
        _check_pid(pid)
        with self._lock:
            self._live()
            key = self._keys.pop((pid, bool(thread)), None)
            if key is None:
                raise KeyError(pid)
            self._b.remove(key, pid, bool(thread))
            del self._table[key]

    def __len__(self):
        return len(self._table)

    def _collect(self):
        with self._lock:
            self._live()
            evs = self._b.collect(self._table)
            for ev in evs:
                self._keys.pop((ev.pid, ev.thread), None)
            return evs

    def read(self, timeout=None):
        """The events in, waiting up to timeout seconds for the first
        (None: for ever; 0: not at all). [] once the time is up."""
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be None or >= 0")
        end = None if timeout is None else time.monotonic() + timeout
        p = select.poll()
        p.register(self.fileno(), select.POLLIN)
        while True:
            evs = self._collect()
            if evs or timeout == 0:
                return evs
            left = None
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    return []
            p.poll(None if left is None else max(1, int(left * 1000 + 0.999)))

    def __iter__(self):
        while True:
            with self._lock:
                if not self._table:
                    return
            for ev in self.read():
                yield ev

    def close(self):
        """Let every watch go; further calls raise ValueError."""
        with self._lock:
            if self._b is not None:
                self._b.close()
                self._b = None
                self._table.clear()
                self._keys.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def wait_procs(procs, timeout=None, callback=None):
    """Wait for processes to exit, as psutil.wait_procs does, but woken
    by the exits, many at once, with return codes for non-children where
    the module shows them.

    procs: pids, or objects with a pid attribute (psutil.Process,
    subprocess.Popen); such an object gets its returncode attribute set.
    Returns (gone, alive): the objects given (an Event for a pid) that
    exited, and those still alive when timeout seconds were up.
    callback(item) is called for each as it goes."""
    items = list(procs)
    alive = {}
    gone = []
    with Watcher() as w:
        for i, item in enumerate(items):
            pid = item if isinstance(item, int) else item.pid
            try:
                w.add(pid, cookie=i)
                alive[i] = item
            except ProcessLookupError:
                gone.append(_gone(item, Event(pid, i, _child_returncode(pid),
                                              False, time.monotonic()), callback))
        end = None if timeout is None else time.monotonic() + timeout
        while alive:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                break
            for ev in w.read(left):
                gone.append(_gone(alive.pop(ev.cookie), ev, callback))
    return gone, list(alive.values())


def _gone(item, ev, callback):
    if isinstance(item, int):
        item = ev
    else:
        try:
            item.returncode = ev.returncode
        except AttributeError:
            pass
    if callback is not None:
        callback(item)
    return item


async def _next(watcher):
    """The next events of the watcher, awaited through add_reader."""
    import asyncio
    loop = asyncio.get_event_loop()
    while True:
        evs = watcher.read(0)
        if evs:
            return evs
        fut = loop.create_future()
        fd = watcher.fileno()
        loop.add_reader(fd, lambda: fut.done() or fut.set_result(None))
        try:
            await fut
        finally:
            loop.remove_reader(fd)


async def events(watcher):
    """An async iterator of the watcher's events, through the event
    loop's add_reader; it ends when nothing is watched any more."""
    while len(watcher):
        for ev in await _next(watcher):
            yield ev


async def wait(pid, thread=False):
    """await pidwait.wait(pid): its Event once it exits."""
    with Watcher() as w:
        w.add(pid, thread=thread)
        return (await _next(w))[0]
