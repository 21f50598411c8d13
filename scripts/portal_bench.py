#!/usr/bin/env python3
"""The portal's figures (scripts/bench.sh --portal), against a running
`infractl serve` and a class brought up for it.

  portal_bench.py echo URL COOKIE LAB SERVER CONTAINER [KEYS]
      a key's echo through the portal's terminal, KEYS times (default
      1000), beside `docker exec -it CONTAINER` on the same server: p50
      and p99 of each, in ms.
  portal_bench.py pages URL PID SECONDS LAB=COOKIE...
      every lab's page stream held open (one per LAB=COOKIE), then the
      portal's memory (RSS) and its CPU at rest over SECONDS.
  portal_bench.py site URL COOKIE LAB CLIENT [TIMES]
      the site's page through the portal (over the engine's API to the
      lab's forwarder; nothing published), TIMES times (default 100),
      beside the same page asked from the lab's client container with
      `docker exec CLIENT curl` (what a learner had before the portal):
      p50 and p99 of each, in ms.
  portal_bench.py death URL COOKIE LAB SERVER CONTAINER [TIMES]
      the time from `docker kill` of a server to the lab's page stream
      saying so, and from the engine's own time of the death
      saying it stopped, TIMES times (default 5), the server started again
      between.

Prints one line of JSON. Needs the `websockets` package for `echo`.
"""

import datetime
import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
import urllib.request


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def summary(ms):
    return {"p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2)}


def portal_echo(url, cookie, lab, server, keys):
    import asyncio
    import websockets

    async def run():
        ws_url = url.replace("http", "ws", 1) + "/lab/%s/term/%s" % (lab, server)
        async with websockets.connect(
            ws_url, additional_headers={"Cookie": "infractl_portal=" + cookie}, max_size=None
        ) as ws:
            first = await ws.recv()
            assert "session" in str(first), first
            # Quiet prompt, no history: only the typed key comes back.
            await ws.send(b"stty -icanon; PS1=; clear\n")
            await asyncio.sleep(1.0)
            while True:
                try:
                    await asyncio.wait_for(ws.recv(), 0.3)
                except asyncio.TimeoutError:
                    break
            times = []
            for i in range(keys):
                key = b"a" if i % 2 == 0 else b"b"
                start = time.perf_counter()
                await ws.send(key)
                while True:
                    got = await ws.recv()
                    if isinstance(got, bytes) and key in got:
                        break
                times.append((time.perf_counter() - start) * 1000)
                if i % 100 == 99:
                    await ws.send(b"\x15")  # Ctrl-U: the line emptied
                    await asyncio.sleep(0.05)
                    while True:
                        try:
                            await asyncio.wait_for(ws.recv(), 0.05)
                        except asyncio.TimeoutError:
                            break
            return times

    return asyncio.run(run())


def docker_echo(container, keys):
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("docker", ["docker", "exec", "-it", container, "bash", "--norc", "--noprofile"])
    def drain(wait):
        while select.select([fd], [], [], wait)[0]:
            try:
                if not os.read(fd, 65536):
                    return
            except OSError:
                return
    time.sleep(1.0)
    os.write(fd, b"stty -icanon; PS1=; clear\n")
    time.sleep(0.5)
    drain(0.3)
    times = []
    for i in range(keys):
        key = b"a" if i % 2 == 0 else b"b"
        start = time.perf_counter()
        os.write(fd, key)
        seen = b""
        while key not in seen:
            select.select([fd], [], [], 5)
            seen += os.read(fd, 65536)
        times.append((time.perf_counter() - start) * 1000)
        if i % 100 == 99:
            os.write(fd, b"\x15")
            drain(0.05)
    os.write(fd, b"\x15exit\n")
    os.waitpid(pid, 0)
    return times


def echo(url, cookie, lab, server, container, keys=1000):
    portal = portal_echo(url, cookie, lab, server, int(keys))
    docker = docker_echo(container, int(keys))
    return {"keys": int(keys), "portal": summary(portal), "docker_exec": summary(docker)}


def stream(url, cookie, path, on_event, stop):
    req = urllib.request.Request(url + path, headers={"Cookie": "infractl_portal=" + cookie})
    with urllib.request.urlopen(req) as r:
        data = b""
        for line in r:
            if stop.is_set():
                return
            if line.startswith(b"data:"):
                data = line[5:].strip()
            elif line.strip() == b"" and data:
                on_event(json.loads(data))
                data = b""


def proc_stat(pid):
    with open("/proc/%s/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    with open("/proc/%s/status" % pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return cpu, rss / 1024


def pages(url, pid, seconds, *labs):
    stop = threading.Event()
    seen = {}
    for pair in labs:
        lab, cookie = pair.split("=", 1)
        seen[lab] = 0
        def count(_, lab=lab):
            seen[lab] += 1
        threading.Thread(target=stream, args=(url, cookie, "/lab/%s/events" % lab, count, stop), daemon=True).start()
    deadline = time.time() + 120
    while time.time() < deadline and not all(v > 0 and True for v in seen.values()):
        time.sleep(0.5)
    time.sleep(10)  # the first looks settle
    cpu0, _ = proc_stat(pid)
    time.sleep(float(seconds))
    cpu1, rss = proc_stat(pid)
    stop.set()
    return {
        "pages": len(labs),
        "pages_live": sum(1 for v in seen.values() if v > 0),
        "rss_mb": round(rss, 1),
        "cpu_at_rest_pct": round(100 * (cpu1 - cpu0) / float(seconds), 2),
        "seconds": float(seconds),
    }


def died_at(container):
    """The engine's own time of the container's death, in seconds since
    the epoch (its nanoseconds cut to microseconds)."""
    out = subprocess.run(["docker", "inspect", "-f", "{{.State.FinishedAt}}", container],
                         check=True, capture_output=True, text=True).stdout.strip()
    head, _, frac = out.rstrip("Z").partition(".")
    stamp = datetime.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp() + float("0." + (frac or "0"))


def death(url, cookie, lab, server, container, times=5):
    stop = threading.Event()
    state = {"state": None, "at": 0.0, "wall": 0.0}
    changed = threading.Condition()
    def on_view(view):
        for s in view.get("servers", []):
            if s["server"] == server:
                with changed:
                    state["state"], state["at"], state["wall"] = s["state"], time.perf_counter(), time.time()
                    changed.notify_all()
    threading.Thread(target=stream, args=(url, cookie, "/lab/%s/events" % lab, on_view, stop), daemon=True).start()
    def wait_for(want, timeout=60):
        with changed:
            changed.wait_for(lambda: state["state"] in want, timeout)
            return state["state"] in want
    delays, after_death = [], []
    for _ in range(int(times)):
        assert wait_for(("running",)), "the server is not running: %s" % state["state"]
        time.sleep(2)
        start = time.perf_counter()
        subprocess.run(["docker", "kill", container], check=True, capture_output=True)
        assert wait_for(("stopped", "absent")), "the page never said it stopped"
        delays.append((state["at"] - start) * 1000)
        after_death.append((state["wall"] - died_at(container)) * 1000)
        # Started again as the page's own button does.
        req = urllib.request.Request(
            url + "/lab/%s/servers/%s/start" % (lab, server),
            method="POST",
            headers={"Cookie": "infractl_portal=" + cookie},
        )
        urllib.request.urlopen(req).read()
    assert wait_for(("running",)), "not running again"
    stop.set()
    return {"times": len(delays), "ms": [round(d) for d in delays], **summary(delays),
            "after_death_ms": [round(d) for d in after_death]}


def site(url, cookie, lab, client, times=100):
    def through_portal():
        req = urllib.request.Request(
            url + "/lab/%s/site/" % lab, headers={"Cookie": "infractl_portal=" + cookie}
        )
        body = urllib.request.urlopen(req).read()
        assert b"Served by" in body, body[:200]
    def from_client():
        out = subprocess.run(
            ["docker", "exec", client, "curl", "-sf", "http://www.foobar.com/"],
            check=True, capture_output=True,
        ).stdout
        assert b"Served by" in out, out[:200]
    figures = {}
    for name, ask in (("portal", through_portal), ("docker_exec_curl", from_client)):
        ask()  # the first: the forwarder made, connections warm
        ms = []
        for _ in range(int(times)):
            start = time.perf_counter()
            ask()
            ms.append((time.perf_counter() - start) * 1000)
        figures[name] = summary(ms)
    return {"times": int(times), **figures}


if __name__ == "__main__":
    what, args = sys.argv[1], sys.argv[2:]
    print(json.dumps({"echo": echo, "pages": pages, "site": site, "death": death}[what](*args)))
