"""Shared parts of the process-level scripts (scripts/chaos, scripts/wan): berth processes
whose output can be waited on, a small REST client, and a template to push."""

import base64
import io
import itertools
import json
import os
import re
import signal
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request

ROOT_TOKEN = "lab-root-token"


class Process:
    """A berth process whose output is collected, so a line can be waited for."""

    def __init__(self, berth, args, name, prefix=()):
        self.name = name
        self.lines = []
        self.stamps = []  # time.monotonic() when each line arrived
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            list(prefix) + [berth] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.stamps.append(time.monotonic())
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, fragment, timeout=60, after=0):
        """Waits for an output line containing `fragment` (from line index `after` on)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[after:]:
                    if fragment in line:
                        return line
                if self.proc.poll() is not None and not any(fragment in l for l in self.lines[after:]):
                    raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) before '{fragment}':\n"
                                       + "\n".join(self.lines[-20:]))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"{self.name}: no '{fragment}' within {timeout}s:\n" + "\n".join(self.lines[-20:]))
                self.cond.wait(left)

    def count(self, fragment):
        with self.cond:
            return sum(fragment in line for line in self.lines)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def run(berth, args, prefix=()):
    result = subprocess.run(list(prefix) + [berth] + args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"berth {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def port_of(line):
    """The port of the first IPv4 address:port in a log line (`address=10.77.0.1:7420`, a URL)."""
    return int(re.search(r"\d+\.\d+\.\d+\.\d+:(\d+)", line).group(1))


class API:
    """A REST client of one gateway, or of several in turn (a round-robin load balancer)."""

    def __init__(self, *ports):
        self.bases = [f"http://127.0.0.1:{port}" for port in ports]
        self.base = self.bases[0]
        self.turn = itertools.count()  # next() is atomic in CPython: threads share it
        self.auth = "Basic " + base64.b64encode(f"root:{ROOT_TOKEN}".encode()).decode()

    def call(self, method, path, body=None, raw=None, timeout=30):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        base = self.bases[next(self.turn) % len(self.bases)]
        request = urllib.request.Request(base + path, data=data, method=method)
        request.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                return error.code, json.loads(error.read() or b"{}")
            except ValueError:
                return error.code, {}
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return 0, {}


def template_tar():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in [("disk.img", os.urandom(256 * 1024)), ("vm.yaml", b"cpu: 1\nram: 1G\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class Lab:
    """A control plane, a gateway and `nodes` nodes as separate berth processes, a pushed
    template, a bounded start load, and the exactly-once checks of scripts/chaos and wan.

    `cp_host` is the address nodes use for the control plane; `node_prefix` runs node
    commands in another network namespace (`ip netns exec ...`)."""

    def __init__(self, berth, root, name, cp_host="127.0.0.1", cp_extra=(), node_prefix=(), nodes=3, max_vms=3,
                 node_extra=(), boot_ms=100, sim=False, gateways=1):
        self.berth, self.root, self.name = berth, root, name
        self.cp_host, self.cp_extra, self.node_prefix = cp_host, list(cp_extra), list(node_prefix)
        self.node_count, self.max_vms, self.node_extra = nodes, max_vms, list(node_extra)
        self.boot_ms = boot_ms
        # sim: one `berth sim` process holds every node (each still its own enrolled mTLS
        # session), instead of one `berth node run` process per node.
        self.sim = sim
        # Where the simulator keeps its nodes' identities and instance files (default: under
        # root). A benchmark may put it in memory: 1,000 nodes' files on the control plane's
        # disk are not what a real fleet puts there.
        self.sim_state_dir = os.path.join(root, "sim")
        self.cp_dir, self.gw_dir = os.path.join(root, "cp"), os.path.join(root, "gw")
        self.processes = []
        self.acknowledged, self.terminated, self.over_placed = set(), set(), []
        self.refused = 0
        # Every call of the load that was not OK: (sent, answered, HTTP status, whether the
        # body was the FAIL envelope with a message), by time.monotonic().
        self.refusals = []
        self.gateway_count = gateways
        self.accepted_at = []  # (sent, acknowledged), by time.monotonic(), of every acknowledged start
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []

    def cp_args(self, port):
        return ["controlplane", "--data-dir", self.cp_dir, "--host", self.cp_host, "--port", str(port)] + self.cp_extra

    def start_control_plane(self):
        """Makes the CA and the gateway's certificate, starts the control plane, and returns
        the addresses nodes and gateways are given (`host:port[,host:port…]`)."""
        san = [] if self.cp_host == "127.0.0.1" else ["--host", self.cp_host]
        run(self.berth, ["ca", "init", "--data-dir", self.cp_dir] + san)
        self.issue_gateways(self.cp_dir)
        self.cp = Process(self.berth, self.cp_args(0), "control plane")
        self.processes.append(self.cp)
        self.cp_port = port_of(self.cp.wait_for("control plane listening"))
        return f"{self.cp_host}:{self.cp_port}"

    def gateway_dir(self, index):
        return self.gw_dir if index == 0 else f"{self.gw_dir}-{index}"

    def issue_gateways(self, cp_dir):
        """A certificate for each gateway, issued by the CA in `cp_dir`."""
        for index in range(self.gateway_count):
            run(self.berth, ["ca", "issue-gateway", "--data-dir", cp_dir, "--name", f"{self.name}-gw-{index}",
                             "--out", self.gateway_dir(index)])

    def start(self):
        servers = self.start_control_plane()
        server = f"{self.cp_host}:{self.cp_port}"
        if self.sim:
            sim = Process(self.berth, ["sim", "--server", servers, "--data-dir", self.cp_dir, "--state-dir",
                                       self.sim_state_dir, "--nodes", str(self.node_count), "--max-vms",
                                       str(self.max_vms), "--boot-time-ms", str(self.boot_ms), "--name-prefix",
                                       self.name], "sim")
            self.processes.append(sim)
            sim.wait_for(f"connected {self.node_count}/{self.node_count} (all", timeout=1800)
        for index in range(0 if self.sim else self.node_count):
            token = run(self.berth, ["token", "create", "--data-dir", self.cp_dir, "--server", server])
            fields = dict(line.split(None, 1) for line in token.splitlines() if len(line.split()) == 2)
            node_dir = os.path.join(self.root, f"node-{index}")
            run(self.berth, ["node", "join", "--server", server, "--token", fields["token:"], "--ca-hash",
                             fields["ca-hash:"], "--data-dir", node_dir, "--name", f"{self.name}-{index}"],
                prefix=self.node_prefix)
            node = Process(self.berth, ["node", "run", "--server", servers, "--data-dir", node_dir, "--boot-time-ms",
                                        str(self.boot_ms), "--max-vms", str(self.max_vms)] + self.node_extra,
                           f"node {index}", prefix=self.node_prefix)
            self.processes.append(node)
            node.wait_for("connected to control plane")
        ports = []
        for index in range(self.gateway_count):
            gateway = Process(self.berth, ["gateway", "--control-plane", servers, "--cert-dir",
                                           self.gateway_dir(index), "--http-port", "0", "--root-token", ROOT_TOKEN],
                              "gateway" if index == 0 else f"gateway {index}")
            self.processes.append(gateway)
            ports.append(port_of(gateway.wait_for("REST API listening")))
            gateway.wait_for("connected to control plane")
        self.api = API(*ports)
        status, pushed = self.api.call("PUT", f"/berth/v1/registry/push?name={self.name}&tag=v1&chunk_size=65536",
                                       raw=template_tar())
        if pushed.get("status") != "OK":
            raise RuntimeError(f"template push failed: {status} {pushed}")
        self.template = pushed["body"]["template_id"]

    def restart_control_plane(self, kill=True):
        if kill:
            self.cp.kill()
        self.cp = Process(self.berth, self.cp_args(self.cp_port), "control plane")
        self.processes.append(self.cp)
        self.cp.wait_for("control plane listening")

    def start_load(self, workers):
        """Starts `workers` REST clients, each keeping at most 2 instances (the oldest is
        terminated to make room), and a sampler of the node list for over-placement."""

        def call(method, path, body):
            sent = time.monotonic()
            status, reply = self.api.call(method, path, body=body)
            if reply.get("status") != "OK":
                envelope = reply.get("status") == "FAIL" and isinstance(reply.get("message"), str)
                with self.lock:
                    self.refusals.append((sent, time.monotonic(), status, envelope))
            return status, reply

        def worker():
            mine = []
            while not self.stopping.is_set():
                if len(mine) >= 2:
                    victim = mine.pop(0)
                    status, reply = call("DELETE", "/api/v1/vm", {"id": victim})
                    if reply.get("status") == "OK":
                        with self.lock:
                            self.terminated.add(victim)
                    else:
                        mine.insert(0, victim)
                        self.stopping.wait(0.05)
                    continue
                sent = time.monotonic()
                status, reply = call("POST", "/api/v1/vm", {"vmid": self.template})
                if reply.get("status") == "OK":
                    ids = reply.get("body") or []
                    with self.lock:
                        self.acknowledged.update(ids)
                        self.accepted_at.append((sent, time.monotonic()))
                    mine.extend(ids)
                else:
                    with self.lock:
                        self.refused += 1
                    self.stopping.wait(0.05)  # the control plane is down: a client's retry pause

        def sampler():
            while not self.stopping.is_set():
                status, reply = self.api.call("GET", "/api/v1/node")
                for node in reply.get("body") or []:
                    if node.get("vm_count", 0) > node.get("capacity", self.max_vms):
                        self.over_placed.append((node.get("node_id"), node.get("vm_count"), node.get("capacity")))
                self.stopping.wait(0.2)

        self.threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
        self.threads.append(threading.Thread(target=sampler, daemon=True))
        for thread in self.threads:
            thread.start()

    def stop_load(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def verify(self, settle=90):
        """Waits until every listed instance rests, then counts. Returns (counts, failed)."""
        deadline = time.monotonic() + settle
        duplicates_listed = 0
        while time.monotonic() < deadline:
            status, reply = self.api.call("GET", "/api/v1/vm")
            states, duplicates_listed = {}, 0
            for item in reply.get("body") or []:
                duplicates_listed += item["instance_id"] in states
                states[item["instance_id"]] = (item.get("vm") or {}).get("instance_state", "")
            if status == 200 and all(s in ("Started", "Terminated", "Error") for s in states.values()):
                break
            time.sleep(0.5)
        rows = dict(self.query("SELECT id, state FROM instances"))
        messages = dict(self.query("SELECT id, message FROM instances WHERE state = 'Error'"))
        integrity = self.integrity()
        double_starts = self.query(
            "SELECT instance_id FROM node_commands WHERE kind = 'start' "
            "GROUP BY instance_id HAVING COUNT(DISTINCT node_id) > 1")
        over_db = self.query(
            "SELECT n.id FROM nodes n JOIN instances i ON i.node_id = n.id "
            "WHERE i.state NOT IN ('Terminated', 'Error') GROUP BY n.id HAVING COUNT(i.id) > n.max_vm_count")
        # Terminated rows are kept for an hour (terminated retention), so they are all still here.
        lost = [i for i in self.acknowledged if i not in rows]
        failed_starts = [i for i in self.acknowledged if rows.get(i) == "Error"]
        orphans = sum(p.count("terminating an instance the controller does not run there")
                      for p in self.processes if p.name == "control plane")
        counts = {
            "acknowledged": len(self.acknowledged),
            "found": len(self.acknowledged) - len(lost),
            "lost": len(lost),
            "duplicated": len(double_starts) + duplicates_listed + orphans,
            "failed": len(failed_starts),
            "over-placed": len(self.over_placed) + len(over_db),
            "terminated": len(self.terminated),
            "refused": self.refused,
            "integrity": integrity,
        }
        for i in failed_starts[:5]:
            print(f"{self.name}: {i} ended in Error: {messages.get(i, '')}")
        bad = (lost or failed_starts or counts["duplicated"] or counts["over-placed"] or integrity != "ok"
               or not self.acknowledged)
        return counts, bool(bad)

    def query(self, sql):
        """Rows of `sql` on the control plane's state (the SQLite file; a PostgreSQL lab overrides it)."""
        import sqlite3

        database = sqlite3.connect(os.path.join(self.cp_dir, "berth.sqlite"), timeout=30)
        try:
            return database.execute(sql).fetchall()
        finally:
            database.close()

    def integrity(self):
        return self.query("PRAGMA integrity_check")[0][0]

    def count_in_control_plane_logs(self, fragment):
        return sum(p.count(fragment) for p in self.processes if p.name == "control plane")

    def stop(self):
        self.stopping.set()
        for process in reversed(self.processes):
            process.stop()
