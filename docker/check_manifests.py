#!/usr/bin/python3
"""Static and live checks of the deployment files (CTest `deploy_manifests`, label `deploy`).

No cluster or compose tool exists on the build machines, so the manifests cannot be applied here.
What can go wrong without one is checked instead:
  * every YAML file parses;
  * the server arguments in docker/compose.yaml and docker/k8s/*.yaml are accepted by the real
    sgdspectra-server: it is started with exactly those arguments (only --listen and --data-dir
    moved to a free loopback port and a temporary folder, and the secret files it names made
    with throwaway certificates and tokens under a temporary root) and must serve and drain on
    SIGTERM;
  * security (docs/DEPLOY.md, "Security"): a --listen off loopback comes with --tls-cert,
    --tls-key and --auth-tokens and never with --insecure-allow-unauthenticated-remote; every
    file those flags name is a Secret (k8s: under a mount of a `secret` volume; compose: a
    declared secret at /run/secrets/NAME); with --cli, the health probe command runs against the
    live server and answers SERVING, while the same server refuses plaintext and calls without a
    token;
  * ports agree: --listen, containerPort, the probes' --server, the Service, the Dockerfile's
    EXPOSE;
  * the grace periods (compose stop_grace_period, terminationGracePeriodSeconds) exceed the
    server's --shutdown-timeout-ms, so a drain is never cut short by SIGKILL;
  * the headless Service selects the pods and is the StatefulSet's serviceName, clusterIP None;
  * resources have requests and limits; the data volume is mounted at --data-dir; the pods run
    as the Dockerfile's user; the single-replica Deployment uses Recreate and claims pvc.yaml.

Usage: check_manifests.py --server build/server/sgdspectra-server [--cli build/client/sgdspectra]
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

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_CERTS = os.path.join(os.path.dirname(HERE), "tests", "testing", "make_test_certs.sh")
FAILURES = []

# Flags whose value is a secret file, and which throwaway file (make_test_certs.sh, plus the
# token files made here) stands in for it in the live checks.
SERVER_SECRET_FLAGS = {"--tls-cert": "server.crt", "--tls-key": "server.key",
                       "--tls-client-ca": "ca.crt", "--auth-tokens": "tokens"}
PROBE_SECRET_FLAGS = {"--tls-ca": "ca.crt", "--tls-cert": "client.crt", "--tls-key": "client.key",
                      "--token-file": "token"}
INSECURE_FLAG = "--insecure-allow-unauthenticated-remote"
TOKEN = "manifest-check-token-0123456789"


class Secrets:
    """Throwaway certificates and a token file, copied to where the manifests expect them."""

    def __init__(self, work):
        self.pki = os.path.join(work, "pki")
        self.root = os.path.join(work, "root")
        subprocess.run(["bash", MAKE_CERTS, self.pki], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.pki, "tokens"), "w") as f:
            f.write("manifest-check %s\n" % TOKEN)
        with open(os.path.join(self.pki, "token"), "w") as f:
            f.write(TOKEN + "\n")

    def localize(self, args, secret_flags):
        """`args` with every secret path moved under the temporary root (the file put there)."""
        out = list(args)
        for i, arg in enumerate(out):
            name, equals, value = arg.partition("=")
            if not equals and name in secret_flags and i + 1 < len(out):
                value, equals = out[i + 1], None
            if name not in secret_flags or not value.startswith("/"):
                continue
            local = os.path.join(self.root, value.lstrip("/"))
            os.makedirs(os.path.dirname(local), exist_ok=True)
            shutil.copyfile(os.path.join(self.pki, secret_flags[name]), local)
            if equals:
                out[i] = name + "=" + local
            else:
                out[i + 1] = local
        return out


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


def option_values(args):
    """{"--server": "127.0.0.1:50051", ...} from a command with "--flag value" or "--flag=value"."""
    values = {}
    for i, arg in enumerate(args):
        name, equals, value = arg.partition("=")
        if name.startswith("--"):
            values[name] = value if equals else (args[i + 1] if i + 1 < len(args) else "")
    return values


def check_security(args, where):
    """Static: off loopback, TLS and tokens, and never the insecure flag."""
    values = flag_values(args)
    check(INSECURE_FLAG not in values, "%s: %s in a deployment" % (where, INSECURE_FLAG))
    listen = values.get("--listen", "127.0.0.1:50051")
    if not listen.startswith(("127.", "localhost:", "[::1]:")):
        missing = [f for f in ("--tls-cert", "--tls-key", "--auth-tokens") if f not in values]
        check(not missing, "%s: --listen %s without %s" % (where, listen, ", ".join(missing)))
    return [values[f] for f in SERVER_SECRET_FLAGS if f in values]


def check_probe_live(cli, probe, port, secrets, where):
    """The probe command against the live server, then what the server must refuse."""
    command = secrets.localize(probe, PROBE_SECRET_FLAGS)
    values = option_values(command)
    command = [cli] + [("127.0.0.1:%d" % port) if a == values.get("--server") else a
                       for a in command[1:]]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30,
                            env={k: v for k, v in os.environ.items()
                                 if not k.startswith("SGDSPECTRA_")})
    check(result.returncode == 0 and result.stdout.strip() == "SERVING",
          "%s: the probe %s did not answer SERVING (exit %d): %s"
          % (where, " ".join(probe), result.returncode, result.stderr.strip()))
    if "--tls-ca" not in values:
        return
    plain = subprocess.run([cli, "--server", "127.0.0.1:%d" % port, "--timeout", "5", "health"],
                           capture_output=True, text=True, timeout=30)
    check(plain.returncode != 0, where + ": the server answered a plaintext health check")
    no_token = subprocess.run(command[:-1] + ["list"], capture_output=True, text=True, timeout=30,
                              env={k: v for k, v in os.environ.items()
                                   if not k.startswith("SGDSPECTRA_")})
    check("UNAUTHENTICATED" in no_token.stderr,
          where + ": a call without a token was not refused: " + no_token.stderr.strip())
    with_token = subprocess.run(command[:-1] + ["list"], capture_output=True, text=True,
                                timeout=30, env=dict(os.environ, SGDSPECTRA_TOKEN=TOKEN))
    check(with_token.returncode == 0,
          where + ": a call with the token was refused: " + with_token.stderr.strip())


def server_accepts(server, args, where, probe=None, cli=None):
    """Starts the server with `args` (listen and data dir made local, secret files made under a
    temporary root), runs the probe command against it (with a CLI), and drains it."""
    work = tempfile.mkdtemp(prefix="sgdspectra-manifest-")
    port_file = os.path.join(work, "port")
    secrets = Secrets(work)
    local = []
    for arg in secrets.localize(args, SERVER_SECRET_FLAGS):
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
        if serving and probe and cli:
            with open(port_file) as f:
                check_probe_live(cli, probe, int(f.read().strip()), secrets, where)
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


def check_probe_command(command, server_args, listen_port, where):
    """A health probe: `sgdspectra --server 127.0.0.1:PORT [TLS flags] ... health`, with TLS
    when the server has it. Returns the secret files it reads."""
    values = option_values(command)
    target = values.get("--server", "")
    check(command[:1] == ["sgdspectra"] and command[-1:] == ["health"] and
          target.startswith("127.0.0.1:") and target.rsplit(":", 1)[1] == str(listen_port),
          "%s: must run `sgdspectra --server 127.0.0.1:%d ... health`, not %s"
          % (where, listen_port, command))
    if "--tls-cert" in flag_values(server_args):
        check("--tls-ca" in values, where + ": the server has TLS, the probe needs --tls-ca")
    if "--tls-client-ca" in flag_values(server_args):
        check("--tls-cert" in values, where + ": mutual TLS, the probe needs --tls-cert")
    return [values[f] for f in PROBE_SECRET_FLAGS if f in values]


def check_secret_files(paths, secret_dirs, where):
    for path in paths:
        check(any(path.startswith(d.rstrip("/") + "/") for d in secret_dirs),
              "%s: %s is not in a mounted Secret (%s)" % (where, path, sorted(secret_dirs)))


def check_pod_spec(pod, container_args_where, server, cli):
    """Checks one pod template; returns (labels unused, container port)."""
    spec = pod["spec"]
    containers = spec["containers"]
    check(len(containers) == 1, container_args_where + ": one container")
    container = containers[0]
    args = container.get("args", [])
    values = flag_values(args)
    listen_port = int(values.get("--listen", "127.0.0.1:50051").rsplit(":", 1)[1])
    ports = [p["containerPort"] for p in container.get("ports", [])]
    check(ports == [listen_port], "%s: containerPort %s != --listen port %d"
          % (container_args_where, ports, listen_port))
    secret_volumes = {v["name"] for v in spec.get("volumes", []) if "secret" in v}
    secret_dirs = {m["mountPath"] for m in container.get("volumeMounts", [])
                   if m["name"] in secret_volumes}
    secret_files = check_security(args, container_args_where)
    probes = []
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        command = container.get(probe, {}).get("exec", {}).get("command", [])
        secret_files += check_probe_command(command, args, listen_port,
                                            "%s: %s" % (container_args_where, probe))
        probes.append(command)
    check_secret_files(secret_files, secret_dirs, container_args_where)
    server_accepts(server, args, container_args_where, probes[1], cli)
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
    parser.add_argument("--cli", help="the sgdspectra CLI: run the health probes live")
    parsed = parser.parse_args()
    server, cli = parsed.server, parsed.cli

    with open(os.path.join(HERE, "Dockerfile")) as f:
        dockerfile = f.read()
    exposed = [int(p) for p in re.findall(r"^EXPOSE\s+(\d+)", dockerfile, re.M)]
    users = re.findall(r"^USER\s+(\d+)", dockerfile, re.M)
    check("HEALTHCHECK" in dockerfile, "Dockerfile: no HEALTHCHECK")
    # The image's default CMD serves, with its HEALTHCHECK as the probe.
    joined = dockerfile.replace("\\\n", " ")
    cmd = re.search(r"^CMD\s+(\[.*\])\s*$", joined, re.M)
    health = re.search(r"^HEALTHCHECK\s.*?\sCMD\s+(\[.*\])\s*$", joined, re.M)
    if check(cmd is not None and health is not None,
             "Dockerfile: CMD and HEALTHCHECK must be JSON arrays"):
        cmd_args, health_command = json.loads(cmd.group(1)), json.loads(health.group(1))
        secret_files = check_security(cmd_args, "Dockerfile CMD")
        secret_files += check_probe_command(
            health_command, cmd_args,
            int(flag_values(cmd_args)["--listen"].rsplit(":", 1)[1]), "Dockerfile HEALTHCHECK")
        check_secret_files(secret_files, {"/run/secrets"}, "Dockerfile")
        server_accepts(server, cmd_args, "Dockerfile CMD", health_command, cli)

    # Compose: the defaults of its ${VAR:-default} interpolations.
    with open(os.path.join(HERE, "compose.yaml")) as f:
        compose = yaml.safe_load(compose_defaults(f.read()))
    service = compose["services"]["server"]
    args = [str(a) for a in service["command"]]
    values = flag_values(args)
    port = int(values["--listen"].rsplit(":", 1)[1])
    # Secrets: declared at the top level with a file, granted to the service, read from
    # /run/secrets/NAME (where compose mounts them).
    declared = compose.get("secrets", {})
    granted = [s if isinstance(s, str) else s.get("source") for s in service.get("secrets", [])]
    for name in granted:
        check("file" in declared.get(name, {}), "compose.yaml: secret %s has no file" % name)
    secret_files = check_security(args, "compose.yaml")
    healthcheck = [str(a) for a in service.get("healthcheck", {}).get("test", [])]
    check(healthcheck[:1] == ["CMD"], "compose.yaml: healthcheck test must be [\"CMD\", ...]")
    secret_files += check_probe_command(healthcheck[1:], args, port, "compose.yaml healthcheck")
    check_secret_files(secret_files, {"/run/secrets"}, "compose.yaml")
    for path in secret_files:
        check(os.path.basename(path) in granted,
              "compose.yaml: %s is not a secret granted to the service" % path)
    server_accepts(server, args, "compose.yaml", healthcheck[1:], cli)
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
        user, pod_port = check_pod_spec(pod, where, server, cli)
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
