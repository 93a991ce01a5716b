"""The package refuses to load on an Airflow older than the floor, naming the supported versions."""

from __future__ import annotations

import importlib.metadata

import pytest

import airflow_provider_cancel


def fake_versions(monkeypatch, **installed):
    def version(name):
        if name in installed:
            return installed[name]
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", version)


@pytest.mark.parametrize("found", ["3.0.6", "2.11.2", "3.0.0rc1"])
def test_an_older_airflow_is_refused_with_the_supported_versions(monkeypatch, found):
    fake_versions(monkeypatch, **{"apache-airflow-core": found})
    with pytest.raises(RuntimeError) as err:
        airflow_provider_cancel._check_airflow_version()
    message = str(err.value)
    assert "needs Apache Airflow 3.1.0+" in message and "3.1, 3.2, 3.3" in message and found in message


def test_airflow_2_has_no_core_package_and_is_read_from_apache_airflow(monkeypatch):
    fake_versions(monkeypatch, **{"apache-airflow": "2.11.2"})
    with pytest.raises(RuntimeError, match="found 2.11.2"):
        airflow_provider_cancel._check_airflow_version()


@pytest.mark.parametrize("found", ["3.1.0", "3.1.8", "3.2.2", "3.3.2", "3.4.0.dev0"])
def test_supported_versions_load(monkeypatch, found):
    fake_versions(monkeypatch, **{"apache-airflow-core": found})
    airflow_provider_cancel._check_airflow_version()


def test_no_airflow_at_all_is_fine_for_the_vendor_models(monkeypatch):
    fake_versions(monkeypatch)
    airflow_provider_cancel._check_airflow_version()


def test_pip_refuses_airflow_before_the_floor():
    from packaging.requirements import Requirement

    requires = importlib.metadata.requires("airflow-provider-cancel") or []
    airflow = next(Requirement(r) for r in requires if Requirement(r).name == "apache-airflow")
    assert not airflow.specifier.contains("3.0.6") and airflow.specifier.contains("3.1.0")
