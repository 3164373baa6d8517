#!/usr/bin/env python3
"""Live test of the Python client against a server with mutual TLS and bearer tokens.

Makes throwaway certificates with tests/testing/make_test_certs.sh (openssl, at test time),
starts sgdspectra-server on 127.0.0.1 with --tls-cert/--tls-key/--tls-client-ca, --auth-tokens
and --admin-principals, and checks the sync Client and the AsyncClient: a job run over TLS with a
token (from the argument, from $SGDSPECTRA_TOKEN, certificate files or PEM bytes), what a missing
or wrong token and a missing client certificate give, that another principal's job is NOT_FOUND
while an admin sees it, and that a token is never sent in plaintext off the machine.

Usage: /usr/bin/python3 clients/python/tests/test_tls.py --server-binary PATH [unittest args]
       (or SGDSPECTRA_SERVER_BINARY). Stubs: see support.py.
"""

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
MAKE_CERTS = os.path.join(REPO, "tests", "testing", "make_test_certs.sh")

ARGS = None
WORK_DIR = None
PKI = None
SERVER = None

ALICE = "alice-token-0123456789"
BOB = "bob-token-abcdefghijkl"
ROOT = "root-token-ZYXWVUTSRQPO"

TINY_SPEC = {
    "name": "python-tls",
    "seed": "3",
    "kgmm": {"dim": 40, "numClasses": 3, "snr": 50},
    "sgd": {"tEnd": 2},
    "schedule": {"kind": "EVERY_STEPS", "everySteps": 40},
}


def pki(name):
    return os.path.join(PKI, name)


def setUpModule():
    global WORK_DIR, PKI, SERVER, sgdspectra
    WORK_DIR = tempfile.mkdtemp(prefix="sgdspectra-python-tls-")
    sys.path.insert(0, HERE)
    import support
    from test_live import LiveServer

    sgdspectra = support.use_checkout()
    PKI = os.path.join(WORK_DIR, "pki")
    subprocess.run(["bash", MAKE_CERTS, PKI], check=True)
    tokens = os.path.join(WORK_DIR, "tokens")
    with open(tokens, "w") as f:
        f.write("alice %s\nbob %s\nroot %s\n" % (ALICE, BOB, ROOT))
    SERVER = LiveServer(ARGS.server_binary, WORK_DIR, extra_args=[
        "--tls-cert", pki("server.crt"), "--tls-key", pki("server.key"),
        "--tls-client-ca", pki("ca.crt"), "--auth-tokens", tokens, "--admin-principals", "root"])


def tearDownModule():
    code = SERVER.stop() if SERVER is not None else 0
    if WORK_DIR:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    if code != 0:
        raise AssertionError("server exit code after SIGTERM: %s (want 0)" % code)


def tls_kwargs():
    """Certificate files as paths, the key as PEM bytes: both forms are accepted."""
    with open(pki("client.key"), "rb") as f:
        key = f.read()
    return {"tls_ca": pki("ca.crt"), "tls_cert": pki("client.crt"), "tls_key": key}


def address():
    # 127.0.0.1 (an IP SAN of the server certificate) rather than localhost, which may also
    # resolve to ::1 and so look like two replicas.
    return SERVER.address


class TlsClientTest(unittest.TestCase):

    def client(self, token, **overrides):
        kwargs = tls_kwargs()
        kwargs.update(overrides)
        return sgdspectra.Client(address(), token, timeout=30, **kwargs)

    def test_run_over_mutual_tls_and_ownership(self):
        with self.client(ALICE) as alice:
            events = list(alice.run(TINY_SPEC))
            self.assertIs(events[-1].finished.state, sgdspectra.JobState.SUCCEEDED)
            job_id = events[0].job_id
            self.assertEqual(alice.get(job_id).owner, "alice")
            self.assertIn(job_id, [job.job_id for job in alice.list()])
        with self.client(BOB) as bob:
            for call in (bob.get, bob.cancel, bob.result, lambda i: list(bob.watch(i))):
                with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
                    call(job_id)
                self.assertEqual(caught.exception.code, "NOT_FOUND")
                self.assertEqual(caught.exception.message, "job_id: no job " + job_id)
            self.assertNotIn(job_id, [job.job_id for job in bob.list()])
        with self.client(ROOT) as root:
            self.assertEqual(root.get(job_id).owner, "alice")
            self.assertEqual(root.result(job_id).job.owner, "alice")

    def test_token_from_the_environment(self):
        with mock.patch.dict(os.environ, {"SGDSPECTRA_TOKEN": BOB}):
            with self.client(None) as client:
                job = client.submit(TINY_SPEC)
                self.assertEqual(job.owner, "bob")
            # An explicit "" sends no token even when the variable is set.
            with self.client("") as client:
                with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
                    client.list()
                self.assertEqual(caught.exception.code, "UNAUTHENTICATED")
                self.assertIn("missing bearer token", caught.exception.message)

    def test_wrong_token_and_missing_client_certificate(self):
        with self.client("wrong-token-0000000000") as client:
            with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
                client.list()
            self.assertEqual(caught.exception.code, "UNAUTHENTICATED")
            self.assertEqual(caught.exception.message, "bearer token not recognised")
        with sgdspectra.Client(address(), ALICE, tls_ca=pki("ca.crt"), timeout=10) as client:
            with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
                client.list()
            self.assertEqual(caught.exception.code, "UNAVAILABLE")  # handshake refused

    def test_tls_server_name(self):
        ip_address = SERVER.address
        with sgdspectra.Client(ip_address, ALICE, tls_server_name="localhost", timeout=10,
                               **tls_kwargs()) as client:
            client.list()
        with sgdspectra.Client(ip_address, ALICE, tls_server_name="elsewhere.example",
                               timeout=10, **tls_kwargs()) as client:
            with self.assertRaises(sgdspectra.SgdSpectraError) as caught:
                client.list()
            self.assertEqual(caught.exception.code, "UNAVAILABLE")

    def test_async_client(self):
        async def main():
            async with sgdspectra.AsyncClient(address(), ALICE, **tls_kwargs()) as client:
                events = [event async for event in client.run(TINY_SPEC)]
                job = await client.get(events[0].job_id)
                return events, job

        events, job = asyncio.run(main())
        self.assertIs(events[-1].finished.state, sgdspectra.JobState.SUCCEEDED)
        self.assertEqual(job.owner, "alice")

    def test_tokens_never_travel_in_plaintext_off_the_machine(self):
        with self.assertRaises(ValueError) as caught:
            sgdspectra.Client("192.0.2.123:50051", ALICE)
        self.assertIn("refusing to send the bearer token in plaintext", str(caught.exception))
        self.assertNotIn(ALICE, str(caught.exception))
        sgdspectra.Client("127.0.0.1:1", ALICE).close()  # loopback: the server decides
        with self.assertRaises(ValueError):
            sgdspectra.Client(address(), ALICE, tls_cert=pki("client.crt"))  # without its key


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-binary", default=os.environ.get("SGDSPECTRA_SERVER_BINARY"))
    ARGS, rest = parser.parse_known_args()
    if not ARGS.server_binary:
        parser.error("--server-binary (or SGDSPECTRA_SERVER_BINARY) is required")
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
