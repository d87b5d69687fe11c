"""deploy/kubernetes rendered by kustomize (kubectl's, offline) and checked: every object
against the Kubernetes schemas (kubernetes-validate, strict), then what the schema cannot
say: the Deployment runs the image as it was built and checked (user, command, paths, probes
on the bot's routes, a grace period above the drain), the selectors meet, the configuration
in the ConfigMap passes `triage-bot check`, and the Secret template holds what the bot reads.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import cli
from bot.app import Runtime, create_app
from bot.config import alert_token_problem, settings_from_mapping
from tests.conftest import ROOT
from tests.packaging import dockerfile, tools

KUBERNETES = ROOT / "deploy" / "kubernetes"
#: The oldest Kubernetes release still supported upstream when this was written, and the newest
#: the validator knows.
VERSIONS = ("1.32.0", "latest")
BOT_LABELS = {"app.kubernetes.io/name": "triage-bot", "app.kubernetes.io/component": "bot"}
REDIS_LABELS = {"app.kubernetes.io/name": "triage-bot", "app.kubernetes.io/component": "redis"}
#: Custom resources: no schema in kubernetes-validate; checked by hand below.
CUSTOM_KINDS = {"ServiceMonitor"}


def render(directory: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize directory``: the objects kubectl apply -k would send."""
    kubectl = tools.binary("kubectl", "the kubectl package (kubectl kustomize renders)")
    done = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def overlay(tmp_path: Path, components: list[str]) -> Path:
    """A user's kustomization of the base with the named components (as the README says);
    kustomize takes relative paths only."""

    def relative(path: Path) -> str:
        return os.path.relpath(path, tmp_path)

    text = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "namespace": "triage-bot", "resources": [relative(KUBERNETES / "base")],
            "components": [relative(KUBERNETES / "components" / c) for c in components]}
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(text))
    return tmp_path


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in by_kind(objects, kind) if name is None or o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


@pytest.fixture(scope="module")
def default() -> list[dict[str, Any]]:
    return render(KUBERNETES)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# -- schema ---------------------------------------------------------------------------------

@pytest.mark.parametrize("components", [["redis"], [], ["redis", "servicemonitor"]],
                         ids=["bundled-redis", "existing-redis", "with-servicemonitor"])
def test_every_variant_renders_and_follows_the_kubernetes_schema(
        components: list[str], tmp_path: Path) -> None:
    validator = tools.module("kubernetes_validate", "pip install kubernetes-validate")
    objects = render(overlay(tmp_path, components))
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "Deployment", "Service", "PodDisruptionBudget", "ConfigMap",
            "NetworkPolicy", "ServiceAccount"} <= kinds
    assert ("StatefulSet" in kinds) == ("redis" in components)
    assert ("ServiceMonitor" in kinds) == ("servicemonitor" in components)
    for version in VERSIONS:
        wanted = validator.latest_version() if version == "latest" else version
        for document in objects:
            if document["kind"] in CUSTOM_KINDS:
                continue
            try:
                validator.validate(document, wanted, strict=True)
            except Exception as error:  # jsonschema's ValidationError, or no schema at all
                reason = getattr(error, "message", None) or repr(error)
                pytest.fail(f"{document['kind']} {document['metadata']['name']} "
                            f"(Kubernetes {wanted}): {reason}")
    namespaced = [o for o in objects if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {"triage-bot"}


def test_the_default_is_the_bot_with_a_bundled_redis(default: list[dict[str, Any]]) -> None:
    assert one(default, "StatefulSet")["metadata"]["name"] == "triage-bot-redis"
    assert not by_kind(default, "ServiceMonitor")


# -- the bot --------------------------------------------------------------------------------

def _pod(default: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = one(default, "Deployment", "triage-bot")["spec"]["template"]["spec"]
    return spec


def _bot(pod: dict[str, Any]) -> dict[str, Any]:
    [container] = [c for c in pod["containers"] if c["name"] == "triage-bot"]
    return container


def test_deployment_runs_the_image_as_built(default: list[dict[str, Any]]) -> None:
    final = dockerfile.final_stage(dockerfile.parse(ROOT / "Dockerfile"))
    [user] = [i.args for i in final if i.keyword == "USER"]
    [cmd] = [i for i in final if i.keyword == "CMD"]
    pod = _pod(default)
    uid, gid = (int(part) for part in user.split(":"))
    context = pod["securityContext"]
    assert context["runAsNonRoot"] is True
    assert (context["runAsUser"], context["runAsGroup"]) == (uid, gid)
    bot = _bot(pod)
    assert bot["args"] == cmd.exec_form()
    [port] = bot["ports"]
    assert port == {"name": "http", "containerPort": int(cmd.exec_form()[-1])}
    for container in pod["containers"] + pod.get("initContainers", []):
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, container["name"]
        assert security["allowPrivilegeEscalation"] is False, container["name"]
        assert security["capabilities"]["drop"] == ["ALL"], container["name"]
        assert {"requests", "limits"} <= set(container["resources"]), container["name"]
        assert container["image"] == one(default, "Deployment")["spec"]["template"]["spec"][
            "containers"][0]["image"]


def test_read_only_root_has_a_writable_tmp_and_every_path_is_mounted(
        default: list[dict[str, Any]]) -> None:
    pod = _pod(default)
    bot = _bot(pod)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in bot["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]] and not mounts["/tmp"].get("readOnly")
    image_env = dockerfile.env_vars(dockerfile.final_stage(dockerfile.parse(ROOT / "Dockerfile")))
    for name in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "HOME"):
        assert image_env[name].startswith("/tmp"), f"{name} must be writable: under /tmp"
    env = {e["name"]: e["value"] for e in bot["env"]}
    config = mounts[env["TRIAGE_CONFIG"]]
    assert config["readOnly"] and "configMap" in volumes[config["name"]]
    # The built-in playbooks are package data in the image; TRIAGE_PLAYBOOKS names the team's
    # ConfigMap, mounted as it is: no init container copies anything.
    playbooks = mounts[env["TRIAGE_PLAYBOOKS"]]
    assert playbooks["readOnly"]
    assert volumes[playbooks["name"]]["configMap"]["name"].startswith("triage-bot-playbooks")
    assert "TRIAGE_PLAYBOOKS" not in image_env
    assert not pod.get("initContainers")


def test_probes_ask_the_bots_health_routes(default: list[dict[str, Any]]) -> None:
    bot = _bot(_pod(default))
    app = create_app(settings_from_mapping({"slack": {"default_channel": "C0INCIDENTS"}},
                                           {"SLACK_BOT_TOKEN": "xoxb-x",
                                            "SLACK_SIGNING_SECRET": "s",
                                            "TRIAGE_ALERT_TOKEN": "t"}))
    routes = {r.resource.canonical for r in app.router.routes()
              if r.method == "GET" and r.resource is not None}
    probes = {kind: bot[kind]["httpGet"] for kind in ("startupProbe", "livenessProbe",
                                                      "readinessProbe")}
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    for probe in probes.values():
        assert probe["path"] in routes and probe["port"] == "http"


def test_grace_period_covers_the_pause_and_the_drain(default: list[dict[str, Any]]) -> None:
    pod = _pod(default)
    pause = _bot(pod)["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > float(pause[1]) + Runtime().drain_seconds


def test_replicas_spread_and_survive_a_drain(default: list[dict[str, Any]]) -> None:
    deployment = one(default, "Deployment", "triage-bot")
    spec = deployment["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["replicas"] >= 2 and spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert selects(spec["selector"]["matchLabels"], labels) and selects(BOT_LABELS, labels)
    keys = set()
    for constraint in spec["template"]["spec"]["topologySpreadConstraints"]:
        assert selects(constraint["labelSelector"]["matchLabels"], labels)
        keys.add(constraint["topologyKey"])
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    budget = one(default, "PodDisruptionBudget")["spec"]
    assert selects(budget["selector"]["matchLabels"], labels)
    assert 1 <= budget["minAvailable"] < spec["replicas"]


def test_service_and_network_policies_meet_the_pods(default: list[dict[str, Any]]) -> None:
    bot_labels = one(default, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one(default, "Service", "triage-bot")["spec"]
    assert selects(service["selector"], bot_labels)
    assert [p["targetPort"] for p in service["ports"]] == ["http"]
    policy = one(default, "NetworkPolicy", "triage-bot")["spec"]
    assert selects(policy["podSelector"]["matchLabels"], bot_labels)
    assert [p["port"] for rule in policy["ingress"] for p in rule["ports"]] == [3000]
    redis = one(default, "StatefulSet", "triage-bot-redis")["spec"]
    redis_labels = redis["template"]["metadata"]["labels"]
    assert selects(REDIS_LABELS, redis_labels)
    fence = one(default, "NetworkPolicy", "triage-bot-redis")["spec"]
    assert selects(fence["podSelector"]["matchLabels"], redis_labels)
    [rule] = fence["ingress"]
    [source] = rule["from"]
    assert selects(source["podSelector"]["matchLabels"], bot_labels)
    assert not selects(source["podSelector"]["matchLabels"], redis_labels)


def test_servicemonitor_scrapes_the_service_as_job_triage_bot(tmp_path: Path) -> None:
    objects = render(overlay(tmp_path, ["redis", "servicemonitor"]))
    monitor = one(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    service = one(objects, "Service", "triage-bot")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert {"targetLabel": "job", "replacement": "triage-bot"} in endpoint["relabelings"]


# -- Redis ----------------------------------------------------------------------------------

def test_bundled_redis_persists_to_a_volume(default: list[dict[str, Any]]) -> None:
    redis = one(default, "StatefulSet", "triage-bot-redis")["spec"]
    [container] = redis["template"]["spec"]["containers"]
    args = container["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    data = args[args.index("--dir") + 1]
    [claim] = redis["volumeClaimTemplates"]
    assert {m["name"]: m["mountPath"] for m in container["volumeMounts"]}[
        claim["metadata"]["name"]] == data
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


# -- configuration and secrets --------------------------------------------------------------

def _secret_template() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (KUBERNETES / "secret.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_configmap_configuration_passes_triage_bot_check(
        default: list[dict[str, Any]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = next(c for c in by_kind(default, "ConfigMap")
                  if c["metadata"]["name"].startswith("triage-bot-config"))
    path = tmp_path / "triage.yaml"
    path.write_text(config["data"]["triage.yaml"])
    code = cli.main(["check", "--config", str(path)])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("OK:"), out
    team = next(c for c in by_kind(default, "ConfigMap")
                if c["metadata"]["name"].startswith("triage-bot-playbooks"))
    assert not team.get("data"), "no team playbooks ship by default"


def test_secret_template_holds_what_the_bot_reads(default: list[dict[str, Any]]) -> None:
    values = _secret_template()
    assert set(values) == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "TRIAGE_ALERT_TOKEN",
                           "REDIS_URL"}
    bot = _bot(_pod(default))
    [source] = bot["envFrom"]
    assert source["secretRef"]["name"] == "triage-bot"
    settings = settings_from_mapping({}, values)
    # No example token the bot would accept: the copy must be filled in before it starts.
    assert values["TRIAGE_ALERT_TOKEN"] == "" and alert_token_problem(settings)
    # The default REDIS_URL is the bundled Redis's Service, on its port.
    service = one(default, "Service", "triage-bot-redis")
    assert settings.redis_url == (f"redis://{service['metadata']['name']}:"
                                  f"{service['spec']['ports'][0]['port']}/0")
    text = (KUBERNETES / "secret.env.example").read_text()
    assert "redis+sentinel://" in text, "document the existing-Redis (Sentinel) choice"
