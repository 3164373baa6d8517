"""Events in and out of files: the JSON lines of `sgdspectra run/watch -o jsonl` and of a sweep's
jobs/NNNN.events.jsonl (one JobEvent per line in the proto3 JSON mapping), and `as_events`, which
turns anything the frames accept into a list of `Event` dataclasses.
"""

from __future__ import annotations

import os
from typing import Iterable, List, Mapping

from google.protobuf import json_format

from .types import Event, Snapshot
from .v1 import jobs_pb2

__all__ = ["as_events", "read_events", "write_events"]


def read_events(path) -> List[Event]:
    """The events of a .jsonl file (blank lines skipped; fields unknown to this client's .proto,
    e.g. from a newer server, ignored)."""
    events = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            message = jobs_pb2.JobEvent()
            try:
                json_format.Parse(line, message, ignore_unknown_fields=True)
            except json_format.ParseError as error:
                raise ValueError("%s:%d: not a JobEvent: %s" % (path, number, error)) from None
            events.append(Event.from_proto(message))
    return events


def write_events(events, path) -> int:
    """Writes events (anything as_events accepts) as JSON lines, the CLI's format; returns the
    number written."""
    events = as_events(events)
    with open(path, "w", encoding="utf-8") as f:
        for event in events:
            f.write(event.to_json() + "\n")
    return len(events)


def is_sweep_folder(path) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "summary.csv"))


def as_events(source) -> List[Event]:
    """A list of Event dataclasses from: a path to an events .jsonl file; a JobEvent proto
    message or an Event; a dict in the proto3 JSON mapping (a parsed JSON line); a Snapshot (proto
    or dataclass; job_id "" and seq 0); a frames.Sweep (every job's events); or any iterable
    (list, generator, a client's event stream) of these, nested lists included (e.g. the output
    of Client.run_all)."""
    out: List[Event] = []
    _collect(source, out)
    return out


def _collect(source, out):
    if isinstance(source, Event):
        out.append(source)
    elif isinstance(source, jobs_pb2.JobEvent):
        out.append(Event.from_proto(source))
    elif isinstance(source, Snapshot):
        out.append(Event(snapshot=source))
    elif isinstance(source, jobs_pb2.Snapshot):
        out.append(Event(snapshot=Snapshot.from_proto(source)))
    elif isinstance(source, Mapping) and hasattr(source, "fields") and hasattr(source, "events"):
        for events in source.values():  # a frames.Sweep: every job's events
            _collect(events, out)
    elif isinstance(source, Mapping):
        message = jobs_pb2.JobEvent()  # a dict in the proto3 JSON mapping (one JSON line)
        try:
            json_format.ParseDict(dict(source), message, ignore_unknown_fields=True)
        except json_format.ParseError as error:
            raise ValueError("not a JobEvent: %s" % error) from None
        out.append(Event.from_proto(message))
    elif isinstance(source, (str, bytes, os.PathLike)):
        if is_sweep_folder(source):
            raise TypeError("%s is a sweep folder: use load_sweep() or the frame functions"
                            % os.fsdecode(source))
        out.extend(read_events(source))
    elif isinstance(source, Iterable):
        for item in source:
            _collect(item, out)
    else:
        raise TypeError("expected JobEvent messages, Event dataclasses or an events .jsonl path, "
                        "got %s" % type(source).__name__)
