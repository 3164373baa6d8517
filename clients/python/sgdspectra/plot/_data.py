"""What the figures read: a job's events, frames and resolved spec.

Frames come from `sgdspectra.frames` (the contract: spectra_frame, snapshots_frame,
sweep_frame, load_sweep); events from `sgdspectra.events.as_events`, so a job may be given as a
path to an events .jsonl file (`sgdspectra run/watch -o jsonl`), JobEvent protos, the package's
Event dataclasses or dicts in the proto3 JSON mapping.

The resolved spec (the Accepted event's `resolved_spec`) is kept as a plain dict with the
.proto's snake_case field names (`normalize`), for the theory overlays (theory.task_params).
"""

import collections.abc
import dataclasses
import enum
import os
import re


class EventsError(ValueError):
    """Events that cannot be read or belong together wrongly; the message names the source (and
    FILE:LINE for a bad line)."""


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def normalize(value):
    """Plain data from a proto message, a dataclass, an enum, a NumPy array, or a dict in the
    proto3 JSON mapping: dicts with snake_case keys, enums by name, lists for repeated fields.
    (64-bit integers of the JSON mapping stay strings; readers convert.)"""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (int, float)):
        return value
    if hasattr(value, "DESCRIPTOR") and hasattr(value, "ListFields"):  # a proto message
        from google.protobuf import json_format

        return normalize(json_format.MessageToDict(value, preserving_proto_field_name=True))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if field.name == "extra":
                out.update({_snake(k): normalize(v) for k, v in (item or {}).items()})
            elif item is not None:
                out[field.name] = normalize(item)
        return out
    if isinstance(value, collections.abc.Mapping):
        return {_snake(str(k)): normalize(v) for k, v in value.items()}
    if hasattr(value, "tolist"):  # NumPy arrays and scalars
        return normalize(value.tolist())
    if isinstance(value, collections.abc.Iterable):
        return [normalize(v) for v in value]
    return value


_ENUM_COLUMNS = ("matrix", "block", "edge_method")


def _conform(frame):
    """Enum columns as names (whatever the frames module gives) and a fresh index."""
    for column in _ENUM_COLUMNS:
        if column in frame and len(frame):
            frame[column] = frame[column].map(
                lambda v: v.name if isinstance(v, enum.Enum) else str(v))
    return frame.reset_index(drop=True)


def spectra_frame(events):
    """sgdspectra.frames.spectra_frame, enum columns as names."""
    from .. import frames

    return _conform(frames.spectra_frame(events))


def snapshots_frame(events):
    """sgdspectra.frames.snapshots_frame."""
    from .. import frames

    return _conform(frames.snapshots_frame(events))


def density_frame(events):
    """sgdspectra.frames.density_frame, enum columns as names."""
    from .. import frames

    return _conform(frames.density_frame(events))


def sweep_frame(folder):
    """sgdspectra.frames.sweep_frame."""
    from .. import frames

    return frames.sweep_frame(folder)


def as_events(source, name=""):
    """Event dataclasses from anything sgdspectra.events.as_events takes; a bad file or line
    raises EventsError naming it."""
    from .. import events

    try:
        return events.as_events(source)
    except OSError as error:
        raise EventsError("%s: %s" % (name or getattr(error, "filename", "") or source,
                                      error.strerror or error)) from None
    except (ValueError, TypeError) as error:
        raise EventsError("%s%s" % (name + ": " if name and name not in str(error) else "",
                                    error)) from None


# ---------------------------------------------------------------------------------------------
# One job


@dataclasses.dataclass
class JobData:
    """One job for the figures: its id, resolved spec (a plain dict with snake_case keys; {}
    when the Accepted event is missing), the Accepted and Finished events (plain dicts or None),
    its frames (spectra_frame, snapshots_frame, density_frame: empty without
    analysis.density_probes; None when not loaded) and where it came from."""

    job_id: str
    spec: dict
    accepted: dict
    finished: dict
    spectra: object  # pandas.DataFrame
    snapshots: object  # pandas.DataFrame
    source: str = ""
    density: object = None  # pandas.DataFrame

    @property
    def label(self):
        """A short name: the spec's name, else the job id."""
        return self.spec.get("name") or self.job_id or "job"


def load_job(events, source=""):
    """A JobData from a job's events (a path to an events .jsonl file, JobEvent protos, Event
    dataclasses or dicts). Raises EventsError for unreadable events, events of several jobs or
    a repeated seq (two streams concatenated)."""
    if isinstance(events, (str, os.PathLike)):
        source = source or os.fspath(events)
    items = as_events(events, source)
    where = source + ": " if source else ""
    job_id, seqs = "", set()
    accepted = finished = None
    for event in items:
        if event.job_id and job_id and event.job_id != job_id:
            raise EventsError("%sevents of more than one job (%s, %s); load one job at a time"
                              % (where, job_id, event.job_id))
        job_id = job_id or event.job_id
        if event.seq and event.seq in seqs:
            raise EventsError("%sevent seq %d appears twice; are two streams of job %s "
                              "concatenated?" % (where, event.seq, job_id))
        seqs.add(event.seq)
        if event.accepted is not None:
            accepted = normalize(event.accepted)
        if event.finished is not None:
            finished = normalize(event.finished)
    return JobData(job_id=job_id, spec=(accepted or {}).get("resolved_spec", {}),
                   accepted=accepted, finished=finished, spectra=spectra_frame(items),
                   snapshots=snapshots_frame(items), source=source,
                   density=density_frame(items))
