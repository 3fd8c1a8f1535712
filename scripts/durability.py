#!/usr/bin/env python3
"""Durability check: no acknowledged write is lost when the server is killed.

Starts the release server on a fresh store, drives concurrent creates, kills
the server with SIGKILL in the middle of the load, restarts it, and reads back
every pass that was answered 201. Prints acknowledged / found / lost and exits
non-zero when anything acknowledged is missing or altered.

With --instances N (PostgreSQL), N servers share the database and the clients
are spread over them; one of them is killed mid-load, and its clients move to
the survivors (as a load balancer would). The survivors must keep answering
201 after the kill, and nothing acknowledged by any instance may be lost.

This checks crash recovery only: the OS page cache survives a killed process,
so a server that never fsyncs passes too. Power loss is tested by
tests/powercut.rs (SQLite, part of `cargo test`).

    scripts/durability.py --binary target/release/guestpass --backend sqlite
    scripts/durability.py --binary target/release/guestpass --backend postgres \
        --postgres-url postgres://postgres@127.0.0.1:5432/test
    scripts/durability.py --binary target/release/guestpass --backend postgres --instances 3
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


def drive(ports, first, acknowledged, lock, stop, killed):
    """Creates passes until `stop`; `ports` are the instances, `first` the
    index of this client's own. When its instance is gone, the client moves
    to the next one; with a single instance it ends there."""
    index = first
    conn = http.client.HTTPConnection("127.0.0.1", ports[index], timeout=10)
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
            # The instance is gone: this request was never acknowledged.
            if len(ports) == 1:
                return
            index = (index + 1) % len(ports)
            conn = http.client.HTTPConnection("127.0.0.1", ports[index], timeout=10)
            continue
        if res.status == 201:
            with lock:
                acknowledged.append((json.loads(data), killed.is_set()))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", default="target/release/guestpass")
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/test")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--load-seconds", type=float, default=2.0)
    p.add_argument("--instances", type=int, default=1,
                   help="servers sharing the database (PostgreSQL); one is killed")
    args = p.parse_args()
    if args.instances > 1 and args.backend != "postgres":
        sys.exit("--instances needs --backend postgres: SQLite has one writer by design")

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
    ports = [free_port() for _ in range(args.instances)]
    servers = [start(args.binary, url, port, log) for port in ports]
    acknowledged, lock, stop, killed = [], threading.Lock(), threading.Event(), threading.Event()
    threads = [threading.Thread(target=drive,
                                args=(ports, i % len(ports), acknowledged, lock, stop, killed))
               for i in range(args.clients)]
    for t in threads:
        t.start()
    time.sleep(args.load_seconds)
    servers[0].send_signal(signal.SIGKILL)  # mid-load, no chance to flush anything
    servers[0].wait()
    killed.set()
    if args.instances > 1:
        time.sleep(args.load_seconds)  # the survivors carry the load
    stop.set()
    for t in threads:
        t.join()
    after_kill = sum(1 for _, late in acknowledged if late)
    acknowledged = [created for created, _ in acknowledged]
    for survivor in servers[1:]:
        survivor.send_signal(signal.SIGTERM)
        if survivor.wait(timeout=30) != 0:
            sys.exit("a surviving instance did not shut down cleanly")

    port = ports[0]
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

    print(f"durability[{args.backend}, {args.instances} instance(s)]: acknowledged "
          f"{len(acknowledged)} ({after_kill} by survivors after the kill), found {found}, "
          f"lost {lost}, altered {altered}")
    if not acknowledged:
        sys.exit("no create was acknowledged before the kill: the check proved nothing")
    if args.instances > 1 and after_kill == 0:
        sys.exit("the surviving instances acknowledged nothing after the kill")
    sys.exit(1 if lost or altered else 0)


if __name__ == "__main__":
    main()
