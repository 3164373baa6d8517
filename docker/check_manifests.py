#!/usr/bin/python3
"""Static and live checks of the deployment files (CTest `deploy_manifests`, label `deploy`).

No cluster or compose tool exists on the build machines, so the manifests cannot be applied here.
What can go wrong without one is checked instead:
  * every YAML file parses;
  * the server arguments in docker/compose.yaml and docker/k8s/*.yaml are accepted by the real
    sgdspectra-server: it is started with exactly those arguments (only --listen and --data-dir
    moved to a free loopback port and a temporary folder) and must serve and drain on SIGTERM;
  * ports agree: --listen, containerPort, the gRPC probes, the Service, the Dockerfile's EXPOSE;
  * the grace periods (compose stop_grace_period, terminationGracePeriodSeconds) exceed the
    server's --shutdown-timeout-ms, so a drain is never cut short by SIGKILL;
  * the headless Service selects the pods and is the StatefulSet's serviceName, clusterIP None;
  * resources have requests and limits; the data volume is mounted at --data-dir; the pods run
    as the Dockerfile's user; the single-replica Deployment uses Recreate and claims pvc.yaml.

Usage: check_manifests.py --server build/server/sgdspectra-server
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
    return condition


def load(path):
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def flag_values(args):
    """{"--listen": "0.0.0.0:50051", ...} from ["--listen=0.0.0.0:50051", ...]."""
    values = {}
    for arg in args:
        name, _, value = arg.partition("=")
        values[name] = value
    return values


def compose_defaults(text):
    """Compose interpolation with every variable unset: ${VAR:-default} -> default."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", text)


def duration_seconds(text):
    match = re.fullmatch(r"(\d+)(ms|s|m)", str(text))
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2)
    return value / 1000 if unit == "ms" else value * (60 if unit == "m" else 1)


def server_accepts(server, args, where):
    """Starts the server with `args` (listen and data dir made local) and drains it."""
    work = tempfile.mkdtemp(prefix="sgdspectra-manifest-")
    port_file = os.path.join(work, "port")
    local = []
    for arg in args:
        name = arg.partition("=")[0]
        if name == "--listen":
            local.append("--listen=127.0.0.1:0")
        elif name == "--data-dir":
            local.append("--data-dir=" + os.path.join(work, "data"))
        else:
            local.append(arg)
    process = subprocess.Popen([server] + local + ["--port-file=" + port_file],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file) and process.poll() is None and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        serving = os.path.exists(port_file)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        check(serving and process.returncode == 0,
              "%s: the server did not serve and drain with %s (exit %s):\n%s"
              % (where, " ".join(args), process.returncode, output[-2000:]))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


def check_pod_spec(pod, container_args_where, server):
    """Checks one pod template; returns (labels unused, container port)."""
    spec = pod["spec"]
    containers = spec["containers"]
    check(len(containers) == 1, container_args_where + ": one container")
    container = containers[0]
    args = container.get("args", [])
    values = flag_values(args)
    server_accepts(server, args, container_args_where)
    listen_port = int(values.get("--listen", "127.0.0.1:50051").rsplit(":", 1)[1])
    ports = [p["containerPort"] for p in container.get("ports", [])]
    check(ports == [listen_port], "%s: containerPort %s != --listen port %d"
          % (container_args_where, ports, listen_port))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        grpc_probe = container.get(probe, {}).get("grpc")
        check(grpc_probe is not None and grpc_probe.get("port") == listen_port,
              "%s: %s must be a gRPC probe on port %d" % (container_args_where, probe,
                                                            listen_port))
    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        check({"cpu", "memory"} <= set(resources.get(kind, {})),
              "%s: resources.%s needs cpu and memory" % (container_args_where, kind))
    drain_seconds = int(values.get("--shutdown-timeout-ms", "20000")) / 1000
    grace = spec.get("terminationGracePeriodSeconds", 30)
    check(grace > drain_seconds, "%s: terminationGracePeriodSeconds %s <= drain %s s"
          % (container_args_where, grace, drain_seconds))
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    check(values.get("--data-dir") in mounts, "%s: --data-dir %s is not a mounted volume"
          % (container_args_where, values.get("--data-dir")))
    check(spec.get("securityContext", {}).get("runAsNonRoot") is True,
          container_args_where + ": runAsNonRoot")
    return spec.get("securityContext", {}).get("runAsUser"), listen_port


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    server = parser.parse_args().server

    with open(os.path.join(HERE, "Dockerfile")) as f:
        dockerfile = f.read()
    exposed = [int(p) for p in re.findall(r"^EXPOSE\s+(\d+)", dockerfile, re.M)]
    users = re.findall(r"^USER\s+(\d+)", dockerfile, re.M)
    check("HEALTHCHECK" in dockerfile, "Dockerfile: no HEALTHCHECK")

    # Compose: the defaults of its ${VAR:-default} interpolations.
    with open(os.path.join(HERE, "compose.yaml")) as f:
        compose = yaml.safe_load(compose_defaults(f.read()))
    service = compose["services"]["server"]
    args = [str(a) for a in service["command"]]
    server_accepts(server, args, "compose.yaml")
    values = flag_values(args)
    port = int(values["--listen"].rsplit(":", 1)[1])
    check(any(str(p).endswith(":%d" % port) for p in service.get("ports", [])),
          "compose.yaml: no published port for --listen port %d" % port)
    volume_targets = {v.split(":")[1]: v.split(":")[0] for v in service.get("volumes", [])}
    check(volume_targets.get(values["--data-dir"]) in compose.get("volumes", {}),
          "compose.yaml: --data-dir is not on a named volume")
    drain = int(values.get("--shutdown-timeout-ms", "20000")) / 1000
    stop_grace = duration_seconds(service.get("stop_grace_period", "10s"))
    check(stop_grace is not None and stop_grace > drain,
          "compose.yaml: stop_grace_period %s <= drain %s s" % (stop_grace, drain))
    check(port in exposed, "Dockerfile EXPOSE %s lacks %d" % (exposed, port))

    # Kubernetes.
    k8s = {}
    for name in sorted(os.listdir(os.path.join(HERE, "k8s"))):
        if name.endswith(".yaml"):
            for doc in load(os.path.join(HERE, "k8s", name)):
                k8s[(doc["kind"], doc["metadata"]["name"])] = (name, doc)
    kinds = {kind for kind, _ in k8s}
    check({"StatefulSet", "Service", "PersistentVolumeClaim", "Deployment"} <= kinds,
          "k8s: missing kinds, have %s" % sorted(kinds))
    services = [doc for (kind, _), (_, doc) in k8s.items() if kind == "Service"]
    for (kind, name), (file_name, doc) in sorted(k8s.items()):
        where = "k8s/%s %s/%s" % (file_name, kind, name)
        if kind not in ("StatefulSet", "Deployment"):
            continue
        pod = doc["spec"]["template"]
        user, pod_port = check_pod_spec(pod, where, server)
        check(str(user) in users, "%s: runAsUser %s is not the Dockerfile's USER %s"
              % (where, user, users))
        check(pod_port in exposed, "%s: port %d not EXPOSEd" % (where, pod_port))
        labels = pod["metadata"]["labels"]
        check(doc["spec"]["selector"]["matchLabels"].items() <= labels.items(),
              where + ": selector does not match the pod labels")
        selecting = [s for s in services if s["spec"]["selector"].items() <= labels.items()]
        check(len(selecting) >= 1, where + ": no Service selects these pods")
        for s in selecting:
            check(s["spec"].get("clusterIP") == "None",
                  "Service %s must be headless (clusterIP None)" % s["metadata"]["name"])
            check(any(p["port"] == pod_port for p in s["spec"]["ports"]),
                  "Service %s lacks port %d" % (s["metadata"]["name"], pod_port))
        if kind == "StatefulSet":
            check(doc["spec"]["serviceName"] in [s["metadata"]["name"] for s in selecting],
                  where + ": serviceName is not the headless Service")
            claims = [t["metadata"]["name"] for t in doc["spec"].get("volumeClaimTemplates", [])]
            mounts = {m["name"] for m in pod["spec"]["containers"][0]["volumeMounts"]}
            check(bool(set(claims) & mounts), where + ": no volumeClaimTemplate is mounted")
        else:
            check(doc["spec"].get("replicas") == 1, where + ": one replica (one SQLite store)")
            check(doc["spec"].get("strategy", {}).get("type") == "Recreate",
                  where + ": strategy Recreate (a ReadWriteOnce claim)")
            claims = [v["persistentVolumeClaim"]["claimName"]
                      for v in pod["spec"].get("volumes", []) if "persistentVolumeClaim" in v]
            check(claims and all(("PersistentVolumeClaim", c) in k8s for c in claims),
                  where + ": claims %s not all defined in pvc.yaml" % claims)

    if FAILURES:
        for failure in FAILURES:
            print("FAIL: " + failure, file=sys.stderr)
        sys.exit(1)
    print("deployment files: all checks passed (%d k8s objects, compose, Dockerfile)" % len(k8s))


if __name__ == "__main__":
    main()
