"""Typed results: Python enums and dataclasses for the messages of proto/sgdspectra/v1/jobs.proto.

Enums are made at import from the proto descriptors (`JobState`, `FinishReason`, `MatrixKind`,
`BlockKind`, `OutlierMethod`, `SolveTarget`, `ScheduleKind`): a value added to the .proto needs no
change here. They are `enum.IntEnum`s (so `Finished.state == jobs_pb2.SUCCEEDED` still holds) whose
str() is the name; a number this client does not know (a newer server) becomes a member named
`UNKNOWN_<n>` instead of an error.

Dataclasses mirror the messages field for field, with the .proto's field names:
- int64 / int32 fields are Python ints, doubles floats, bools bools, enums the enums above;
- repeated numbers are 1-D NumPy arrays (float64 for doubles, int64 for integers), repeated
  strings lists, repeated messages lists of dataclasses;
- a `Matrix` is a 2-D float64 NumPy array (rows x cols);
- a message field that is not set (message presence, e.g. `Finished.rank`,
  `Progress.analysis`, `JobEvent.snapshot` for a progress event) is None;
- `JobSpec` (and any message without a dataclass) stays a proto message, so it can be sent back.

Conversion is generic: `from_proto` walks the message's descriptor, so a field added to the
.proto reaches the object without a code change: under its own attribute once the dataclass
declares it, in the dict `extra` (field name -> converted value) until then. `to_proto` is the
exact inverse (tests/test_types.py round-trips a message with every field set).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any, ClassVar, Dict, List, Optional

import numpy as np
from google.protobuf import descriptor_pool, json_format
from google.protobuf.descriptor import FieldDescriptor as _F

from .v1 import jobs_pb2

__all__ = [
    "AnalysisProgress", "Accepted", "BlockKind", "ClassifierRank", "Event", "FinishReason",
    "Finished", "Job", "JobCostEstimate", "JobResult", "JobState", "MatrixKind",
    "OutlierMethod", "Progress", "ScheduleKind", "SolveTarget", "SolverStats", "Snapshot",
    "Spectrum", "TheoryLimit", "TheoryPoint", "from_proto", "enum_for",
]


# ---------------------------------------------------------------------------------------------
# Enums


class ProtoEnum(enum.IntEnum):
    """Base of the enums made from the proto descriptors: str() and format() give the name."""

    def __str__(self):
        return self.name

    def __format__(self, spec):
        return format(self.name, spec)

    @classmethod
    def _missing_(cls, value):
        # A value from a newer .proto than this client's: keep it, as UNKNOWN_<n>.
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        member = int.__new__(cls, value)
        member._name_ = "UNKNOWN_%d" % value
        member._value_ = value
        return cls._value2member_map_.setdefault(value, member)


_ENUMS = {}  # full proto name -> ProtoEnum class


def _make_enum(descriptor, python_name):
    made = ProtoEnum(python_name, [(v.name, v.number) for v in descriptor.values],
                     module=__name__, qualname=python_name)
    made.__doc__ = "sgdspectra.v1 enum %s (values from the proto descriptor)." % descriptor.name
    _ENUMS[descriptor.full_name] = made
    return made


def _make_all_enums():
    for descriptor in jobs_pb2.DESCRIPTOR.enum_types_by_name.values():
        _make_enum(descriptor, descriptor.name)

    def nested(message, prefix):
        for inner in message.enum_types:
            _make_enum(inner, prefix + message.name + inner.name)
        for inner in message.nested_types:
            nested(inner, prefix + message.name)

    for message in jobs_pb2.DESCRIPTOR.message_types_by_name.values():
        nested(message, "")


_make_all_enums()

JobState = _ENUMS["sgdspectra.v1.JobState"]
FinishReason = _ENUMS["sgdspectra.v1.FinishReason"]
MatrixKind = _ENUMS["sgdspectra.v1.MatrixKind"]
BlockKind = _ENUMS["sgdspectra.v1.BlockKind"]
OutlierMethod = _ENUMS["sgdspectra.v1.OutlierMethod"]
RankVerdict = _ENUMS["sgdspectra.v1.RankVerdict"]
SolveTarget = _ENUMS["sgdspectra.v1.SolveTarget"]
ScheduleKind = _ENUMS["sgdspectra.v1.Schedule.Kind"]


def enum_for(enum_descriptor):
    """The ProtoEnum class of a proto EnumDescriptor (made on demand for a new enum type)."""
    made = _ENUMS.get(enum_descriptor.full_name)
    if made is None:
        made = _make_enum(enum_descriptor, enum_descriptor.full_name.replace(".", "_"))
    return made


# ---------------------------------------------------------------------------------------------
# Generic conversion


_CLASSES = {}  # full proto name -> dataclass
_MATRIX = "sgdspectra.v1.Matrix"
_FLOAT_TYPES = (_F.TYPE_DOUBLE, _F.TYPE_FLOAT)
_INT_TYPES = (_F.TYPE_INT32, _F.TYPE_INT64, _F.TYPE_UINT32, _F.TYPE_UINT64, _F.TYPE_SINT32,
              _F.TYPE_SINT64, _F.TYPE_FIXED32, _F.TYPE_FIXED64, _F.TYPE_SFIXED32,
              _F.TYPE_SFIXED64)


def is_repeated(field):
    return field.label == field.LABEL_REPEATED


def _matrix_to_numpy(matrix):
    return np.asarray(matrix.values, dtype=np.float64).reshape(matrix.rows, matrix.cols)


def _value_from_proto(field, message):
    """The Python value of one field of `message` (see the module docstring for the mapping)."""
    value = getattr(message, field.name)
    if is_repeated(field):
        if field.message_type is not None:
            return [_message_from_proto(item) for item in value]
        if field.type in _FLOAT_TYPES:
            return np.asarray(value, dtype=np.float64)
        if field.type in _INT_TYPES:
            return np.asarray(value, dtype=np.int64)
        if field.type == field.TYPE_BOOL:
            return np.asarray(value, dtype=bool)
        if field.type == field.TYPE_ENUM:
            return [enum_for(field.enum_type)(v) for v in value]
        return list(value)
    if field.has_presence and not message.HasField(field.name):
        return None
    if field.message_type is not None:
        return _message_from_proto(value)
    if field.type == field.TYPE_ENUM:
        return enum_for(field.enum_type)(value)
    return value


def _message_from_proto(message):
    full_name = message.DESCRIPTOR.full_name
    if full_name == _MATRIX:
        return _matrix_to_numpy(message)
    cls = _CLASSES.get(full_name)
    if cls is None:  # JobSpec and messages without a dataclass: a copy of the message
        copy = type(message)()
        copy.CopyFrom(message)
        return copy
    return cls.from_proto(message)


def from_proto(message):
    """The dataclass of a sgdspectra.v1 message (Event for a JobEvent, Job, JobResult, ...); a
    Matrix becomes a NumPy array, a message without a dataclass a copy of itself."""
    return _message_from_proto(message)


def _proto_class(descriptor):
    """The generated message class of a descriptor of jobs.proto (nested ones included)."""
    names = []
    while descriptor is not None:
        names.insert(0, descriptor.name)
        descriptor = descriptor.containing_type
    found = jobs_pb2
    for name in names:
        found = getattr(found, name)
    return found


def _set_from_value(message, field, value):
    if is_repeated(field):
        target = getattr(message, field.name)
        if field.message_type is not None:
            for item in value:
                target.add().CopyFrom(_value_to_proto(field.message_type, item))
        else:
            target.extend(np.asarray(value).tolist() if isinstance(value, np.ndarray)
                          else [int(v) if field.type == field.TYPE_ENUM else v for v in value])
        return
    if field.message_type is not None:
        getattr(message, field.name).CopyFrom(_value_to_proto(field.message_type, value))
    elif field.type == field.TYPE_ENUM:
        setattr(message, field.name, int(value))
    else:
        setattr(message, field.name, value)


def _value_to_proto(descriptor, value):
    if isinstance(value, ProtoMessage):
        return value.to_proto()
    if descriptor.full_name == _MATRIX:
        array = np.asarray(value, dtype=np.float64)
        if array.ndim != 2:
            raise ValueError("a Matrix field needs a 2-D array, got shape %s" % (array.shape,))
        return jobs_pb2.Matrix(rows=array.shape[0], cols=array.shape[1],
                               values=array.ravel().tolist())
    return value  # a proto message already (e.g. JobSpec)


def _values_equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape:
            return False
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_values_equal(a[k], b[k]) for k in a)
    return a == b


class ProtoMessage:
    """Base of the dataclasses: generic conversion from / to the proto message, equality that
    compares NumPy arrays by value, and proto-JSON views."""

    PROTO: ClassVar[str] = ""
    extra: Dict[str, Any]

    @classmethod
    def descriptor(cls):
        return descriptor_pool.Default().FindMessageTypeByName(cls.PROTO)

    @classmethod
    def from_proto(cls, message):
        if message.DESCRIPTOR.full_name != cls.PROTO:
            raise TypeError("%s.from_proto needs a %s, not a %s"
                            % (cls.__name__, cls.PROTO, message.DESCRIPTOR.full_name))
        declared = cls._declared()
        values, extra = {}, {}
        for field in message.DESCRIPTOR.fields:
            value = _value_from_proto(field, message)
            (values if field.name in declared else extra)[field.name] = value
        made = cls(**values)
        made.extra = extra
        return made

    @classmethod
    def _declared(cls):
        return {f.name for f in dataclasses.fields(cls) if f.name != "extra"}

    def field_value(self, name):
        """The value of the proto field `name`: the attribute, or extra[name] for a field this
        dataclass does not declare (yet)."""
        if name in self._declared():
            return getattr(self, name)
        return self.extra.get(name)

    def proto_fields(self):
        """(FieldDescriptor, value) of every field of the message, in .proto order."""
        return [(field, self.field_value(field.name)) for field in self.descriptor().fields]

    def to_proto(self):
        """The proto message (exact inverse of from_proto)."""
        descriptor = self.descriptor()
        message = _proto_class(descriptor)()
        for field, value in self.proto_fields():
            if value is not None:
                _set_from_value(message, field, value)
        return message

    def to_dict(self):
        """A dict in the proto3 JSON mapping with the .proto's field names (int64 as strings)."""
        return json_format.MessageToDict(self.to_proto(), preserving_proto_field_name=True)

    def to_json(self):
        """One line of proto3 JSON (lowerCamelCase names, fields at their default omitted): the
        format of `sgdspectra run -o jsonl`, which read_events and the CLI both read."""
        return json.dumps(json_format.MessageToDict(self.to_proto()), separators=(",", ":"))

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        return all(_values_equal(getattr(self, f.name), getattr(other, f.name))
                   for f in dataclasses.fields(self))

    __hash__ = None


def _message(full_name):
    """Registers a dataclass for a proto message and adds its `extra` field."""

    def wrap(cls):
        cls.__annotations__["extra"] = "Dict[str, Any]"
        cls.extra = dataclasses.field(default_factory=dict, repr=False)
        cls = dataclasses.dataclass(eq=False)(cls)
        cls.PROTO = full_name
        _CLASSES[full_name] = cls
        return cls

    return wrap


def _floats():
    return dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.float64))


def _ints():
    return dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))


# ---------------------------------------------------------------------------------------------
# Dataclasses (field comments: see jobs.proto for units, defaults and bounds)


@_message("sgdspectra.v1.Job")
class Job(ProtoMessage):
    job_id: str = ""
    state: JobState = JobState(0)
    resolved_spec: Optional[Any] = None   # jobs_pb2.JobSpec with every default filled in
    created_unix_ms: int = 0
    started_unix_ms: int = 0
    finished_unix_ms: int = 0
    last_seq: int = 0
    error_message: str = ""
    build_version: str = ""
    steps_total: int = 0
    steps_done: int = 0
    snapshots_done: int = 0
    finish_reason: FinishReason = FinishReason(0)  # terminal jobs: Finished.reason
    owner: str = ""  # the principal that submitted the job ("default" without tokens)

    @property
    def is_terminal(self):
        return self.state in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@_message("sgdspectra.v1.JobCostEstimate")
class JobCostEstimate(ProtoMessage):
    snapshots: int = 0
    solves_per_snapshot: int = 0
    products_per_snapshot: int = 0
    flops_per_snapshot: float = 0.0
    sgd_flops: float = 0.0
    total_flops: float = 0.0
    estimated_seconds: float = 0.0
    nominal_flops_per_second: float = 0.0
    peak_bytes: float = 0.0


@_message("sgdspectra.v1.Accepted")
class Accepted(ProtoMessage):
    resolved_spec: Optional[Any] = None   # jobs_pb2.JobSpec
    build_version: str = ""
    steps_total: int = 0
    snapshot_steps: np.ndarray = _ints()
    test_sample_size: int = 0
    step_size: float = 0.0
    cost_estimate: Optional[JobCostEstimate] = None


@_message("sgdspectra.v1.AnalysisProgress")
class AnalysisProgress(ProtoMessage):
    snapshot_index: int = 0
    step: int = 0
    solves_done: int = 0
    solves_total: int = 0
    products_done: int = 0
    seconds_elapsed: float = 0.0
    seconds_left: float = 0.0
    stage: str = ""


@_message("sgdspectra.v1.Progress")
class Progress(ProtoMessage):
    steps_done: int = 0
    steps_total: int = 0
    steps_per_second: float = 0.0
    analysis: Optional[AnalysisProgress] = None  # set only on analysis-progress events


@_message("sgdspectra.v1.SolverStats")
class SolverStats(ProtoMessage):
    requested: int = 0
    converged: int = 0
    products: int = 0
    restarts: int = 0
    seconds: float = 0.0
    method: str = ""
    tol: float = 0.0


@_message("sgdspectra.v1.SpectralDensity")
class SpectralDensity(ProtoMessage):
    """Stochastic Lanczos quadrature of a block's spectrum (analysis.density_probes > 0)."""

    node_values: np.ndarray = _floats()
    node_weights: np.ndarray = _floats()
    nodes_per_probe: np.ndarray = _ints()
    trace: float = 0.0
    trace_stderr: float = 0.0
    products: int = 0


@_message("sgdspectra.v1.Spectrum")
class Spectrum(ProtoMessage):
    matrix: MatrixKind = MatrixKind(0)
    block: BlockKind = BlockKind(0)
    block_index: int = 0
    top_eigenvalues: np.ndarray = _floats()
    bulk_edge: float = 0.0
    edge_method: OutlierMethod = OutlierMethod(0)
    outlier_count: int = 0
    expected_outliers: int = 0
    alignment_at_outliers: float = 0.0
    alignment_at_expected: float = 0.0
    overlap_with_means: float = 0.0
    solver: Optional[SolverStats] = None
    edge_solver: Optional[SolverStats] = None
    outlier_threshold: float = 0.0
    count_certified: bool = False
    marginal_count: int = 0  # above the edge but within the margin: not counted
    density: Optional[SpectralDensity] = None  # with analysis.density_probes > 0

    @property
    def outliers(self):
        """The outlier eigenvalues: top_eigenvalues[:outlier_count]."""
        return self.top_eigenvalues[:self.outlier_count]


@_message("sgdspectra.v1.TheoryPoint")
class TheoryPoint(ProtoMessage):
    """The effective-dynamics prediction (d -> infinity) at one time, in Snapshot's layout
    (analysis.theory). The measured alignment of block c with span(means) is
    sqrt(1 - (off_mean_norms[c] / weight_norms[c])^2), to compare with `alignment[c]`."""

    time: float = 0.0
    weight_mean_products: np.ndarray = _floats()  # num_classes x num_means, as in Snapshot
    weight_norms: np.ndarray = _floats()
    off_mean_norms: np.ndarray = _floats()
    alignment: np.ndarray = _floats()  # |P x^c| / |x^c|, P the projector on span(means)
    second_layer_weights: np.ndarray = _floats()  # XOR: v
    test_accuracy: float = 0.0  # population values (an infinite test sample)
    test_loss: float = 0.0
    drift_norm: float = 0.0  # max |du/dt| at this time: 0 at a fixed point


@_message("sgdspectra.v1.TheoryLimit")
class TheoryLimit(ProtoMessage):
    """Where the prediction's ODE settles and how well it was computed (Finished.theory)."""

    limit: Optional[TheoryPoint] = None
    converged: bool = False
    quadrature_error: float = 0.0
    accuracy_error: float = 0.0
    seconds: float = 0.0


@_message("sgdspectra.v1.Snapshot")
class Snapshot(ProtoMessage):
    index: int = 0
    step: int = 0
    time: float = 0.0
    spectra: List[Spectrum] = dataclasses.field(default_factory=list)
    train_loss: float = 0.0
    train_accuracy: float = 0.0
    train_window: int = 0
    test_loss: float = 0.0
    test_accuracy: float = 0.0
    gradient_overlap: float = 0.0
    gradient_overlap_rank: int = 0
    num_classes: int = 0
    weight_mean_products: np.ndarray = _floats()  # num_classes x num_means, row-major
    off_mean_norms: np.ndarray = _floats()
    weight_norms: np.ndarray = _floats()
    sgd_seconds: float = 0.0
    analysis_seconds: float = 0.0
    total_products: int = 0
    num_means: int = 0
    second_layer_weights: np.ndarray = _floats()
    theory: Optional[TheoryPoint] = None  # with analysis.theory; None when absent

    @property
    def weight_mean_matrix(self):
        """weight_mean_products as a num_classes x num_means array: [c, a] = x^c . mu_a."""
        return self.weight_mean_products.reshape(self.num_classes, self.num_means)

    def spectrum(self, matrix, block, block_index=None):
        """The spectrum of one block, e.g. spectrum("HESSIAN", "CLASS_BLOCK", 0) (block_index
        None: the first of that kind); None if absent."""
        matrix = MatrixKind[matrix] if isinstance(matrix, str) else MatrixKind(matrix)
        block = BlockKind[block] if isinstance(block, str) else BlockKind(block)
        for spectrum in self.spectra:
            if (spectrum.matrix == matrix and spectrum.block == block
                    and (block_index is None or spectrum.block_index == block_index)):
                return spectrum
        return None


@_message("sgdspectra.v1.ClassifierRank")
class ClassifierRank(ProtoMessage):
    h_block_outliers: np.ndarray = _ints()
    g_block_outliers: np.ndarray = _ints()
    outlier_rank: int = 0
    weight_rank: int = 0
    weight_singular_values: np.ndarray = _floats()
    expected_rank: int = 0
    rank_deficient: bool = False
    covered_clusters: np.ndarray = _ints()
    h_block_marginal: np.ndarray = _ints()
    verdict: RankVerdict = RankVerdict(0)  # FULL_RANK, RANK_DEFICIENT or UNDETERMINED
    verdict_reason: str = ""


@_message("sgdspectra.v1.Finished")
class Finished(ProtoMessage):
    state: JobState = JobState(0)
    reason: FinishReason = FinishReason(0)
    error_message: str = ""
    rank: Optional[ClassifierRank] = None  # set only when the run reached its end
    final_test_accuracy: float = 0.0
    final_test_loss: float = 0.0
    steps_done: int = 0
    time_done: float = 0.0
    theory: Optional[TheoryLimit] = None  # with analysis.theory; None when absent

    @property
    def ended_by_server(self):
        """INTERRUPTED or SERVER_SHUTDOWN: the same spec may simply be submitted again."""
        return self.reason in (FinishReason.INTERRUPTED, FinishReason.SERVER_SHUTDOWN)


@_message("sgdspectra.v1.JobEvent")
class Event(ProtoMessage):
    """One JobEvent. Exactly one of accepted / progress / snapshot / finished is set (the
    proto's oneof `kind`); `kind` names it and `data` is it."""

    job_id: str = ""
    seq: int = 0
    unix_ms: int = 0
    accepted: Optional[Accepted] = None
    progress: Optional[Progress] = None
    snapshot: Optional[Snapshot] = None
    finished: Optional[Finished] = None

    @property
    def kind(self):
        """The field set: "accepted", "progress", "snapshot" or "finished" (None if none)."""
        for field in self.descriptor().oneofs_by_name["kind"].fields:
            if self.field_value(field.name) is not None:
                return field.name
        return None

    @property
    def data(self):
        kind = self.kind
        return None if kind is None else self.field_value(kind)

    @property
    def is_terminal(self):
        return self.finished is not None


@_message("sgdspectra.v1.JobResult")
class JobResult(ProtoMessage):
    job: Optional[Job] = None
    weights: Optional[np.ndarray] = None   # k x d (XOR: K x d)
    means: Optional[np.ndarray] = None     # k x d (XOR: 2 x d, rows mu and nu)
    finished: Optional[Finished] = None
    test_inputs: Optional[np.ndarray] = None  # M_test x d; None unless include_test_sample
    test_labels: np.ndarray = _ints()
    second_layer: np.ndarray = _floats()   # XOR: v (K); empty for k-GMM
