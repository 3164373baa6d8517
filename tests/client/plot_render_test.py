#!/usr/bin/python3
"""End to end test of `sgdspectra plot`, rendered by a real browser (CTest label `render`).

Starts a child sgdspectra-server on 127.0.0.1 (port 0), runs a small k-GMM job through the CLI
into an events file, plots it from the file and by job id (the two must give the same SVGs), and
plots a sweep folder made here. Each report.html is rendered by headless Chromium: the
screenshot must not be blank and must show the figures' series colours; the DOM Chromium built
must hold one <svg> per figure and exactly one point element per number drawn, counted
independently from the events. Every SVG must be well-formed XML, and a PNG must sit beside each
SVG when rsvg-convert is in PATH.

Chromium missing is a failure, not a skip: scripts/ installs it.

Usage: plot_render_test.py --cli build/client/sgdspectra --server build/server/sgdspectra-server
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

import numpy
from PIL import Image

# The first colours of client/plot/svg_chart.cc's palette (eigenvalue #1..#4, blocks c0..c3) and
# the sweep's success / failure colours.
PALETTE = {"#1f77b4": "blue", "#ff7f0e": "orange", "#2ca02c": "green", "#d62728": "red"}
SERVER_START_SECONDS = 20
COMMAND_SECONDS = 60


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_SECONDS,
                            **kwargs)
    if result.returncode != 0:
        fail("%s exited with %d\nstdout:\n%s\nstderr:\n%s" %
             (" ".join(command), result.returncode, result.stdout[-3000:], result.stderr[-3000:]))
    return result


class ChildServer:
    """sgdspectra-server on a free loopback port; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, binary, workdir):
        port_file = os.path.join(workdir, "port")
        self.log = open(os.path.join(workdir, "server.log"), "w")
        self.process = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--port-file", port_file,
             "--data-dir", os.path.join(workdir, "data")],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not os.path.exists(port_file):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                fail("the server did not start; its log:\n" +
                     open(os.path.join(workdir, "server.log")).read())
            time.sleep(0.05)
        with open(port_file) as f:
            self.address = "127.0.0.1:" + f.read().strip()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    fail("chromium is not installed (Debian package chromium); the render test needs it")


def start_chromium(chromium, workdir, name, url, action, height):
    """Starts one headless Chromium with a 1280 x height window; returns (process, stdout
    path, stdout file)."""
    profile = tempfile.mkdtemp(prefix="chromium-" + name + "-", dir=workdir)
    out_path = os.path.join(workdir, name + ".out")
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-extensions", "--no-first-run", "--hide-scrollbars",
               "--user-data-dir=" + profile, "--window-size=1280,%d" % height] + action + [url]
    out = open(out_path, "w")
    return subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL), out_path, out


def run_chromium_jobs(chromium, workdir, jobs):
    """Runs the (name, url, action, window height) jobs side by side; returns {name: stdout}."""
    started = [(name,) + start_chromium(chromium, workdir, name, url, action, height)
               for name, url, action, height in jobs]
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


def written_paths(stdout, out_dir):
    paths = [line for line in stdout.splitlines() if line]
    check(paths, "plot printed no paths")
    for path in paths:
        check(os.path.exists(path), "plot printed %s, which does not exist" % path)
        check(os.path.dirname(os.path.abspath(path)) == os.path.abspath(out_dir),
              "%s is not in %s" % (path, out_dir))
    check(paths[-1].endswith("report.html"), "the last path printed is not report.html")
    return paths


def check_svgs_and_pngs(out_dir):
    """Every SVG parses as XML; a PNG is beside each one iff rsvg-convert is in PATH."""
    svgs = sorted(f for f in os.listdir(out_dir) if f.endswith(".svg"))
    check(svgs, "no SVG in " + out_dir)
    have_rsvg = shutil.which("rsvg-convert") is not None
    for svg in svgs:
        root = ElementTree.parse(os.path.join(out_dir, svg)).getroot()
        check(root.tag == "{http://www.w3.org/2000/svg}svg", svg + " is not an <svg> document")
        png = os.path.join(out_dir, svg[:-4] + ".png")
        if have_rsvg:
            check(os.path.exists(png), "no PNG beside " + svg)
            with open(png, "rb") as f:
                check(f.read(8) == b"\x89PNG\r\n\x1a\n", png + " is not a PNG")
            width, height = Image.open(png).size
            check(width > 300 and height > 200, "%s is only %dx%d" % (png, width, height))
        else:
            check(not os.path.exists(png), "a PNG without rsvg-convert: " + png)
    return svgs


def expected_job_marks(events):
    """Point and band-top elements the job report must hold, counted from the events alone."""
    snapshots = [e["snapshot"] for e in events if "snapshot" in e]
    check(len(snapshots) >= 3, "the job produced only %d snapshots" % len(snapshots))
    points = 0
    band_tops = 0
    for snapshot in snapshots:
        for spectrum in snapshot["spectra"]:
            # k = 3 <= 4: every class block is drawn.
            points += len(spectrum.get("topEigenvalues", []))  # eigenvalue figures
            band_tops += 1
            points += 2  # alignment at expected and at outliers
            if spectrum.get("block") != "SECOND_LAYER":
                points += 1  # overlap with the means
        points += 1  # test accuracy
        if int(snapshot.get("trainWindow", "0")) > 0:
            points += 1  # train accuracy
    return points, band_tops


def count(pattern, text):
    return len(re.findall(pattern, text))


def write_sweep_fixture(directory):
    """A sweep folder like `sgdspectra sweep` writes; returns its (group, rank, success, acc)."""
    rows = [("xor_task.snr=1000", 2, 0, 0.75), ("xor_task.snr=1000", 4, 1, 1.0),
            ("xor_task.snr=1000", 2, 0, 0.5), ("xor_task.snr=1000", None, 0, None),
            ("xor_task.snr=100", 4, 1, 0.98), ("xor_task.snr=100", 3, 0, 0.73),
            ("xor_task.snr=100", 4, 1, 0.99)]
    os.makedirs(os.path.join(directory, "jobs"))
    header = ("index,group,seed,job_id,server,attempts,state,final_test_accuracy,"
              "final_test_loss,outlier_rank,weight_rank,expected_rank,rank_deficient,"
              "num_covered,covered_clusters,success,events_file\n")
    with open(os.path.join(directory, "summary.csv"), "w") as f:
        f.write(header)
        for i, (group, rank, success, accuracy) in enumerate(rows):
            finished = rank is not None
            f.write(",".join([
                str(i), group, str(i + 1), "j-%d" % i, "127.0.0.1:1", "1",
                "SUCCEEDED" if finished else "FAILED", "" if accuracy is None else str(accuracy),
                "0.2" if finished else "", "" if rank is None else str(rank),
                "4" if finished else "", "4" if finished else "",
                ("0" if rank == 4 else "1") if finished else "", str(rank or ""),
                "1 1 0 1" if finished else "", str(success), "jobs/%04d.events.jsonl" % i]) + "\n")
    with open(os.path.join(directory, "aggregates.csv"), "w") as f:
        f.write("group,jobs,finished,successes,success_fraction,ci_low,ci_high,mean_accuracy,"
                "rank_deficient_fraction\n"
                "xor_task.snr=1000,4,3,1,0.3333,0.06,0.79,0.75,0.6667\n"
                "xor_task.snr=100,3,3,2,0.6667,0.21,0.94,0.9,0.3333\n")
    return rows


def expected_sweep_bars(rows):
    rank_bars = {(g, r, s) for g, r, s, a in rows if r is not None}
    accuracy_bars = {(g, min(19, int(a * 20)), s) for g, r, s, a in rows if a is not None}
    return len(rank_bars) + len(accuracy_bars)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--server", required=True)
    args = parser.parse_args()
    started = time.monotonic()
    chromium = chromium_binary()
    workdir = tempfile.mkdtemp(prefix="sgdspectra-plot-render-")
    server = None
    try:
        server = ChildServer(args.server, workdir)
        cli = [args.cli, "--server", server.address]

        # A small k-GMM job (~0.2 s of SGD and analysis) into an events file.
        events_path = os.path.join(workdir, "kgmm.jsonl")
        job = run(cli + ["run", "-o", "jsonl", "--task", "kgmm", "--d", "60", "--k", "3",
                         "--t-end", "4", "--num-points", "5", "--seed", "3"])
        with open(events_path, "w") as f:
            f.write(job.stdout)
        events = [json.loads(line) for line in job.stdout.splitlines() if line.strip()]
        check(events and "finished" in events[-1], "the job's stream did not end with Finished")
        check(events[-1]["finished"]["state"] == "SUCCEEDED", "the job did not succeed")
        job_id = events[0]["jobId"]

        # From the events file, into the default folder beside it.
        file_plot = run(cli + ["plot", events_path])
        file_dir = os.path.join(workdir, "kgmm-plots")
        paths = written_paths(file_plot.stdout, file_dir)
        svgs = check_svgs_and_pngs(file_dir)
        check(sum(p.endswith(".svg") for p in paths) == len(svgs),
              "plot printed a different number of SVGs than it wrote")

        # By job id, from the server: the same events, so the same figures byte for byte.
        id_dir = os.path.join(workdir, "by-id")
        written_paths(run(cli + ["plot", job_id, "--out", id_dir]).stdout, id_dir)
        check(check_svgs_and_pngs(id_dir) == svgs, "by job id: other SVG files than by file")
        for svg in svgs:
            with open(os.path.join(file_dir, svg)) as a, open(os.path.join(id_dir, svg)) as b:
                check(a.read() == b.read(), svg + " differs between the file and the job id")

        # A sweep folder.
        sweep_dir = os.path.join(workdir, "sweep")
        rows = write_sweep_fixture(sweep_dir)
        written_paths(run(cli + ["plot", sweep_dir]).stdout, os.path.join(sweep_dir, "plots"))
        sweep_svgs = check_svgs_and_pngs(os.path.join(sweep_dir, "plots"))
        check(sweep_svgs == ["sweep_accuracy.svg", "sweep_rank.svg"], "sweep SVGs: %s" % sweep_svgs)

        # A running job by id: the events recorded so far, without waiting for its end.
        endless = run(cli + ["submit", "--task", "kgmm", "--d", "60", "--k", "3", "--steps",
                             "9000000000", "--every-steps", "1000000000"]).stdout.strip()
        deadline = time.monotonic() + 20
        while True:
            job_now = json.loads(run(cli + ["get", endless, "-o", "jsonl"]).stdout)
            if job_now.get("state") == "RUNNING" and int(job_now.get("snapshotsDone", 0)) >= 1:
                break
            check(time.monotonic() < deadline, "the endless job never reached its first snapshot")
            time.sleep(0.05)
        running_dir = os.path.join(workdir, "running")
        plot_started = time.monotonic()
        written_paths(run(cli + ["plot", endless, "--out", running_dir, "--png", "never"]).stdout,
                      running_dir)
        check(time.monotonic() - plot_started < 15, "plot of a running job did not return")
        run(cli + ["cancel", endless])
        with open(os.path.join(running_dir, "report.html")) as f:
            running_report = f.read()
        check("not finished" in running_report, "the running job's report says it finished")
        check(os.path.exists(os.path.join(running_dir, "eigenvalues_H_class0.svg")),
              "no eigenvalue figure of the running job's first snapshot")

        # Render both reports: screenshots and DOMs, four browsers side by side.
        job_url = "file://" + os.path.join(file_dir, "report.html")
        sweep_url = "file://" + os.path.join(sweep_dir, "plots", "report.html")
        job_png = os.path.join(workdir, "job.png")
        sweep_png = os.path.join(workdir, "sweep.png")
        out = run_chromium_jobs(chromium, workdir, [
            ("job-shot", job_url, ["--screenshot=" + job_png], 3000),
            ("job-dom", job_url, ["--dump-dom"], 3000),
            # The sweep report is about 1100 px tall: a window that size is mostly report.
            ("sweep-shot", sweep_url, ["--screenshot=" + sweep_png], 1100),
            ("sweep-dom", sweep_url, ["--dump-dom"], 1100),
        ])

        check_screenshot(job_png, ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"], "job report")
        check_screenshot(sweep_png, ["#2ca02c", "#d62728"], "sweep report")

        dom = out["job-dom"]
        points, band_tops = expected_job_marks(events)
        check(count(r"<svg[\s>]", dom) == len(svgs),
              "job DOM: %d <svg> elements, %d figures" % (count(r"<svg[\s>]", dom), len(svgs)))
        check(count(r'class="point"', dom) == points,
              "job DOM: %d points, expected %d" % (count(r'class="point"', dom), points))
        check(count(r'class="band-top"', dom) == band_tops,
              "job DOM: %d band tops, expected %d" % (count(r'class="band-top"', dom), band_tops))
        check(job_id in dom and "k-GMM d=60 k=3 lambda=20" in dom,
              "job DOM: no job id or parameters")
        print("job report: %d SVGs, %d points, %d band tops in the DOM" %
              (len(svgs), points, band_tops))

        dom = out["sweep-dom"]
        bars = expected_sweep_bars(rows)
        check(count(r"<svg[\s>]", dom) == 2, "sweep DOM: %d <svg>" % count(r"<svg[\s>]", dom))
        check(count(r'class="bar"', dom) == bars,
              "sweep DOM: %d bars, expected %d" % (count(r'class="bar"', dom), bars))
        check("<td>0.6667</td>" in dom, "sweep DOM: the aggregates table is missing")
        print("sweep report: 2 SVGs, %d bars, aggregates table present" % bars)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print("OK in %.1f s" % (time.monotonic() - started))


if __name__ == "__main__":
    main()
