"""The explorer's API against its own OpenAPI document, checked by Schemathesis over a real
`pyflare dev` serving a copy of the seed: requests generated from the document (valid ones and
edge cases) must get documented statuses, content types and bodies, and never a server error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dev_process import DevProcess, copy_fixture, dev_process, run_pyflare

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

pytestmark = pytest.mark.slow

API = "/cdn-cgi/local/explorer/api"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    seed = copy_fixture("ai-tasks", tmp_path_factory.mktemp("schemathesis"))
    assert run_pyflare(["d1", "migrations", "apply", "DB"], cwd=seed).returncode == 0
    with dev_process(["--log-level", "warn"], cwd=seed) as dev:
        yield dev


def test_every_operation_answers_as_documented(
    served: DevProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from hypothesis import given
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(str(tmp_path_factory.mktemp("hypothesis")))  # not the repository

    schema = schemathesis.openapi.from_url(served.url + API)
    failures = []
    tested = 0
    for found in schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,  # nothing written into the repository
        )
        def check(case: Any) -> None:
            case.call_and_validate()

        tested += 1
        try:
            check()
        except BaseException as exc:  # every operation is tried; all failures are reported
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert tested >= 30
    assert not failures, "\n\n".join(failures)


def test_the_document_is_served(served: DevProcess) -> None:
    document = served.client.get(API).json()
    assert document["openapi"].startswith("3.1")
    assert Path(__file__).exists()
