#!/usr/bin/env python3
"""A bounded load test of sgdspectra-server on loopback, through the Python client.

Starts its own server (127.0.0.1, port 0, a temporary data dir; with --tls, throwaway openssl
certificates; one bearer token per client), then runs N concurrent clients, each a principal of
its own, for T seconds: every client keeps M jobs in flight, follows each with W watchers, and
submits a new job when one ends. After T no new jobs start and the ones in flight finish.

Checked for every job (any failure makes the exit status 1):
  * lost events: every watcher saw seq 1, 2, ..., n with no gap, ending in `finished`, all
    watchers of a job the same n, and a replay of the finished job (WatchJob from seq 0, served
    from the store) gives the same n events, byte for byte;
  * stuck streams: a watcher that has not ended --stream-deadline seconds after its job was
    submitted;
  * ownership (with tokens): each client's ListJobs shows exactly the jobs it submitted.
Reported: jobs, events, submit latency, peak RSS of the server (VmHWM) and its RSS at the end.

Usage: /usr/bin/python3 scripts/load_test.py --server-binary build/server/sgdspectra-server
           [--clients 8] [--jobs-per-client 3] [--watchers 2] [--duration 60] [--tls]
           [--dim 200] [--json summary.json] [--keep]
Stubs come from $SGDSPECTRA_STUBS_DIR (CTest sets it), else they are generated (stubgen.py).
"""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python", "tests"))
import support  # noqa: E402  (clients/python/tests/support.py: the checkout import path)

sgdspectra = support.use_checkout()
import grpc  # noqa: E402

SERVER_START_SECONDS = 30


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server-binary", required=True)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--jobs-per-client", type=int, default=3, help="jobs in flight per client")
    parser.add_argument("--watchers", type=int, default=2, help="watchers per job")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of new submissions")
    parser.add_argument("--dim", type=int, default=200, help="d of each k-GMM job")
    parser.add_argument("--workers", type=int, default=2, help="the server's --workers")
    parser.add_argument("--stream-deadline", type=float, default=600.0)
    parser.add_argument("--tls", action="store_true", help="TLS with throwaway certificates")
    parser.add_argument("--no-auth", action="store_true", help="no tokens (one principal)")
    parser.add_argument("--json", help="also write the summary here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (server log)")
    args = parser.parse_args()
    for name in ("clients", "jobs_per_client", "watchers", "dim", "workers"):
        if getattr(args, name) < 1:
            parser.error("--%s must be at least 1" % name.replace("_", "-"))
    return args


def job_spec(args, index):
    """A small k-GMM job (a second or two): progress events every 50 steps and 4 snapshots."""
    return {
        "name": "load-%d" % index,
        "seed": str(1000 + index),
        "kgmm": {"dim": args.dim, "numClasses": 3, "snr": 20},
        "sgd": {"tEnd": 2},
        "schedule": {"numPoints": 4},
        "analysis": {"testRatio": 2},
        "progressEverySteps": "50",
    }


def make_certificates(folder):
    """A CA and a server certificate for 127.0.0.1 / localhost (openssl); returns paths."""
    def run(*command):
        subprocess.run(command, check=True, cwd=folder, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=load-test-ca", "-keyout", "ca.key", "-out", "ca.crt")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(folder, "san.ext"), "w") as ext:
        ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.crt")
    return {name: os.path.join(folder, name) for name in ("ca.crt", "server.crt", "server.key")}


class Server:
    """The server process under test, and a sampler of its resident memory."""

    def __init__(self, args, folder, tokens_file, certificates):
        self.port_file = os.path.join(folder, "port")
        command = [args.server_binary, "--listen", "127.0.0.1:0", "--port-file", self.port_file,
                   "--data-dir", os.path.join(folder, "data"), "--workers", str(args.workers),
                   "--queue", str(args.clients * args.jobs_per_client)]
        if tokens_file:
            command += ["--auth-tokens", tokens_file]
        if certificates:
            command += ["--tls-cert", certificates["server.crt"],
                        "--tls-key", certificates["server.key"]]
        self.log = open(os.path.join(folder, "server.log"), "w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self._wait_for_port()
        self.rss_samples = []
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _wait_for_port(self):
        deadline = time.time() + SERVER_START_SECONDS
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited with %d at start" % self.process.returncode)
            if os.path.exists(self.port_file):
                return int(open(self.port_file).read())
            time.sleep(0.05)
        raise RuntimeError("server did not start within %d s" % SERVER_START_SECONDS)

    def status_kib(self, key):
        with open("/proc/%d/status" % self.process.pid) as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def _sample(self):
        while not self._stop.wait(0.25):
            try:
                self.rss_samples.append(self.status_kib("VmRSS"))
            except OSError:
                return

    def stop(self):
        self._stop.set()
        peak = self.status_kib("VmHWM")
        end = self.status_kib("VmRSS")
        self.process.terminate()
        code = self.process.wait(timeout=60)
        self.log.close()
        return peak, end, code


class Tally:
    """Counts shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.jobs = 0
        self.events = 0
        self.replayed = 0
        self.lost = []
        self.stuck = []
        self.errors = []
        self.submit_seconds = []

    def add(self, **fields):
        with self.lock:
            for name, value in fields.items():
                current = getattr(self, name)
                if isinstance(current, list):
                    current.append(value)
                else:
                    setattr(self, name, current + value)


def follow(client, job_id, deadline, seen):
    """One watcher: the seqs and serialized events it saw, or an error string."""
    try:
        stream = client.watch(job_id, timeout=max(1.0, deadline - time.time()))
        events = [(event.seq, event.kind, event.to_proto().SerializeToString())
                  for event in stream]
        seen.append(events)
    except Exception as error:  # noqa: BLE001 (recorded and reported)
        seen.append(str(error))


def check_job(client, job_id, watched, tally):
    """Lost events: gaps, a missing `finished`, watchers that disagree, or a replay that differs."""
    lengths = set()
    for events in watched:
        if isinstance(events, str):
            kind = "stuck" if "DEADLINE_EXCEEDED" in events else "errors"
            tally.add(**{kind: "%s: %s" % (job_id, events)})
            return
        seqs = [seq for seq, _, _ in events]
        if seqs != list(range(1, len(seqs) + 1)) or not events or events[-1][1] != "finished":
            tally.add(lost="%s: seqs %s..%s (%d)" % (job_id, seqs[:1], seqs[-1:], len(seqs)))
            return
        lengths.add(len(events))
    if len(lengths) != 1:
        tally.add(lost="%s: watchers saw %s events" % (job_id, sorted(lengths)))
        return
    replay = [event.to_proto().SerializeToString() for event in client.watch(job_id)]
    if replay != [serialized for _, _, serialized in watched[0]]:
        tally.add(lost="%s: replay of the finished job differs (%d events)" % (job_id, len(replay)))
        return
    tally.add(jobs=1, events=len(replay), replayed=len(replay))


def run_one_job(args, client, index, tally, submitted):
    started = time.time()
    job = client.submit(job_spec(args, index))
    tally.add(submit_seconds=time.time() - started)
    submitted.append(job.job_id)
    seen = []
    deadline = started + args.stream_deadline
    watchers = [threading.Thread(target=follow, args=(client, job.job_id, deadline, seen))
                for _ in range(args.watchers)]
    for watcher in watchers:
        watcher.start()
    for watcher in watchers:
        watcher.join()
    check_job(client, job.job_id, seen, tally)


def run_client(args, number, address, token, credentials, stop_at, tally):
    """One principal: M job loops until stop_at, then its ListJobs must be exactly its jobs."""
    submitted = []
    with sgdspectra.Client(address, token, credentials=credentials) as client:
        def loop(slot):
            index = 0
            while time.time() < stop_at:
                try:
                    run_one_job(args, client, number * 100000 + slot * 1000 + index, tally,
                                submitted)
                except Exception as error:  # noqa: BLE001 (recorded and reported)
                    tally.add(errors="client %d: %s" % (number, error))
                    return
                index += 1

        loops = [threading.Thread(target=loop, args=(slot,))
                 for slot in range(args.jobs_per_client)]
        for thread in loops:
            thread.start()
        for thread in loops:
            thread.join()
        if token:
            listed = sorted(job.job_id for job in client.list())
            if listed != sorted(submitted):
                tally.add(errors="client %d lists %d jobs, submitted %d"
                          % (number, len(listed), len(submitted)))


def main():
    args = parse_args()
    folder = tempfile.mkdtemp(prefix="sgdspectra-load-")
    tokens = {} if args.no_auth else {
        "client%d" % i: secrets.token_hex(32) for i in range(args.clients)}
    tokens_file = None
    if tokens:
        tokens_file = os.path.join(folder, "tokens")
        with open(tokens_file, "w") as out:
            out.writelines("%s %s\n" % item for item in tokens.items())
    certificates = make_certificates(folder) if args.tls else None
    credentials = None
    if certificates:
        with open(certificates["ca.crt"], "rb") as ca:
            credentials = grpc.ssl_channel_credentials(root_certificates=ca.read())
    server = Server(args, folder, tokens_file, certificates)
    address = "127.0.0.1:%d" % server.port
    tally = Tally()
    began = time.time()
    stop_at = began + args.duration
    threads = [threading.Thread(target=run_client, args=(
        args, i, address, tokens.get("client%d" % i), credentials, stop_at, tally))
        for i in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.time() - began
    peak_kib, end_kib, exit_code = server.stop()
    latencies = sorted(tally.submit_seconds)
    summary = {
        "clients": args.clients, "jobs_in_flight_per_client": args.jobs_per_client,
        "watchers_per_job": args.watchers, "submit_seconds": args.duration, "tls": args.tls,
        "tokens": bool(tokens), "dim": args.dim, "workers": args.workers,
        "wall_seconds": round(wall, 1), "jobs_checked": tally.jobs,
        "events_streamed": tally.events * args.watchers, "events_replayed": tally.replayed,
        "lost": len(tally.lost), "stuck": len(tally.stuck), "errors": len(tally.errors),
        "submit_p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
        "submit_max_ms": round(1000 * latencies[-1], 1) if latencies else None,
        "server_peak_rss_mib": round(peak_kib / 1024, 1),
        "server_end_rss_mib": round(end_kib / 1024, 1),
        "server_exit_code": exit_code,
    }
    for problem in tally.lost + tally.stuck + tally.errors:
        print("PROBLEM", problem)
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(summary, out, indent=2)
    if args.keep:
        print("work folder kept:", folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    failed = tally.lost or tally.stuck or tally.errors or tally.jobs == 0 or exit_code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
