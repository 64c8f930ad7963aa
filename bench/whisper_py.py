# Times whisper.py (Debian's python3-whisper) on the operations and files of
# storage/whisper/bench_test.go, for side-by-side comparison in one run.
# Usage: /usr/bin/python3 bench/whisper_py.py DIR
import os
import sys
import time

import whisper

UPDATE_SCHEME = [(10, 2160), (60, 10080), (600, 262800)]  # 10s:6h,1m:7d,10m:5y
FETCH_SCHEME = [(10, 8640), (60, 10080)]                  # 10s:1d,1m:7d


def timed(name, n, fn):
    # The best of three rounds of n calls, in ns per call.
    best = None
    for _ in range(3):
        t0 = time.perf_counter_ns()
        fn(n)
        took = (time.perf_counter_ns() - t0) / n
        best = took if best is None else min(best, took)
    print("%-16s %12.0f ns/op" % (name, best))


def main(d):
    path = os.path.join(d, "update.wsp")
    whisper.create(path, list(UPDATE_SCHEME))
    clock = [1700000000]

    def update(n):
        for _ in range(n):
            clock[0] += 10
            whisper.update(path, 42.0, clock[0], now=clock[0])
    timed("Update", 20000, update)

    def update_many(n):
        for _ in range(n):
            clock[0] += 1000
            now = clock[0]
            whisper.update_many(path, [(now - i * 10, float(i)) for i in range(100)], now=now)
    timed("UpdateMany100", 1000, update_many)

    fpath = os.path.join(d, "fetch.wsp")
    whisper.create(fpath, list(FETCH_SCHEME))
    now = 1700000000
    whisper.update_many(fpath, [(now - i * 10, float(i)) for i in range(8640)], now=now)

    def fetch(n):
        for _ in range(n):
            whisper.fetch(fpath, now - 86400, now, now=now)
    timed("FetchDay", 300, fetch)

    seq = [0]

    def create(n):
        for _ in range(n):
            seq[0] += 1
            p = os.path.join(d, "c%d.wsp" % seq[0])
            whisper.create(p, list(UPDATE_SCHEME))
            os.unlink(p)
    timed("Create", 200, create)


if __name__ == "__main__":
    main(sys.argv[1])
