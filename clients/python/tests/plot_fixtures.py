"""Real events for the sgdspectra.plot tests: a child sgdspectra-server and the sgdspectra CLI
make small k-GMM and XOR jobs and sweep folders (about 5 s in all), once per test process.

    fixtures = plot_fixtures.make(server_binary, cli_binary)   # a temporary folder, removed at exit
    fixtures.kgmm_log       k-GMM d=40 k=3 lambda=20, log-spaced snapshots (t = 0 .. 8)
    fixtures.kgmm_every     k-GMM d=40 k=3 lambda=20, a snapshot every 40 steps (t = 0 .. 4),
                            solve target TOP_R (10 pairs per class block, 16 for the full ones)
    fixtures.xor            XOR d=40 K=4 lambda=1000, log-spaced snapshots (t = 0 .. 10)
    fixtures.xor_sweep      sweep folder: the XOR job over seeds 0:6
    fixtures.kgmm_sweep     sweep folder: k-GMM --set lambda=20,100 over seeds 0:2
    fixtures.server         the running ChildServer (address, stop())
    fixtures.cli(*args)     runs the CLI against it; returns its stdout
"""

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time

SERVER_START_SECONDS = 30
COMMAND_SECONDS = 120

KGMM = ["--task", "kgmm", "--d", "40", "--k", "3", "--lambda", "20", "--seed", "3"]
XOR = ["--task", "xor", "--d", "40", "--hidden", "4", "--lambda", "1000", "--seed", "22"]


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


class ChildServer:
    """sgdspectra-server on a free loopback port; stop() sends SIGTERM (then SIGKILL)."""

    def __init__(self, binary, workdir):
        port_file = os.path.join(workdir, "port")
        self.log_path = os.path.join(workdir, "server.log")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--port-file", port_file, "--data-dir",
             os.path.join(workdir, "data"), "--workers", "2", "--threads", "1"],
            stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _read(port_file):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not start:\n" + _read(self.log_path))
            time.sleep(0.05)
        self.address = "127.0.0.1:" + _read(port_file)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Fixtures:
    def __init__(self, server_binary, cli_binary, workdir):
        self.workdir = workdir
        self.cli_binary = cli_binary
        self.server = ChildServer(server_binary, workdir)

    def cli(self, *args):
        done = subprocess.run([self.cli_binary, "--server", self.server.address] + list(args),
                              capture_output=True, text=True, timeout=COMMAND_SECONDS)
        if done.returncode != 0:
            raise RuntimeError("sgdspectra %s exited with %d:\n%s%s" % (
                " ".join(args), done.returncode, done.stdout[-2000:], done.stderr[-2000:]))
        return done.stdout

    def events_file(self, name, *args):
        path = os.path.join(self.workdir, name + ".events.jsonl")
        with open(path, "w") as f:
            f.write(self.cli("run", "-o", "jsonl", *args))
        return path

    def sweep(self, name, *args):
        folder = os.path.join(self.workdir, name)
        self.cli("sweep", *args, "--out", folder)
        return folder


def make(server_binary, cli_binary):
    """Starts the server and makes every fixture; the folder and server go at exit."""
    workdir = tempfile.mkdtemp(prefix="sgdspectra-plot-test-")
    fixtures = Fixtures(server_binary, cli_binary, workdir)

    def cleanup():
        fixtures.server.stop()
        if not os.environ.get("SGDSPECTRA_KEEP_TEST_FILES"):
            shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(cleanup)
    fixtures.kgmm_log = fixtures.events_file("kgmm_log", *KGMM, "--t-end", "8",
                                             "--num-points", "5")
    fixtures.kgmm_every = fixtures.events_file("kgmm_every", *KGMM, "--t-end", "4",
                                               "--every-steps", "40", "--solve-target", "top_r")
    fixtures.xor = fixtures.events_file("xor", *XOR, "--t-end", "10", "--num-points", "5")
    fixtures.xor_sweep = fixtures.sweep("xor_sweep", *XOR, "--t-end", "10", "--num-points", "5",
                                        "--seeds", "0:6")
    fixtures.kgmm_sweep = fixtures.sweep("kgmm_sweep", *KGMM, "--t-end", "4", "--every-steps",
                                         "40", "--set", "lambda=20,100", "--seeds", "0:2")
    return fixtures
