#!/usr/bin/env python3
"""Live test of the Python client against a real sgdspectra-server.

Starts the server (loopback, port 0, temporary data dir) and runs small k-GMM jobs through the
sync Client and the AsyncClient, checking the event stream, the other RPCs, leaving a followed job
on Ctrl-C (with and without cancel_on_exit), the tidy frames against the events they come from
(and, with --cli-binary, against the CLI's own jsonl output and a real `sgdspectra sweep` folder),
and, independently of the server's numerics, that the final weights and test sample from
GetResult reproduce the last snapshot's class-block eigenvalues and weight/mean products (dense
NumPy recomputation of the data-fit Hessian and G-matrix blocks).

Usage: /usr/bin/python3 clients/python/tests/test_live.py --server-binary PATH
           [--cli-binary PATH] [unittest args]
       (or SGDSPECTRA_SERVER_BINARY / SGDSPECTRA_CLI_BINARY). --keep keeps the temporary folder
       (server logs, sweep folder). Stubs: see support.py ($SGDSPECTRA_STUBS_DIR, else generated
       into a temporary folder).
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
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

# Far longer than any test: followed, then left (Ctrl-C) or cancelled. No SGD progress events
# (progress_every_steps is huge), so the stream is mostly idle while it is followed.
LONG_KGMM_SPEC = {
    "name": "python-client-long",
    "kgmm": {"dim": 400},
    "sgd": {"tEnd": 1000000},
    "schedule": {"numPoints": 2},
    "progressEverySteps": "1000000000000",
}


class LiveServer:
    """An sgdspectra-server subprocess on 127.0.0.1 with a port file; stop() sends SIGTERM."""

    def __init__(self, binary, work_dir, name="", extra_args=()):
        prefix = name + "-" if name else ""
        self.data_dir = os.path.join(work_dir, prefix + "data")
        self.port_file = os.path.join(work_dir, prefix + "port")
        self.log_path = os.path.join(work_dir, prefix + "server.log")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--port-file", self.port_file,
             "--data-dir", self.data_dir, "--workers", "2", "--threads", "1"] + list(extra_args),
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


def setUpModule():
    global WORK_DIR, SERVER, sgdspectra, np, pandas
    WORK_DIR = tempfile.mkdtemp(prefix="sgdspectra-python-test-")
    sys.path.insert(0, HERE)
    import support

    sgdspectra = support.use_checkout()
    import numpy
    import pandas as pandas_module

    np, pandas = numpy, pandas_module
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


def eigenvalue_mismatches(spectra, recomputed, rtol=RELATIVE_TOLERANCE):
    """Each reported class-block top eigenvalue (spectra_frame rows of one snapshot) that differs
    from the recomputation by more than rtol relative; also a mismatch for a class block missing
    from the frame."""
    mismatches = []
    seen = set()
    for row in spectra[spectra["block"] == "CLASS_BLOCK"].itertuples():
        key = (row.matrix, row.block_index)
        seen.add(key)
        expected = recomputed[key][row.eig_index]
        if abs(row.eigenvalue - expected) > rtol * abs(expected):
            mismatches.append((key, row.eig_index, row.eigenvalue, float(expected)))
    for key in sorted(set(recomputed) - seen):
        mismatches.append((key, "block missing from the snapshot"))
    return mismatches


def snapshots_of(events):
    return [e.snapshot for e in events if e.kind == "snapshot"]


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

    def test_run_streams_a_complete_typed_event_sequence(self):
        events = self.events
        kinds = [e.kind for e in events]
        self.assertTrue(all(isinstance(e, sgdspectra.Event) for e in events))
        self.assertEqual([e.seq for e in events], list(range(1, len(events) + 1)))
        self.assertIs(type(events[0].seq), int)
        self.assertEqual(kinds[0], "accepted")
        self.assertEqual(kinds[-1], "finished")
        self.assertEqual(kinds.count("accepted"), 1)
        self.assertEqual(kinds.count("finished"), 1)
        self.assertTrue(all(e.job_id == self.job_id for e in events))
        finished = events[-1].finished
        self.assertIs(finished.state, sgdspectra.JobState.SUCCEEDED, finished.error_message)
        self.assertIs(finished.reason, sgdspectra.FinishReason.COMPLETED)
        accepted = events[0].accepted
        self.assertEqual(accepted.resolved_spec.kgmm.dim, 60)
        self.assertEqual(accepted.test_sample_size, 120)
        self.assertEqual(accepted.steps_total, 180)
        self.assertEqual(accepted.snapshot_steps.tolist(), [0, 60, 120, 180])
        self.assertEqual(accepted.cost_estimate.snapshots, 4)  # the server's cost estimate
        self.assertGreater(accepted.cost_estimate.total_flops, 0)
        snapshots = snapshots_of(events)
        self.assertEqual([s.step for s in snapshots], accepted.snapshot_steps.tolist())
        self.assertEqual([s.index for s in snapshots], list(range(len(snapshots))))
        self.assertEqual(finished.steps_done, 180)
        self.assertIsNotNone(finished.rank)
        self.assertEqual(finished.rank.expected_rank, 3)
        self.assertIsInstance(snapshots[-1].spectra[0].top_eigenvalues, np.ndarray)
        # The typed events are the proto messages, converted without loss.
        replay = list(self.client._stub.WatchJob(
            sgdspectra.jobs_pb2.WatchJobRequest(job_id=self.job_id)))
        self.assertEqual([e.to_proto() for e in events], replay)

    def check_last_snapshot_reproduced(self, job_id, events, k, d, m):
        """GetResult's final weights + test sample give the last snapshot's class-block
        eigenvalues (dense NumPy), and the check rejects slightly wrong inputs."""
        result = self.client.result(job_id, include_test_sample=True)
        self.assertIs(result.finished.state, sgdspectra.JobState.SUCCEEDED)
        weights, inputs, labels = result.weights, result.test_inputs, result.test_labels
        self.assertEqual(weights.shape, (k, d))
        self.assertEqual(result.means.shape, (k, d))
        self.assertEqual(inputs.shape, (m, d))
        self.assertEqual(labels.shape, (m,))
        self.assertTrue(((labels >= 0) & (labels < k)).all(), "labels must be 0-based classes")
        self.assertTrue(np.isfinite(weights).all() and np.isfinite(inputs).all())

        spectra = sgdspectra.spectra_frame(events)
        last_index = spectra["snapshot_index"].max()
        last = spectra[spectra["snapshot_index"] == last_index]
        self.assertEqual(last["step"].iloc[0], result.finished.steps_done)
        recomputed = class_block_eigenvalues(weights, inputs, labels)
        class_rows = last[last["block"] == "CLASS_BLOCK"]
        self.assertEqual(len(class_rows.groupby(["matrix", "block_index"])), 2 * k)
        self.assertEqual(eigenvalue_mismatches(last, recomputed), [])

        # The check can fail: slightly different weights (Hessian and G) or labels (G only)
        # must be caught.
        perturbed = class_block_eigenvalues(weights * 1.001, inputs, labels)
        self.assertTrue(any(m[0][0] == "HESSIAN" for m in eigenvalue_mismatches(last, perturbed)))
        relabelled = class_block_eigenvalues(weights, inputs, (labels + 1) % k)
        wrong = eigenvalue_mismatches(last, relabelled)
        self.assertTrue(wrong and all(m[0][0] == "G_MATRIX" for m in wrong))

        # x^c . mu_a, |x^c| and |x^c off span(mu)| of the last snapshot, from the final weights.
        snapshot = sgdspectra.snapshots_frame(events).iloc[-1]
        products = weights @ result.means.T
        basis, _ = np.linalg.qr(result.means.T)
        off = weights - (weights @ basis) @ basis.T
        for c in range(k):
            for a in range(k):
                self.assertAlmostEqual(snapshot["weight_mean_products[%d][%d]" % (c, a)],
                                       products[c, a], delta=1e-9 * (1 + abs(products[c, a])))
            self.assertAlmostEqual(snapshot["weight_norms[%d]" % c],
                                   np.linalg.norm(weights[c]), delta=1e-9)
            self.assertAlmostEqual(snapshot["off_mean_norms[%d]" % c],
                                   np.linalg.norm(off[c]), delta=1e-9)
        return last

    def test_final_weights_reproduce_last_snapshot_class_block_eigenvalues(self):
        self.check_last_snapshot_reproduced(self.job_id, self.events, k=3, d=60, m=120)

    def test_lanczos_eigenvalues_reproduced_too(self):
        # Blocks of size <= 64 are solved densely by the server; d = 100 takes the (lockstep)
        # Lanczos path.
        spec = dict(SMALL_KGMM_SPEC, kgmm={"dim": 100, "numClasses": 3, "snr": 50},
                    schedule={"kind": "EVERY_STEPS", "everySteps": 150})
        events = list(self.client.run(spec, timeout=120))
        self.assertIs(events[-1].finished.state, sgdspectra.JobState.SUCCEEDED)
        self.assertEqual([s.step for s in snapshots_of(events)], [0, 150, 300])
        last = self.check_last_snapshot_reproduced(events[0].job_id, events, k=3, d=100, m=200)
        class_rows = last[last["block"] == "CLASS_BLOCK"]
        self.assertEqual(set(class_rows["solver_method"]), {"lockstep_lanczos"})

    def test_spectra_frame_matches_the_events(self):
        frame = sgdspectra.spectra_frame(self.events)
        snapshots = snapshots_of(self.events)
        self.assertEqual(len(frame), sum(len(s.top_eigenvalues) for snap in snapshots
                                         for s in snap.spectra))
        self.assertEqual(list(frame.columns[:len(sgdspectra.frames.SPECTRA_COLUMNS)]),
                         sgdspectra.frames.SPECTRA_COLUMNS)
        for snapshot in snapshots:
            for spectrum in snapshot.spectra:
                rows = frame[(frame["snapshot_index"] == snapshot.index)
                             & (frame["matrix"] == spectrum.matrix.name)
                             & (frame["block"] == spectrum.block.name)
                             & (frame["block_index"] == spectrum.block_index)]
                self.assertEqual(rows["eigenvalue"].tolist(), spectrum.top_eigenvalues.tolist())
                self.assertEqual(rows["eig_index"].tolist(),
                                 list(range(len(spectrum.top_eigenvalues))))
                self.assertEqual(int(rows["is_outlier"].sum()), spectrum.outlier_count)
                first = rows.iloc[0]
                self.assertEqual(first["step"], snapshot.step)
                self.assertEqual(first["time"], snapshot.time)
                self.assertEqual(first["bulk_edge"], spectrum.bulk_edge)
                self.assertEqual(first["outlier_threshold"], spectrum.outlier_threshold)
                self.assertEqual(first["alignment_at_expected"], spectrum.alignment_at_expected)
                self.assertEqual(first["solver_products"], spectrum.solver.products)
                self.assertEqual(first["edge_solver_products"], spectrum.edge_solver.products)
                self.assertEqual(first["edge_method"], spectrum.edge_method.name)
                self.assertEqual(bool(first["count_certified"]), spectrum.count_certified)
        class_rows = frame[frame["block"] == "CLASS_BLOCK"]
        self.assertEqual(set(class_rows["expected_outliers"]), {3})
        self.assertEqual(set(class_rows["block_index"]), {0, 1, 2})
        self.assertEqual(set(frame["matrix"]), {"HESSIAN", "G_MATRIX"})
        self.assertTrue(((class_rows["alignment_at_expected"] >= 0)
                         & (class_rows["alignment_at_expected"] <= 1 + 1e-9)).all())

    def test_other_frames_match_the_events(self):
        snapshots = snapshots_of(self.events)
        frame = sgdspectra.snapshots_frame(self.events)
        self.assertEqual(frame["snapshot_index"].tolist(), [s.index for s in snapshots])
        self.assertEqual(frame["test_accuracy"].tolist(), [s.test_accuracy for s in snapshots])
        self.assertEqual(frame["total_products"].tolist(), [s.total_products for s in snapshots])
        for snapshot, (_, row) in zip(snapshots, frame.iterrows()):
            matrix = snapshot.weight_mean_matrix
            self.assertEqual(matrix.shape, (3, 3))
            for c in range(3):
                for a in range(3):
                    self.assertEqual(row["weight_mean_products[%d][%d]" % (c, a)], matrix[c, a])
        finished = self.events[-1].finished
        row = sgdspectra.finished_frame(self.events).iloc[0]
        self.assertEqual(row["state"], "SUCCEEDED")
        self.assertEqual(row["reason"], "COMPLETED")
        self.assertEqual(row["final_test_accuracy"], finished.final_test_accuracy)
        self.assertEqual(row["outlier_rank"], finished.rank.outlier_rank)
        self.assertEqual([row["h_block_outliers[%d]" % c] for c in range(3)],
                         finished.rank.h_block_outliers.tolist())
        accepted = sgdspectra.accepted_frame(self.events).iloc[0]
        self.assertEqual(accepted["kgmm.dim"], 60)
        self.assertEqual(accepted["name"], SMALL_KGMM_SPEC["name"])
        self.assertEqual(accepted["snapshot_steps[3]"], 180)
        progress = sgdspectra.progress_frame(self.events)
        self.assertEqual(len(progress), [e.kind for e in self.events].count("progress"))
        jobs = sgdspectra.jobs_frame([self.client.get(self.job_id)])
        self.assertEqual(jobs["state"].tolist(), ["SUCCEEDED"])
        self.assertEqual(jobs["kgmm.snr"].tolist(), [50])

    def test_frames_from_a_jsonl_file_equal_frames_from_the_stream(self):
        path = os.path.join(WORK_DIR, "small.events.jsonl")
        sgdspectra.write_events(self.events, path)
        self.assertEqual(sgdspectra.read_events(path), self.events)
        pandas.testing.assert_frame_equal(sgdspectra.spectra_frame(path),
                                          sgdspectra.spectra_frame(self.events))

    def test_frames_from_the_cli_jsonl_equal_frames_from_the_stream(self):
        if not ARGS.cli_binary:
            self.skipTest("no --cli-binary")
        path = os.path.join(WORK_DIR, "cli.events.jsonl")
        with open(path, "wb") as out:
            subprocess.run([ARGS.cli_binary, "--server", SERVER.address, "watch", self.job_id,
                            "-o", "jsonl"], check=True, stdout=out, timeout=60)
        self.assertEqual(sgdspectra.read_events(path), self.events)
        for function in (sgdspectra.spectra_frame, sgdspectra.snapshots_frame,
                         sgdspectra.finished_frame, sgdspectra.accepted_frame):
            pandas.testing.assert_frame_equal(function(path), function(self.events))

    def test_streamed_test_sample_matches_get_result(self):
        result = self.client.result(self.job_id, include_test_sample=True)
        inputs, labels = self.client.test_sample(self.job_id, rows_per_chunk=7)
        np.testing.assert_array_equal(inputs, result.test_inputs)
        np.testing.assert_array_equal(labels, result.test_labels)

    def test_result_without_test_sample_omits_it(self):
        result = self.client.result(self.job_id)
        self.assertIsNone(result.test_inputs)
        self.assertEqual(len(result.test_labels), 0)
        self.assertEqual(result.weights.shape, (3, 60))
        self.assertEqual(result.job.job_id, self.job_id)

    def test_watch_replays_after_seq_without_gap_or_duplicate(self):
        replay = list(self.client.watch(self.job_id, after_seq=2))
        self.assertEqual(replay, self.events[2:])
        self.assertEqual(len(list(self.client.watch(self.job_id))), len(self.events))

    def test_get_and_list(self):
        job = self.client.get(self.job_id)
        self.assertIs(job.state, sgdspectra.JobState.SUCCEEDED)
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
        self.assertIn(job.state, (sgdspectra.JobState.QUEUED, sgdspectra.JobState.RUNNING))
        cancelled = self.client.cancel(job.job_id)
        self.assertIn(cancelled.state, (sgdspectra.JobState.CANCELLED,
                                        sgdspectra.JobState.RUNNING, sgdspectra.JobState.QUEUED))
        events = list(self.client.watch(job.job_id, timeout=60))
        self.assertEqual([e.seq for e in events], list(range(1, len(events) + 1)))
        self.assertEqual(events[-1].kind, "finished")
        self.assertIs(events[-1].finished.state, sgdspectra.JobState.CANCELLED)
        self.assertIs(events[-1].finished.reason, sgdspectra.FinishReason.CANCELLED_BY_USER)
        self.assertIs(self.client.get(job.job_id).state, sgdspectra.JobState.CANCELLED)

    # -- leaving a followed job ---------------------------------------------------------------

    def wait_for_state(self, job_id, states, seconds=60):
        deadline = time.monotonic() + seconds
        while True:
            job = self.client.get(job_id)
            if job.state in states or time.monotonic() > deadline:
                return job
            time.sleep(0.1)

    def assert_left_running(self, job_id):
        self.assertIn(self.client.get(job_id).state,
                      (sgdspectra.JobState.QUEUED, sgdspectra.JobState.RUNNING))

    def follow_and_interrupt(self, cancel_on_exit):
        """Follows a long job with run(); SIGINT arrives while the stream waits for events.
        Returns (job id, events seen)."""
        seen = []
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        with self.assertRaises(KeyboardInterrupt):
            with self.client.run(LONG_KGMM_SPEC, cancel_on_exit=cancel_on_exit) as stream:
                for event in stream:
                    seen.append(event)
                    if len(seen) == 1:
                        timer.start()  # Ctrl-C while the stream waits for the next events
        timer.join()
        self.assertTrue(seen and seen[0].kind == "accepted", [e.kind for e in seen])
        self.assertEqual(stream.job_id, seen[0].job_id)
        return stream.job_id, seen

    def test_ctrl_c_leaves_the_job_running(self):
        job_id, seen = self.follow_and_interrupt(cancel_on_exit=False)
        try:
            self.assertNotIn("finished", [e.kind for e in seen])
            time.sleep(0.5)
            self.assert_left_running(job_id)
            # Re-attach where we left off: no gap, no duplicate.
            with self.client.watch(job_id, after_seq=seen[-1].seq) as again:
                self.client.cancel(job_id)
                rest = list(again)
            self.assertEqual(rest[0].seq, seen[-1].seq + 1)
            self.assertIs(rest[-1].finished.reason, sgdspectra.FinishReason.CANCELLED_BY_USER)
        finally:
            try:
                self.client.cancel(job_id)
            except sgdspectra.SgdSpectraError:
                pass

    def test_ctrl_c_with_cancel_on_exit_cancels_the_job(self):
        job_id, _ = self.follow_and_interrupt(cancel_on_exit=True)
        job = self.wait_for_state(job_id, (sgdspectra.JobState.CANCELLED,))
        self.assertIs(job.state, sgdspectra.JobState.CANCELLED)
        finished = list(self.client.watch(job_id))[-1].finished
        self.assertIs(finished.reason, sgdspectra.FinishReason.CANCELLED_BY_USER)

    # -- the asyncio client -------------------------------------------------------------------

    def test_async_client_returns_what_the_sync_client_returns(self):
        async def main():
            async with sgdspectra.AsyncClient(SERVER.address, token="test-token") as client:
                await client.wait_ready(timeout=10)
                watched = [event async for event in client.watch(self.job_id)]
                after = [event async for event in client.watch(self.job_id, after_seq=2)]
                job = await client.get(self.job_id)
                jobs = await client.list(state="SUCCEEDED")
                result = await client.result(self.job_id, include_test_sample=True)
                sample = await client.test_sample(self.job_id, rows_per_chunk=11)
                run = [event async for event in client.run(SMALL_KGMM_SPEC, timeout=120)]
                with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
                    await client.cancel(self.job_id)
                self.assertEqual(caught.exception.code, "FAILED_PRECONDITION")
                with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
                    async for _ in client.watch("no-such-job"):
                        pass
                self.assertEqual(caught.exception.code, "NOT_FOUND")
                return watched, after, job, jobs, result, sample, run

        watched, after, job, jobs, result, sample, run = asyncio.run(main())
        self.assertEqual(watched, self.events)
        self.assertEqual(after, self.events[2:])
        self.assertEqual(job, self.client.get(self.job_id))
        self.assertIn(self.job_id, [j.job_id for j in jobs])
        self.assertEqual(result, self.client.result(self.job_id, include_test_sample=True))
        np.testing.assert_array_equal(sample[0], result.test_inputs)
        np.testing.assert_array_equal(sample[1], result.test_labels)
        # Same spec and seed: the same numbers (bit for bit), under a new job id.
        self.assertNotEqual(run[0].job_id, self.job_id)
        columns = ["snapshot_index", "matrix", "block", "block_index", "eig_index", "eigenvalue",
                   "bulk_edge", "alignment_at_expected"]
        pandas.testing.assert_frame_equal(sgdspectra.spectra_frame(run)[columns],
                                          sgdspectra.spectra_frame(self.events)[columns])

    def test_async_submit_watch_and_cancel(self):
        async def main():
            async with sgdspectra.AsyncClient(SERVER.address) as client:
                job = await client.submit(LONG_KGMM_SPEC)
                async with client.watch(job.job_id) as stream:
                    first = await stream.__anext__()
                    await client.cancel(job.job_id)
                    rest = [event async for event in stream]
                return job, first, rest

        job, first, rest = asyncio.run(main())
        self.assertIn(job.state, (sgdspectra.JobState.QUEUED, sgdspectra.JobState.RUNNING))
        self.assertEqual(first.kind, "accepted")
        self.assertIs(rest[-1].finished.state, sgdspectra.JobState.CANCELLED)

    def follow_async_and_cancel_task(self, cancel_on_exit):
        """Follows a long job with AsyncClient.run in a task and cancels the task once the job
        is accepted; returns the job id."""
        async def main():
            async with sgdspectra.AsyncClient(SERVER.address) as client:
                accepted = asyncio.Event()
                stream = client.run(LONG_KGMM_SPEC, cancel_on_exit=cancel_on_exit)

                async def follow():
                    async for event in stream:
                        if event.kind == "accepted":
                            accepted.set()

                task = asyncio.create_task(follow())
                await asyncio.wait_for(accepted.wait(), 60)
                await asyncio.sleep(0.3)
                task.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await task
                return stream.job_id

        return asyncio.run(main())

    def test_async_task_cancellation_leaves_the_job_running(self):
        job_id = self.follow_async_and_cancel_task(cancel_on_exit=False)
        try:
            time.sleep(0.5)
            self.assert_left_running(job_id)
        finally:
            self.client.cancel(job_id)

    def test_async_task_cancellation_with_cancel_on_exit_cancels_the_job(self):
        job_id = self.follow_async_and_cancel_task(cancel_on_exit=True)
        job = self.wait_for_state(job_id, (sgdspectra.JobState.CANCELLED,))
        self.assertIs(job.state, sgdspectra.JobState.CANCELLED)

    def test_ctrl_c_under_asyncio_run_leaves_the_job_running(self):
        job_ids = []

        async def main():
            async with sgdspectra.AsyncClient(SERVER.address) as client:
                stream = client.run(LONG_KGMM_SPEC)
                async for event in stream:
                    if event.kind == "accepted":
                        job_ids.append(event.job_id)
                        asyncio.get_running_loop().call_later(0.5, os.kill, os.getpid(),
                                                              signal.SIGINT)

        with self.assertRaises(KeyboardInterrupt):
            asyncio.run(main())
        try:
            self.assertEqual(len(job_ids), 1)
            time.sleep(0.5)
            self.assert_left_running(job_ids[0])
        finally:
            for job_id in job_ids:
                self.client.cancel(job_id)


class SweepFolderTest(unittest.TestCase):
    """A real `sgdspectra sweep` folder (the CLI's format) read by sweep_frame / load_sweep."""

    @classmethod
    def setUpClass(cls):
        if not ARGS.cli_binary:
            raise unittest.SkipTest("no --cli-binary")
        cls.folder = os.path.join(WORK_DIR, "sweep")
        done = subprocess.run(
            [ARGS.cli_binary, "--server", SERVER.address, "sweep", "--seeds", "0:3",
             "--set", "lambda=20,50", "--d", "60", "--k", "3", "--t-end", "2",
             "--out", cls.folder], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=240)
        if done.returncode not in (0, 1):  # 1: some job "failed" the success threshold
            raise AssertionError("sweep exit %d:\n%s" % (done.returncode,
                                                         done.stdout.decode(errors="replace")))

    def test_sweep_frame_matches_summary_and_events(self):
        frame = sgdspectra.sweep_frame(self.folder)
        raw = pandas.read_csv(os.path.join(self.folder, "summary.csv"),
                              float_precision="round_trip")
        self.assertEqual(len(frame), 6)
        self.assertEqual(sorted(frame["kgmm.snr"].tolist()), [20, 20, 20, 50, 50, 50])
        self.assertEqual(sorted(frame["seed"].tolist()), [0, 0, 1, 1, 2, 2])
        self.assertEqual(frame["sweep_index"].tolist(), raw["index"].tolist())
        self.assertEqual(frame["state"].tolist(), ["SUCCEEDED"] * 6)
        self.assertEqual(frame["reason"].tolist(), ["COMPLETED"] * 6)
        self.assertTrue((frame["seconds"] > 0).all())
        self.assertEqual(frame["final_test_accuracy"].tolist(),
                         raw["final_test_accuracy"].tolist())
        with open(os.path.join(self.folder, "sweep.json")) as f:
            threshold = json.load(f)["success_accuracy"]
        self.assertEqual(frame["success"].tolist(),
                         (frame["final_test_accuracy"] > threshold).tolist())
        for _, row in frame.iterrows():
            events = sgdspectra.read_events(row["events_file"])
            finished = events[-1].finished
            self.assertEqual(events[0].job_id, row["job_id"])
            self.assertEqual(finished.final_test_accuracy, row["final_test_accuracy"])
            self.assertEqual(finished.rank.outlier_rank, row["outlier_rank"])
            self.assertEqual(events[0].accepted.resolved_spec.kgmm.snr, row["kgmm.snr"])
            self.assertEqual(events[0].accepted.resolved_spec.seed, row["seed"])

    def test_load_sweep_frames_group_by_the_swept_field(self):
        sweep = sgdspectra.load_sweep(self.folder)
        self.assertEqual(sweep.fields, ["kgmm.snr"])
        self.assertEqual(len(sweep), 6)
        spectra = sweep.spectra_frame()
        for sweep_index, events in sweep.items():
            rows = spectra[spectra["sweep_index"] == sweep_index]
            self.assertEqual(rows["eigenvalue"].tolist(), [
                value for snapshot in snapshots_of(events) for spectrum in snapshot.spectra
                for value in spectrum.top_eigenvalues.tolist()])
            self.assertEqual(set(rows["kgmm.snr"]), {events[0].accepted.resolved_spec.kgmm.snr})
            self.assertEqual(set(rows["job_id"]), {events[0].job_id})
        # Grouped by the swept field: 3 seeds x 3 class blocks per lambda.
        first = spectra[(spectra["snapshot_index"] == 0) & (spectra["block"] == "CLASS_BLOCK")
                        & (spectra["matrix"] == "HESSIAN") & (spectra["eig_index"] == 0)]
        self.assertEqual(sorted(first.groupby("kgmm.snr").size().to_dict().items()),
                         [(20, 9), (50, 9)])
        snapshots = sweep.snapshots_frame()
        self.assertEqual(set(snapshots["kgmm.snr"]), {20, 50})
        accepted = sweep.accepted_frame()
        self.assertEqual(accepted["kgmm.snr"].tolist(), sweep.summary["kgmm.snr"].tolist())


TINY_KGMM_SPEC = {
    "name": "python-two-replicas",
    "kgmm": {"dim": 40, "numClasses": 3, "snr": 50},
    "sgd": {"tEnd": 2},
    "schedule": {"kind": "EVERY_STEPS", "everySteps": 40},
}


class TwoReplicaTest(unittest.TestCase):
    """Scaling out: one Client over two servers balances new jobs across both, and finds the
    replica of a job for the calls about it (the AsyncClient too)."""

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
            self.assertIs(events[-1].finished.state, sgdspectra.JobState.SUCCEEDED)
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

        # The AsyncClient over both replicas finds every job and merges the lists.
        async def main():
            async with sgdspectra.AsyncClient(self.client.address) as client:
                replicas = {job_id: await client.replica_of(job_id) for job_id in finished}
                results = {job_id: await client.result(job_id) for job_id in finished}
                merged = {job.job_id for job in await client.list()}
                runs = await client.run_all(specs[:4], max_workers=2, timeout=120)
                return replicas, results, merged, runs

        replicas, results, merged, runs = asyncio.run(main())
        for job_id, final in finished.items():
            self.assertEqual(replicas[job_id], self.client.replica_of(job_id))
            self.assertEqual(results[job_id].finished, final)
        self.assertTrue(set(finished) <= merged)
        for events, spec in zip(runs, specs[:4]):
            self.assertIs(events[-1].finished.state, sgdspectra.JobState.SUCCEEDED)
            self.assertEqual(str(events[0].accepted.resolved_spec.seed), spec["seed"])


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-binary", default=os.environ.get("SGDSPECTRA_SERVER_BINARY"))
    parser.add_argument("--cli-binary", default=os.environ.get("SGDSPECTRA_CLI_BINARY"),
                        help="the sgdspectra CLI: also checks its jsonl output and a sweep folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ARGS, rest = parser.parse_known_args()
    if not ARGS.server_binary:
        parser.error("--server-binary (or SGDSPECTRA_SERVER_BINARY) is required")
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
