#!/usr/bin/env python3
"""Durability check: no acknowledged write is lost when the server is killed.

Starts the release server on a fresh store, drives concurrent creates, kills
the server with SIGKILL in the middle of the load, restarts it, and reads back
every pass that was answered 201. Prints acknowledged / found / lost and exits
non-zero when anything acknowledged is missing or altered.

This checks crash recovery only: the OS page cache survives a killed process,
so a server that never fsyncs passes too. Power loss is tested by
tests/powercut.rs (SQLite, part of `cargo test`).

    scripts/durability.py --binary target/release/guestpass --backend sqlite
    scripts/durability.py --binary target/release/guestpass --backend postgres \
        --postgres-url postgres://postgres@127.0.0.1:5432/test
"""

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

CHAIN, CHAIN_SECRET = "dur-chain", "JOzvzGi06ozYL7QkdRzzVOUFdD2Qgzf6FTHiuJJ0"
LOCATION, LOCATION_SECRET = "dur-gym", "8pdd6lX3nwmkCfwHeWPf1ELq005bGs5fF6lqbktg"
BASE = "/members/v1.0"
HEADERS = {"X-Chain-ID": CHAIN, "X-Chain-Secret": CHAIN_SECRET, "Content-Type": "application/json"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fmt(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def start(binary, url, port, log):
    env = dict(os.environ, DATABASE_URL=url, RUST_LOG="warn")
    proc = subprocess.Popen(
        [binary, "serve", "--bind", f"127.0.0.1:{port}", "--rate-limit", "0"],
        env=env, stdout=log, stderr=log,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("server did not become healthy")


def admin(binary, url, *args):
    subprocess.run([binary, "admin", *args], env=dict(os.environ, DATABASE_URL=url),
                   check=True, stdout=subprocess.DEVNULL)


def drive(port, acknowledged, lock, stop):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    start = datetime.now(timezone.utc) + timedelta(hours=1)
    while not stop.is_set():
        body = {
            "locationId": LOCATION, "firstName": "Dura", "lastName": "Bility",
            "email": f"durability+{uuid.uuid4().hex}@example.invalid",
            "validFrom": fmt(start), "validUntil": fmt(start + timedelta(days=3)),
        }
        try:
            conn.request("POST", f"{BASE}/guest-passes", json.dumps(body), HEADERS)
            res = conn.getresponse()
            data = res.read()
        except (OSError, http.client.HTTPException):
            return  # the server is gone: this request was never acknowledged
        if res.status == 201:
            with lock:
                acknowledged.append(json.loads(data))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", default="target/release/guestpass")
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/test")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--load-seconds", type=float, default=2.0)
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="guestpass-durability-")
    if args.backend == "sqlite":
        url = os.path.join(tmp, "durability.db")
    else:
        name = f"gp_durability_{uuid.uuid4().hex[:12]}"
        subprocess.run(["psql", args.postgres_url, "-qc", f"CREATE DATABASE {name}"], check=True)
        url = args.postgres_url.rsplit("/", 1)[0] + "/" + name

    admin(args.binary, url, "add-chain", "--id", CHAIN, "--secret", CHAIN_SECRET)
    admin(args.binary, url, "add-location", "--chain", CHAIN, "--id", LOCATION, "--secret", LOCATION_SECRET)

    log = open(os.path.join(tmp, "server.log"), "ab")
    port = free_port()
    server = start(args.binary, url, port, log)
    acknowledged, lock, stop = [], threading.Lock(), threading.Event()
    threads = [threading.Thread(target=drive, args=(port, acknowledged, lock, stop))
               for _ in range(args.clients)]
    for t in threads:
        t.start()
    time.sleep(args.load_seconds)
    server.send_signal(signal.SIGKILL)  # mid-load, no chance to flush anything
    server.wait()
    stop.set()
    for t in threads:
        t.join()

    server = start(args.binary, url, port, log)
    found = lost = altered = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for created in acknowledged:
        conn.request("GET", f"{BASE}/guest-passes/{created['guestPassId']}", headers=HEADERS)
        res = conn.getresponse()
        data = res.read()
        if res.status != 200:
            lost += 1
            continue
        found += 1
        stored = json.loads(data)
        if any(stored.get(k) != created.get(k) for k in
               ("email", "validFrom", "validUntil", "checkinCode", "createdAt", "locationId")):
            altered += 1
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    if args.backend == "postgres":
        subprocess.run(["psql", args.postgres_url, "-qc", f"DROP DATABASE {name} WITH (FORCE)"])

    print(f"durability[{args.backend}]: acknowledged {len(acknowledged)}, found {found}, "
          f"lost {lost}, altered {altered}")
    if not acknowledged:
        sys.exit("no create was acknowledged before the kill: the check proved nothing")
    sys.exit(1 if lost or altered else 0)


if __name__ == "__main__":
    main()
