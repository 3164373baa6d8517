"""Build step of the sgdspectra Python package (metadata: pyproject.toml).

build_py generates the gRPC stubs from jobs.proto into the built package (sgdspectra/v1/
jobs_pb2.py, jobs_pb2_grpc.py, and the .proto beside them), so an installed `import sgdspectra`
never runs protoc. The .proto is found, in order, at $SGDSPECTRA_PROTO_DIR, ./proto (an sdist:
`sdist` copies it there), and ../../proto (this folder inside a checkout of the repository).
"""

import importlib.util
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_FILE = os.path.join("sgdspectra", "v1", "jobs.proto")


def _stubgen():
    spec = importlib.util.spec_from_file_location("sgdspectra_stubgen",
                                                  os.path.join(HERE, "stubgen.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def proto_dir():
    candidates = [os.environ.get("SGDSPECTRA_PROTO_DIR"), os.path.join(HERE, "proto"),
                  os.path.join(HERE, os.pardir, os.pardir, "proto")]
    for candidate in candidates:
        if candidate and os.path.isfile(os.path.join(candidate, PROTO_FILE)):
            return os.path.abspath(candidate)
    raise SystemExit("sgdspectra: cannot find %s (looked in %s); set SGDSPECTRA_PROTO_DIR"
                     % (PROTO_FILE, ", ".join(c for c in candidates if c)))


class BuildPyWithStubs(build_py):
    """build_py, then the stubs: into the build folder, or into the sources for an editable
    install (pip install -e)."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            out_dir = HERE
        else:
            out_dir = self.build_lib
        proto_root = proto_dir()
        _stubgen().generate(out_dir, proto_root)
        shutil.copyfile(os.path.join(proto_root, PROTO_FILE), os.path.join(out_dir, PROTO_FILE))

    def get_outputs(self, *args, **kwargs):
        outputs = list(super().get_outputs(*args, **kwargs))
        for name in ("__init__.py", "jobs_pb2.py", "jobs_pb2_grpc.py", "jobs.proto"):
            path = os.path.join(self.build_lib, "sgdspectra", "v1", name)
            if path not in outputs:
                outputs.append(path)
        return outputs


class SdistWithProto(sdist):
    """sdist with the .proto copied in (./proto/...), so the sdist builds on its own."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        target = os.path.join(base_dir, "proto", PROTO_FILE)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(proto_dir(), PROTO_FILE), target)


setup(cmdclass={"build_py": BuildPyWithStubs, "sdist": SdistWithProto})
