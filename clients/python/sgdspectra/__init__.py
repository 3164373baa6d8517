"""sgdspectra: the Python client of the sgdspectra gRPC service (proto/sgdspectra/v1/jobs.proto).

    import sgdspectra
    with sgdspectra.Client("127.0.0.1:50051") as client:
        events = list(client.run({"kgmm": {"dim": 200, "num_classes": 3}, "sgd": {"t_end": 5}}))
    spectra = sgdspectra.spectra_frame(events)      # pandas: one row per eigenvalue
    snapshots = sgdspectra.snapshots_frame(events)  # one row per snapshot

Modules: client (Client, sync), aio (AsyncClient, asyncio), types (dataclasses and enums),
frames (tidy pandas DataFrames, sweep folders), events (events .jsonl files). The generated gRPC
stubs are `sgdspectra.v1.jobs_pb2` / `jobs_pb2_grpc` (re-exported here as `jobs_pb2`,
`jobs_pb2_grpc`): an installed package carries them (generated when it was built); a checkout
gets them from $SGDSPECTRA_STUBS_DIR (a folder made by generate_stubs.sh or the CMake target
sgdspectra-python-stubs). Importing never runs protoc.
"""

import os as _os

__version__ = "0.1.0"

_STUBS_DIR = _os.environ.get("SGDSPECTRA_STUBS_DIR")
if _STUBS_DIR:
    # Stubs generated outside the package: DIR/sgdspectra/v1/jobs_pb2.py. They take precedence
    # over stubs installed inside the package.
    if not _os.path.isfile(_os.path.join(_STUBS_DIR, "sgdspectra", "v1", "jobs_pb2.py")):
        raise ImportError("SGDSPECTRA_STUBS_DIR=%s holds no sgdspectra/v1/jobs_pb2.py; run "
                          "clients/python/generate_stubs.sh %s" % (_STUBS_DIR, _STUBS_DIR))
    __path__.insert(0, _os.path.join(_STUBS_DIR, "sgdspectra"))

try:
    from .v1 import jobs_pb2, jobs_pb2_grpc
except ModuleNotFoundError as _error:
    if _error.name not in ("sgdspectra.v1", "sgdspectra.v1.jobs_pb2",
                           "sgdspectra.v1.jobs_pb2_grpc"):
        raise
    raise ImportError(
        "sgdspectra: the generated gRPC stubs (sgdspectra.v1.jobs_pb2) are missing. Install the "
        "package (pip install --no-build-isolation --no-deps clients/python), or generate them "
        "(clients/python/generate_stubs.sh DIR) and set SGDSPECTRA_STUBS_DIR=DIR") from None

from .types import (  # noqa: E402
    Accepted, AnalysisProgress, BlockKind, ClassifierRank, Event, Finished, FinishReason, Job,
    JobCostEstimate, JobResult, JobState, MatrixKind, OutlierMethod, Progress, RankVerdict,
    ScheduleKind, SolverStats, SolveTarget, Snapshot, Spectrum, TheoryLimit, TheoryPoint,
    from_proto)
from .client import (  # noqa: E402
    Client, EventStream, SgdSpectraError, as_job_spec, job_state, matrix_to_numpy, parse_target,
    tls_credentials, to_dict)
from .aio import AsyncClient, AsyncEventStream  # noqa: E402
from .events import as_events, read_events, write_events  # noqa: E402
from .frames import (  # noqa: E402
    Sweep, accepted_frame, density_frame, events_frame, finished_frame, jobs_frame, load_sweep,
    progress_frame, snapshots_frame, spec_columns, spectra_frame, sweep_frame, theory_frame)

__all__ = [
    "Accepted", "AnalysisProgress", "AsyncClient", "AsyncEventStream", "BlockKind",
    "ClassifierRank", "Client", "Event", "EventStream", "FinishReason", "Finished", "Job",
    "JobCostEstimate", "JobResult", "JobState", "MatrixKind", "OutlierMethod", "Progress",
    "RankVerdict", "ScheduleKind", "SgdSpectraError", "Snapshot", "SolveTarget", "SolverStats",
    "Spectrum", "TheoryLimit", "TheoryPoint",
    "Sweep", "accepted_frame", "as_events", "as_job_spec", "density_frame", "events_frame",
    "finished_frame",
    "from_proto", "job_state", "jobs_frame", "jobs_pb2", "jobs_pb2_grpc", "load_sweep",
    "matrix_to_numpy", "parse_target", "progress_frame", "read_events", "snapshots_frame",
    "spec_columns", "spectra_frame", "sweep_frame", "theory_frame", "tls_credentials", "to_dict",
    "write_events",
]
