# SPDX-License-Identifier: LGPL-2.1-or-later
"""pidwait's Python module on each backend this machine has.

    python3 -m unittest discover -s python/tests
"""

import asyncio
import errno
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import pidwait  # noqa: E402


def available(name):
    try:
        pidwait.Watcher(name).close()
        return True
    except OSError:
        return False


def child(code=0, wait=True):
    """A child that exits with code once its pipe is written (or now)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        if wait:
            os.read(r, 1)
        os._exit(code)
    os.close(r)
    return pid, w


def release(w):
    os.write(w, b"x")
    os.close(w)


class Backend(object):
    backend = None

    def setUp(self):
        if not available(self.backend):
            self.skipTest("no %s backend here" % self.backend)
        self.w = pidwait.Watcher(self.backend)
        self.assertEqual(self.backend, self.w.backend)

    def tearDown(self):
        self.w.close()

    def test_child_exit_status(self):
        pid, w = child(42)
        self.w.add(pid, cookie="c")
        self.assertEqual([], self.w.read(0))
        release(w)
        evs = self.w.read(10)
        self.assertEqual(1, len(evs))
        self.assertEqual((pid, "c", 42, False), evs[0][:4])
        os.waitpid(pid, 0)
        self.assertEqual([], self.w.read(0))
        self.assertEqual(0, len(self.w))

    def test_killed_child(self):
        pid, w = child()
        self.w.add(pid)
        os.kill(pid, signal.SIGKILL)
        ev, = self.w.read(10)
        self.assertEqual(-signal.SIGKILL, ev.returncode)
        os.waitpid(pid, 0)
        os.close(w)

    def test_many(self):
        kids = [child(i % 100) for i in range(100)]
        for i, (pid, _) in enumerate(kids):
            self.w.add(pid, cookie=i)
        for _, w in kids:
            release(w)
        seen = set()
        for ev in self.w:
            self.assertEqual(kids[ev.cookie][0], ev.pid)
            self.assertEqual(ev.cookie % 100, ev.returncode)
            seen.add(ev.cookie)
        self.assertEqual(set(range(100)), seen)
        for pid, _ in kids:
            os.waitpid(pid, 0)

    def test_bad_input(self):
        gone = os.fork()
        if gone == 0:
            os._exit(0)
        os.waitpid(gone, 0)
        for bad in (0, -1):
            self.assertRaises(ValueError, self.w.add, bad)
        self.assertRaises(TypeError, self.w.add, "1")
        with open("/proc/sys/kernel/pid_max") as f:
            pid_max = int(f.read())
        self.assertRaises(ProcessLookupError, self.w.add, pid_max + 1)
        self.assertRaises(ProcessLookupError, self.w.add, gone)
        self.assertRaises(KeyError, self.w.remove, os.getpid())
        self.w.add(os.getpid())
        self.assertRaises(FileExistsError, self.w.add, os.getpid())
        self.w.remove(os.getpid())
        self.assertRaises(ValueError, self.w.read, -1)
        t0 = time.monotonic()
        self.assertEqual([], self.w.read(0.05))
        self.assertGreaterEqual(time.monotonic() - t0, 0.05)
        self.w.close()
        self.assertRaises(ValueError, self.w.add, os.getpid())
        self.assertRaises(ValueError, self.w.fileno)
        self.w.close()

    def test_thread_ids(self):
        """A thread's id is no process; with thread=True it is its thread."""
        before = set(os.listdir("/proc/self/task"))
        stop = threading.Event()
        t = threading.Thread(target=stop.wait)
        t.start()
        tid, = [int(x) for x in set(os.listdir("/proc/self/task")) - before]
        try:
            with self.assertRaises(OSError) as cm:
                self.w.add(tid)
            self.assertEqual(errno.EINVAL, cm.exception.errno)
            try:
                self.w.add(tid, cookie="t", thread=True)
            except OSError as e:
                # pidfd before 6.9, the module where its kernel cannot.
                self.assertEqual(errno.EOPNOTSUPP, e.errno)
                return
        finally:
            stop.set()
            t.join()
        ev, = self.w.read(10)
        self.assertEqual((tid, "t", True), (ev.pid, ev.cookie, ev.thread))

    def test_two_threads(self):
        pid, w = child(3)
        self.w.add(pid, cookie="x")
        errors = []
        kids = [child() for _ in range(2)]

        def churn(p):
            try:
                for _ in range(500):
                    self.w.add(p)
                    self.w.remove(p)
            except Exception as e:
                errors.append(e)

        ts = [threading.Thread(target=churn, args=(k[0],)) for k in kids]
        for t in ts:
            t.start()
        release(w)
        ev, = self.w.read(10)
        self.assertEqual(("x", 3), (ev.cookie, ev.returncode))
        for t in ts:
            t.join()
        self.assertEqual([], errors)
        for p, kw in kids:
            release(kw)
            os.waitpid(p, 0)
        os.waitpid(pid, 0)

    def test_asyncio(self):
        pid, w = child(5)
        loop = asyncio.new_event_loop()
        try:
            asyncio.set_event_loop(loop)
            loop.call_later(0.05, release, w)
            os.environ["PIDWAIT_BACKEND"] = self.backend
            try:
                ev = loop.run_until_complete(pidwait.wait(pid))
            finally:
                del os.environ["PIDWAIT_BACKEND"]
        finally:
            asyncio.set_event_loop(None)
            loop.close()
        self.assertEqual((pid, 5), (ev.pid, ev.returncode))
        os.waitpid(pid, 0)

    def test_wait_procs(self):
        kids = [child(7) for _ in range(3)]
        alive_pid, alive_w = child()
        for _, w in kids:
            release(w)
        os.environ["PIDWAIT_BACKEND"] = self.backend
        try:
            got = []
            gone, alive = pidwait.wait_procs([k[0] for k in kids] + [alive_pid],
                                             timeout=2, callback=got.append)
        finally:
            del os.environ["PIDWAIT_BACKEND"]
        self.assertEqual(sorted(k[0] for k in kids), sorted(e.pid for e in gone))
        self.assertEqual([7, 7, 7], [e.returncode for e in gone])
        self.assertEqual([alive_pid], alive)
        self.assertEqual(3, len(got))
        release(alive_w)
        for p, _ in kids:
            os.waitpid(p, 0)
        os.waitpid(alive_pid, 0)


class TestModule(Backend, unittest.TestCase):
    backend = "module"


class TestPidfd(Backend, unittest.TestCase):
    backend = "pidfd"


class TestProc(Backend, unittest.TestCase):
    backend = "proc"


class TestChain(unittest.TestCase):
    def test_best_first(self):
        with pidwait.Watcher() as w:
            best = [b for b in pidwait.BACKENDS if available(b)][0]
            self.assertEqual(best, w.backend)
        self.assertRaises(ValueError, pidwait.Watcher, "nonsense")


if __name__ == "__main__":
    unittest.main()
