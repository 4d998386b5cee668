"""The deploy/ files parse, and deploy/prefect.yaml says what flows/deployments.py serves.

No Docker, Helm or Prefect server here: YAML syntax and the facts the runbook relies on. The
deployments themselves run against a real server and workers in
tests/orchestration/test_workers_postgres.py.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from flows.deployments import SCHEDULES, TIMEZONE

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
YAML_FILES = ["prefect.yaml", "compose.yaml", "compose.ha.yaml", "helm/values-prefect-server.yaml",
              "helm/values-prefect-worker.yaml"]


@pytest.mark.parametrize("name", YAML_FILES)
def test_every_deploy_yaml_file_parses(name: str) -> None:
    assert isinstance(yaml.safe_load((DEPLOY / name).read_text()), dict)


def _flow(entrypoint: str):
    path, attr = entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), attr)


def test_prefect_yaml_declares_the_deployments_ketnap_serve_serves() -> None:
    spec = yaml.safe_load((DEPLOY / "prefect.yaml").read_text())
    declared = {f"{_flow(d['entrypoint']).name}/{d['name']}": d for d in spec["deployments"]}
    assert set(declared) == set(SCHEDULES)
    for full_name, served in SCHEDULES.items():
        d = declared[full_name]
        assert _flow(d["entrypoint"]) is served["flow"], full_name
        assert d["work_pool"]["name"] == "ketnap" and not d["work_pool"].get("job_variables"), full_name
        schedule = served["schedule"]
        if schedule is None:
            assert not d.get("schedules"), full_name
            continue
        [declared_schedule] = d["schedules"]
        if getattr(schedule, "cron", None):
            assert (declared_schedule["cron"], declared_schedule["timezone"]) == (schedule.cron, TIMEZONE), full_name
        else:
            assert timedelta(seconds=declared_schedule["interval"]) == schedule.interval, full_name
    # every run starts in the checkout named by the worker's environment
    assert spec["pull"] == [{"prefect.deployments.steps.set_working_directory": {"directory": "{{ $KETNAP_CHECKOUT }}"}}]


def test_compose_wires_both_databases_to_postgres_and_workers_to_the_pool() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "prefect-server", "deploy", "worker", "ketnap", "web"} <= set(services)
    assert services["web"]["command"][:2] == ["ketnap", "web"] and "/healthz" in str(services["web"]["healthcheck"])
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert "healthcheck" in services["postgres"] and "/api/health" in str(services["prefect-server"]["healthcheck"])
    server_env = services["prefect-server"]["environment"]
    assert server_env["PREFECT_SERVER_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://prefect:")
    assert "prefect worker start --pool ketnap --type process" in services["worker"]["command"]
    for name in ("worker", "ketnap", "deploy"):
        env = services[name]["environment"]
        assert env["KETNAP_DATABASE_URL"].startswith("postgresql+psycopg://ketnap:"), name
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api", name
    assert services["ketnap"]["command"] == ["ketnap", "serve"]
    ha = yaml.safe_load((DEPLOY / "compose.ha.yaml").read_text())["services"]
    assert ha["prefect-services"]["environment"]["PREFECT_SERVER_DOCKET_URL"].startswith("redis://")
    assert "--no-services" in ha["prefect-server"]["command"]
