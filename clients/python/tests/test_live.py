#!/usr/bin/env python3
"""Live test of the Python client against a real sgdspectra-server.

Starts the server (loopback, port 0, temporary data dir), generates the stubs into a temporary
folder with generate_stubs.sh, runs a small k-GMM job, and checks the event stream, the other
RPCs, the row/plot helpers, and, independently of the server's numerics, that the final weights
and test sample from GetResult reproduce the last snapshot's class-block eigenvalues (dense NumPy
recomputation of the data-fit Hessian and G-matrix blocks).

Usage: /usr/bin/python3 clients/python/tests/test_live.py --server-binary PATH [unittest args]
       (or SGDSPECTRA_SERVER_BINARY=PATH). --keep keeps the temporary folder (plots, server log).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_CLIENT_DIR = os.path.dirname(HERE)

ARGS = None
WORK_DIR = None
SERVER = None

SERVER_START_SECONDS = 30
SERVER_STOP_SECONDS = 30
RELATIVE_TOLERANCE = 1e-6

# A small job: d = 60, k = 3 (class blocks of size 60: solved densely by the server), 180 steps,
# snapshots at steps 0, 60, 120, 180, M_test = 120.
SMALL_KGMM_SPEC = {
    "name": "python-client-live-test",
    "seed": "20240601",
    "kgmm": {"dim": 60, "numClasses": 3, "snr": 50},
    "sgd": {"tEnd": 3},
    "schedule": {"kind": "EVERY_STEPS", "everySteps": 60},
    "analysis": {"testRatio": 2},
}


class LiveServer:
    """An sgdspectra-server subprocess on 127.0.0.1 with a port file; stop() sends SIGTERM."""

    def __init__(self, binary, work_dir, name=""):
        prefix = name + "-" if name else ""
        self.data_dir = os.path.join(work_dir, prefix + "data")
        self.port_file = os.path.join(work_dir, prefix + "port")
        self.log_path = os.path.join(work_dir, prefix + "server.log")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--port-file", self.port_file,
             "--data-dir", self.data_dir, "--workers", "2", "--threads", "1"],
            stdout=self._log, stderr=subprocess.STDOUT)
        self.address = "127.0.0.1:%d" % self._wait_for_port()

    def _wait_for_port(self):
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited with %s before serving:\n%s"
                                   % (self.process.returncode, self.log_tail()))
            try:
                with open(self.port_file) as f:
                    text = f.read().strip()
                if text:
                    return int(text)
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError("no port file within %d s:\n%s" % (SERVER_START_SECONDS,
                                                                  self.log_tail()))

    def log_tail(self, lines=40):
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode("utf-8", "replace")

    def stop(self):
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SERVER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self._log.close()
                return None
        self._log.close()
        return self.process.returncode


def generate_stubs(out_dir):
    script = os.path.join(PYTHON_CLIENT_DIR, "generate_stubs.sh")
    env = dict(os.environ, PYTHON=sys.executable)
    subprocess.run(["bash", script, out_dir], check=True, env=env, stdout=subprocess.DEVNULL)


def setUpModule():
    global WORK_DIR, SERVER, sgdspectra, np
    WORK_DIR = tempfile.mkdtemp(prefix="sgdspectra-python-test-")
    stubs_dir = os.path.join(WORK_DIR, "stubs")
    generate_stubs(stubs_dir)
    os.environ["SGDSPECTRA_STUBS_DIR"] = stubs_dir
    sys.path.insert(0, PYTHON_CLIENT_DIR)
    import numpy
    import sgdspectra as module

    sgdspectra, np = module, numpy
    SERVER = LiveServer(ARGS.server_binary, WORK_DIR)


def tearDownModule():
    code = SERVER.stop() if SERVER is not None else 0
    if ARGS.keep:
        print("kept %s" % WORK_DIR, file=sys.stderr)
    elif WORK_DIR:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    if code != 0:
        raise AssertionError("server exit code after SIGTERM: %s (want 0)" % code)


# -------------------------------------------------------------------------------------------
# Independent recomputation

def class_block_eigenvalues(weights, inputs, labels):
    """Eigenvalues (descending) of the data-fit Hessian and G-matrix class blocks (c, c) of the
    softmax cross-entropy on (inputs, labels): {("HESSIAN", c): array, ("G_MATRIX", c): array}.
        p = softmax(Y W^T),  H_cc = Y^T diag(p_c (1 - p_c)) Y / M,  G_cc = Y^T diag((p_c - y_c)^2) Y / M
    """
    m, _ = inputs.shape
    k = weights.shape[0]
    logits = inputs @ weights.T
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    onehot = np.zeros((m, k))
    onehot[np.arange(m), labels] = 1.0
    out = {}
    for c in range(k):
        p = probs[:, c]
        hessian = (inputs.T * (p * (1.0 - p))) @ inputs / m
        g_matrix = (inputs.T * (p - onehot[:, c]) ** 2) @ inputs / m
        out[("HESSIAN", c)] = np.linalg.eigvalsh(hessian)[::-1]
        out[("G_MATRIX", c)] = np.linalg.eigvalsh(g_matrix)[::-1]
    return out


def eigenvalue_mismatches(snapshot, recomputed, rtol=RELATIVE_TOLERANCE):
    """Each reported class-block top eigenvalue that differs from the recomputation by more than
    rtol relative; also a mismatch for a class block missing from the snapshot."""
    mismatches = []
    seen = set()
    for spectrum in snapshot.spectra:
        if spectrum.block != sgdspectra.jobs_pb2.CLASS_BLOCK:
            continue
        key = (sgdspectra.jobs_pb2.MatrixKind.Name(spectrum.matrix), spectrum.block_index)
        seen.add(key)
        expected = recomputed[key]
        reported = list(spectrum.top_eigenvalues)
        if not reported:
            mismatches.append((key, "no eigenvalues reported"))
        for j, value in enumerate(reported):
            if abs(value - expected[j]) > rtol * abs(expected[j]):
                mismatches.append((key, j, value, float(expected[j])))
    for key in sorted(set(recomputed) - seen):
        mismatches.append((key, "block missing from the snapshot"))
    return mismatches


# -------------------------------------------------------------------------------------------

class LiveClientTest(unittest.TestCase):
    events = None  # of the shared small job, run once

    @classmethod
    def setUpClass(cls):
        cls.client = sgdspectra.Client(SERVER.address, token="test-token")
        cls.client.wait_ready(timeout=10)
        cls.events = list(cls.client.run(SMALL_KGMM_SPEC, timeout=120))
        cls.job_id = cls.events[0].job_id

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def kinds(self):
        return [e.WhichOneof("kind") for e in self.events]

    def snapshots(self):
        return [e.snapshot for e in self.events if e.WhichOneof("kind") == "snapshot"]

    def test_run_streams_a_complete_event_sequence(self):
        events, kinds = self.events, self.kinds()
        self.assertEqual([e.seq for e in events], list(range(1, len(events) + 1)))
        self.assertEqual(kinds[0], "accepted")
        self.assertEqual(kinds[-1], "finished")
        self.assertEqual(kinds.count("accepted"), 1)
        self.assertEqual(kinds.count("finished"), 1)
        self.assertTrue(all(e.job_id == self.job_id for e in events))
        finished = events[-1].finished
        self.assertEqual(finished.state, sgdspectra.jobs_pb2.SUCCEEDED, finished.error_message)
        self.assertEqual(finished.reason, sgdspectra.jobs_pb2.COMPLETED)
        accepted = events[0].accepted
        self.assertEqual(accepted.resolved_spec.kgmm.dim, 60)
        self.assertEqual(accepted.test_sample_size, 120)
        self.assertEqual(accepted.steps_total, 180)
        self.assertEqual(list(accepted.snapshot_steps), [0, 60, 120, 180])
        self.assertEqual(accepted.cost_estimate.snapshots, 4)  # the server's cost estimate
        self.assertGreater(accepted.cost_estimate.total_flops, 0)
        snapshots = self.snapshots()
        self.assertEqual([s.step for s in snapshots], list(accepted.snapshot_steps))
        self.assertEqual([s.index for s in snapshots], list(range(len(snapshots))))
        self.assertEqual(finished.steps_done, 180)
        self.assertTrue(finished.HasField("rank"))
        self.assertEqual(finished.rank.expected_rank, 3)

    def check_last_snapshot_reproduced(self, job_id, snapshots, k, d, m):
        """GetResult's final weights + test sample give the last snapshot's class-block
        eigenvalues (dense NumPy), and the check rejects slightly wrong inputs."""
        result = self.client.result(job_id, include_test_sample=True)
        self.assertEqual(result.finished.state, sgdspectra.jobs_pb2.SUCCEEDED)
        weights = sgdspectra.matrix_to_numpy(result.weights)
        inputs = sgdspectra.matrix_to_numpy(result.test_inputs)
        labels = np.asarray(result.test_labels, dtype=np.int64)
        self.assertEqual(weights.shape, (k, d))
        self.assertEqual(sgdspectra.matrix_to_numpy(result.means).shape, (k, d))
        self.assertEqual(inputs.shape, (m, d))
        self.assertEqual(labels.shape, (m,))
        self.assertTrue(((labels >= 0) & (labels < k)).all(), "labels must be 0-based classes")
        self.assertTrue(np.isfinite(weights).all() and np.isfinite(inputs).all())

        last = snapshots[-1]
        self.assertEqual(last.step, result.finished.steps_done)
        recomputed = class_block_eigenvalues(weights, inputs, labels)
        reported = [s for s in last.spectra if s.block == sgdspectra.jobs_pb2.CLASS_BLOCK]
        self.assertEqual(len(reported), 2 * k)  # (H, G) x k classes
        self.assertEqual(eigenvalue_mismatches(last, recomputed), [])

        # The check can fail: slightly different weights (Hessian and G) or labels (G only)
        # must be caught.
        perturbed = class_block_eigenvalues(weights * 1.001, inputs, labels)
        self.assertTrue(any(m[0][0] == "HESSIAN" for m in eigenvalue_mismatches(last, perturbed)))
        relabelled = class_block_eigenvalues(weights, inputs, (labels + 1) % k)
        wrong = eigenvalue_mismatches(last, relabelled)
        self.assertTrue(wrong and all(m[0][0] == "G_MATRIX" for m in wrong))
        return reported

    def test_final_weights_reproduce_last_snapshot_class_block_eigenvalues(self):
        self.check_last_snapshot_reproduced(self.job_id, self.snapshots(), k=3, d=60, m=120)

    def test_lanczos_eigenvalues_reproduced_too(self):
        # Blocks of size <= 64 are solved densely by the server; d = 100 takes the (lockstep)
        # Lanczos path.
        spec = dict(SMALL_KGMM_SPEC, kgmm={"dim": 100, "numClasses": 3, "snr": 50},
                    schedule={"kind": "EVERY_STEPS", "everySteps": 150})
        events = list(self.client.run(spec, timeout=120))
        self.assertEqual(events[-1].finished.state, sgdspectra.jobs_pb2.SUCCEEDED)
        snapshots = [e.snapshot for e in events if e.WhichOneof("kind") == "snapshot"]
        self.assertEqual([s.step for s in snapshots], [0, 150, 300])
        reported = self.check_last_snapshot_reproduced(events[0].job_id, snapshots,
                                                       k=3, d=100, m=200)
        self.assertEqual({s.solver.method for s in reported}, {"lockstep_lanczos"})

    def test_streamed_test_sample_matches_get_result(self):
        result = self.client.result(self.job_id, include_test_sample=True)
        inputs, labels = self.client.test_sample(self.job_id, rows_per_chunk=7)
        np.testing.assert_array_equal(inputs, sgdspectra.matrix_to_numpy(result.test_inputs))
        np.testing.assert_array_equal(labels, np.asarray(result.test_labels))

    def test_result_without_test_sample_omits_it(self):
        result = self.client.result(self.job_id)
        self.assertEqual(len(result.test_inputs.values), 0)
        self.assertEqual(len(result.test_labels), 0)
        self.assertEqual(len(result.weights.values), 3 * 60)

    def test_watch_replays_after_seq_without_gap_or_duplicate(self):
        replay = list(self.client.watch(self.job_id, after_seq=2))
        self.assertEqual([e.SerializeToString(deterministic=True) for e in replay],
                         [e.SerializeToString(deterministic=True) for e in self.events[2:]])
        self.assertEqual(len(list(self.client.watch(self.job_id))), len(self.events))

    def test_get_and_list(self):
        job = self.client.get(self.job_id)
        self.assertEqual(job.state, sgdspectra.jobs_pb2.SUCCEEDED)
        self.assertEqual(job.last_seq, len(self.events))
        self.assertEqual(job.snapshots_done, 4)
        self.assertIn(self.job_id, [j.job_id for j in self.client.list(state="succeeded")])
        self.assertIn(self.job_id, [j.job_id for j in self.client.list()])
        self.assertNotIn(self.job_id, [j.job_id for j in self.client.list(state="RUNNING")])
        self.assertEqual(len(self.client.list(page_size=1, limit=1)), 1)

    def test_errors_carry_the_status_code(self):
        with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
            self.client.cancel(self.job_id)
        self.assertEqual(caught.exception.code, "FAILED_PRECONDITION")
        with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
            self.client.get("no-such-job")
        self.assertEqual(caught.exception.code, "NOT_FOUND")
        with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
            list(self.client.watch("no-such-job"))
        self.assertEqual(caught.exception.code, "NOT_FOUND")

    def test_invalid_spec_is_invalid_argument_naming_the_field(self):
        bad = {"kgmm": {"dim": 1}}
        with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
            self.client.submit(bad)
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
        self.assertIn("kgmm.dim", caught.exception.message)
        with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
            list(self.client.run(bad))
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
        self.assertIn("kgmm.dim", caught.exception.message)
        # Unknown keys are refused by the client before sending.
        with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
            self.client.submit({"kgmm": {"dimension": 60}})
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")

    def test_submit_watch_and_cancel(self):
        spec = sgdspectra.jobs_pb2.JobSpec()
        spec.kgmm.dim = 2000
        spec.sgd.t_end = 100000  # far longer than the test: it is cancelled
        job = self.client.submit(spec)
        self.assertIn(job.state, (sgdspectra.jobs_pb2.QUEUED, sgdspectra.jobs_pb2.RUNNING))
        cancelled = self.client.cancel(job.job_id)
        self.assertIn(cancelled.state, (sgdspectra.jobs_pb2.CANCELLED, sgdspectra.jobs_pb2.RUNNING,
                                        sgdspectra.jobs_pb2.QUEUED))
        events = list(self.client.watch(job.job_id, timeout=60))
        self.assertEqual([e.seq for e in events], list(range(1, len(events) + 1)))
        self.assertEqual(events[-1].WhichOneof("kind"), "finished")
        self.assertEqual(events[-1].finished.state, sgdspectra.jobs_pb2.CANCELLED)
        self.assertEqual(events[-1].finished.reason, sgdspectra.jobs_pb2.CANCELLED_BY_USER)
        self.assertEqual(self.client.get(job.job_id).state, sgdspectra.jobs_pb2.CANCELLED)

    def test_snapshot_rows(self):
        rows = sgdspectra.snapshot_rows(self.events)
        snapshots = self.snapshots()
        self.assertEqual(len(rows), sum(len(s.spectra) for s in snapshots))
        class_rows = [r for r in rows if r["block"] == "CLASS_BLOCK"]
        self.assertEqual(len(class_rows), 6 * len(snapshots))
        self.assertEqual({r["matrix"] for r in rows} >= {"HESSIAN", "G_MATRIX"}, True)
        last = snapshots[-1]
        last_rows = [r for r in rows if r["index"] == last.index]
        for row, spectrum in zip(last_rows, last.spectra):
            self.assertEqual(row["job_id"], self.job_id)
            self.assertEqual(row["step"], last.step)
            self.assertAlmostEqual(row["time"], last.time)
            self.assertEqual(row["top_eigenvalues"], list(spectrum.top_eigenvalues))
            self.assertEqual(row["top_eigenvalue"], spectrum.top_eigenvalues[0])
            self.assertEqual(row["outlier_count"], spectrum.outlier_count)
            self.assertEqual(row["expected_outliers"], spectrum.expected_outliers)
            self.assertEqual(row["bulk_edge"], spectrum.bulk_edge)
            self.assertEqual(row["test_accuracy"], last.test_accuracy)
        for row in class_rows:
            self.assertEqual(row["expected_outliers"], 3)
            self.assertIn(row["block_index"], (0, 1, 2))
            self.assertTrue(0.0 <= row["alignment_at_expected"] <= 1.0 + 1e-9)
        try:
            import pandas  # noqa: F401
        except ImportError:
            with self.assertRaises(ImportError):
                sgdspectra.to_dataframe(rows)
        else:
            frame = sgdspectra.to_dataframe(self.events)
            self.assertEqual(len(frame), len(rows))

    def test_plot_snapshots_writes_png_and_svg(self):
        rows = sgdspectra.snapshot_rows(self.events)
        png = os.path.join(WORK_DIR, "spectra.png")
        svg = os.path.join(WORK_DIR, "spectra.svg")
        figure = sgdspectra.plot_snapshots(rows, png)
        sgdspectra.plot_snapshots(rows, svg, blocks=("CLASS_BLOCK",))
        self.assertGreater(len(figure.axes), 0)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(png), 10000)
        with open(svg, "rb") as f:
            self.assertIn(b"<svg", f.read(2000))


TINY_KGMM_SPEC = {
    "name": "python-two-replicas",
    "kgmm": {"dim": 40, "numClasses": 3, "snr": 50},
    "sgd": {"tEnd": 2},
    "schedule": {"kind": "EVERY_STEPS", "everySteps": 40},
}


class TwoReplicaTest(unittest.TestCase):
    """Scaling out: one Client over two servers balances new jobs across both, and finds the
    replica of a job for the calls about it."""

    @classmethod
    def setUpClass(cls):
        cls.second = LiveServer(ARGS.server_binary, WORK_DIR, name="second")
        cls.client = sgdspectra.Client(SERVER.address + "," + cls.second.address, timeout=60)
        cls.client.wait_ready(timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        code = cls.second.stop()
        if code != 0:
            raise AssertionError("second server exit code after SIGTERM: %s" % code)

    def test_parse_target_expands_lists_and_names(self):
        target, endpoints = sgdspectra.parse_target("127.0.0.1:5001,127.0.0.1:5002")
        self.assertEqual(target, "ipv4:127.0.0.1:5001,127.0.0.1:5002")
        self.assertEqual(endpoints, ["127.0.0.1:5001", "127.0.0.1:5002"])
        target, endpoints = sgdspectra.parse_target("dns:///localhost:5003")
        self.assertEqual(target, "dns:///localhost:5003")
        self.assertIn("127.0.0.1:5003", endpoints)
        with self.assertRaises(ValueError):
            sgdspectra.parse_target("127.0.0.1:1,[::1]:2")

    def test_jobs_spread_over_both_replicas_and_every_result_is_collected(self):
        specs = [dict(TINY_KGMM_SPEC, seed=str(seed)) for seed in range(8)]
        finished = {}
        for events in self.client.run_all(specs, max_workers=4, timeout=120):
            self.assertEqual(events[-1].finished.state, sgdspectra.jobs_pb2.SUCCEEDED)
            self.assertEqual([e.seq for e in events], list(range(1, len(events) + 1)))
            finished[events[0].job_id] = events[-1].finished
        self.assertEqual(len(finished), 8, "job ids must be unique across replicas")

        per_replica = []
        for server in (SERVER, self.second):
            with sgdspectra.Client(server.address) as single:
                per_replica.append({job.job_id for job in single.list()
                                    if job.resolved_spec.name == TINY_KGMM_SPEC["name"]})
        print("jobs per replica: %d + %d" % tuple(len(ids) for ids in per_replica),
              file=sys.stderr)
        self.assertGreaterEqual(len(per_replica[0]), 1)
        self.assertGreaterEqual(len(per_replica[1]), 1)
        self.assertFalse(per_replica[0] & per_replica[1])
        self.assertEqual(per_replica[0] | per_replica[1], set(finished))
        merged = {job.job_id for job in self.client.list()}
        self.assertTrue(set(finished) <= merged)

        for job_id, final in finished.items():
            result = self.client.result(job_id)  # found on whichever replica ran it
            self.assertEqual(result.job.job_id, job_id)
            self.assertEqual(result.finished.final_test_accuracy, final.final_test_accuracy)
            expected = SERVER.address if job_id in per_replica[0] else self.second.address
            self.assertEqual(self.client.replica_of(job_id), expected)

        on_second = next(iter(per_replica[1]))
        with sgdspectra.Client(SERVER.address) as first_only:
            with self.assertRaises(sgdspectra.SgdSpectraError) as raised:
                first_only.get(on_second)
            self.assertEqual(raised.exception.code, "NOT_FOUND")


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-binary", default=os.environ.get("SGDSPECTRA_SERVER_BINARY"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ARGS, rest = parser.parse_known_args()
    if not ARGS.server_binary:
        parser.error("--server-binary (or SGDSPECTRA_SERVER_BINARY) is required")
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
