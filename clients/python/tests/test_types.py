#!/usr/bin/env python3
"""The typed results (sgdspectra.types) against the proto descriptors, without a server.

- every enum of jobs.proto has a Python enum with the same names and numbers; an unknown number
  is kept (UNKNOWN_<n>), not an error;
- a message with every field set converts to its dataclass and back to the identical message
  (nothing dropped, nothing altered), for every event kind, Job and JobResult;
- the Python types: int64 -> int, repeated numbers -> NumPy arrays, Matrix -> 2-D array,
  enums -> the enums, unset messages -> None;
- a proto field the dataclass does not declare (as after adding one to jobs.proto) lands in
  `extra`, round-trips, and reaches the frames.

Usage: /usr/bin/python3 clients/python/tests/test_types.py
"""

import dataclasses
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

sgdspectra = support.use_checkout()
import numpy as np  # noqa: E402
from sgdspectra import jobs_pb2, types  # noqa: E402

KINDS = ("accepted", "progress", "snapshot", "finished")


def all_enum_descriptors():
    out = list(jobs_pb2.DESCRIPTOR.enum_types_by_name.values())

    def nested(message):
        out.extend(message.enum_types)
        for inner in message.nested_types:
            nested(inner)

    for message in jobs_pb2.DESCRIPTOR.message_types_by_name.values():
        nested(message)
    return out


class EnumTest(unittest.TestCase):
    def test_every_proto_enum_has_a_python_enum_with_the_same_values(self):
        descriptors = all_enum_descriptors()
        self.assertGreaterEqual(len(descriptors), 7)
        for descriptor in descriptors:
            enum_class = types.enum_for(descriptor)
            self.assertEqual([(m.name, m.value) for m in enum_class],
                             [(v.name, v.number) for v in descriptor.values], descriptor.name)
        self.assertIs(types.enum_for(jobs_pb2.Schedule.Kind.DESCRIPTOR), sgdspectra.ScheduleKind)

    def test_enums_compare_with_proto_values_and_print_as_names(self):
        self.assertEqual(sgdspectra.JobState.SUCCEEDED, jobs_pb2.SUCCEEDED)
        self.assertEqual(str(sgdspectra.FinishReason.COMPLETED), "COMPLETED")
        self.assertEqual("%s|%-8s|" % (sgdspectra.MatrixKind.HESSIAN, sgdspectra.BlockKind.FULL),
                         "HESSIAN|FULL    |")
        self.assertIsInstance(sgdspectra.JobState.QUEUED, __import__("enum").Enum)

    def test_unknown_value_is_kept(self):
        unknown = sgdspectra.FinishReason(99)
        self.assertEqual(unknown.name, "UNKNOWN_99")
        self.assertEqual(int(unknown), 99)
        self.assertIs(sgdspectra.FinishReason(99), unknown)
        finished = jobs_pb2.Finished(reason=99)
        self.assertEqual(types.Finished.from_proto(finished).reason, 99)
        self.assertEqual(types.Finished.from_proto(finished).to_proto(), finished)


class RoundTripTest(unittest.TestCase):
    def check_round_trip(self, message, cls):
        made = cls.from_proto(message)
        self.assertEqual(made.extra, {}, "%s declares every field" % cls.__name__)
        back = made.to_proto()
        self.assertEqual(back, message)
        self.assertEqual(back.SerializeToString(deterministic=True),
                         message.SerializeToString(deterministic=True))
        self.assertEqual(cls.from_proto(back), made)
        return made

    def test_every_event_kind_round_trips(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                message = support.full_event(jobs_pb2, kind)
                event = self.check_round_trip(message, sgdspectra.Event)
                self.assertEqual(event.kind, kind)
                self.assertIs(event.data, getattr(event, kind))
                self.assertEqual(event.is_terminal, kind == "finished")

    def test_job_and_result_round_trip(self):
        filler = support.Filler()
        self.check_round_trip(filler.fill(jobs_pb2.Job(), oneofs=("xor_task",)), sgdspectra.Job)
        result = filler.fill(jobs_pb2.JobResult())
        for matrix in (result.weights, result.means, result.test_inputs):
            matrix.rows, matrix.cols = 2, 3
            del matrix.values[:]
            matrix.values.extend(filler.next() + 0.5 for _ in range(6))
        made = self.check_round_trip(result, sgdspectra.JobResult)
        np.testing.assert_array_equal(made.weights,
                                      np.asarray(result.weights.values).reshape(2, 3))
        self.assertEqual(made.test_inputs.shape, (2, 3))
        self.assertEqual(made.test_labels.dtype, np.int64)

    def test_python_types(self):
        event = sgdspectra.Event.from_proto(support.full_event(jobs_pb2, "snapshot"))
        snapshot = event.snapshot
        self.assertIs(type(event.seq), int)
        self.assertIs(type(snapshot.step), int)
        self.assertIs(type(snapshot.total_products), int)
        self.assertIs(type(snapshot.time), float)
        self.assertIsInstance(snapshot.weight_norms, np.ndarray)
        self.assertEqual(snapshot.weight_norms.dtype, np.float64)
        np.testing.assert_array_equal(snapshot.weight_mean_matrix,
                                      [[10.5, 11.5, 12.5], [13.5, 14.5, 15.5]])
        spectrum = snapshot.spectra[0]
        self.assertIsInstance(spectrum.matrix, sgdspectra.MatrixKind)
        self.assertIsInstance(spectrum.solver, sgdspectra.SolverStats)
        self.assertIs(type(spectrum.solver.products), int)
        self.assertEqual(list(spectrum.outliers), list(spectrum.top_eigenvalues[:1]))
        self.assertIsNone(event.accepted)
        self.assertIs(snapshot.spectrum(spectrum.matrix.name, spectrum.block.name,
                                        spectrum.block_index), spectrum)

        accepted = sgdspectra.Event.from_proto(support.full_event(jobs_pb2, "accepted")).accepted
        self.assertEqual(accepted.snapshot_steps.dtype, np.int64)
        self.assertIsInstance(accepted.resolved_spec, jobs_pb2.JobSpec)  # can be sent back

        # Unset messages are None; a present-but-empty one is not.
        finished = sgdspectra.Finished.from_proto(jobs_pb2.Finished(state=jobs_pb2.FAILED))
        self.assertIsNone(finished.rank)
        self.assertIs(finished.state, sgdspectra.JobState.FAILED)
        progress = jobs_pb2.Progress()
        progress.analysis.SetInParent()
        self.assertIsNotNone(sgdspectra.Progress.from_proto(progress).analysis)
        self.assertIsNone(sgdspectra.JobResult.from_proto(jobs_pb2.JobResult()).test_inputs)

    def test_equality_compares_arrays_by_value(self):
        a = sgdspectra.Event.from_proto(support.full_event(jobs_pb2, "snapshot"))
        b = sgdspectra.Event.from_proto(support.full_event(jobs_pb2, "snapshot"))
        self.assertEqual(a, b)
        b.snapshot.spectra[1].top_eigenvalues[1] += 1e-12
        self.assertNotEqual(a, b)

    def test_to_json_is_the_cli_jsonl_line(self):
        event = sgdspectra.Event(job_id="j-1", seq=7, unix_ms=12,
                                 finished=sgdspectra.Finished(state=sgdspectra.JobState.SUCCEEDED,
                                                              steps_done=5))
        self.assertEqual(event.to_json(), '{"jobId":"j-1","seq":"7","unixMs":"12","finished":'
                                          '{"state":"SUCCEEDED","stepsDone":"5"}}')
        self.assertEqual(event.to_dict()["finished"]["state"], "SUCCEEDED")


class TheoryTest(unittest.TestCase):
    """Snapshot.theory and Finished.theory (analysis.theory): present when the server set them,
    None otherwise (message presence), and back to the same message."""

    def snapshot_with_theory(self):
        snapshot = jobs_pb2.Snapshot(index=2, time=1.5, num_classes=2, num_means=2,
                                     weight_norms=[1.0, 2.0], off_mean_norms=[0.6, 1.2])
        snapshot.theory.time = 1.5
        snapshot.theory.weight_mean_products.extend([0.5, -0.25, -0.5, 0.75])
        snapshot.theory.weight_norms.extend([1.0, 2.0])
        snapshot.theory.off_mean_norms.extend([0.6, 1.6])
        snapshot.theory.alignment.extend([0.8, 0.6])
        snapshot.theory.test_accuracy = 0.875
        snapshot.theory.test_loss = 0.375
        snapshot.theory.drift_norm = 0.0625
        return snapshot

    def test_snapshot_theory_present(self):
        message = self.snapshot_with_theory()
        snapshot = sgdspectra.Snapshot.from_proto(message)
        self.assertEqual(snapshot.extra, {})
        theory = snapshot.theory
        self.assertIsInstance(theory, sgdspectra.TheoryPoint)
        self.assertEqual(theory.extra, {})
        self.assertEqual(theory.time, 1.5)
        np.testing.assert_array_equal(theory.weight_mean_products, [0.5, -0.25, -0.5, 0.75])
        np.testing.assert_array_equal(theory.weight_norms, [1.0, 2.0])
        np.testing.assert_array_equal(theory.off_mean_norms, [0.6, 1.6])
        np.testing.assert_array_equal(theory.alignment, [0.8, 0.6])
        self.assertEqual(theory.second_layer_weights.dtype, np.float64)
        self.assertEqual(len(theory.second_layer_weights), 0)  # k-GMM: no v
        self.assertEqual((theory.test_accuracy, theory.test_loss, theory.drift_norm),
                         (0.875, 0.375, 0.0625))
        self.assertEqual(snapshot.to_proto(), message)

    def test_snapshot_theory_absent_is_none(self):
        message = self.snapshot_with_theory()
        message.ClearField("theory")
        snapshot = sgdspectra.Snapshot.from_proto(message)
        self.assertIsNone(snapshot.theory)
        self.assertFalse(snapshot.to_proto().HasField("theory"))
        # Present but empty (every field at its default) is not None: presence, not content.
        message.theory.SetInParent()
        self.assertIsNotNone(sgdspectra.Snapshot.from_proto(message).theory)

    def test_finished_theory_present_and_absent(self):
        message = jobs_pb2.Finished(state=jobs_pb2.SUCCEEDED)
        self.assertIsNone(sgdspectra.Finished.from_proto(message).theory)
        message.theory.converged = True
        message.theory.quadrature_error = 2.5e-9
        message.theory.accuracy_error = 1e-4
        message.theory.seconds = 3.25
        message.theory.limit.time = 1000.0
        message.theory.limit.alignment.extend([0.96875, 0.9375])
        message.theory.limit.test_accuracy = 0.99
        finished = sgdspectra.Finished.from_proto(message)
        self.assertIsInstance(finished.theory, sgdspectra.TheoryLimit)
        self.assertIs(finished.theory.converged, True)
        self.assertEqual(finished.theory.quadrature_error, 2.5e-9)
        self.assertEqual(finished.theory.accuracy_error, 1e-4)
        self.assertEqual(finished.theory.seconds, 3.25)
        self.assertIsInstance(finished.theory.limit, sgdspectra.TheoryPoint)
        self.assertEqual(finished.theory.limit.time, 1000.0)
        np.testing.assert_array_equal(finished.theory.limit.alignment, [0.96875, 0.9375])
        self.assertEqual(finished.theory.limit.test_accuracy, 0.99)
        self.assertEqual(finished.to_proto(), message)
        # A limit message that is not set inside a set TheoryLimit is None too.
        message.theory.ClearField("limit")
        self.assertIsNone(sgdspectra.Finished.from_proto(message).theory.limit)


class NewFieldTest(unittest.TestCase):
    """A dataclass that lacks proto fields stands for one made before a field was added."""

    def make_reduced(self):
        reduced = dataclasses.make_dataclass(
            "ReducedSolverStats",
            [("requested", int, 0),
             ("extra", dict, dataclasses.field(default_factory=dict, repr=False))],
            bases=(types.ProtoMessage,), eq=False)
        reduced.PROTO = "sgdspectra.v1.SolverStats"
        return reduced

    def test_undeclared_fields_go_to_extra_and_round_trip(self):
        reduced = self.make_reduced()
        message = support.Filler().fill(jobs_pb2.SolverStats())
        made = reduced.from_proto(message)
        self.assertEqual(made.requested, message.requested)
        self.assertEqual(set(made.extra), {f.name for f in message.DESCRIPTOR.fields} -
                         {"requested"})
        self.assertEqual(made.extra["method"], message.method)
        self.assertEqual(made.field_value("tol"), message.tol)
        self.assertEqual(made.to_proto(), message)

    def test_undeclared_fields_reach_the_frames(self):
        try:
            import pandas  # noqa: F401
        except ImportError:
            self.skipTest("pandas not installed")
        reduced = self.make_reduced()
        event = sgdspectra.Event.from_proto(support.full_event(jobs_pb2, "snapshot"))
        spectrum = event.snapshot.spectra[0]
        spectrum.solver = reduced.from_proto(spectrum.solver.to_proto())
        frame = sgdspectra.spectra_frame([event])
        row = frame[frame["bulk_edge"] == spectrum.bulk_edge].iloc[0]
        self.assertEqual(row["solver_method"], spectrum.solver.extra["method"])
        self.assertEqual(row["solver_tol"], spectrum.solver.extra["tol"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
