#!/usr/bin/env python3
"""End to end test of `python -m sgdspectra.plot`, rendered by a real browser (CTest
python_plot_render, label `render`).

A child sgdspectra-server and the CLI make a small k-GMM job (an events file) and an XOR sweep
folder (plot_fixtures.py). Their report.html files are rendered by headless Chromium: the
screenshot must not be blank and must show the figures' series colours; the DOM Chromium built
must hold one <svg> per figure, in each eigenvalue figure one series element per eigenvalue
index counted independently from the events, the theory overlays, and table numbers in their
readable form (the Wilson interval as [low, high] with 4 significant digits). A running job
plotted by id must come back at once with the events so far.

Chromium missing is a failure, not a skip: scripts/install-deps.sh installs it.

Usage: /usr/bin/python3 clients/python/tests/test_plot_render.py --server-binary S --cli-binary C
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy
from PIL import Image

import plot_fixtures
import support

support.use_checkout()

from sgdspectra.plot import report, theory  # noqa: E402

# The first colours of the series cycle (style.COLORS) and the sweep's success / failure ones.
PALETTE = {"#1f77b4": "blue", "#ff7f0e": "orange", "#2ca02c": "green", "#d62728": "red"}
COMMAND_SECONDS = 180


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def run(command, **kwargs):
    env = dict(os.environ, PYTHONPATH=support.PYTHON_CLIENT_DIR)
    done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_SECONDS,
                          env=env, **kwargs)
    if done.returncode != 0:
        fail("%s exited with %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(command), done.returncode, done.stdout[-3000:], done.stderr[-3000:]))
    return done


def plot(*args):
    return run([sys.executable, "-m", "sgdspectra.plot"] + list(args))


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    fail("chromium is not installed (Debian package chromium); the render test needs it")


def run_chromium_jobs(chromium, workdir, jobs):
    """Runs the (name, url, extra arguments, window height) jobs side by side; returns
    {name: stdout}."""
    started = []
    for name, url, action, height in jobs:
        profile = tempfile.mkdtemp(prefix="chromium-" + name + "-", dir=workdir)
        out_path = os.path.join(workdir, name + ".out")
        out = open(out_path, "w")
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-dev-shm-usage", "--disable-background-networking",
                   "--disable-extensions", "--no-first-run", "--hide-scrollbars",
                   "--user-data-dir=" + profile, "--window-size=1280,%d" % height] + action + [url]
        started.append((name, subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL),
                        out_path, out))
    results = {}
    for name, process, out_path, out in started:
        try:
            code = process.wait(timeout=COMMAND_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            fail("chromium (%s) did not finish within %d s" % (name, COMMAND_SECONDS))
        out.close()
        check(code == 0, "chromium (%s) exited with %d" % (name, code))
        with open(out_path) as f:
            results[name] = f.read()
    return results


def check_screenshot(path, colours, what):
    check(os.path.exists(path), "no screenshot of " + what)
    image = numpy.asarray(Image.open(path).convert("RGB")).astype(int)
    check(image.shape[0] >= 1000 and image.shape[1] >= 1000,
          "%s screenshot is only %s" % (what, image.shape))
    ink = (image < 235).any(axis=2).mean()
    check(ink > 0.03, "%s screenshot is nearly blank: %.4f of its pixels not white" % (what, ink))
    for colour in colours:
        rgb = numpy.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        matches = int((numpy.abs(image - rgb).max(axis=2) <= 12).sum())
        check(matches >= 40, "%s screenshot shows %s (%s) in only %d pixels" %
              (what, PALETTE.get(colour, colour), colour, matches))
    print("%s: %.1f%% of pixels inked, colours %s present" %
          (what, 100 * ink, ", ".join(PALETTE.get(c, c) for c in colours)))


def written(stdout, out_dir):
    paths = [line for line in stdout.splitlines() if line]
    check(paths and paths[-1].endswith("report.html"), "the last path printed is not report.html")
    for path in paths:
        check(os.path.exists(path), "plot printed %s, which does not exist" % path)
        check(os.path.dirname(os.path.abspath(path)) == os.path.abspath(out_dir),
              "%s is not in %s" % (path, out_dir))
    return paths


def eigenvalue_series(events):
    """{figure name: number of eigenvalue series} from the events alone."""
    counts = {}
    short = {"HESSIAN": "H", "G_MATRIX": "G"}
    files = {"CLASS_BLOCK": "class", "NEURON": "neuron", "FIRST_LAYER": "layer1",
             "SECOND_LAYER": "layer2", "FULL": "full"}
    for event in events:
        for spectrum in event.get("snapshot", {}).get("spectra", []):
            name = "eigenvalues_%s_%s" % (short[spectrum["matrix"]], files[spectrum["block"]])
            if spectrum["block"] in ("CLASS_BLOCK", "NEURON"):
                name += str(spectrum.get("blockIndex", 0))
            counts[name] = max(counts.get(name, 0), len(spectrum.get("topEigenvalues", [])))
    return counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-binary", required=True)
    parser.add_argument("--cli-binary", required=True)
    args = parser.parse_args()
    started = time.monotonic()
    chromium = chromium_binary()
    fixtures = plot_fixtures.make(args.server_binary, args.cli_binary)
    workdir = fixtures.workdir

    # A job: its events file into the default folder beside it.
    job_path = fixtures.kgmm_log
    events = [json.loads(line) for line in open(job_path) if line.strip()]
    job_dir = job_path[:-len(".events.jsonl")] + "-plots"
    paths = written(plot(job_path, "--format", "svg,png").stdout, job_dir)
    svgs = sorted(p for p in paths if p.endswith(".svg"))
    for svg in svgs:
        check(os.path.exists(svg[:-4] + ".png"), "no PNG beside " + svg)

    # A sweep folder into its plots folder.
    sweep_dir = os.path.join(fixtures.xor_sweep, "plots")
    sweep_paths = written(plot(fixtures.xor_sweep, "--format", "svg").stdout, sweep_dir)
    sweep_svgs = [p for p in sweep_paths if p.endswith(".svg")]

    # A running job by id: the events recorded so far, without waiting for its end.
    endless = fixtures.cli("submit", "--task", "kgmm", "--d", "40", "--k", "3", "--steps",
                           "9000000000", "--every-steps", "1000000000").strip()
    deadline = time.monotonic() + 30
    while True:
        job_now = json.loads(fixtures.cli("get", endless, "-o", "jsonl"))
        if job_now.get("state") == "RUNNING" and int(job_now.get("snapshotsDone", 0)) >= 1:
            break
        check(time.monotonic() < deadline, "the endless job never reached its first snapshot")
        time.sleep(0.05)
    running_dir = os.path.join(workdir, "running")
    plot_started = time.monotonic()
    written(plot(endless, "--server", fixtures.server.address, "--out", running_dir,
                 "--format", "svg", "--times", "0").stdout, running_dir)
    check(time.monotonic() - plot_started < 60, "plot of a running job did not return")
    fixtures.cli("cancel", endless)
    with open(os.path.join(running_dir, "report.html")) as f:
        check("not finished" in f.read(), "the running job's report says it finished")
    check(os.path.exists(os.path.join(running_dir, "eigenvalues_H_class0.svg")),
          "no eigenvalue figure of the running job's first snapshot")

    # Render both reports: screenshots and DOMs, four browsers side by side.
    job_url = "file://" + os.path.join(job_dir, "report.html")
    sweep_url = "file://" + os.path.join(sweep_dir, "report.html")
    job_png = os.path.join(workdir, "job.png")
    sweep_png = os.path.join(workdir, "sweep.png")
    out = run_chromium_jobs(chromium, workdir, [
        ("job-shot", job_url, ["--screenshot=" + job_png], 3000),
        ("job-dom", job_url, ["--dump-dom"], 3000),
        ("sweep-shot", sweep_url, ["--screenshot=" + sweep_png], 1400),
        ("sweep-dom", sweep_url, ["--dump-dom"], 1400),
    ])
    check_screenshot(job_png, ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"], "job report")
    check_screenshot(sweep_png, ["#1f77b4", "#d62728"], "sweep report")

    dom = out["job-dom"]
    check(len(re.findall(r"<svg[\s>]", dom)) == len(svgs),
          "job DOM: %d <svg> elements, %d figures" % (len(re.findall(r"<svg[\s>]", dom)),
                                                      len(svgs)))
    expected = eigenvalue_series(events)
    for name, count in expected.items():
        found = len(re.findall(r'<g id="%s-series(-\d+)?"' % re.escape(name), dom))
        check(found == count, "job DOM: %s has %d series, the events %d" % (name, found, count))
    check(len(re.findall(r'<g id="eigenvalues_H_class0-overlay-bbp-outlier"', dom)) == 1,
          "job DOM: no BBP star in eigenvalues_H_class0")
    job_id = events[0]["jobId"]
    check(job_id in dom and "k-GMM d=40 k=3 lambda=20" in dom, "job DOM: no job id or task")
    # Table numbers: 4 significant digits, right-aligned cells.
    final = events[-1]["finished"]["finalTestAccuracy"]
    check('<td class="num">%s</td>' % report.format_number(final) in dom or
          report.format_number(final) in dom, "job DOM: final accuracy not formatted")
    check("0.0000000" not in dom and not re.search(r">\d\.\d{7,}<", dom),
          "job DOM: a table number with more than 6 digits")
    print("job report: %d SVGs, eigenvalue series as in the events (%d figures)"
          % (len(svgs), len(expected)))

    dom = out["sweep-dom"]
    check(len(re.findall(r"<svg[\s>]", dom)) == len(sweep_svgs),
          "sweep DOM: %d <svg>, %d figures" % (len(re.findall(r"<svg[\s>]", dom)),
                                               len(sweep_svgs)))
    with open(os.path.join(fixtures.xor_sweep, "aggregates.csv")) as f:
        header, row = [line.strip().split(",") for line in f.readlines()[:2]]
    aggregates = dict(zip(header, row))
    low, high = theory.wilson_interval(int(aggregates["successes"]), int(aggregates["finished"]))
    check(abs(low - float(aggregates["ci_low"])) < 1e-12
          and abs(high - float(aggregates["ci_high"])) < 1e-12,
          "Wilson interval [%r, %r] differs from aggregates.csv's" % (low, high))
    interval = "[%s, %s]" % (report.format_number(low), report.format_number(high))
    check('<td class="num">%s</td>' % interval in dom,
          "sweep DOM: no Wilson interval cell %s" % interval)
    check("3/32 = %s" % report.format_number(theory.XOR_SUCCESS_FRACTION) in dom,
          "sweep DOM: no 3/32 prediction")
    check(len(re.findall(r'<g id="sweep_success-overlay-xor-success"', dom)) == 1,
          "sweep DOM: no 3/32 line")
    print("sweep report: %d SVGs, interval %s, 3/32 line present" % (len(sweep_svgs), interval))
    print("OK in %.1f s" % (time.monotonic() - started))


if __name__ == "__main__":
    main()
