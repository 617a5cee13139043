"""deploy/kubernetes and the Dockerfile: schema-valid offline, consistent with each other, and
consistent with the real server (the probe paths answer, the container arguments start it, the
grace period covers the drain).

Schemas come from the ``kubernetes-validate`` package (no cluster, no network).
"""

from __future__ import annotations

import re
import shlex
import signal
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

from tests.support.serving import EXAMPLE, ServeProcess

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
DOCKERFILE = ROOT / "Dockerfile"
CLOSE_GRACE = 5  # seconds serve gives sessions told to close (realtime_graph/serve/serve_host.py)

# the oldest Kubernetes minor still commonly run, and the newest the package knows
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def manifests() -> dict[str, dict[str, Any]]:
    """Every document under deploy/kubernetes, by kind (one of each)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(KUBE.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc["kind"] not in out, f"{path.name}: a second {doc['kind']}"
            doc["_file"] = path.name
            out[doc["kind"]] = doc
    return out


def container(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (only,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    return dict(only)


def flag(args: list[str], name: str) -> str:
    for arg in args:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"--{name}=... missing from the container args {args}")


def test_the_folder_holds_the_five_kinds_the_issue_names() -> None:
    assert set(manifests()) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler",
                                "PodDisruptionBudget"}
    listed = yaml.safe_load((KUBE / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in KUBE.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_schema_valid_in_strict_mode(version: str) -> None:
    for kind, doc in manifests().items():
        body = {k: v for k, v in doc.items() if k != "_file"}
        try:
            kubernetes_validate.validate(body, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{doc['_file']} ({kind}) is invalid for Kubernetes {version}: {exc.message} "
                        f"at {'/'.join(map(str, exc.path))}")


def test_strict_validation_would_catch_a_misspelt_field() -> None:
    deployment = {k: v for k, v in manifests()["Deployment"].items() if k != "_file"}
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError, match="terminationGracePeriod"):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_selectors_names_and_ports_line_up() -> None:
    docs = manifests()
    deployment, service = docs["Deployment"], docs["Service"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (deployment["spec"]["selector"]["matchLabels"], service["spec"]["selector"],
                     docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= labels.items()
    target = docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    c = container(docs)
    port_names = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in port_names
    assert int(flag(c["args"], "port")) == port_names["http"]
    # a CPU-utilisation autoscaler needs a CPU request to compute utilisation against
    assert "cpu" in c["resources"]["requests"]
    # the definition folder is the ConfigMap, mounted as a directory (a subPath mount never updates)
    (volume,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]
    (mount,) = [m for m in c["volumeMounts"] if m["name"] == volume["name"]]
    assert "subPath" not in mount and mount["readOnly"] is True
    assert c["args"][0] == mount["mountPath"]


def test_probes_use_the_fixed_endpoints() -> None:
    c = container(manifests())
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # one failed readiness check takes a full pod out of the Service at once
    assert c["readinessProbe"]["failureThreshold"] == 1
    assert c["livenessProbe"]["failureThreshold"] * c["livenessProbe"]["periodSeconds"] >= 20


def test_the_grace_period_covers_prestop_drain_and_close() -> None:
    docs = manifests()
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    c = container(docs)
    command = c["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep", command
    pre_stop = float(command[1])
    drain = float(flag(c["args"], "drain-timeout"))
    needed = pre_stop + drain + CLOSE_GRACE
    assert pod["terminationGracePeriodSeconds"] >= needed + 5, (
        f"terminationGracePeriodSeconds {pod['terminationGracePeriodSeconds']} < preStop {pre_stop} + "
        f"drain {drain} + close {CLOSE_GRACE} + 5 s margin: the kubelet would SIGKILL live calls")
    assert pod["terminationGracePeriodSeconds"] <= needed + 60, "a grace period far past the drain only slows rollouts"
    # rolling updates never take capacity away before the replacement is ready
    assert docs["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert docs["PodDisruptionBudget"]["spec"]["maxUnavailable"] == 1
    assert docs["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2


def test_the_pod_runs_unprivileged() -> None:
    docs = manifests()
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    c = container(docs)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == docker_user()
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}}
    # secrets come from a Secret, never a literal in the manifest
    for env in c["env"]:
        assert "value" not in env and "secretKeyRef" in env["valueFrom"], env


def test_the_configmap_is_the_example_definition_folder() -> None:
    data = manifests()["ConfigMap"]["data"]
    files = {p.name: p.read_text() for p in EXAMPLE.iterdir() if p.suffix in (".yaml", ".yml", ".py")}
    assert data == files, ("deploy/kubernetes/configmap.yaml is out of date with agents.d/; regenerate it with "
                           "`kubectl create configmap rtgraph-agents --from-file=agents.d/ --dry-run=client -o yaml`")


# -- the Dockerfile ----------------------------------------------------------------------------

def final_stage() -> list[tuple[str, str]]:
    """(instruction, arguments) of the Dockerfile's last stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    stages: list[list[tuple[str, str]]] = []
    for line in lines:
        instruction, _, rest = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction.upper(), rest.strip()))
    return stages[-1]


def docker_user() -> int:
    users = [rest for instruction, rest in final_stage() if instruction == "USER"]
    assert users, "the final stage has no USER: the container would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]}: use a numeric non-root uid (runAsNonRoot checks it)"
    return int(uid)


def exec_form(instruction: str) -> list[str]:
    (value,) = [yaml.safe_load(rest) for name, rest in final_stage() if name == instruction]
    assert isinstance(value, list), f"{instruction} must be in exec form (JSON array) so SIGTERM reaches rtgraph"
    return value


def test_dockerfile_is_slim_non_root_and_starts_serve() -> None:
    stage = final_stage()
    base = next(rest for name, rest in stage if name == "FROM")
    assert base == "${PYTHON_IMAGE}" and "slim" in DOCKERFILE.read_text().split("ARG PYTHON_IMAGE=")[1].split()[0]
    assert docker_user() == 10001
    assert exec_form("ENTRYPOINT") == ["rtgraph", "serve"]
    assert ("EXPOSE", "8080") in stage
    assert ("STOPSIGNAL", "SIGTERM") in stage
    (healthcheck,) = [rest for name, rest in stage if name == "HEALTHCHECK"]
    assert "http://127.0.0.1:8080/healthz" in healthcheck
    # no compiler or package manager caches in the final image
    assert not any(name == "RUN" and "apt-get" in rest for name, rest in stage)


# -- against the real server -------------------------------------------------------------------

def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def localise(args: list[str]) -> list[str]:
    """The container's arguments with the folder, bind address and port made local."""
    swap = {"--host": "127.0.0.1", "--port": "0"}
    out: list[str] = [str(EXAMPLE)]
    rest = iter(args[1:])
    for arg in rest:
        name, eq, _ = arg.partition("=")
        if name in swap:
            out.append(f"{name}={swap[name]}")
            if not eq:
                next(rest)
        else:
            out.append(arg)
    return out


def test_localise_swaps_both_argument_forms() -> None:
    assert localise(["/app/agents.d", "--host", "0.0.0.0", "--port=8080", "--log-format", "json"]) == [
        str(EXAMPLE), "--host=127.0.0.1", "--port=0", "--log-format", "json"]


@pytest.mark.slow
@pytest.mark.parametrize("source", ["deployment", "dockerfile"])
def test_the_container_arguments_start_a_server_that_answers_the_probes_and_drains(source: str) -> None:
    """Run the exact arguments of the Deployment (or the image's CMD) with only the folder, the
    bind address and the port swapped for local ones; the probes answer; SIGTERM exits 0."""
    if source == "deployment":
        docs = manifests()
        args = list(container(docs)["args"])
        probe_paths = [container(docs)[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")]
        metrics_path = docs["Deployment"]["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]
    else:
        args = exec_form("CMD")
        probe_paths, metrics_path = ["/healthz", "/readyz"], "/metrics"
    local = localise(args)
    with ServeProcess(*local, "--no-reload", env={"RTGRAPH_TOKEN": "test-token"}) as server:
        for path in probe_paths:
            status, body = get(server.url.path(path))
            assert status == 200, (path, body)
        status, body = get(server.url.path(metrics_path))
        assert status == 200 and b"rtgraph_sessions_active" in body
        server.signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, shlex.join(local)
