#!/usr/bin/env python3
"""The engine's floor for scripts/bench.sh --class: bare containers of the
node image (`sleep`, nothing else in them), started through the Engine API,
eight at a time.

  floor.py IMAGE BIND... --count N            N containers on the default bridge
  floor.py IMAGE BIND... --shape SHAPE.json   the containers SHAPE lists, each on
                                              the networks and at the addresses
                                              it names (networks made first)

SHAPE is what `floor.py --read-shape PREFIX` prints for the running
containers of the labs whose names start with PREFIX: for each network its subnet, for each container
its networks and addresses, in the order the engine attaches them.  Names
get the prefix `floor-`; everything is labelled io.infractl.bench=floor and
removed before the script exits.  Prints the seconds from the first request
to the last container running.
"""
import http.client
import json
import os
import socket
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

LABEL = {"io.infractl.bench": "floor"}
WORKERS = 8


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def socket_path():
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        sys.exit("floor.py: the floor is measured on a local engine (unix socket), not " + host)
    return host[len("unix://"):]


def api(method, path, body=None, ok=(200, 201, 204, 304)):
    conn = UnixConnection(socket_path())
    try:
        data = None if body is None else json.dumps(body)
        conn.request(method, "/v1.41" + path, body=data,
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        out = resp.read()
        if resp.status not in ok:
            sys.exit(f"floor.py: {method} {path}: {resp.status} {out.decode(errors='replace')}")
        return json.loads(out) if out else None
    finally:
        conn.close()


def labelled(label):
    filters = urllib.parse.quote(json.dumps({"label": [label]}))
    return filters


def read_shape(prefix):
    """The networks and attachments of the running containers of the labs
    named `prefix`..."""
    containers = api("GET", f"/containers/json?filters={labelled('io.infractl.lab')}")
    networks, nodes = {}, []
    for c in containers:
        if not c["Labels"]["io.infractl.lab"].startswith(prefix):
            continue
        info = api("GET", f"/containers/{c['Id']}/json")
        first = info["HostConfig"]["NetworkMode"]
        attached = info["NetworkSettings"]["Networks"]
        order = [first] + sorted(n for n in attached if n != first)
        at = []
        for net in order:
            if net not in networks:
                ipam = api("GET", f"/networks/{net}")["IPAM"]["Config"]
                networks[net] = ipam[0]["Subnet"]
            at.append([net, attached[net]["IPAMConfig"]["IPv4Address"]])
        nodes.append(at)
    return {"networks": networks, "containers": nodes}


def create_and_start(image, binds, name, attach):
    host = {"Binds": binds}
    body = {"Image": image, "Cmd": ["sleep", "600"], "Labels": LABEL, "HostConfig": host}
    if attach:
        net, address = attach[0]
        host["NetworkMode"] = "floor-" + net
        body["NetworkingConfig"] = {"EndpointsConfig": {
            "floor-" + net: {"IPAMConfig": {"IPv4Address": address}}}}
    api("POST", f"/containers/create?name={name}", body)
    for net, address in attach[1:]:
        api("POST", f"/networks/floor-{net}/connect", {
            "Container": name, "EndpointConfig": {"IPAMConfig": {"IPv4Address": address}}})
    api("POST", f"/containers/{name}/start")


def clean():
    for c in api("GET", f"/containers/json?all=1&filters={labelled('io.infractl.bench=floor')}"):
        api("DELETE", f"/containers/{c['Id']}?force=1&v=1", ok=(204, 404))
    for n in api("GET", f"/networks?filters={labelled('io.infractl.bench=floor')}"):
        api("DELETE", f"/networks/{n['Id']}", ok=(204, 404))


def main(argv):
    if argv[:1] == ["--read-shape"]:
        json.dump(read_shape(argv[1]), sys.stdout)
        return
    image, rest = argv[0], argv[1:]
    mode, arg = rest[-2], rest[-1]
    binds = rest[:-2]
    if mode == "--count":
        shape = {"networks": {}, "containers": [[] for _ in range(int(arg))]}
    else:
        with open(arg) as f:
            shape = json.load(f)
    pid = os.getpid()
    clean()
    try:
        start = time.monotonic()
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda item: api("POST", "/networks/create", {
                "Name": "floor-" + item[0], "CheckDuplicate": True, "Labels": LABEL,
                "IPAM": {"Config": [{"Subnet": item[1]}]}}), shape["networks"].items()))
            list(pool.map(lambda i: create_and_start(
                image, binds, f"floor-{pid}-{i}", shape["containers"][i]),
                range(len(shape["containers"]))))
        print(f"{time.monotonic() - start:.2f}")
    finally:
        clean()


if __name__ == "__main__":
    main(sys.argv[1:])
