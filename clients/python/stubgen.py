"""Generates the Python gRPC stubs of proto/sgdspectra/v1/jobs.proto (jobs_pb2.py,
jobs_pb2_grpc.py) into OUT_DIR/sgdspectra/v1/: a build step, never run by `import sgdspectra`.

Used by setup.py (the stubs land inside the built package), by the CMake target
sgdspectra-python-stubs (into the build tree, for tests run from a checkout), and by
generate_stubs.sh. Standard library only, so it runs before anything is installed:

    python3 stubgen.py OUT_DIR [--proto-dir DIR]

Generation uses grpc_tools.protoc when the running interpreter has it, otherwise `protoc` with
`grpc_python_plugin` (Debian: protobuf-compiler and protobuf-compiler-grpc), honouring $PROTOC and
$GRPC_PYTHON_PLUGIN. Files are written to a temporary folder and renamed into place, so a
concurrent reader never sees half-written stubs. The .proto is read from --proto-dir, else
$SGDSPECTRA_PROTO_DIR, else the repository's proto/ folder (two levels above this file).
"""

import os
import shutil
import subprocess
import sys
import tempfile

PROTO_FILE = "sgdspectra/v1/jobs.proto"
_GENERATED = ("sgdspectra/v1/jobs_pb2.py", "sgdspectra/v1/jobs_pb2_grpc.py")

_PYTHON_CLIENT_DIR = os.path.dirname(os.path.abspath(__file__))  # clients/python
_REPO_DIR = os.path.dirname(os.path.dirname(_PYTHON_CLIENT_DIR))


class StubsError(RuntimeError):
    """The stubs could not be generated; the message says what to install or set."""


def proto_dir():
    """The folder that holds sgdspectra/v1/jobs.proto."""
    return os.environ.get("SGDSPECTRA_PROTO_DIR") or os.path.join(_REPO_DIR, "proto")


def _has_stubs(directory):
    return all(os.path.isfile(os.path.join(directory, f)) for f in _GENERATED)


def _protoc_command(out_dir, proto_root):
    try:
        import grpc_tools  # noqa: F401  (PyPI's grpcio-tools; not packaged by Debian)

        return [sys.executable, "-m", "grpc_tools.protoc", "-I", proto_root,
                "--python_out=" + out_dir, "--grpc_python_out=" + out_dir, PROTO_FILE]
    except ImportError:
        pass
    protoc = os.environ.get("PROTOC") or shutil.which("protoc")
    plugin = (os.environ.get("GRPC_PYTHON_PLUGIN") or shutil.which("grpc_python_plugin")
              or "/usr/bin/grpc_python_plugin")
    if not protoc or not os.path.isfile(plugin):
        raise StubsError(
            "cannot generate the sgdspectra stubs: need grpc_tools, or protoc and "
            "grpc_python_plugin (Debian: apt-get install protobuf-compiler protobuf-compiler-grpc)")
    return [protoc, "-I", proto_root, "--python_out=" + out_dir, "--grpc_out=" + out_dir,
            "--plugin=protoc-gen-grpc=" + plugin, PROTO_FILE]


def generate(out_dir, proto_root=None):
    """Generates the stubs into out_dir (created if needed; existing stubs replaced atomically)."""
    proto_root = os.path.abspath(proto_root or proto_dir())
    if not os.path.isfile(os.path.join(proto_root, PROTO_FILE)):
        raise StubsError("cannot generate the sgdspectra stubs: no %s under %s (set "
                         "SGDSPECTRA_PROTO_DIR)" % (PROTO_FILE, proto_root))
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".stubs-", dir=out_dir)
    try:
        command = _protoc_command(staging, proto_root)
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True)
        if done.returncode != 0 or not _has_stubs(staging):
            raise StubsError("stub generation failed (%s): %s"
                             % (" ".join(command), done.stderr.strip()))
        # protoc writes no __init__.py; make v1 a regular package.
        open(os.path.join(staging, "sgdspectra", "v1", "__init__.py"), "w").close()
        for name in _GENERATED + ("sgdspectra/v1/__init__.py",):
            target = os.path.join(out_dir, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(os.path.join(staging, name), target)  # atomic per file
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(description="Generate the sgdspectra Python stubs.")
    parser.add_argument("out_dir", help="output folder (stubs land in OUT_DIR/sgdspectra/v1)")
    parser.add_argument("--proto-dir", default=None, help="folder holding " + PROTO_FILE)
    args = parser.parse_args(argv)
    try:
        print(generate(args.out_dir, args.proto_dir))
    except StubsError as error:
        print("generate_stubs: %s" % error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
