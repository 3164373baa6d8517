"""The asyncio client (grpc.aio): AsyncClient has the methods of Client, as coroutines.

    async with sgdspectra.AsyncClient("127.0.0.1:50051") as client:
        async for event in client.run(spec):
            ...
        job = await client.get(job_id)

Streams (run, watch) are async iterators that open on first use; `async with stream:` closes
them. Leaving a stream early (task cancellation, which is what Ctrl-C under asyncio.run() does;
an exception or `break` inside `async with stream:`; `await stream.close()`) stops following the
job and leaves it running, unless the stream was opened with cancel_on_exit=True: then the job
is cancelled first (CancelJob).

Create an AsyncClient inside the event loop that uses it (in a coroutine), as grpc.aio requires.
"""

import asyncio

import grpc
import grpc.aio

from .client import (DEFAULT_TIMEOUT_SECONDS, SgdSpectraError, _assemble_test_sample,
                     _ClientBase, _sort_jobs, as_job_spec)
from .types import Event, Job, JobResult
from .v1 import jobs_pb2, jobs_pb2_grpc

__all__ = ["AsyncClient", "AsyncEventStream"]


class AsyncEventStream:
    """An async iterator of `Event`s from RunJob / WatchJob; ends after the terminal `finished`
    event. A failed stream raises SgdSpectraError. See the module docstring for leaving early;
    `job_id` and `last_seq` as in EventStream."""

    def __init__(self, open_call, client, job_id=None, cancel_on_exit=False):
        self._open_call = open_call  # coroutine function -> (call, job_id or None)
        self._call = None
        self._client = client
        self.job_id = job_id
        self.cancel_on_exit = cancel_on_exit
        self.last_seq = 0
        self.finished = False
        self._closed = False

    async def _ensure_open(self):
        if self._call is None:
            self._call, job_id = await self._open_call()
            self.job_id = self.job_id or job_id

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.finished or self._closed:
            raise StopAsyncIteration
        try:
            await self._ensure_open()
            message = await self._call.read()
        except grpc.aio.AioRpcError as error:
            if self._closed and error.code() == grpc.StatusCode.CANCELLED:
                raise StopAsyncIteration from None
            self._closed = True
            raise SgdSpectraError.from_rpc_error(error) from None
        except SgdSpectraError:
            self._closed = True
            raise
        except BaseException:  # asyncio.CancelledError (Ctrl-C under asyncio.run), ...
            await self.close()
            raise
        if message is grpc.aio.EOF:
            self._closed = True
            raise StopAsyncIteration
        event = Event.from_proto(message)
        self.job_id = self.job_id or event.job_id
        self.last_seq = event.seq
        if event.finished is not None:
            self.finished = True
        return event

    async def close(self):
        """Stops following the job: the job goes on, unless cancel_on_exit was asked (then it is
        cancelled, if it has not finished). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._call is not None:
            self._call.cancel()
        if self.cancel_on_exit and not self.finished and self.job_id:
            await self._client._cancel_quietly(self.job_id)

    aclose = close
    cancel = close

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.close()
        return False


class AsyncClient(_ClientBase):
    """The asyncio twin of Client (same arguments, same methods as coroutines; run and watch
    return AsyncEventStreams). Use `async with AsyncClient(...) as client:` or await close()."""

    def __init__(self, address, token=None, *, credentials=None, tls=False, tls_ca=None,
                 tls_cert=None, tls_key=None, tls_server_name=None,
                 timeout=DEFAULT_TIMEOUT_SECONDS, options=None):
        self._setup(address, token, credentials, timeout, options,
                    (tls_ca, tls_cert, tls_key, tls_server_name, tls))
        self._channel = self._make_channel(self._channel_target,
                                           [("grpc.lb_policy_name", "round_robin")])
        self._stub = jobs_pb2_grpc.SgdSpectraStub(self._channel)

    def _make_channel(self, target, extra_options=()):
        options = self._channel_arguments(extra_options)
        if self._credentials is None:
            return grpc.aio.insecure_channel(target, options=options)
        return grpc.aio.secure_channel(target, self._credentials, options=options)

    def _replica_stub(self, endpoint):
        if endpoint not in self._replica_stubs:
            channel = self._make_channel(endpoint)
            self._replica_stubs[endpoint] = (channel, jobs_pb2_grpc.SgdSpectraStub(channel))
        return self._replica_stubs[endpoint][1]

    async def _stub_for_job(self, job_id):
        if len(self.endpoints) <= 1:
            return self._stub
        known = self._job_replicas.get(job_id)
        if known is not None:
            return self._replica_stub(known)
        first_error, not_found = None, 0
        for endpoint in self.endpoints:
            stub = self._replica_stub(endpoint)
            try:
                await stub.GetJob(jobs_pb2.GetJobRequest(job_id=job_id), timeout=self._timeout,
                                  metadata=self._metadata)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    not_found += 1
                elif first_error is None:
                    first_error = SgdSpectraError.from_rpc_error(error)
                continue
            self._job_replicas[job_id] = endpoint
            return stub
        if first_error is not None:
            raise first_error
        raise self._not_found_anywhere(job_id, not_found)

    async def replica_of(self, job_id):
        """The address of the replica that holds `job_id` (its own address for one server)."""
        if len(self.endpoints) <= 1:
            return self.endpoints[0]
        await self._stub_for_job(job_id)
        return self._job_replicas[job_id]

    # -- lifetime ------------------------------------------------------------------------------

    async def close(self):
        await self._channel.close()
        for channel, _ in list(self._replica_stubs.values()):
            await channel.close()
        self._replica_stubs.clear()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.close()
        return False

    async def wait_ready(self, timeout=10.0):
        """Waits until the channel is connected; SgdSpectraError("UNAVAILABLE") after timeout."""
        try:
            await asyncio.wait_for(self._channel.channel_ready(), timeout)
        except asyncio.TimeoutError:
            raise SgdSpectraError("UNAVAILABLE", "no connection to %s within %.1f s"
                                  % (self.address, timeout)) from None

    # -- jobs ----------------------------------------------------------------------------------

    def run(self, spec, timeout=None, *, cancel_on_exit=False):
        """Submits a job and streams its events (AsyncEventStream); see Client.run."""
        request = self._submit_request(spec)  # a bad dict raises here, before anything is sent
        if cancel_on_exit:
            async def open_call():
                job = await self.submit(request.spec)
                stub = await self._stub_for_job(job.job_id)
                call = stub.WatchJob(jobs_pb2.WatchJobRequest(job_id=job.job_id),
                                     timeout=timeout, metadata=self._metadata)
                return call, job.job_id
        else:
            async def open_call():
                return self._stub.RunJob(request, timeout=timeout,
                                         metadata=self._metadata), None
        return AsyncEventStream(open_call, self, cancel_on_exit=cancel_on_exit)

    async def run_all(self, specs, max_workers=4, timeout=None):
        """Runs every spec to its end, at most `max_workers` at once; one list of Events per
        spec, in the order given (see Client.run_all)."""
        specs = [as_job_spec(spec) for spec in specs]
        room = asyncio.Semaphore(max(1, max_workers))

        async def one(spec):
            async with room:
                return [event async for event in self.run(spec, timeout=timeout)]

        return list(await asyncio.gather(*(one(spec) for spec in specs)))

    async def submit(self, spec):
        """Validates and queues a job; returns the Job (state QUEUED) at once."""
        return Job.from_proto(await self._unary(self._stub.SubmitJob,
                                                self._submit_request(spec)))

    def watch(self, job_id, after_seq=0, timeout=None, *, cancel_on_exit=False):
        """Events of a job with seq > after_seq, to `finished` (AsyncEventStream)."""
        request = jobs_pb2.WatchJobRequest(job_id=job_id, after_seq=after_seq)

        async def open_call():
            stub = await self._stub_for_job(job_id)
            return stub.WatchJob(request, timeout=timeout, metadata=self._metadata), job_id

        return AsyncEventStream(open_call, self, job_id=job_id, cancel_on_exit=cancel_on_exit)

    async def get(self, job_id):
        stub = await self._stub_for_job(job_id)
        return Job.from_proto(await self._unary(stub.GetJob,
                                                jobs_pb2.GetJobRequest(job_id=job_id)))

    async def list(self, state=None, page_size=0, limit=None):
        """Jobs newest first, all pages; see Client.list."""
        if len(self.endpoints) <= 1:
            return await self._list_one(self._stub, state, page_size, limit)
        jobs = []
        for endpoint in self.endpoints:
            jobs.extend(await self._list_one(self._replica_stub(endpoint), state, page_size,
                                             limit))
        return _sort_jobs(jobs, limit)

    async def _list_one(self, stub, state, page_size, limit):
        jobs, token = [], ""
        while True:
            response = await self._unary(stub.ListJobs,
                                         self._list_request(state, page_size, token))
            jobs.extend(Job.from_proto(job) for job in response.jobs)
            token = response.next_page_token
            if not token or (limit is not None and len(jobs) >= limit):
                return jobs[:limit] if limit is not None else jobs

    async def cancel(self, job_id):
        """Cancels a queued or running job; FAILED_PRECONDITION if it has already finished."""
        stub = await self._stub_for_job(job_id)
        return Job.from_proto(await self._unary(stub.CancelJob,
                                                jobs_pb2.CancelJobRequest(job_id=job_id)))

    async def _cancel_quietly(self, job_id):
        try:
            await self.cancel(job_id)
        except SgdSpectraError as error:
            if error.code not in ("FAILED_PRECONDITION", "NOT_FOUND"):
                raise

    async def result(self, job_id, include_test_sample=False):
        """The JobResult of a finished job; see Client.result."""
        stub = await self._stub_for_job(job_id)
        request = jobs_pb2.GetResultRequest(job_id=job_id,
                                            include_test_sample=include_test_sample)
        return JobResult.from_proto(await self._unary(stub.GetResult, request))

    async def test_sample(self, job_id, rows_per_chunk=0):
        """The test sample as (inputs M x d, labels M) NumPy arrays; see Client.test_sample."""
        stub = await self._stub_for_job(job_id)
        request = jobs_pb2.StreamTestSampleRequest(job_id=job_id, rows_per_chunk=rows_per_chunk)
        try:
            chunks = [chunk async for chunk in stub.StreamTestSample(
                request, metadata=self._metadata)]
        except grpc.aio.AioRpcError as error:
            raise SgdSpectraError.from_rpc_error(error) from None
        return _assemble_test_sample(chunks)

    async def _unary(self, method, request):
        try:
            return await method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.aio.AioRpcError as error:
            raise SgdSpectraError.from_rpc_error(error) from None
