"""Measures one command from a lean parent: ``python -I -S launch.py RESULT TIMEOUT -- ARGV``.

Why a separate launcher: on Linux a process's ``ru_maxrss`` starts from the high-water mark
of the memory image it was forked from (``exec`` records the old image's peak), so a tool
spawned straight from the harness (~90 MiB of Python) would report at least the harness's
size. This launcher imports only the standard library without ``site`` (~10 MiB), so the
floor it adds is small and the same for every tool. It spawns the tool, ``wait4``s it and
writes wall seconds, user/sys CPU seconds and peak RSS (KiB) to RESULT as JSON. The
rusage of ``wait4`` includes every descendant the tool reaped (its whole process tree).
"""

import json
import os
import signal
import sys
import threading
import time


def main() -> int:
    result, timeout, sep, *argv = sys.argv[1:]
    assert sep == "--" and argv
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    timer = threading.Timer(float(timeout), os.kill, (pid, signal.SIGKILL))
    timer.start()
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    timer.cancel()
    with open(result, "w") as out:
        json.dump(
            {
                "wall": wall,
                "user": usage.ru_utime,
                "sys": usage.ru_stime,
                "maxrss_kib": usage.ru_maxrss,
                "returncode": os.waitstatus_to_exitcode(status),
            },
            out,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
