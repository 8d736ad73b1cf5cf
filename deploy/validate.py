"""Checks the Kubernetes manifests in deploy/kubernetes (run through deploy/validate).

Three layers, all offline:
1. every object kustomize renders against the official OpenAPI schemas (kubernetes-validate,
   strict: unknown fields are errors), for the oldest and newest Kubernetes we target;
   the ServiceMonitor against models generated from the prometheus-operator CRD, plus a
   check for fields the API server would silently prune;
2. spindle.json through `spindle check`, which resolves every default;
3. the manifests against that resolved config: ports, probe paths, the grace period,
   CPU and memory against the worker budget, selectors.
Then it breaks the manifests on purpose and requires each break to be caught, so a
validator that quietly accepts everything fails here too.
"""

import argparse
import copy
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import kubernetes_validate
import yaml
from cloudcoil.models.prometheus_operator.v1 import ServiceMonitor

# The oldest version we support (preStop `sleep` is on by default from 1.30) and the newest
# the bundled schemas know.
KUBERNETES_VERSIONS = ("1.30", "1.37")
# crates/spindle-core/src/core.rs EXIT_REPORT_MARGIN: after gracefulShutdown.application
# the core waits this long for the last worker's exit to be reported.
EXIT_REPORT_MARGIN_S = 2
# docs/kubernetes.md: ≈44 MB for a Spindle process with no worker (Node 20, measured).
PROCESS_BASE_BYTES = 44 * 1000 * 1000
CONFIG_FILE = "spindle.json"
CONFIG_MOUNT = "/app/spindle.json"


class Failure(Exception):
    """One finding, naming the object and the field."""


def render(kubectl, directory):
    out = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise Failure(f"{directory}: kubectl kustomize failed: {out.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def name_of(obj):
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


# ---- 1. schemas ---------------------------------------------------------------------


def pruned_fields(given, kept, path=""):
    """Fields in `given` that the model dropped: what the API server would prune."""
    found = []
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            where = f"{path}.{key}" if path else key
            if key not in kept:
                found.append(where)
            else:
                found += pruned_fields(value, kept[key], where)
    elif isinstance(given, list) and isinstance(kept, list):
        for i, (a, b) in enumerate(zip(given, kept)):
            found += pruned_fields(a, b, f"{path}[{i}]")
    return found


def check_schema(obj):
    if obj.get("kind") == "ServiceMonitor":
        try:
            model = ServiceMonitor.model_validate(obj)
        except Exception as err:  # pydantic's ValidationError lists every field
            raise Failure(f"{name_of(obj)}: {err}") from None
        kept = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
        unknown = pruned_fields(obj, kept)
        if unknown:
            raise Failure(f"{name_of(obj)}: unknown fields {', '.join(unknown)}")
        return
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as err:
            path = ".".join(str(p) for p in err.path)
            raise Failure(
                f"{name_of(obj)} (Kubernetes {version}): {path}: {err.message}"
            ) from None
        except kubernetes_validate.SchemaNotFoundError as err:
            raise Failure(f"{name_of(obj)}: {err.message}") from None


# ---- 2. spindle.json ---------------------------------------------------------------


def resolve_config(spindle, text, apps_from):
    """`spindle check` on the ConfigMap's spindle.json, with the demo's apps beside it."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "app"
        shutil.copytree(apps_from, project)
        (project / CONFIG_FILE).write_text(text)
        out = subprocess.run(
            [str(spindle), "check", str(project)],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin"},
        )
    if out.returncode != 0:
        raise Failure(f"{CONFIG_FILE}: spindle check: {out.stderr.strip()}")
    return json.loads(out.stdout)


def field(resolved, *keys):
    value = resolved
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise Failure(
                f"`spindle check` output has no {'.'.join(keys)}: update deploy/validate.py"
            )
        value = value[key]
    return value


# ---- 3. manifests against the config ------------------------------------------------

QUANTITY = re.compile(r"^([0-9.]+)(m|k|M|G|Ki|Mi|Gi)?$")
FACTORS = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(value, where):
    match = QUANTITY.match(str(value))
    if not match:
        raise Failure(f"{where}: cannot read the quantity {value!r}")
    return float(match.group(1)) * FACTORS[match.group(2)]


def one(objects, kind):
    found = [o for o in objects if o.get("kind") == kind]
    if len(found) != 1:
        raise Failure(f"expected one {kind}, found {len(found)}")
    return found[0]


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def container_port(container, port, where):
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if isinstance(port, int):
        return port
    if port not in ports:
        raise Failure(f"{where}: no container port named {port!r}")
    return ports[port]


def check_probe(container, probe_key, path, admin_port, where):
    probe = container.get(probe_key)
    if not probe or "httpGet" not in probe:
        raise Failure(f"{where}.{probe_key}: missing (an httpGet on {path})")
    get = probe["httpGet"]
    if get.get("path") != path:
        raise Failure(f"{where}.{probe_key}: path {get.get('path')!r}, expected {path!r}")
    port = container_port(container, get.get("port"), f"{where}.{probe_key}")
    if port != admin_port:
        raise Failure(
            f"{where}.{probe_key}: port {port}, but metrics.port (the admin server) is {admin_port}"
        )


def max_workers(resolved):
    """Workers the process may run at once: static apps, plus dynamic ones up to workers.total,
    plus every app's standby workers (idle, but they hold memory and may grow once promoted)."""
    static = dynamic = standby = 0
    for app in field(resolved, "applications"):
        scaling = field(app, "scaling")
        if scaling["dynamic"]:
            dynamic += scaling["max"]
        else:
            static += scaling["max"]
        standby += field(app, "faults", "standbyWorkers")
    return static + min(dynamic, field(resolved, "scaling", "total")) + standby


def check_against_config(objects, resolved):
    deployment = one(objects, "Deployment")
    where = name_of(deployment)
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    containers = spec["containers"]
    if len(containers) != 1:
        raise Failure(f"{where}: expected one container, found {len(containers)}")
    container = containers[0]
    cwhere = f"{where} container {container['name']}"

    server_port = field(resolved, "server", "port")
    admin_port = field(resolved, "metrics", "port")
    for key, port in (("server", server_port), ("metrics", admin_port)):
        host = field(resolved, key, "hostname")
        if host not in ("0.0.0.0", "::"):
            raise Failure(
                f"{CONFIG_FILE}: {key}.hostname is {host!r}: the kubelet and other pods "
                f"reach the pod's IP, so bind 0.0.0.0"
            )
    if not field(resolved, "metrics", "enabled"):
        raise Failure(f"{CONFIG_FILE}: metrics.enabled is false: the probes need the admin server")
    if container_port(container, "http", cwhere) != server_port:
        raise Failure(f"{cwhere}: port http is not server.port ({server_port})")
    if container_port(container, "admin", cwhere) != admin_port:
        raise Failure(f"{cwhere}: port admin is not metrics.port ({admin_port})")
    check_probe(container, "livenessProbe", "/live", admin_port, cwhere)
    check_probe(container, "readinessProbe", "/ready", admin_port, cwhere)

    # The config file must be where `spindle start /app` looks for it.
    config_maps = {o["metadata"]["name"] for o in objects if o.get("kind") == "ConfigMap"}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = [m for m in container.get("volumeMounts", []) if m.get("mountPath") == CONFIG_MOUNT]
    if not mounts:
        raise Failure(f"{cwhere}: nothing mounted at {CONFIG_MOUNT}")
    volume = volumes.get(mounts[0]["name"], {})
    if volume.get("configMap", {}).get("name") not in config_maps:
        raise Failure(f"{cwhere}: {CONFIG_MOUNT} does not come from a rendered ConfigMap")

    annotations = pod.get("metadata", {}).get("annotations", {})
    if annotations.get("prometheus.io/scrape") == "true":
        if annotations.get("prometheus.io/port") != str(admin_port):
            raise Failure(f"{where}: prometheus.io/port is not metrics.port ({admin_port})")
        if annotations.get("prometheus.io/path") != field(resolved, "metrics", "endpoint"):
            raise Failure(f"{where}: prometheus.io/path is not metrics.endpoint")

    # SIGTERM → drain (runtime) → close workers (application) → exit report margin, after
    # the preStop hook, all inside the grace period.
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    runtime_ms = field(resolved, "graceful_shutdown", "runtime")
    application_ms = field(resolved, "graceful_shutdown", "application")
    needed = pre_stop + math.ceil((runtime_ms + application_ms) / 1000) + EXIT_REPORT_MARGIN_S
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if grace < needed:
        raise Failure(
            f"{where}: terminationGracePeriodSeconds {grace} < {needed} (preStop {pre_stop} s "
            f"+ gracefulShutdown.runtime {runtime_ms} ms + application {application_ms} ms "
            f"+ {EXIT_REPORT_MARGIN_S} s): the kubelet would SIGKILL a draining pod"
        )

    # docs/scaling.md: requests = limits = workers.total cores.
    resources = container.get("resources", {})
    total = field(resolved, "scaling", "total")
    for kind in ("requests", "limits"):
        cpu = resources.get(kind, {}).get("cpu")
        if cpu is None or quantity(cpu, f"{cwhere} {kind}.cpu") != total:
            raise Failure(f"{cwhere}: {kind}.cpu is {cpu!r}, expected workers.total ({total})")
    memory = resources.get("limits", {}).get("memory")
    if memory is None:
        raise Failure(f"{cwhere}: no memory limit")
    heap_cap = max(field(app, "health", "maxHeapTotal") for app in field(resolved, "applications"))
    workers = max_workers(resolved)
    floor = PROCESS_BASE_BYTES + workers * heap_cap
    if quantity(memory, f"{cwhere} limits.memory") < floor:
        raise Failure(
            f"{cwhere}: limits.memory {memory} is below 44 MB + {workers} workers × "
            f"health.maxHeapTotal ({heap_cap} bytes): the kernel would kill the whole pod "
            f"before V8 stops the one worker that grew"
        )

    labels = pod["metadata"].get("labels", {})
    service = one(objects, "Service")
    if not matches(service["spec"].get("selector", {}), labels):
        raise Failure(f"{name_of(service)}: selector does not match the pods")
    for port in service["spec"]["ports"]:
        container_port(container, port["targetPort"], f"{name_of(service)} port {port['name']}")
    for pdb in (o for o in objects if o.get("kind") == "PodDisruptionBudget"):
        if not matches(pdb["spec"]["selector"]["matchLabels"], labels):
            raise Failure(f"{name_of(pdb)}: selector does not match the pods")
    for hpa in (o for o in objects if o.get("kind") == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        if (target["kind"], target["name"]) != ("Deployment", deployment["metadata"]["name"]):
            raise Failure(f"{name_of(hpa)}: scaleTargetRef is not {where}")
        if "replicas" in deployment["spec"]:
            raise Failure(f"{where}: sets replicas, which every apply would reset under {name_of(hpa)}")
    for monitor in (o for o in objects if o.get("kind") == "ServiceMonitor"):
        if not matches(monitor["spec"]["selector"].get("matchLabels", {}), service["metadata"].get("labels", {})):
            raise Failure(f"{name_of(monitor)}: selector does not match {name_of(service)}'s labels")
        names = {p["name"]: p for p in service["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            port = names.get(endpoint.get("port"))
            if port is None or container_port(container, port["targetPort"], name_of(monitor)) != admin_port:
                raise Failure(f"{name_of(monitor)}: endpoint port {endpoint.get('port')!r} is not the admin port")
            if endpoint.get("path", "/metrics") != field(resolved, "metrics", "endpoint"):
                raise Failure(f"{name_of(monitor)}: endpoint path is not metrics.endpoint")


def check_all(objects, spindle, apps_from):
    for obj in objects:
        check_schema(obj)
    config_maps = [o for o in objects if o.get("kind") == "ConfigMap"]
    texts = [c["data"][CONFIG_FILE] for c in config_maps if CONFIG_FILE in c.get("data", {})]
    if len(texts) != 1:
        raise Failure(f"expected one ConfigMap with {CONFIG_FILE}, found {len(texts)}")
    resolved = resolve_config(spindle, texts[0], apps_from)
    check_against_config(objects, resolved)


# ---- the validator must reject broken manifests -------------------------------------


def deployment_container(objects):
    return one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def set_config(objects, change):
    config_map = one(objects, "ConfigMap")
    config = json.loads(config_map["data"][CONFIG_FILE])
    change(config)
    config_map["data"][CONFIG_FILE] = json.dumps(config)


BREAKS = {
    "a port number as a string": lambda o: deployment_container(o)["ports"][0].update(containerPort="3042"),
    "a misspelt probe field": lambda o: deployment_container(o)["livenessProbe"]["httpGet"].update(paht="/live"),
    "an unknown Deployment kind version": lambda o: one(o, "Deployment").update(apiVersion="apps/v1beta1"),
    "a ServiceMonitor interval that is no duration": lambda o: one(o, "ServiceMonitor")["spec"]["endpoints"][0].update(interval="often"),
    "a misspelt ServiceMonitor field": lambda o: one(o, "ServiceMonitor")["spec"]["endpoints"][0].update(intervall="15s"),
    "an unknown key in spindle.json": lambda o: set_config(o, lambda c: c.update(workerz=2)),
    "the admin server on loopback": lambda o: set_config(o, lambda c: c["metrics"].update(hostname="127.0.0.1")),
    "readiness on /live": lambda o: deployment_container(o)["readinessProbe"]["httpGet"].update(path="/live"),
    "a grace period shorter than the drain": lambda o: one(o, "Deployment")["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=30),
    "a longer gracefulShutdown.runtime": lambda o: set_config(o, lambda c: c.update(gracefulShutdown={"runtime": 60000})),
    "CPU below workers.total": lambda o: deployment_container(o)["resources"]["limits"].update(cpu="2"),
    "a memory limit below the heap caps": lambda o: deployment_container(o)["resources"]["limits"].update(memory="256Mi"),
    "a Service selecting no pod": lambda o: one(o, "Service")["spec"].update(selector={"app": "other"}),
}


def self_test(objects, spindle, apps_from):
    passed = failed = 0
    for what, breaks in BREAKS.items():
        broken = copy.deepcopy(objects)
        breaks(broken)
        try:
            check_all(broken, spindle, apps_from)
        except Failure as err:
            passed += 1
            print(f"  caught {what}: {str(err).splitlines()[0][:160]}")
        else:
            failed += 1
            print(f"  MISSED {what}: the broken manifests validated", file=sys.stderr)
    return passed, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubectl", required=True)
    parser.add_argument("--spindle", required=True, type=Path)
    parser.add_argument("--apps", required=True, type=Path, help="the apps spindle.json names")
    parser.add_argument("--with-component", type=Path, help="a copy with the ServiceMonitor on")
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()

    try:
        variants = {str(args.directory): render(args.kubectl, args.directory)}
        if args.with_component:
            variants["+ servicemonitor"] = render(args.kubectl, args.with_component)
        for label, objects in variants.items():
            check_all(objects, args.spindle, args.apps)
            kinds = ", ".join(sorted(o["kind"] for o in objects))
            print(f"ok {label}: {kinds}")
    except Failure as err:
        print(f"deploy/validate: error: {err}", file=sys.stderr)
        return 1

    print("self-test: each of these broken copies must be rejected")
    objects = variants[list(variants)[-1]]
    passed, failed = self_test(objects, args.spindle, args.apps)
    print(f"deploy: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
