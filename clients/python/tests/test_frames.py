#!/usr/bin/env python3
"""The tidy frames (sgdspectra.frames) without a server.

- Nothing the stream carries is dropped: events with every field set (descriptor walk) are
  turned into frames, and every field of JobEvent, Accepted, JobCostEstimate, Progress,
  AnalysisProgress, Snapshot, Spectrum, SolverStats, Finished and ClassifierRank is found, with
  its value, in the column the naming rule gives (frames.py docstring). The walk is driven by
  the descriptors, so a field added to jobs.proto is checked too.
- The same events as protos, dataclasses, dicts or an events .jsonl file give the same frames.
- A sweep folder in the CLI's format (sweep.json, summary.csv, jobs/NNNN.events.jsonl) gives
  sweep_frame and load_sweep frames with the swept fields as columns.

Usage: /usr/bin/python3 clients/python/tests/test_frames.py
"""

import json
import math
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

sgdspectra = support.use_checkout()
import numpy as np  # noqa: E402
import pandas  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from sgdspectra import frames, jobs_pb2  # noqa: E402

COVERED_MESSAGES = ("JobEvent", "Accepted", "JobCostEstimate", "Progress", "AnalysisProgress",
                    "Snapshot", "Spectrum", "SolverStats", "Finished", "ClassifierRank",
                    "TheoryPoint", "TheoryLimit")


def cell(field, value):
    """What a frame holds for a scalar proto value: enums by name."""
    if field.enum_type is not None:
        return field.enum_type.values_by_number[value].name
    return value


class Expect:
    """Walks a message by its descriptor and lists (column, value) by the frames' naming rule,
    recording every (message, field) it visits."""

    def __init__(self):
        self.visited = set()

    def visit(self, message, field):
        self.visited.add((message.DESCRIPTOR.name, field.name))

    def cells(self, message, prefix="", skip=(), out=None):
        out = {} if out is None else out
        for field in message.DESCRIPTOR.fields:
            if field.name in skip:
                continue
            self.visit(message, field)
            name = prefix + field.name
            value = getattr(message, field.name)
            if field.label == field.LABEL_REPEATED:
                if field.message_type is not None:
                    raise AssertionError("repeated message %s: check it specially" % name)
                for i, item in enumerate(value):
                    out["%s[%d]" % (name, i)] = cell(field, item)
            elif field.message_type is not None:
                self.cells(value, name + "_", out=out)
            else:
                out[name] = cell(field, value)
        return out


def spec_leaves(spec, prefix=""):
    out = {}
    for field, value in spec.ListFields():
        name = prefix + field.name
        if field.message_type is not None:
            out.update(spec_leaves(value, name + "."))
        elif field.label == field.LABEL_REPEATED:
            for i, item in enumerate(value):
                out["%s[%d]" % (name, i)] = cell(field, item)
        else:
            out[name] = cell(field, value)
    return out


class FramesTest(unittest.TestCase):
    def setUp(self):
        self.events = {kind: support.full_event(jobs_pb2, kind, start=100 * n)
                       for n, kind in enumerate(("accepted", "progress", "snapshot", "finished"),
                                                1)}
        self.expect = Expect()

    def assert_row(self, row, expected):
        for column, value in expected.items():
            self.assertIn(column, row.index, "column %s missing" % column)
            self.assertEqual(row[column], value, column)

    def check_event_head(self, event, row):
        """job_id, seq, unix_ms in the kind's frame; marks the oneof member as checked (a new
        kind of event would be left unchecked: it needs a frame)."""
        kind = event.WhichOneof("kind")
        self.assert_row(row, self.expect.cells(event, skip=[f.name for f in event.DESCRIPTOR
                                                            .oneofs_by_name["kind"].fields]))
        self.expect.visit(event, event.DESCRIPTOR.fields_by_name[kind])

    def test_every_field_of_the_stream_reaches_a_column(self):
        ev = self.events
        # accepted: scalars, snapshot_steps[i], cost_estimate_<f>, the spec by proto path
        frame = sgdspectra.accepted_frame([ev["accepted"]])
        self.assertEqual(len(frame), 1)
        row = frame.iloc[0]
        self.check_event_head(ev["accepted"], row)
        accepted = ev["accepted"].accepted
        self.assert_row(row, self.expect.cells(accepted, skip=("resolved_spec",)))
        self.expect.visit(accepted, accepted.DESCRIPTOR.fields_by_name["resolved_spec"])
        leaves = spec_leaves(accepted.resolved_spec)
        self.assertGreater(len(leaves), 30)
        self.assert_row(row, leaves)
        self.assertEqual(row["task"], "kgmm")

        # progress: scalars, is_analysis, analysis_<f>
        row = sgdspectra.progress_frame([ev["progress"]]).iloc[0]
        self.check_event_head(ev["progress"], row)
        self.assert_row(row, self.expect.cells(ev["progress"].progress))
        self.assertEqual(row["is_analysis"], True)

        # snapshot: scalars and [c] / [c][a] expansions in snapshots_frame
        snapshot = ev["snapshot"].snapshot
        row = sgdspectra.snapshots_frame([ev["snapshot"]]).iloc[0]
        self.check_event_head(ev["snapshot"], row)
        for name in ("index", "spectra", "weight_mean_products"):
            self.expect.visit(snapshot, snapshot.DESCRIPTOR.fields_by_name[name])
        self.assertEqual(row["snapshot_index"], snapshot.index)
        self.assert_row(row, self.expect.cells(
            snapshot, skip=("index", "spectra", "weight_mean_products", "theory")))
        for c in range(2):
            for a in range(3):
                self.assertEqual(row["weight_mean_products[%d][%d]" % (c, a)],
                                 snapshot.weight_mean_products[c * 3 + a])
        # The prediction beside it: theory_<f>, its products as [c][a] like the measured ones.
        self.expect.visit(snapshot, snapshot.DESCRIPTOR.fields_by_name["theory"])
        theory = snapshot.theory
        self.assertEqual(len(theory.weight_mean_products), 2)  # the filler's two entries
        self.assert_row(row, self.expect.cells(theory, "theory_", skip=("weight_mean_products",)))
        self.expect.visit(theory, theory.DESCRIPTOR.fields_by_name["weight_mean_products"])
        for i, value in enumerate(theory.weight_mean_products):  # 2 != 2 x 3: flat indexes
            self.assertEqual(row["theory_weight_mean_products[%d]" % i], value)

        # spectra: one row per eigenvalue, the spectrum's fields and solver_/edge_solver_
        frame = sgdspectra.spectra_frame([ev["snapshot"]])
        self.assertEqual(len(snapshot.spectra), 2)
        self.assertEqual(len(frame), sum(len(s.top_eigenvalues) for s in snapshot.spectra))
        for spectrum in snapshot.spectra:
            rows = frame[frame["bulk_edge"] == spectrum.bulk_edge]
            self.assertEqual(list(rows["eig_index"]), list(range(len(spectrum.top_eigenvalues))))
            self.assertEqual(list(rows["eigenvalue"]), list(spectrum.top_eigenvalues))
            self.assertEqual(list(rows["is_outlier"]),
                             [i < spectrum.outlier_count
                              for i in range(len(spectrum.top_eigenvalues))])
            self.expect.visit(spectrum, spectrum.DESCRIPTOR.fields_by_name["top_eigenvalues"])
            self.expect.visit(spectrum, spectrum.DESCRIPTOR.fields_by_name["density"])
            expected = self.expect.cells(spectrum, skip=("top_eigenvalues", "density"))
            expected.update(job_id=ev["snapshot"].job_id, seq=ev["snapshot"].seq,
                            snapshot_index=snapshot.index, step=snapshot.step,
                            time=snapshot.time)
            for _, row in rows.iterrows():
                self.assert_row(row, expected)

        # density: one row per node, the density's scalars on each
        frame = sgdspectra.density_frame([ev["snapshot"]])
        for spectrum in snapshot.spectra:
            density = spectrum.density
            rows = frame[frame["trace"] == density.trace]
            self.assertEqual(list(rows["node_value"]), list(density.node_values))
            self.assertEqual(list(rows["node_weight"]), list(density.node_weights))
            for name in ("node_values", "node_weights", "nodes_per_probe"):
                self.expect.visit(density, density.DESCRIPTOR.fields_by_name[name])
            probes = [i for i, count in enumerate(density.nodes_per_probe) for _ in range(count)]
            self.assertEqual(list(rows["probe"]),
                             [probes[n] if n < len(probes) else -1 for n in range(len(rows))])
            for _, row in rows.iterrows():
                self.assert_row(row, self.expect.cells(
                    density, skip=("node_values", "node_weights", "nodes_per_probe")))

        # finished: scalars, has_rank, the rank's fields unprefixed
        finished = ev["finished"].finished
        row = sgdspectra.finished_frame([ev["finished"]]).iloc[0]
        self.check_event_head(ev["finished"], row)
        self.assert_row(row, self.expect.cells(finished, skip=("rank",)))
        self.expect.visit(finished, finished.DESCRIPTOR.fields_by_name["rank"])
        self.assert_row(row, self.expect.cells(finished.rank))
        self.assertEqual(row["has_rank"], True)
        self.assertEqual(row["reason"], "RUN_FAILED")

        # Every field of every message the stream carries was checked.
        wanted = {(name, field.name) for name in COVERED_MESSAGES
                  for field in jobs_pb2.DESCRIPTOR.message_types_by_name[name].fields}
        self.assertEqual(wanted - self.expect.visited, set())

    def theory_events(self):
        """Two snapshots of a k = 2 job, the first with a prediction, the second without."""
        first = jobs_pb2.JobEvent(job_id="j-t", seq=5)
        snapshot = first.snapshot
        snapshot.index, snapshot.step, snapshot.time = 1, 20, 0.5
        snapshot.num_classes, snapshot.num_means = 2, 2
        snapshot.weight_norms.extend([1.0, 2.0])
        snapshot.off_mean_norms.extend([0.6, 2.0])  # alignments 0.8 and 0
        snapshot.weight_mean_products.extend([0.75, -0.25, 0.0, 0.0])
        snapshot.test_accuracy, snapshot.test_loss = 0.75, 0.5
        theory = snapshot.theory
        theory.time = 0.5
        theory.weight_norms.extend([1.25, 1.5])
        theory.off_mean_norms.extend([0.75, 0.9])
        theory.alignment.extend([0.8, 0.8])
        theory.weight_mean_products.extend([0.5, -0.5, -0.25, 0.25])
        theory.test_accuracy, theory.test_loss = 0.8125, 0.4375
        second = jobs_pb2.JobEvent(job_id="j-t", seq=6)
        second.snapshot.CopyFrom(snapshot)
        second.snapshot.index, second.snapshot.step = 2, 40
        second.snapshot.ClearField("theory")
        return [first, second]

    def test_theory_frame_puts_prediction_beside_measurement(self):
        frame = sgdspectra.theory_frame(self.theory_events())
        self.assertEqual(list(frame.columns), frames.THEORY_COLUMNS)
        self.assertEqual(len(frame), 2)  # two blocks of the first snapshot; none of the second
        self.assertEqual(list(frame["block"]), [0, 1])
        self.assertEqual(set(frame["snapshot_index"]), {1})
        self.assertEqual(list(frame["seq"]), [5, 5])
        self.assertEqual(list(frame["step"]), [20, 20])
        self.assertEqual(list(frame["time"]), [0.5, 0.5])
        # off 0.6 of norm 1.0: sqrt(1 - 0.36) = 0.8 (to rounding); off 2 of norm 2: exactly 0.
        self.assertAlmostEqual(frame["measured_alignment"][0], 0.8, places=15)
        self.assertEqual(frame["measured_alignment"][1], 0.0)
        self.assertEqual(list(frame["predicted_alignment"]), [0.8, 0.8])
        self.assertEqual(list(frame["measured_weight_norm"]), [1.0, 2.0])
        self.assertEqual(list(frame["predicted_weight_norm"]), [1.25, 1.5])
        self.assertEqual(list(frame["measured_off_mean_norm"]), [0.6, 2.0])
        self.assertEqual(list(frame["predicted_off_mean_norm"]), [0.75, 0.9])
        self.assertEqual(list(frame["measured_test_accuracy"]), [0.75, 0.75])
        self.assertEqual(list(frame["predicted_test_accuracy"]), [0.8125, 0.8125])
        self.assertEqual(list(frame["measured_test_loss"]), [0.5, 0.5])
        self.assertEqual(list(frame["predicted_test_loss"]), [0.4375, 0.4375])
        # A zero norm has no direction: NaN, not an error.
        events = self.theory_events()
        events[0].snapshot.weight_norms[1] = 0.0
        events[0].snapshot.off_mean_norms[1] = 0.0
        self.assertTrue(math.isnan(sgdspectra.theory_frame(events)["measured_alignment"][1]))
        # Without predictions: no rows, the contract's columns.
        self.assertEqual(list(sgdspectra.theory_frame(events[1:]).columns),
                         frames.THEORY_COLUMNS)
        self.assertEqual(len(sgdspectra.theory_frame(events[1:])), 0)

    def test_snapshots_frame_theory_columns(self):
        frame = sgdspectra.snapshots_frame(self.theory_events())
        with_theory, without = frame.iloc[0], frame.iloc[1]
        self.assertEqual(with_theory["theory_test_accuracy"], 0.8125)
        self.assertEqual(with_theory["theory_alignment[1]"], 0.8)
        # [c][a] as the measured products: x^1 . mu_0 is entry 1 * 2 + 0 = 2, -0.25.
        self.assertEqual(with_theory["theory_weight_mean_products[1][0]"], -0.25)
        self.assertEqual(with_theory["weight_mean_products[1][0]"], 0.0)
        # The snapshot without a prediction: empty theory columns.
        self.assertTrue(pandas.isna(without["theory_time"]))
        self.assertTrue(pandas.isna(without["theory_alignment[0]"]))

    def test_events_frame_and_jobs_frame(self):
        frame = sgdspectra.events_frame(list(self.events.values()))
        self.assertEqual(list(frame["kind"]), ["accepted", "progress", "snapshot", "finished"])
        self.assertEqual(list(frame["seq"]), [e.seq for e in self.events.values()])
        job = support.Filler().fill(jobs_pb2.Job(), oneofs=("xor_task",))
        row = sgdspectra.jobs_frame([job, sgdspectra.Job.from_proto(job)])
        self.assertEqual(len(row), 2)
        self.assertNotIn("resolved_spec", row.columns)
        row = row.iloc[1]
        self.assert_row(row, Expect().cells(job, skip=("resolved_spec",)))
        self.assert_row(row, spec_leaves(job.resolved_spec))
        self.assertEqual(row["task"], "xor_task")

    def test_unset_messages_give_empty_columns(self):
        event = jobs_pb2.JobEvent(job_id="j", seq=4)
        event.finished.state = jobs_pb2.CANCELLED
        row = sgdspectra.finished_frame([event]).iloc[0]
        self.assertEqual(row["has_rank"], False)
        self.assertTrue(row["outlier_rank"] is None or math.isnan(row["outlier_rank"]))
        progress = jobs_pb2.JobEvent(job_id="j", seq=2)
        progress.progress.steps_done = 10
        row = sgdspectra.progress_frame([progress]).iloc[0]
        self.assertEqual(row["is_analysis"], False)
        self.assertTrue(row["analysis_stage"] is None)
        # A spectrum without eigenvalues keeps one row (eig_index -1, eigenvalue NaN).
        empty = jobs_pb2.JobEvent(job_id="j", seq=3)
        empty.snapshot.spectra.add(bulk_edge=0.5, outlier_count=0)
        frame = sgdspectra.spectra_frame([empty])
        self.assertEqual(list(frame["eig_index"]), [-1])
        self.assertTrue(math.isnan(frame["eigenvalue"][0]))
        self.assertEqual(frame["bulk_edge"][0], 0.5)
        # Empty input: the contract's columns, no rows.
        self.assertEqual(list(sgdspectra.spectra_frame([]).columns), frames.SPECTRA_COLUMNS)

    def test_every_input_form_gives_the_same_frames(self):
        protos = list(self.events.values())
        dataclasses_ = [sgdspectra.Event.from_proto(e) for e in protos]
        dicts = [json.loads(json_format.MessageToJson(e)) for e in protos]
        folder = tempfile.mkdtemp(prefix="sgdspectra-frames-test-")
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, "job.events.jsonl")
        self.assertEqual(sgdspectra.write_events(protos, path), 4)
        self.assertEqual(sgdspectra.read_events(path), dataclasses_)
        for function in (sgdspectra.spectra_frame, sgdspectra.snapshots_frame,
                         sgdspectra.progress_frame, sgdspectra.finished_frame,
                         sgdspectra.accepted_frame):
            reference = function(protos)
            self.assertGreater(len(reference), 0)
            for other in (dataclasses_, dicts, path, [protos[:2], protos[2:]], iter(protos)):
                pandas.testing.assert_frame_equal(function(other), reference)


# -------------------------------------------------------------------------------------------
# A sweep folder in the CLI's format (client/sweep/sweep_results.cc, sweep_command.cc)

SUMMARY_HEADER = ("index,group,seed,kgmm.snr,task,dim,num_classes_or_hidden,snr,ridge,sgd_steps,"
                  "job_id,server,attempts,state,final_test_accuracy,final_test_loss,outlier_rank,"
                  "weight_rank,expected_rank,rank_deficient,num_covered,covered_clusters,success,"
                  "events_file")


def sweep_job_events(job_id, snr, accuracy, reason="COMPLETED"):
    accepted = jobs_pb2.JobEvent(job_id=job_id, seq=1, unix_ms=1000)
    accepted.accepted.resolved_spec.kgmm.snr = snr
    accepted.accepted.steps_total = 40
    snapshot = jobs_pb2.JobEvent(job_id=job_id, seq=2, unix_ms=1001)
    snapshot.snapshot.step = 40
    snapshot.snapshot.time = 2.0
    snapshot.snapshot.spectra.add(matrix=jobs_pb2.HESSIAN, block=jobs_pb2.CLASS_BLOCK,
                                  top_eigenvalues=[snr / 10, snr / 20, 0.1], outlier_count=2,
                                  bulk_edge=0.12)
    finished = jobs_pb2.JobEvent(job_id=job_id, seq=3, unix_ms=1002)
    finished.finished.state = jobs_pb2.SUCCEEDED
    finished.finished.reason = jobs_pb2.FinishReason.Value(reason)
    finished.finished.final_test_accuracy = accuracy
    finished.finished.steps_done = 40
    finished.finished.time_done = 2.0
    finished.finished.rank.outlier_rank = 3
    return [accepted, snapshot, finished]


def write_sweep(folder):
    os.makedirs(os.path.join(folder, "jobs"))
    with open(os.path.join(folder, "sweep.json"), "w") as f:
        json.dump({"base_spec": {"kgmm": {"dim": "60"}}, "seeds": "0:2",
                   "set": [{"field": "kgmm.snr", "values": ["20", "50"]}],
                   "success_accuracy": 0.99, "target": "127.0.0.1:1"}, f, indent=1)
    lines = [SUMMARY_HEADER]
    jobs = [(0, 20, 0, 1.0), (1, 20, 1, 0.5), (2, 50, 0, 1.0), (3, 50, 1, 1.0)]
    for index, snr, seed, accuracy in jobs:
        job_id = "j-test-%010d" % (index + 1)
        events = sweep_job_events(job_id, snr, accuracy)
        sgdspectra.write_events(events, os.path.join(folder, "jobs", "%04d.events.jsonl" % index))
        lines.append("%d,kgmm.snr=%d,%d,%d,kgmm,60,3,%d,0.1,40,%s,127.0.0.1:1,1,SUCCEEDED,%s,0.5,"
                     "3,3,3,0,,,%d,jobs/%04d.events.jsonl"
                     % (index, snr, seed, snr, snr, job_id, accuracy, accuracy > 0.99, index))
    # A job that never finished: no events file.
    lines.append("4,kgmm.snr=50,2,50,,,,,,,,,0,NOT_FINISHED,,,,,,,,,0,")
    with open(os.path.join(folder, "summary.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")


class SweepTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="sgdspectra-sweep-test-")
        self.addCleanup(shutil.rmtree, self.folder)
        write_sweep(self.folder)

    def test_sweep_frame(self):
        frame = sgdspectra.sweep_frame(self.folder)
        self.assertEqual(len(frame), 5)
        for column in ("sweep_index", "group", "seed", "kgmm.snr", "state", "reason", "success",
                       "final_test_accuracy", "outlier_rank", "events_file"):
            self.assertIn(column, frame.columns)
        self.assertEqual(list(frame["kgmm.snr"]), [20, 20, 50, 50, 50])
        self.assertEqual(list(frame["success"]), [True, False, True, True, False])
        self.assertEqual(frame["success"].dtype, bool)
        self.assertEqual(list(frame["state"]), ["SUCCEEDED"] * 4 + ["NOT_FINISHED"])
        self.assertEqual(list(frame["reason"][:4]), ["COMPLETED"] * 4)
        self.assertIsNone(frame["reason"][4])
        self.assertEqual(frame["events_file"][2],
                         os.path.join(os.path.abspath(self.folder), "jobs", "0002.events.jsonl"))
        self.assertIsNone(frame["events_file"][4])
        self.assertEqual(list(frame["steps_done"][:4]), [40] * 4)

    def test_load_sweep_frames_carry_the_swept_fields(self):
        sweep = sgdspectra.load_sweep(self.folder)
        self.assertEqual(sweep.fields, ["kgmm.snr"])
        self.assertEqual(sorted(sweep), [0, 1, 2, 3])  # a Mapping: sweep_index -> events
        self.assertEqual(len(sweep[2]), 3)
        self.assertEqual(sgdspectra.as_events(sweep), [e for i in sorted(sweep) for e in sweep[i]])
        self.assertEqual(len(sgdspectra.events_frame(sweep)), 12)
        spectra = sweep.spectra_frame()
        self.assertEqual(list(spectra.columns[:4]), ["sweep_index", "group", "seed", "kgmm.snr"])
        self.assertEqual(len(spectra), 4 * 3)
        top = spectra[spectra["eig_index"] == 0]
        np.testing.assert_allclose(top["eigenvalue"], top["kgmm.snr"] / 10)
        self.assertEqual(list(top["job_id"]), ["j-test-%010d" % i for i in range(1, 5)])
        pandas.testing.assert_frame_equal(sgdspectra.spectra_frame(self.folder), spectra)
        pandas.testing.assert_frame_equal(sgdspectra.spectra_frame(sweep), spectra)
        finished = sweep.finished_frame()
        self.assertEqual(list(finished["final_test_accuracy"]), [1.0, 0.5, 1.0, 1.0])
        snapshots = sgdspectra.snapshots_frame(sweep)
        self.assertEqual(snapshots.groupby("kgmm.snr").size().to_dict(), {20: 2, 50: 2})


if __name__ == "__main__":
    unittest.main(verbosity=2)
