"""A thin, synchronous Python layer over the sgdspectra.v1.SgdSpectra gRPC service.

Every method maps to one RPC of proto/sgdspectra/v1/jobs.proto and returns the proto messages
(JobEvent, Job, JobResult) unchanged; the only translations are: a job spec may be a dict in the
proto3 JSON mapping, states may be given by name, and gRPC errors become SgdSpectraError.

Thread-safety: a Client may be shared between threads (gRPC channels are thread-safe); an event
stream returned by run() / watch() must be consumed by one thread.
"""

import collections.abc

import grpc
from google.protobuf import json_format

from .v1 import jobs_pb2, jobs_pb2_grpc

# Unary calls: a deadline so that a dead server is noticed. Streams have none by default: a job
# may run for hours.
DEFAULT_TIMEOUT_SECONDS = 60.0
# GetResult with the test sample can be large (M_test x d doubles); the server enforces its own
# --max-message-bytes, so the client accepts anything up to 1 GiB.
DEFAULT_MAX_RECEIVE_BYTES = 1 << 30


class SgdSpectraError(Exception):
    """A failed call: `code` is the gRPC status code name (e.g. "INVALID_ARGUMENT", "NOT_FOUND"),
    `message` the server's message (for INVALID_ARGUMENT it starts with the field path)."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message

    @property
    def status_code(self):
        """The code as a grpc.StatusCode (None for client-side codes gRPC does not know)."""
        return getattr(grpc.StatusCode, self.code, None)

    @classmethod
    def from_rpc_error(cls, error):
        code = error.code() if hasattr(error, "code") else None
        details = error.details() if hasattr(error, "details") else None
        return cls(code.name if code is not None else "UNKNOWN", details or str(error))


def as_job_spec(spec):
    """A JobSpec from a JobSpec message or a dict in the proto3 JSON mapping (camelCase or
    snake_case keys, enums by name, 64-bit integers as numbers or strings). Unknown keys raise
    SgdSpectraError("INVALID_ARGUMENT", "spec: ...") before anything is sent."""
    if isinstance(spec, jobs_pb2.JobSpec):
        return spec
    if isinstance(spec, collections.abc.Mapping):
        try:
            return json_format.ParseDict(dict(spec), jobs_pb2.JobSpec())
        except json_format.ParseError as error:
            raise SgdSpectraError("INVALID_ARGUMENT", "spec: %s" % error) from None
    raise TypeError("spec must be a sgdspectra.v1.JobSpec or a dict, not %s" % type(spec).__name__)


def job_state(state):
    """A JobState value from None (= all), an int, or a name such as "RUNNING" (any case)."""
    if state is None:
        return jobs_pb2.JOB_STATE_UNSPECIFIED
    if isinstance(state, str):
        try:
            return jobs_pb2.JobState.Value(state.upper())
        except ValueError:
            raise ValueError("unknown job state %r; one of %s"
                             % (state, ", ".join(jobs_pb2.JobState.keys()))) from None
    return int(state)


class EventStream:
    """An iterator of JobEvents from RunJob / WatchJob. Ends after the terminal `finished` event;
    a failed stream raises SgdSpectraError. cancel() (or leaving a `with` block) stops the stream
    early without error; it does not cancel the job (use Client.cancel for that)."""

    def __init__(self, call):
        self._call = call
        self._cancelled = False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._call)
        except grpc.RpcError as error:
            if self._cancelled and error.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise SgdSpectraError.from_rpc_error(error) from None

    def cancel(self):
        self._cancelled = True
        self._call.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.cancel()
        return False


class Client:
    """A connection to one sgdspectra server.

    address: "host:port" (any gRPC target, e.g. "dns:///svc:50051").
    token:   sent as `authorization: Bearer <token>` metadata on every call when given.
    credentials: grpc.ChannelCredentials for TLS; None = plaintext.
    timeout: deadline in seconds for unary calls (None = no deadline); streams have none unless
             given per call.
    options: extra channel options, e.g. [("grpc.lb_policy_name", "round_robin")].
    """

    def __init__(self, address, token=None, *, credentials=None,
                 timeout=DEFAULT_TIMEOUT_SECONDS, options=None):
        channel_options = [("grpc.max_receive_message_length", DEFAULT_MAX_RECEIVE_BYTES)]
        channel_options.extend(options or [])
        if credentials is None:
            self._channel = grpc.insecure_channel(address, options=channel_options)
        else:
            self._channel = grpc.secure_channel(address, credentials, options=channel_options)
        self._stub = jobs_pb2_grpc.SgdSpectraStub(self._channel)
        self._metadata = (("authorization", "Bearer " + token),) if token else None
        self._timeout = timeout
        self.address = address

    # -- lifetime ------------------------------------------------------------------------------

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def wait_ready(self, timeout=10.0):
        """Blocks until the channel is connected; SgdSpectraError("UNAVAILABLE") after timeout."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise SgdSpectraError("UNAVAILABLE", "no connection to %s within %.1f s"
                                  % (self.address, timeout)) from None

    # -- jobs ----------------------------------------------------------------------------------

    def run(self, spec, timeout=None):
        """Submits a job and streams its events from the first (`accepted`) to `finished`."""
        request = jobs_pb2.SubmitJobRequest(spec=as_job_spec(spec))
        return EventStream(self._stub.RunJob(request, timeout=timeout, metadata=self._metadata))

    def submit(self, spec):
        """Validates and queues a job; returns the Job (state QUEUED) at once."""
        return self._unary(self._stub.SubmitJob, jobs_pb2.SubmitJobRequest(spec=as_job_spec(spec)))

    def watch(self, job_id, after_seq=0, timeout=None):
        """Events of a job with seq > after_seq: the recorded ones, then live ones to `finished`."""
        request = jobs_pb2.WatchJobRequest(job_id=job_id, after_seq=after_seq)
        return EventStream(self._stub.WatchJob(request, timeout=timeout, metadata=self._metadata))

    def get(self, job_id):
        return self._unary(self._stub.GetJob, jobs_pb2.GetJobRequest(job_id=job_id))

    def list(self, state=None, page_size=0, limit=None):
        """Jobs newest first, all pages (at most `limit` jobs when given); `state` filters."""
        jobs = []
        token = ""
        while True:
            request = jobs_pb2.ListJobsRequest(page_size=page_size, page_token=token,
                                               state_filter=job_state(state))
            response = self._unary(self._stub.ListJobs, request)
            jobs.extend(response.jobs)
            token = response.next_page_token
            if not token or (limit is not None and len(jobs) >= limit):
                return jobs[:limit] if limit is not None else jobs

    def cancel(self, job_id):
        """Cancels a queued or running job; FAILED_PRECONDITION if it has already finished."""
        return self._unary(self._stub.CancelJob, jobs_pb2.CancelJobRequest(job_id=job_id))

    def result(self, job_id, include_test_sample=False):
        """The JobResult of a finished job: final weights, means, resolved spec, and with
        include_test_sample the test sample (FAILED_PRECONDITION if it is too large for one
        message: use test_sample())."""
        request = jobs_pb2.GetResultRequest(job_id=job_id,
                                            include_test_sample=include_test_sample)
        return self._unary(self._stub.GetResult, request)

    def test_sample(self, job_id, rows_per_chunk=0):
        """The job's test sample through StreamTestSample, as (inputs M x d, labels M) numpy
        arrays; works for samples of any size."""
        import numpy as np

        request = jobs_pb2.StreamTestSampleRequest(job_id=job_id, rows_per_chunk=rows_per_chunk)
        values, labels, cols, total = [], [], 0, 0
        try:
            for chunk in self._stub.StreamTestSample(request, metadata=self._metadata):
                values.append(np.asarray(chunk.values, dtype=np.float64))
                labels.append(np.asarray(chunk.labels, dtype=np.int32))
                cols, total = chunk.cols, chunk.total_rows
        except grpc.RpcError as error:
            raise SgdSpectraError.from_rpc_error(error) from None
        inputs = np.concatenate(values) if values else np.zeros(0)
        return inputs.reshape(total, cols), (np.concatenate(labels) if labels
                                             else np.zeros(0, dtype=np.int32))

    def _unary(self, method, request):
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise SgdSpectraError.from_rpc_error(error) from None


def matrix_to_numpy(matrix):
    """A sgdspectra.v1.Matrix as a (rows, cols) float64 numpy array."""
    import numpy as np

    return np.asarray(matrix.values, dtype=np.float64).reshape(matrix.rows, matrix.cols)


def to_dict(message):
    """A message as a dict in the proto3 JSON mapping with the .proto's field names."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)
