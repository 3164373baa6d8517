"""Flattens a job's snapshot events into rows: one dict per (snapshot, spectrum).

Rows are plain dicts of numbers and strings (enums by name), ready for csv.DictWriter, JSON, or
pandas (to_dataframe). Snapshot-level metrics (losses, accuracies, gradient overlap) are repeated
on every row of their snapshot.
"""

from .v1 import jobs_pb2


def _enum_name(enum_type, value):
    try:
        return enum_type.Name(value)
    except ValueError:  # a value added by a newer server
        return str(value)


def _snapshots(events):
    for event in events:
        if isinstance(event, jobs_pb2.Snapshot):
            yield "", 0, event
        elif event.WhichOneof("kind") == "snapshot":
            yield event.job_id, event.seq, event.snapshot


def snapshot_rows(events):
    """Rows from an iterable of JobEvents (other kinds are skipped) or of Snapshot messages."""
    rows = []
    for job_id, seq, snapshot in _snapshots(events):
        for spectrum in snapshot.spectra:
            eigenvalues = list(spectrum.top_eigenvalues)
            rows.append({
                "job_id": job_id,
                "seq": seq,
                "index": snapshot.index,
                "step": snapshot.step,
                "time": snapshot.time,
                "matrix": _enum_name(jobs_pb2.MatrixKind, spectrum.matrix),
                "block": _enum_name(jobs_pb2.BlockKind, spectrum.block),
                "block_index": spectrum.block_index,
                "outlier_count": spectrum.outlier_count,
                "expected_outliers": spectrum.expected_outliers,
                "bulk_edge": spectrum.bulk_edge,
                "edge_method": _enum_name(jobs_pb2.OutlierMethod, spectrum.edge_method),
                "top_eigenvalue": eigenvalues[0] if eigenvalues else float("nan"),
                "top_eigenvalues": eigenvalues,
                "alignment_at_outliers": spectrum.alignment_at_outliers,
                "alignment_at_expected": spectrum.alignment_at_expected,
                "overlap_with_means": spectrum.overlap_with_means,
                "solver_method": spectrum.solver.method,
                "solver_requested": spectrum.solver.requested,
                "solver_converged": spectrum.solver.converged,
                "solver_products": spectrum.solver.products,
                "solver_seconds": spectrum.solver.seconds,
                "train_loss": snapshot.train_loss,
                "train_accuracy": snapshot.train_accuracy,
                "test_loss": snapshot.test_loss,
                "test_accuracy": snapshot.test_accuracy,
                "gradient_overlap": snapshot.gradient_overlap,
            })
    return rows


def to_dataframe(rows_or_events):
    """A pandas DataFrame of snapshot_rows (given rows, or events to flatten first).
    Raises ImportError when pandas is not installed: snapshot_rows gives the same data."""
    try:
        import pandas
    except ImportError:
        raise ImportError("to_dataframe needs pandas (apt-get install python3-pandas); "
                          "snapshot_rows() gives the same rows as a list of dicts") from None
    items = list(rows_or_events)
    rows = items if not items or isinstance(items[0], dict) else snapshot_rows(items)
    return pandas.DataFrame(rows)
