"""deploy/, checked without a container engine or a cluster.

The Kubernetes base is validated against the Kubernetes JSON schemas (kubernetes-validate),
the KEDA objects (CRDs, not in those schemas) and compose.yaml by structure, and all of them
against the Procfile, the queue names the workers consume and ``service.settings.Settings``.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from dramatiq.common import dq_name, xq_name

from service.settings import Settings
from workers.bulk import BULK_QUEUE
from workers.commands import queue_name
from workers.webhooks import WEBHOOKS_QUEUE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "k8s" / "base"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"

#: The Kubernetes version the base is validated against (kubernetes-validate ships schemas).
KUBERNETES_VERSION = "1.30"
KEDA_API = "keda.sh/v1alpha1"
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}
#: The Procfile process that runs once per deploy, as a Job rather than a Deployment.
RELEASE = "release"
#: The worker pools KEDA scales, each on the length of the queue(s) it consumes.
SCALED_POOLS = {"worker-commands", "worker-webhooks", "worker-bulk"}
BACKING_SERVICES = {"postgres", "rabbitmq", "redis"}
COMPONENT = "app.kubernetes.io/component"
ENV_NAME = re.compile(r"\bAGENTQ_[A-Z0-9_]+\b")

Obj = dict[str, Any]


# --- loading ---------------------------------------------------------------------------------


@cache
def procfile() -> dict[str, str]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = " ".join(shlex.split(command))
    return processes


@cache
def kustomization() -> Obj:
    document: Obj = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    return document


@cache
def base_objects() -> tuple[tuple[str, Obj], ...]:
    """(file, object) for every object of every resource the kustomization lists."""
    found = []
    for name in kustomization()["resources"]:
        for document in yaml.safe_load_all((BASE / name).read_text()):
            if document:
                found.append((name, document))
    return tuple(found)


def objects(kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for _, o in base_objects() if o["kind"] == kind}


def object_id(entry: tuple[str, Obj]) -> str:
    name, obj = entry
    return f"{name}:{obj['kind']}/{obj['metadata']['name']}"


@cache
def compose() -> Obj:
    document: Obj = yaml.safe_load(COMPOSE.read_text())
    return document


def component(obj: Obj) -> str:
    label: str = obj["spec"]["template"]["metadata"]["labels"][COMPONENT]
    return label


def pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


def main_container(obj: Obj) -> Obj:
    containers = pod_spec(obj)["containers"]
    assert len(containers) == 1, f"{obj['metadata']['name']}: one container per pod"
    container: Obj = containers[0]
    return container


def command_line(container: Obj) -> str:
    return " ".join([*container.get("command", []), *container.get("args", [])])


def deployment_of(process: str) -> Obj:
    matching = [d for d in objects("Deployment").values() if component(d) == process]
    assert len(matching) == 1, f"one Deployment runs the {process!r} process"
    return matching[0]


def pods() -> list[Obj]:
    """Every workload of the base: the Deployments and the migration Job."""
    return [*objects("Deployment").values(), *objects("Job").values()]


def is_setting(variable: str) -> bool:
    prefix = "AGENTQ_"
    return variable.startswith(prefix) and variable[len(prefix) :].lower() in Settings.model_fields


def settings_from(env: dict[str, Any]) -> Settings:
    """Validate ``AGENTQ_*`` values as the processes would read them."""
    values = {k[len("AGENTQ_") :].lower(): v for k, v in env.items() if is_setting(k)}
    return Settings.model_validate(values)


def interpolate(value: Any) -> str:
    """Compose's ``${VAR:-default}`` as its default, ``${VAR:?error}`` as a set value."""
    text = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(value))
    return re.sub(r"\$\{[A-Z0-9_]+(:?\?[^}]*)?\}", "set", text)


# --- Kubernetes --------------------------------------------------------------------------------


def test_the_kustomization_lists_exactly_the_manifest_files_of_the_base() -> None:
    listed = kustomization()["resources"]
    present = {p.name for p in BASE.glob("*.y*ml")} - {"kustomization.yaml"}
    assert len(listed) == len(set(listed)), "a resource listed twice"
    assert set(listed) == present


@pytest.mark.parametrize("entry", base_objects(), ids=object_id)
def test_every_object_of_the_base_is_valid_for_kubernetes(entry: tuple[str, Obj]) -> None:
    _, obj = entry
    if obj["kind"] in KEDA_KINDS:
        assert obj["apiVersion"] == KEDA_API
        assert obj["metadata"]["name"]
        assert isinstance(obj["spec"], dict)
        return
    # Strict: an unknown or misspelt field fails too. A kind without a schema raises.
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_base_sets_no_namespace_so_an_overlay_chooses_it() -> None:
    assert "namespace" not in kustomization()
    for entry in base_objects():
        assert "namespace" not in entry[1]["metadata"], object_id(entry)


def test_every_procfile_process_runs_its_procfile_command_in_a_deployment_or_the_job() -> None:
    for process, command in procfile().items():
        if process == RELEASE:
            jobs = [j for j in objects("Job").values() if component(j) == RELEASE]
            assert len(jobs) == 1, "the release step is one Job"
            assert command_line(main_container(jobs[0])) == command
            assert pod_spec(jobs[0])["restartPolicy"] == "Never"
        else:
            assert command_line(main_container(deployment_of(process))) == command, process
    assert {component(d) for d in objects("Deployment").values()} == set(procfile()) - {RELEASE}


def test_every_deployment_selects_its_own_pods_only() -> None:
    deployments = objects("Deployment").values()
    for deployment in deployments:
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), deployment["metadata"]["name"]
        for other in deployments:
            if other is not deployment:
                other_labels = other["spec"]["template"]["metadata"]["labels"]
                assert not selector.items() <= other_labels.items()


def test_every_deployment_has_a_disruption_budget_selecting_its_pods() -> None:
    budgets = objects("PodDisruptionBudget").values()
    for name, deployment in objects("Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(covering) == 1, f"{name}: exactly one PodDisruptionBudget"
        spec = covering[0]["spec"]
        assert "maxUnavailable" in spec or "minAvailable" in spec
    assert len(budgets) == len(objects("Deployment")), "a budget that covers no Deployment"


def test_the_web_service_sends_traffic_to_the_web_pods_http_port() -> None:
    web = deployment_of("web")
    labels = web["spec"]["template"]["metadata"]["labels"]
    ports = {p["name"]: p["containerPort"] for p in main_container(web)["ports"]}
    services = list(objects("Service").values())
    assert len(services) == 1
    spec = services[0]["spec"]
    assert spec["selector"].items() <= labels.items()
    assert all(p["targetPort"] in ports or p["targetPort"] in ports.values() for p in spec["ports"])
    assert ports["http"] == Settings.model_fields["port"].default


def test_web_pods_are_ready_on_ready_and_alive_on_health_with_two_replicas() -> None:
    web = deployment_of("web")
    container = main_container(web)
    assert web["spec"]["replicas"] >= 2
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"


def test_every_pod_runs_as_non_root_read_only_with_resource_requests_and_limits() -> None:
    for workload in pods():
        name = workload["metadata"]["name"]
        assert pod_spec(workload)["securityContext"]["runAsNonRoot"] is True, name
        assert pod_spec(workload)["securityContext"]["runAsUser"] != 0, name
        container = main_container(workload)
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert "ALL" in security["capabilities"]["drop"], name
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= container["resources"][kind].keys(), f"{name} {kind}"


def test_every_pod_reads_the_configmap_and_secret_of_the_base() -> None:
    config_maps, secrets = objects("ConfigMap"), objects("Secret")
    for workload in pods():
        sources = main_container(workload)["envFrom"]
        used_maps = {s["configMapRef"]["name"] for s in sources if "configMapRef" in s}
        used_secrets = {s["secretRef"]["name"] for s in sources if "secretRef" in s}
        assert used_maps and used_maps <= config_maps.keys(), workload["metadata"]["name"]
        assert used_secrets and used_secrets <= secrets.keys(), workload["metadata"]["name"]


def test_settings_every_process_must_share_are_set_once_in_the_configmap_or_secret() -> None:
    shared = {"AGENTQ_COMMAND_SHARDS", "AGENTQ_ADMIN_TOKEN"}
    defined = set()
    for source in [*objects("ConfigMap").values(), *objects("Secret").values()]:
        defined |= {*source.get("data", {}), *source.get("stringData", {})}
    assert shared <= defined
    for workload in pods():
        overridden = {e["name"] for e in main_container(workload).get("env", [])}
        assert not overridden & shared, workload["metadata"]["name"]


def test_the_configmap_and_secret_values_are_valid_settings() -> None:
    env: dict[str, Any] = {}
    for config_map in objects("ConfigMap").values():
        env |= config_map["data"]
    for secret in objects("Secret").values():
        env |= secret.get("stringData", {})
    settings = settings_from(env)
    assert settings.distributed
    assert settings.host == "0.0.0.0"


def test_the_secrets_hold_only_placeholders_marked_for_replacement() -> None:
    for name, secret in objects("Secret").items():
        assert "data" not in secret, f"{name}: stringData placeholders only, nothing encoded"
        for key, value in secret["stringData"].items():
            assert "REPLACE-ME" in value, f"{name}.{key} is not a marked placeholder"


def test_worker_and_scheduler_pods_serve_metrics_on_the_port_they_expose() -> None:
    for process in set(procfile()) - {RELEASE, "web"}:
        container = main_container(deployment_of(process))
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert env["AGENTQ_METRICS_PORT"] == str(ports["metrics"]), process


def test_the_scheduler_runs_two_replicas_and_is_not_scaled_by_keda() -> None:
    scheduler = deployment_of("scheduler")
    assert scheduler["spec"]["replicas"] == 2
    targets = {s["spec"]["scaleTargetRef"]["name"] for s in objects("ScaledObject").values()}
    assert scheduler["metadata"]["name"] not in targets


# --- KEDA ----------------------------------------------------------------------------------------


def scaled_object_of(process: str) -> Obj:
    name = deployment_of(process)["metadata"]["name"]
    matching = [
        s for s in objects("ScaledObject").values() if s["spec"]["scaleTargetRef"]["name"] == name
    ]
    assert len(matching) == 1, f"one ScaledObject scales {name}"
    return matching[0]


def the_rabbitmq_trigger(scaled: Obj) -> Obj:
    triggers = scaled["spec"]["triggers"]
    assert len(triggers) == 1 and triggers[0]["type"] == "rabbitmq"
    trigger: Obj = triggers[0]
    # KEDA's trigger metadata is a map of strings: a YAML true or 5 is refused by the CRD.
    assert all(isinstance(v, str) for v in trigger["metadata"].values())
    return trigger


def test_every_scaled_object_targets_a_deployment_of_the_base() -> None:
    deployments = objects("Deployment")
    for name, scaled in objects("ScaledObject").items():
        assert scaled["apiVersion"] == KEDA_API
        target = scaled["spec"]["scaleTargetRef"]
        assert target.get("kind", "Deployment") == "Deployment", name
        assert target["name"] in deployments, name
    assert {scaled_object_of(p)["metadata"]["name"] for p in SCALED_POOLS} == set(
        objects("ScaledObject")
    )


def test_every_worker_pool_scales_between_its_deployment_replicas_and_a_maximum() -> None:
    for process in SCALED_POOLS:
        spec = scaled_object_of(process)["spec"]
        replicas = deployment_of(process)["spec"]["replicas"]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"], process
        # Applying the base does not fight the autoscaler below its floor.
        assert replicas == spec["minReplicaCount"], process


def test_the_commands_pool_scales_on_the_summed_length_of_its_shard_queues_only() -> None:
    metadata = the_rabbitmq_trigger(scaled_object_of("worker-commands"))["metadata"]
    assert metadata["useRegex"] == "true"
    assert metadata["operation"] == "sum"
    assert metadata["protocol"] == "http", "useRegex needs the management API"
    pattern = re.compile(metadata["queueName"])
    most_shards = Settings.model_fields["command_shards"].metadata
    shards = max(getattr(m, "le", 0) for m in most_shards)
    for shard in range(shards):
        assert pattern.search(queue_name(shard)), queue_name(shard)
        assert not pattern.search(dq_name(queue_name(shard)))
        assert not pattern.search(xq_name(queue_name(shard)))
    for other in (WEBHOOKS_QUEUE, BULK_QUEUE):
        assert not pattern.search(other)


def test_the_commands_pool_never_scales_past_one_replica_per_shard() -> None:
    (config,) = objects("ConfigMap").values()
    shards = int(config["data"]["AGENTQ_COMMAND_SHARDS"])
    assert scaled_object_of("worker-commands")["spec"]["maxReplicaCount"] <= shards


@pytest.mark.parametrize(
    ("process", "queue"), [("worker-webhooks", WEBHOOKS_QUEUE), ("worker-bulk", BULK_QUEUE)]
)
def test_the_webhooks_and_bulk_pools_scale_on_the_queue_they_consume(
    process: str, queue: str
) -> None:
    metadata = the_rabbitmq_trigger(scaled_object_of(process))["metadata"]
    assert metadata["queueName"] == queue
    assert metadata.get("useRegex", "false") == "false"
    assert metadata["mode"] == "QueueLength"
    assert float(metadata["value"]) > 0


def test_every_rabbitmq_trigger_authenticates_with_a_secret_key_of_the_base() -> None:
    authentications, secrets = objects("TriggerAuthentication"), objects("Secret")
    assert authentications
    for process in SCALED_POOLS:
        trigger = the_rabbitmq_trigger(scaled_object_of(process))
        assert "host" not in trigger["metadata"], "credentials belong in a Secret"
        authentication = authentications[trigger["authenticationRef"]["name"]]
        assert authentication["apiVersion"] == KEDA_API
        refs = authentication["spec"]["secretTargetRef"]
        assert "host" in {r["parameter"] for r in refs}
        for ref in refs:
            assert ref["key"] in secrets[ref["name"]]["stringData"], ref


# --- settings named anywhere in deploy/ ----------------------------------------------------------


def test_every_agentq_variable_named_in_deploy_is_a_setting() -> None:
    files = [*BASE.glob("*.yaml"), COMPOSE, DOCKERFILE]
    named = {(f.name, v) for f in files for v in ENV_NAME.findall(f.read_text())}
    assert named, "no AGENTQ_ variable found at all"
    unknown = sorted(f"{f}: {v}" for f, v in named if not is_setting(v))
    assert not unknown, f"not fields of service.settings.Settings: {unknown}"


# --- compose -------------------------------------------------------------------------------------


def agentq_services() -> dict[str, Obj]:
    services: dict[str, Obj] = compose()["services"]
    return {name: s for name, s in services.items() if name in procfile()}


def test_compose_runs_every_procfile_process_and_the_three_backing_services() -> None:
    assert set(compose()["services"]) == set(procfile()) | BACKING_SERVICES


def test_compose_runs_each_process_with_its_procfile_command() -> None:
    for name, service in agentq_services().items():
        command = service["command"]
        command = " ".join(command) if isinstance(command, list) else command
        assert " ".join(shlex.split(command)) == procfile()[name], name


def test_compose_health_checks_the_backing_services_and_the_web_readiness() -> None:
    services = compose()["services"]
    for name in [*BACKING_SERVICES, "web"]:
        test = services[name]["healthcheck"]["test"]
        assert test and test[0] in {"CMD", "CMD-SHELL"}, name
    assert "/ready" in " ".join(services["web"]["healthcheck"]["test"])


def test_compose_starts_every_process_after_the_release_step_completed_successfully() -> None:
    for name, service in agentq_services().items():
        if name != RELEASE:
            depends_on = service["depends_on"]
            assert depends_on[RELEASE]["condition"] == "service_completed_successfully", name


def test_compose_runs_the_release_step_once_the_backing_services_are_healthy() -> None:
    release = compose()["services"][RELEASE]
    assert {name: d["condition"] for name, d in release["depends_on"].items()} == dict.fromkeys(
        BACKING_SERVICES, "service_healthy"
    )
    assert release.get("restart", "no") == "no", "a finished release step is not restarted"


def test_compose_runs_every_process_from_the_one_image_of_deploy_dockerfile() -> None:
    images = set()
    for name, service in agentq_services().items():
        build = service["build"]
        context = (COMPOSE.parent / build["context"]).resolve()
        assert context == ROOT, name
        assert (context / build["dockerfile"]).resolve() == DOCKERFILE, name
        images.add(service["image"])
    assert len(images) == 1


def test_compose_gives_every_process_the_same_shared_valid_settings() -> None:
    environments = [s["environment"] for s in agentq_services().values()]
    for variable in ("AGENTQ_COMMAND_SHARDS", "AGENTQ_ADMIN_TOKEN", "AGENTQ_DATABASE_URL"):
        assert len({env[variable] for env in environments}) == 1, variable
    for env in environments:
        settings = settings_from({k: interpolate(v) for k, v in env.items()})
        assert settings.distributed and settings.host == "0.0.0.0"


# --- the image -----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_dockerfile_builds_in_stages_and_runs_as_a_numeric_non_root_user() -> None:
    instructions = dockerfile_instructions()
    stages = [args for op, args in instructions if op == "FROM"]
    assert len(stages) >= 2
    assert any(op == "COPY" and args.startswith("--from=") for op, args in instructions)
    users = [args for op, args in instructions if op == "USER"]
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, "a numeric UID lets Kubernetes check runAsNonRoot"
    uid = int(user)
    for workload in pods():
        assert pod_spec(workload)["securityContext"]["runAsUser"] == uid


def test_the_image_listens_on_all_interfaces_on_the_api_port_and_defaults_to_web() -> None:
    instructions = dockerfile_instructions()
    env = " ".join(args for op, args in instructions if op == "ENV")
    assert "AGENTQ_HOST=0.0.0.0" in env
    assert [args for op, args in instructions if op == "EXPOSE"] == ["3100"]
    assert [args for op, args in instructions if op == "CMD"] == ['["agentq", "web"]']


def test_the_build_context_leaves_out_the_virtualenv_git_and_caches() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache"} <= ignored
