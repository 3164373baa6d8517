#!/usr/bin/env python3
"""Executes a notebook of examples/notebooks headless against a server it starts, so the
notebooks never rot (CTest `notebook_quickstart`, label `clients`).

Starts sgdspectra-server on 127.0.0.1 (port 0, a temporary data dir), exports its address as
SGDSPECTRA_SERVER and the CLI's path as SGDSPECTRA_CLI, runs every cell with nbclient in
Debian's python3 kernel (python3-ipykernel), and fails on the first cell that raises. The
executed notebook (outputs and figures) is written to --out when given.

Usage: /usr/bin/python3 examples/notebooks/run_notebook.py NOTEBOOK --server-binary PATH
           --cli-binary PATH [--out EXECUTED.ipynb] [--timeout 600] [--kernel-python PYTHON]

--kernel-python runs the kernel on that interpreter (e.g. a venv's, with the package installed)
instead of Debian's python3 kernel.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import nbclient
import nbformat


def start_server(binary, work_dir):
    port_file = os.path.join(work_dir, "port")
    log = open(os.path.join(work_dir, "server.log"), "wb")
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--port-file", port_file,
         "--data-dir", os.path.join(work_dir, "data"), "--workers", "2", "--threads", "1"],
        stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        if os.path.exists(port_file) and open(port_file).read().strip():
            return process, "127.0.0.1:" + open(port_file).read().strip()
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    sys.exit("run_notebook: the server did not start; see " + log.name)


def use_kernel_python(python, work_dir):
    """A kernel spec running ipykernel on `python`, found through JUPYTER_PATH; its name."""

    spec_dir = os.path.join(work_dir, "jupyter", "kernels", "sgdspectra")
    os.makedirs(spec_dir)
    with open(os.path.join(spec_dir, "kernel.json"), "w") as out:
        json.dump({"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                   "display_name": "sgdspectra", "language": "python"}, out)
    os.environ["JUPYTER_PATH"] = os.path.join(work_dir, "jupyter")
    return "sgdspectra"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook")
    parser.add_argument("--server-binary", required=True)
    parser.add_argument("--cli-binary", required=True)
    parser.add_argument("--out")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--kernel-python", help="interpreter of the kernel (default: python3's)")
    args = parser.parse_args()

    work_dir = tempfile.mkdtemp(prefix="sgdspectra-notebook-")
    server, address = start_server(args.server_binary, work_dir)
    try:
        os.environ["SGDSPECTRA_SERVER"] = address
        os.environ["SGDSPECTRA_CLI"] = os.path.abspath(args.cli_binary)
        os.environ["SGDSPECTRA_WORK_DIR"] = work_dir
        kernel_name = "python3"
        if args.kernel_python:
            kernel_name = use_kernel_python(args.kernel_python, work_dir)
        notebook = nbformat.read(args.notebook, as_version=4)
        client = nbclient.NotebookClient(
            notebook, timeout=args.timeout, kernel_name=kernel_name,
            resources={"metadata": {"path": work_dir}})
        client.execute()  # raises CellExecutionError naming the cell that failed
        if args.out:
            nbformat.write(notebook, args.out)
        print("run_notebook: %d cells ran without error" % len(notebook.cells))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
