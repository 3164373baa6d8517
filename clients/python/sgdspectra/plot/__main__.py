"""python -m sgdspectra.plot TARGET [TARGET ...] [--out DIR] [--format svg,png,pdf] ...

Figures (SVG / PNG / PDF) and one self-contained report.html of a job, a sweep, or several runs.

TARGET is, in this order:
  -                        a job's events on stdin (JSON lines of `sgdspectra run/watch -o jsonl`)
  a folder with summary.csv   a `sgdspectra sweep` folder
  an existing file         a job's events .jsonl file
  a path that does not exist (holds '/' or ends in .jsonl / .json / .csv): a usage error
  anything else            a job id, whose events come from --server through WatchJob: all of
                           them once the job has ended; for a queued or running job those
                           recorded so far (--wait: to its end)
Several TARGETs (events files or job ids) are drawn as runs on common figures.

Output (--out; default: SWEEP/plots for a sweep, <events file stem>-plots beside an events
file, ./sgdspectra-plots-<job id> for a job id, ./sgdspectra-plots-runs for several runs):
NAME.FORMAT per figure and format, and report.html. The paths written go to stdout, one per
line, report.html last.

Exit codes (as the sgdspectra CLI's): 0 written; 2 usage (bad TARGET or option: the message
names FILE:LINE where it can); 4 the RPC failed; 6 an output could not be written.
"""

import argparse
import os
import re
import sys

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_RPC = 4
EXIT_OUTPUT = 6
DEFAULT_SERVER = "127.0.0.1:50051"


class UsageError(Exception):
    pass


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m sgdspectra.plot", description=__doc__.split("\n", 1)[1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="+", metavar="TARGET",
                        help="events .jsonl file (- = stdin), sweep folder, or job id")
    parser.add_argument("--out", help="output folder (default: see above)")
    parser.add_argument("--format", default="svg,png",
                        help="comma-separated: svg, png, pdf (default svg,png)")
    parser.add_argument("--server", default=os.environ.get("SGDSPECTRA_SERVER", DEFAULT_SERVER),
                        help="server for job ids: HOST:PORT or several replicas (default "
                             "$SGDSPECTRA_SERVER or %s)" % DEFAULT_SERVER)
    parser.add_argument("--times", default="",
                        help="comma-separated times t for the spectrum histograms (nearest "
                             "snapshot each; default first, middle and last)")
    parser.add_argument("--blocks", default="first",
                        help="class / neuron blocks drawn over time: first (the first 4), all, "
                             "or a number")
    parser.add_argument("--wait", action="store_true",
                        help="for a job id: wait until the job ends")
    parser.add_argument("--no-report", action="store_true", help="figures only, no report.html")
    parser.add_argument("--no-events", action="store_true",
                        help="sweep: read summary.csv only (no figures over t)")
    args = parser.parse_args(argv)
    args.formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    bad = [f for f in args.formats if f not in ("svg", "png", "pdf")]
    if bad or not args.formats:
        parser.error("--format: %s; use svg, png and/or pdf" % (", ".join(bad) or "empty"))
    try:
        args.time_list = [float(t) for t in args.times.split(",") if t.strip()]
    except ValueError:
        parser.error("--times: %r is not a comma-separated list of numbers" % args.times)
    if args.blocks == "first":
        args.blocks_shown = 4
    elif args.blocks == "all":
        args.blocks_shown = None
    elif args.blocks.isdigit() and int(args.blocks) > 0:
        args.blocks_shown = int(args.blocks)
    else:
        parser.error("--blocks: first, all or a positive number, not %r" % args.blocks)
    return args


def target_kind(target):
    if target == "-":
        return "stdin"
    if os.path.isdir(target):
        if os.path.isfile(os.path.join(target, "summary.csv")):
            return "sweep"
        raise UsageError("%s: a directory without summary.csv (not a sweep folder)" % target)
    if os.path.exists(target):
        return "file"
    if "/" in target or os.path.splitext(target)[1] in (".jsonl", ".json", ".csv"):
        raise UsageError("%s: no such file or directory" % target)
    return "job"


def safe_component(text):
    """A job id as one path component: anything but [A-Za-z0-9._-] becomes '_'."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", text or "unknown")
    return "_" if safe in (".", "..") else safe


def fetch_events(client, job_id, wait):
    """The events of a job from the server: to its end if it has ended (or `wait`), otherwise
    up to the newest event GetJob reports."""
    from ._data import normalize

    job = normalize(client.get(job_id))
    terminal = job.get("state") in ("SUCCEEDED", "FAILED", "CANCELLED")
    last_seq = int(job.get("last_seq") or 0)
    events = []
    if not terminal and not wait and last_seq == 0:
        return events
    with client.watch(job_id) as stream:
        for event in stream:
            events.append(event)
            if not terminal and not wait and event.seq >= last_seq:
                break
    return events


def load_target(target, kind, args, clients):
    from . import _data

    if kind == "stdin":
        lines = sys.stdin.read().splitlines()
        import json

        items = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except ValueError as error:
                raise UsageError("stdin:%d: not a JSON line: %s" % (number, error)) from None
        if not items:
            raise UsageError("stdin: holds no events")
        return _data.load_job(items, source="stdin")
    if kind == "file":
        job = _data.load_job(target, source=target)
        if job.spectra.empty and job.snapshots.empty and not job.accepted and not job.finished:
            raise UsageError("%s: holds no events" % target)
        return job
    # A job id, from the server.
    if "client" not in clients:
        import sgdspectra

        try:
            clients["client"] = sgdspectra.Client(args.server)
        except ValueError as error:
            raise UsageError("--server %s: %s" % (args.server, error)) from None
    events = fetch_events(clients["client"], target, args.wait)
    job = _data.load_job(events, source="job %s on %s" % (target, args.server))
    job.job_id = job.job_id or target
    return job


def default_out(kinds, targets, jobs):
    if kinds == ["sweep"]:
        return os.path.join(targets[0], "plots")
    if len(targets) > 1:
        return "sgdspectra-plots-runs"
    if kinds == ["file"]:
        stem = os.path.splitext(os.path.basename(targets[0]))[0]
        if stem.endswith(".events"):
            stem = stem[:-len(".events")]
        return os.path.join(os.path.dirname(targets[0]), stem + "-plots")
    return "sgdspectra-plots-" + safe_component(jobs[0].job_id if jobs else targets[0])


def build_page(args, kinds):
    """The Page to write and the default output folder."""
    from . import job as job_figures_module
    from . import report, sweep

    if "sweep" in kinds:
        if len(args.targets) > 1:
            raise UsageError("a sweep folder is plotted on its own; give one TARGET")
        data = sweep.load_sweep_data(args.targets[0], events=not args.no_events)
        figures, notes = sweep.sweep_figures(data)
        return report.sweep_page(data, figures, notes), default_out(kinds, args.targets, [])
    clients = {}
    try:
        jobs = [load_target(t, k, args, clients) for t, k in zip(args.targets, kinds)]
    finally:
        if "client" in clients:
            clients["client"].close()
    out = default_out(kinds, args.targets, jobs)
    if len(jobs) == 1:
        figures, notes = job_figures_module.job_figures(jobs[0], times=args.time_list,
                                                        blocks_shown=args.blocks_shown)
        return report.job_page(jobs[0], figures, notes), out
    ids = [j.job_id for j in jobs]
    if len(set(ids)) < len(ids):
        raise UsageError("the same job is given twice (%s)" % ", ".join(
            sorted({i for i in ids if ids.count(i) > 1})))
    return runs_page(jobs, args), out


def runs_page(jobs, args):
    import pandas

    from . import job as J
    from . import report

    labels = J.run_labels(jobs)
    spectra = pandas.concat([j.spectra for j in jobs], ignore_index=True)
    snapshots = pandas.concat([j.snapshots for j in jobs], ignore_index=True)
    spec = {j.job_id: j for j in jobs}
    figures = [J.runs_figure(jobs, labels=labels)]
    if not spectra.empty:
        key = J.blocks_of(spectra, 1)[0]
        figures.append(J.eigenvalue_figure(spectra, *key, spec=spec, labels=labels))
        figures.append(J.alignment_figure(spectra, spec=spec, blocks_shown=1, labels=labels))
    if not snapshots.empty:
        figures += [J.accuracy_figure(snapshots, spec=spec, labels=labels),
                    J.loss_figure(snapshots, spec=spec, labels=labels),
                    J.norms_figure(snapshots, spec=spec, labels=labels, blocks_shown=1)]
    notes = ["The alignment and eigenvalue figures draw the first class / neuron block of each "
             "run (and the layer and full blocks); plot one run for all of its blocks."]
    return report.runs_page(jobs, figures, labels, notes)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from ._data import EventsError

    from .. import SgdSpectraError

    try:
        kinds = [target_kind(t) for t in args.targets]
        if kinds.count("stdin") > 1:
            raise UsageError("stdin (-) can be given once")
        page, out = build_page(args, kinds)
    except (UsageError, EventsError, FileNotFoundError) as error:
        print("error: %s" % error, file=sys.stderr)
        return EXIT_USAGE
    except SgdSpectraError as error:  # the RPC failed: "CODE: message"
        print("error: %s" % error, file=sys.stderr)
        return EXIT_RPC
    from . import report

    out = args.out or out
    try:
        paths = report.write_page(page, out, args.formats, report=not args.no_report)
    except OSError as error:
        print("error: cannot write to %s: %s" % (out, error.strerror or error), file=sys.stderr)
        return EXIT_OUTPUT
    for path in paths:
        print(path)
    sys.stdout.flush()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
