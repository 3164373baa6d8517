"""Shared by the Python client tests: making `import sgdspectra` work from a checkout, and
messages with every field set (descriptor walk) for the no-server tests.

Import path (the package's documented checkout mechanism): $SGDSPECTRA_STUBS_DIR names a folder of
generated stubs (CTest sets it to the build tree's, made by the CMake target
sgdspectra-python-stubs); when it is not set, the stubs are generated here into a temporary folder
with stubgen.py (the package itself never runs protoc). clients/python goes first on sys.path,
unless SGDSPECTRA_TEST_INSTALLED=1 asks to test the installed package.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_CLIENT_DIR = os.path.dirname(HERE)


def use_checkout():
    """Makes `import sgdspectra` import clients/python with stubs; returns the module."""
    if not os.environ.get("SGDSPECTRA_STUBS_DIR") and not os.environ.get(
            "SGDSPECTRA_TEST_INSTALLED"):
        stubs = tempfile.mkdtemp(prefix="sgdspectra-stubs-")
        atexit.register(shutil.rmtree, stubs, True)
        subprocess.run([sys.executable, os.path.join(PYTHON_CLIENT_DIR, "stubgen.py"), stubs],
                       check=True, stdout=subprocess.DEVNULL)
        os.environ["SGDSPECTRA_STUBS_DIR"] = stubs
    if not os.environ.get("SGDSPECTRA_TEST_INSTALLED"):
        sys.path.insert(0, PYTHON_CLIENT_DIR)
    import sgdspectra

    return sgdspectra


# ---------------------------------------------------------------------------------------------
# Messages with every field set, to distinct non-default values


class Filler:
    """Sets every field of a message (recursively) to a value no other field has: integers and
    doubles from a counter, strings "s<n>", bools True, enums their last value, repeated fields
    two entries. One member of each real oneof is set (the one named in `oneofs`, else the
    first)."""

    def __init__(self, start=3):
        self.counter = start

    def next(self):
        self.counter += 1
        return self.counter

    def scalar(self, field):
        if field.type == field.TYPE_BOOL:
            return True
        if field.type in (field.TYPE_DOUBLE, field.TYPE_FLOAT):
            return self.next() + 0.25
        if field.type == field.TYPE_STRING:
            return "s%d" % self.next()
        if field.type == field.TYPE_BYTES:
            return b"b%d" % self.next()
        if field.type == field.TYPE_ENUM:
            return field.enum_type.values[-1].number
        return self.next()

    def fill(self, message, oneofs=(), depth=0):
        for field in message.DESCRIPTOR.fields:
            oneof = field.containing_oneof
            if oneof is not None and not (len(oneof.fields) == 1
                                          and oneof.name == "_" + field.name):
                wanted = [f.name for f in oneof.fields if f.name in oneofs]
                chosen = wanted[0] if wanted else oneof.fields[0].name
                if field.name != chosen:
                    continue
            repeated = field.label == field.LABEL_REPEATED
            if field.message_type is not None:
                if depth > 6:
                    continue
                if repeated:
                    for _ in range(2):
                        self.fill(getattr(message, field.name).add(), oneofs, depth + 1)
                else:
                    self.fill(getattr(message, field.name), oneofs, depth + 1)
            elif repeated:
                getattr(message, field.name).extend([self.scalar(field), self.scalar(field)])
            else:
                setattr(message, field.name, self.scalar(field))
        return message


def full_event(jobs_pb2, kind, start=3):
    """A JobEvent of `kind` ("accepted", ...) with every field set; for a snapshot the fields
    that must agree (num_classes x num_means products, outlier counts) are made consistent."""
    event = Filler(start).fill(jobs_pb2.JobEvent(), oneofs=(kind, "kgmm"))
    if kind == "snapshot":
        snapshot = event.snapshot
        snapshot.num_classes, snapshot.num_means = 2, 3
        del snapshot.weight_mean_products[:]
        snapshot.weight_mean_products.extend([10.5, 11.5, 12.5, 13.5, 14.5, 15.5])
        for spectrum in snapshot.spectra:
            spectrum.outlier_count = 1
    if kind == "finished":
        event.finished.reason = jobs_pb2.FinishReason.Value("RUN_FAILED")
    return event
