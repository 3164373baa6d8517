"""The synchronous client of the sgdspectra.v1.SgdSpectra gRPC service (asyncio: aio.py).

Every method maps to one RPC of proto/sgdspectra/v1/jobs.proto and returns typed results
(sgdspectra.types: Event, Job, JobResult, with NumPy arrays and Python enums); `.to_proto()` gives
the message back. A job spec may be a JobSpec message or a dict in the proto3 JSON mapping, states
may be given by name, and gRPC errors become SgdSpectraError.

Following a job (run, watch) and leaving early: Ctrl-C (KeyboardInterrupt), an exception or
`break` out of a `with` block, or close() stop the stream and leave the job running on the
server, unless the call was made with cancel_on_exit=True: the client then cancels the job
(CancelJob) before it lets go.

Thread-safety: a Client may be shared between threads (gRPC channels are thread-safe); an event
stream returned by run() / watch() must be consumed by one thread.
"""

import collections.abc
import ipaddress
import os
import socket
import threading

import grpc
import numpy as np
from google.protobuf import json_format

from .types import Event, Job, JobResult, JobState
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


def parse_target(address):
    """(channel target, endpoints) for `address`, the same forms as the CLI's --server:

    "host:port"                  one name; gRPC resolves it, and a name with several addresses
    "dns:///name:port"           (a Kubernetes headless Service) is balanced round-robin;
                                 endpoints are the addresses it resolves to now
    "h1:p1,h2:p2" / "ipv4:a:p,b:q"  an explicit list: resolved here into one ipv4:/ipv6: target
    "unix:/path" and other schemes  passed through (one endpoint)
    """
    if not address:
        raise ValueError("address must not be empty")
    items = None
    if address.startswith(("ipv4:", "ipv6:")):
        items = address[5:].split(",")
    elif "," in address and "://" not in address:
        items = address.split(",")
    if items is not None:
        endpoints, families = [], set()
        for item in items:
            host, port = _split_host_port(item)
            for family, address_text in _resolve(host, port):
                families.add(family)
                if address_text not in endpoints:
                    endpoints.append(address_text)
        if len(families) != 1:
            raise ValueError("%r mixes IPv4 and IPv6 addresses; give one family" % address)
        scheme = "ipv4:" if families == {socket.AF_INET} else "ipv6:"
        return scheme + ",".join(endpoints), endpoints
    name = address
    if address.startswith("dns:"):
        name = address[4:]
        if name.startswith("//"):
            name = name[name.find("/", 2) + 1:] if name.find("/", 2) >= 0 else ""
    elif "://" in address or address.startswith(("unix:", "unix-abstract:", "vsock:")):
        return address, [address]
    try:
        host, port = _split_host_port(name)
        endpoints = []
        for _, address_text in _resolve(host, port):
            if address_text not in endpoints:
                endpoints.append(address_text)
        return address, endpoints or [address]
    except ValueError:
        return address, [address]


def _split_host_port(item):
    if item.startswith("["):
        host, _, port = item[1:].partition("]:")
    else:
        host, _, port = item.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("%r is not HOST:PORT" % item)
    return host, port


def _resolve(host, port):
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ValueError("cannot resolve %r: %s" % (host, error)) from None
    out = []
    for family, _, _, _, sockaddr in infos:
        if family == socket.AF_INET:
            out.append((family, "%s:%s" % (sockaddr[0], port)))
        elif family == socket.AF_INET6:
            out.append((family, "[%s]:%s" % (sockaddr[0], port)))
    return out


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
        return JobState(0)
    if isinstance(state, str):
        try:
            return JobState[state.upper()]
        except KeyError:
            raise ValueError("unknown job state %r; one of %s"
                             % (state, ", ".join(s.name for s in JobState))) from None
    return JobState(int(state))


def _is_ended_call(error):
    return isinstance(error, grpc.RpcError) and hasattr(error, "code") and \
        error.code() == grpc.StatusCode.CANCELLED


class EventStream:
    """An iterator of `Event`s from RunJob / WatchJob; ends after the terminal `finished` event.
    A failed stream raises SgdSpectraError.

    Leaving early (Ctrl-C while waiting for an event, an exception or `break` inside
    `with stream:`, or close()) stops the stream and leaves the job running, unless the stream
    was opened with cancel_on_exit=True: then the job is cancelled first (CancelJob; a job that
    has already finished is left as it is). `job_id` is known from the first event (at once for
    watch, and for run with cancel_on_exit, which submits first); `last_seq` is the seq of the
    last event returned, for watch(job_id, after_seq=stream.last_seq) later."""

    def __init__(self, call, client, job_id=None, cancel_on_exit=False):
        self._call = call
        self._client = client
        self.job_id = job_id
        self.cancel_on_exit = cancel_on_exit
        self.last_seq = 0
        self.finished = False  # the terminal event has been returned
        self._closed = False

    def __iter__(self):
        return self

    def __next__(self):
        if self.finished or self._closed:
            raise StopIteration
        try:
            message = next(self._call)
        except StopIteration:
            self._closed = True
            raise
        except grpc.RpcError as error:
            if self._closed and _is_ended_call(error):
                raise StopIteration from None
            self._closed = True
            raise SgdSpectraError.from_rpc_error(error) from None
        except BaseException:  # KeyboardInterrupt, SystemExit, ...: leave, then re-raise
            self.close()
            raise
        event = Event.from_proto(message)
        self.job_id = self.job_id or event.job_id
        self.last_seq = event.seq
        if event.finished is not None:
            self.finished = True
        return event

    def close(self):
        """Stops following the job: the job goes on, unless cancel_on_exit was asked (then it is
        cancelled, if it has not finished). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._call.cancel()
        if self.cancel_on_exit and not self.finished and self.job_id:
            self._client._cancel_quietly(self.job_id)

    cancel = close  # the old name (it never cancelled the job by itself)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def __del__(self):
        # Garbage: end the call (never an RPC here); the job goes on.
        call = getattr(self, "_call", None)
        if call is not None and not getattr(self, "_closed", True):
            try:
                call.cancel()
            except Exception:  # noqa: BLE001 (interpreter shutdown)
                pass


def _pem(value, what):
    """PEM bytes from bytes (the PEM itself) or a str / os.PathLike (a file holding it)."""
    if value is None or isinstance(value, bytes):
        return value
    try:
        with open(value, "rb") as f:
            return f.read()
    except OSError as error:
        raise ValueError("%s: cannot read %s: %s" % (what, value, error.strerror)) from None


def tls_credentials(tls_ca=None, tls_cert=None, tls_key=None):
    """grpc.ChannelCredentials for TLS: the server is checked against the CA(s) in tls_ca
    (gRPC's default roots when None); tls_cert and tls_key, together, are this client's
    certificate for servers that require one (mutual TLS). Each is PEM bytes or a file path."""
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("tls_cert and tls_key go together")
    return grpc.ssl_channel_credentials(root_certificates=_pem(tls_ca, "tls_ca"),
                                        private_key=_pem(tls_key, "tls_key"),
                                        certificate_chain=_pem(tls_cert, "tls_cert"))


def _is_loopback(endpoint):
    if endpoint.startswith(("unix:", "unix-abstract:", "localhost:")):
        return True
    host = endpoint.rpartition(":")[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _ClientBase:
    """What the sync and asyncio clients share: target parsing, options, metadata, requests."""

    def _setup(self, address, token, credentials, timeout, options, tls):
        self._channel_target, self.endpoints = parse_target(address)
        self._channel_options = [("grpc.max_receive_message_length", DEFAULT_MAX_RECEIVE_BYTES)]
        self._channel_options.extend(options or [])
        tls_ca, tls_cert, tls_key, tls_server_name, use_tls = tls
        if credentials is None and (use_tls or tls_ca is not None or tls_cert is not None):
            credentials = tls_credentials(tls_ca, tls_cert, tls_key)
        if tls_server_name:
            if credentials is None:
                raise ValueError("tls_server_name needs TLS (tls_ca, tls=True or credentials)")
            self._channel_options.append(("grpc.ssl_target_name_override", tls_server_name))
        self._credentials = credentials
        if token is None:
            token = os.environ.get("SGDSPECTRA_TOKEN") or None
        if token and credentials is None:
            remote = [e for e in self.endpoints if not _is_loopback(e)]
            if remote:
                raise ValueError("refusing to send the bearer token in plaintext to %s, which is "
                                 "not a loopback address: use TLS (tls_ca=..., tls=True or "
                                 "credentials=...)" % remote[0])
        self._metadata = (("authorization", "Bearer " + token),) if token else None
        self._timeout = timeout
        self.address = address
        self._replica_stubs = {}  # endpoint -> (channel, stub)
        self._job_replicas = {}   # job id -> endpoint

    def _channel_arguments(self, extra_options=()):
        return list(self._channel_options) + list(extra_options)

    @staticmethod
    def _submit_request(spec):
        return jobs_pb2.SubmitJobRequest(spec=as_job_spec(spec))

    @staticmethod
    def _list_request(state, page_size, token):
        return jobs_pb2.ListJobsRequest(page_size=page_size, page_token=token,
                                        state_filter=job_state(state))

    def _not_found_anywhere(self, job_id, not_found):
        return SgdSpectraError("NOT_FOUND", "job %s not found on any of %d replicas of %s"
                               % (job_id, not_found, self.address))


def _sort_jobs(jobs, limit):
    jobs.sort(key=lambda job: job.created_unix_ms, reverse=True)
    return jobs[:limit] if limit is not None else jobs


def _assemble_test_sample(chunks):
    values, labels, cols, total = [], [], 0, 0
    for chunk in chunks:
        values.append(np.asarray(chunk.values, dtype=np.float64))
        labels.append(np.asarray(chunk.labels, dtype=np.int64))
        cols, total = chunk.cols, chunk.total_rows
    inputs = np.concatenate(values) if values else np.zeros(0)
    return (inputs.reshape(total, cols),
            np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64))


class Client(_ClientBase):
    """A connection to one sgdspectra server, or to several replicas.

    address: "host:port", any gRPC target (e.g. "dns:///svc:50051"), or a comma-separated list
             of replicas ("10.0.0.5:50051,10.0.0.6:50051"); see parse_target(). New jobs (run,
             submit) are balanced over the replicas with gRPC's round_robin policy; a job lives
             on the replica that accepted it, so calls about one job (watch, get, cancel,
             result, test_sample) first find that replica (GetJob on each address, remembered).
    token:   sent as `authorization: Bearer <token>` metadata on every call; None (the default)
             takes $SGDSPECTRA_TOKEN if set, "" sends none. Without TLS a token goes only to
             loopback addresses (ValueError otherwise: it would cross the network in clear).
    tls_ca, tls_cert, tls_key: TLS. tls_ca is the CA (PEM bytes or a file) that signed the
             server's certificate; tls_cert + tls_key this client's certificate for a server that
             requires one (mutual TLS). tls=True: TLS with gRPC's default roots.
    tls_server_name: the name the server certificate must carry when `address` names the
             server otherwise (an IP address, a list of replicas).
    credentials: grpc.ChannelCredentials, instead of the tls_* arguments; None = plaintext
             unless those are given.
    timeout: deadline in seconds for unary calls (None = no deadline); streams have none unless
             given per call.
    options: extra channel options, e.g. [("grpc.keepalive_time_ms", 60000)].

    Use it as a context manager (`with Client(...) as client:`) or call close().
    """

    def __init__(self, address, token=None, *, credentials=None, tls=False, tls_ca=None,
                 tls_cert=None, tls_key=None, tls_server_name=None,
                 timeout=DEFAULT_TIMEOUT_SECONDS, options=None):
        self._setup(address, token, credentials, timeout, options,
                    (tls_ca, tls_cert, tls_key, tls_server_name, tls))
        self._channel = self._make_channel(self._channel_target,
                                           [("grpc.lb_policy_name", "round_robin")])
        self._stub = jobs_pb2_grpc.SgdSpectraStub(self._channel)
        self._lock = threading.Lock()

    def _make_channel(self, target, extra_options=()):
        options = self._channel_arguments(extra_options)
        if self._credentials is None:
            return grpc.insecure_channel(target, options=options)
        return grpc.secure_channel(target, self._credentials, options=options)

    def _replica_stub(self, endpoint):
        with self._lock:
            if endpoint not in self._replica_stubs:
                channel = self._make_channel(endpoint)
                self._replica_stubs[endpoint] = (channel, jobs_pb2_grpc.SgdSpectraStub(channel))
            return self._replica_stubs[endpoint][1]

    def _stub_for_job(self, job_id):
        """The stub of the replica that holds `job_id` (the balanced one for a single server)."""
        if len(self.endpoints) <= 1:
            return self._stub
        with self._lock:
            known = self._job_replicas.get(job_id)
        if known is not None:
            return self._replica_stub(known)
        first_error, not_found = None, 0
        for endpoint in self.endpoints:
            stub = self._replica_stub(endpoint)
            try:
                stub.GetJob(jobs_pb2.GetJobRequest(job_id=job_id), timeout=self._timeout,
                            metadata=self._metadata)
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    not_found += 1
                elif first_error is None:
                    first_error = SgdSpectraError.from_rpc_error(error)
                continue
            with self._lock:
                self._job_replicas[job_id] = endpoint
            return stub
        if first_error is not None:
            raise first_error
        raise self._not_found_anywhere(job_id, not_found)

    def replica_of(self, job_id):
        """The address of the replica that holds `job_id` (its own address for one server)."""
        if len(self.endpoints) <= 1:
            return self.endpoints[0]
        self._stub_for_job(job_id)
        with self._lock:
            return self._job_replicas[job_id]

    # -- lifetime ------------------------------------------------------------------------------

    def close(self):
        self._channel.close()
        with self._lock:
            for channel, _ in self._replica_stubs.values():
                channel.close()
            self._replica_stubs.clear()

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

    def run(self, spec, timeout=None, *, cancel_on_exit=False):
        """Submits a job and streams its events, from `accepted` to `finished` (EventStream).
        cancel_on_exit=True: leaving the stream early cancels the job (the job is then submitted
        with SubmitJob and followed with WatchJob, so its id is known before the first event)."""
        if cancel_on_exit:
            job = self.submit(spec)
            return self.watch(job.job_id, timeout=timeout, cancel_on_exit=True)
        call = self._stub.RunJob(self._submit_request(spec), timeout=timeout,
                                 metadata=self._metadata)
        return EventStream(call, self)

    def run_all(self, specs, max_workers=4, timeout=None):
        """Runs every spec to its end, at most `max_workers` at once (each a RunJob stream, so
        with several replicas the jobs spread over them), and returns one list of Events per
        spec, in the order given. The first failed call raises its SgdSpectraError once the
        calls already running have ended."""
        import concurrent.futures

        specs = [as_job_spec(spec) for spec in specs]  # refuse bad dicts before sending any
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
            return list(pool.map(lambda spec: list(self.run(spec, timeout=timeout)), specs))

    def submit(self, spec):
        """Validates and queues a job; returns the Job (state QUEUED) at once."""
        return Job.from_proto(self._unary(self._stub.SubmitJob, self._submit_request(spec)))

    def watch(self, job_id, after_seq=0, timeout=None, *, cancel_on_exit=False):
        """Events of a job with seq > after_seq: the recorded ones, then live ones to `finished`
        (EventStream). cancel_on_exit=True: leaving the stream early cancels the job."""
        request = jobs_pb2.WatchJobRequest(job_id=job_id, after_seq=after_seq)
        stub = self._stub_for_job(job_id)
        call = stub.WatchJob(request, timeout=timeout, metadata=self._metadata)
        return EventStream(call, self, job_id=job_id, cancel_on_exit=cancel_on_exit)

    def get(self, job_id):
        """The Job (state, progress, resolved spec)."""
        return Job.from_proto(self._unary(self._stub_for_job(job_id).GetJob,
                                          jobs_pb2.GetJobRequest(job_id=job_id)))

    def list(self, state=None, page_size=0, limit=None):
        """Jobs newest first, all pages (at most `limit` jobs when given); `state` filters (a
        JobState or a name such as "running"). With several replicas: every replica's jobs,
        merged newest first."""
        if len(self.endpoints) <= 1:
            return self._list_one(self._stub, state, page_size, limit)
        jobs = []
        for endpoint in self.endpoints:
            jobs.extend(self._list_one(self._replica_stub(endpoint), state, page_size, limit))
        return _sort_jobs(jobs, limit)

    def _list_one(self, stub, state, page_size, limit):
        jobs, token = [], ""
        while True:
            response = self._unary(stub.ListJobs, self._list_request(state, page_size, token))
            jobs.extend(Job.from_proto(job) for job in response.jobs)
            token = response.next_page_token
            if not token or (limit is not None and len(jobs) >= limit):
                return jobs[:limit] if limit is not None else jobs

    def cancel(self, job_id):
        """Cancels a queued or running job; FAILED_PRECONDITION if it has already finished."""
        return Job.from_proto(self._unary(self._stub_for_job(job_id).CancelJob,
                                          jobs_pb2.CancelJobRequest(job_id=job_id)))

    def _cancel_quietly(self, job_id):
        try:
            self.cancel(job_id)
        except SgdSpectraError as error:
            if error.code not in ("FAILED_PRECONDITION", "NOT_FOUND"):
                raise

    def result(self, job_id, include_test_sample=False):
        """The JobResult of a finished job: final weights, means (NumPy arrays), resolved spec,
        and with include_test_sample the test sample (FAILED_PRECONDITION if it is too large for
        one message: use test_sample())."""
        request = jobs_pb2.GetResultRequest(job_id=job_id,
                                            include_test_sample=include_test_sample)
        return JobResult.from_proto(self._unary(self._stub_for_job(job_id).GetResult, request))

    def test_sample(self, job_id, rows_per_chunk=0):
        """The job's test sample through StreamTestSample, as (inputs M x d float64, labels M
        int64) NumPy arrays; works for samples of any size."""
        request = jobs_pb2.StreamTestSampleRequest(job_id=job_id, rows_per_chunk=rows_per_chunk)
        stub = self._stub_for_job(job_id)
        try:
            return _assemble_test_sample(stub.StreamTestSample(request, timeout=None,
                                                               metadata=self._metadata))
        except grpc.RpcError as error:
            raise SgdSpectraError.from_rpc_error(error) from None

    def _unary(self, method, request):
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise SgdSpectraError.from_rpc_error(error) from None


def matrix_to_numpy(matrix):
    """A sgdspectra.v1.Matrix as a (rows, cols) float64 numpy array."""
    if isinstance(matrix, np.ndarray):
        return matrix
    return np.asarray(matrix.values, dtype=np.float64).reshape(matrix.rows, matrix.cols)


def to_dict(message):
    """A message (proto or sgdspectra.types dataclass) as a dict in the proto3 JSON mapping with
    the .proto's field names."""
    if hasattr(message, "to_dict") and not hasattr(message, "DESCRIPTOR"):
        return message.to_dict()
    return json_format.MessageToDict(message, preserving_proto_field_name=True)
