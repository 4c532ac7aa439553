#!/usr/bin/env python3
"""The published experiment's client, as described: 10 threads ("users"), each doing
1000 sequential form POSTs with `requests` and no Session (a new TCP connection per
request), reporting total time and writes per second.

Kept only to show the ceiling such a client puts on any server (README: "Why the
published numbers were bounded by the client"); loadgen reproduces the same workload
without that ceiling.

usage: benches/seed_client.py URL [USERS] [LOOPS]
"""
import random
import sys
import threading
import time

import requests

TITLES = ["Buy milk", "Write report", "Call the bank", "Fix the bike"]
DESCRIPTIONS = ["Two litres", "Quarterly numbers", "About the card", "Rear brake"]


def user(url, loops, failures):
    for _ in range(loops):
        data = {"title": random.choice(TITLES), "description": random.choice(DESCRIPTIONS)}
        if requests.post(url, data=data).status_code != 201:
            failures.append(1)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    url = sys.argv[1]
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    loops = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    failures = []
    threads = [threading.Thread(target=user, args=(url, loops, failures)) for _ in range(users)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    print(f"Total test time: {elapsed:.3f} seconds")
    print(f"Write requests per second: {users * loops / elapsed:.1f}")
    if failures:
        print(f"failed requests: {len(failures)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
