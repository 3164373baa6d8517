#!/usr/bin/env python3
"""Installs the package offline into a temporary venv and imports it from another directory.

1. Copies clients/python and proto/ (the checkout's layout) into a temporary folder, so the build
   leaves nothing in the checkout.
2. `python3 -m venv --system-site-packages` (Debian's grpcio, protobuf, numpy, pandas, setuptools
   and wheel are used from the system), then
   `pip install --no-build-isolation --no-deps --no-index <copy>/clients/python`.
3. Imports sgdspectra from an unrelated directory with no PYTHONPATH and no
   SGDSPECTRA_STUBS_DIR, with `protoc` and `grpc_python_plugin` on PATH replaced by programs that
   record being run: the import must work, come from the venv, and run neither.
4. Builds an sdist (setup.py sdist: the .proto is copied in) and installs it the same way: the
   sdist builds on its own, away from the checkout's proto/.

Usage: /usr/bin/python3 clients/python/tests/test_install.py [--keep]
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_CLIENT_DIR = os.path.dirname(HERE)
REPO_DIR = os.path.dirname(os.path.dirname(PYTHON_CLIENT_DIR))
KEEP = "--keep" in sys.argv

CHECK_SCRIPT = textwrap.dedent('''
    import importlib.metadata, os, sys
    import numpy as np
    import sgdspectra
    from sgdspectra.v1 import jobs_pb2
    prefix = os.path.realpath(sys.prefix)
    assert os.path.realpath(sgdspectra.__file__).startswith(prefix), sgdspectra.__file__
    assert os.path.realpath(jobs_pb2.__file__).startswith(prefix), jobs_pb2.__file__
    assert sgdspectra.jobs_pb2 is jobs_pb2
    assert os.path.isfile(os.path.join(os.path.dirname(jobs_pb2.__file__), "jobs.proto"))
    assert importlib.metadata.version("sgdspectra") == "0.1.0"
    assert sgdspectra.__version__ == "0.1.0"
    event = sgdspectra.Event(job_id="j", seq=2, snapshot=sgdspectra.Snapshot(
        index=1, step=10, spectra=[sgdspectra.Spectrum(
            matrix=sgdspectra.MatrixKind.HESSIAN, block=sgdspectra.BlockKind.FULL,
            top_eigenvalues=np.array([3.0, 2.0, 1.0]), outlier_count=2)]))
    frame = sgdspectra.spectra_frame([event.to_proto()])
    assert frame["eigenvalue"].tolist() == [3.0, 2.0, 1.0], frame
    assert frame["is_outlier"].tolist() == [True, True, False]
    assert frame["block"].tolist() == ["FULL"] * 3
    assert sgdspectra.AsyncClient and sgdspectra.Client
    print("imported", sgdspectra.__file__)
''')

FAKE_TOOL = textwrap.dedent('''\
    #!/bin/sh
    echo "$0 $*" >> "{marker}"
    exit 1
''')


def run(command, **kwargs):
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)
    output = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(command), done.returncode, output))
    return output


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="sgdspectra-install-test-")
        source = os.path.join(cls.work, "src")
        cls.package_dir = os.path.join(source, "clients", "python")
        shutil.copytree(PYTHON_CLIENT_DIR, cls.package_dir, ignore=shutil.ignore_patterns(
            "build", "dist", "*.egg-info", "__pycache__", "_generated", "v1"))
        os.makedirs(os.path.join(source, "proto", "sgdspectra", "v1"))
        shutil.copy(os.path.join(REPO_DIR, "proto", "sgdspectra", "v1", "jobs.proto"),
                    os.path.join(source, "proto", "sgdspectra", "v1", "jobs.proto"))
        cls.venv = os.path.join(cls.work, "venv")
        run([sys.executable, "-m", "venv", "--system-site-packages", cls.venv])
        cls.python = os.path.join(cls.venv, "bin", "python")
        cls.env = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "SGDSPECTRA_STUBS_DIR", "SGDSPECTRA_PROTO_DIR")}
        cls.env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")

    @classmethod
    def tearDownClass(cls):
        if KEEP:
            print("kept %s" % cls.work, file=sys.stderr)
        else:
            shutil.rmtree(cls.work, ignore_errors=True)

    def pip_install(self, target):
        return run([self.python, "-m", "pip", "install", "--no-build-isolation", "--no-deps",
                    "--no-index", "--force-reinstall", target], env=self.env, cwd=self.work)

    def check_import_elsewhere(self):
        """Imports the installed package from an empty folder; protoc must not run."""
        elsewhere = tempfile.mkdtemp(dir=self.work, prefix="elsewhere-")
        fake_bin = os.path.join(elsewhere, "bin")
        os.makedirs(fake_bin)
        marker = os.path.join(elsewhere, "protoc-was-run")
        for tool in ("protoc", "grpc_python_plugin"):
            path = os.path.join(fake_bin, tool)
            with open(path, "w") as f:
                f.write(FAKE_TOOL.format(marker=marker))
            os.chmod(path, 0o755)
        env = dict(self.env, PATH=fake_bin + os.pathsep + self.env.get("PATH", "/usr/bin:/bin"),
                   PROTOC=os.path.join(fake_bin, "protoc"),
                   GRPC_PYTHON_PLUGIN=os.path.join(fake_bin, "grpc_python_plugin"))
        output = run([self.python, "-c", CHECK_SCRIPT], env=env, cwd=elsewhere)
        self.assertIn("imported " + os.path.realpath(self.venv), output.replace(
            self.venv, os.path.realpath(self.venv)))
        self.assertFalse(os.path.exists(marker), "import ran protoc")
        # Not importable from there by the system interpreter: the import came from the venv.
        system = subprocess.run([sys.executable, "-c", "import sgdspectra.v1.jobs_pb2"],
                                cwd=elsewhere, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.assertNotEqual(system.returncode, 0)

    def test_1_install_from_the_source_folder(self):
        output = self.pip_install(self.package_dir)
        self.assertIn("Successfully installed sgdspectra-0.1.0", output)
        self.check_import_elsewhere()

    def test_2_install_from_an_sdist(self):
        dist = os.path.join(self.work, "dist")
        run([self.python, "setup.py", "-q", "sdist", "-d", dist], env=self.env,
            cwd=self.package_dir)
        archives = glob.glob(os.path.join(dist, "sgdspectra-0.1.0.tar.gz"))
        self.assertEqual(len(archives), 1, os.listdir(dist))
        listing = run(["tar", "-tzf", archives[0]])
        self.assertIn("sgdspectra-0.1.0/proto/sgdspectra/v1/jobs.proto", listing)
        self.assertIn("sgdspectra-0.1.0/stubgen.py", listing)
        self.assertNotIn("jobs_pb2", listing)  # stubs are generated when it is built
        output = self.pip_install(archives[0])
        self.assertIn("Successfully installed sgdspectra-0.1.0", output)
        self.check_import_elsewhere()


if __name__ == "__main__":
    unittest.main(argv=[a for a in sys.argv if a != "--keep"], verbosity=2)
