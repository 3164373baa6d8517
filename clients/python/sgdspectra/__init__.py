"""sgdspectra: a Python client of the sgdspectra gRPC service (proto/sgdspectra/v1/jobs.proto).

    import sgdspectra
    with sgdspectra.Client("127.0.0.1:50051") as client:
        events = list(client.run({"kgmm": {"dim": 200, "num_classes": 3}, "sgd": {"t_end": 5}}))
        rows = sgdspectra.snapshot_rows(events)
        sgdspectra.plot_snapshots(rows, "spectra.png")

The generated stubs are importable as sgdspectra.v1.jobs_pb2 / jobs_pb2_grpc (also re-exported
here as `jobs_pb2` and `jobs_pb2_grpc`); see _stubs.py for where they come from.
"""

import os as _os

from . import _stubs

# The generated code imports itself as `sgdspectra.v1.jobs_pb2`: make the stubs folder's
# sgdspectra/ part of this package so that name resolves.
__path__.append(_os.path.join(_stubs.locate(), "sgdspectra"))

from .v1 import jobs_pb2, jobs_pb2_grpc  # noqa: E402
from .client import (Client, EventStream, SgdSpectraError, as_job_spec, job_state,  # noqa: E402
                     matrix_to_numpy, parse_target, to_dict)
from .rows import snapshot_rows, to_dataframe  # noqa: E402
from .plot import plot_snapshots  # noqa: E402

__all__ = [
    "Client", "EventStream", "SgdSpectraError", "as_job_spec", "job_state", "jobs_pb2",
    "jobs_pb2_grpc", "matrix_to_numpy", "parse_target", "plot_snapshots", "snapshot_rows",
    "to_dataframe",
    "to_dict",
]
