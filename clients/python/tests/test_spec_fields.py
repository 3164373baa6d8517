#!/usr/bin/env python3
"""Every JobSpec field is reachable from the Python client, proven by walking the descriptor.

The client takes a spec as a dict in the proto3 JSON mapping (sgdspectra.as_job_spec), so a
field added to the proto needs no change in the package; this test fails if that stops being
true. For every leaf field it builds {"a": {"b": value}} (in both snake_case and lowerCamelCase
spelling), converts it, and reads the value back from the message.

Usage: /usr/bin/python3 clients/python/tests/test_spec_fields.py
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402


def leaves(descriptor, prefix=()):
    """(path, field descriptor) of every non-message field below `descriptor`."""
    for field in descriptor.fields:
        path = prefix + (field,)
        is_list = field.label == field.LABEL_REPEATED
        if field.message_type is not None and not is_list:
            yield from leaves(field.message_type, path)
        else:
            yield path, field


def sample(field):
    """A JSON value for the field that is not its default, and the same value as Python reads it."""
    if field.label == field.LABEL_REPEATED:
        return [0.25, 0.75], [0.25, 0.75]
    if field.type == field.TYPE_BOOL:
        return True, True
    if field.type in (field.TYPE_DOUBLE, field.TYPE_FLOAT):
        return 0.5, 0.5
    if field.type == field.TYPE_STRING:
        return "probe", "probe"
    if field.type == field.TYPE_ENUM:
        value = field.enum_type.values[-1]
        return value.name, value.number
    return 3, 3


class SpecFieldsTest(unittest.TestCase):
    def test_every_field_is_reachable_from_a_dict(self):
        import sgdspectra
        descriptor = sgdspectra.jobs_pb2.JobSpec.DESCRIPTOR
        count = 0
        for path, field in leaves(descriptor):
            for spelling in ("name", "json_name"):
                json_value, expected = sample(field)
                spec = json_value
                for part in reversed(path):
                    spec = {getattr(part, spelling): spec}
                if path[0].containing_oneof is None:
                    spec["kgmm"] = {}
                message = sgdspectra.as_job_spec(spec)
                value = message
                for part in path:
                    value = getattr(value, part.name)
                if field.label == field.LABEL_REPEATED:
                    value = list(value)
                self.assertEqual(value, expected, ".".join(p.name for p in path))
                count += 1
        self.assertGreater(count, 40)


if __name__ == "__main__":
    support.use_checkout()
    unittest.main()
