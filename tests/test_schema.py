"""Property-based: requests generated from /openapi.json, valid and invalid, never get a 5xx.

Schemathesis reads the app's own schema and calls every operation in process (ASGI; the app's
lifespan runs once, on the first call), on the fictional policies. Keys are off and the rate
limit is out of reach so the generated bodies get to the handlers; the admin key is sent with
every call so the staff export is exercised too. A failure prints the operation and a curl line
that repeats it.

The schema is read at import from an app that is never started (routes only, nothing built);
the app that answers is a module fixture. `schemathesis.pytest.from_fixture` would be the
natural loader, but its lazy schema reads `request.node._nodeid`, which pytest 9.2 no longer
has (schemathesis 4.32.5).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans

from assistant.config import Settings, load_settings
from assistant.serve.app import create_app
from assistant.serve.runtime import Services

from .conftest import FICTIONAL

pytestmark = pytest.mark.slow

ADMIN = "schema-admin-key-1"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN}"}


def app_settings(root: Path) -> Settings:
    """One key that is both the client's and the admin's, a rate limit never reached; corpus,
    index and records in root."""
    return load_settings(
        corpus_dir=root / "corpus",
        index_dir=root / "index",
        database_url=f"sqlite:///{root / 'records.sqlite3'}",
        api_keys=f"fuzzer:{ADMIN}",
        api_keys_file=None,
        admin_key=ADMIN,
        rate_limit_per_minute=100_000,
        auth_failures_per_minute=10_000,
    )


schema = schemathesis.openapi.from_dict(
    create_app(app_settings(Path(tempfile.mkdtemp(prefix="schema-")))).openapi()
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The app serving an index of the fictional policies, built once for this module."""
    root = tmp_path_factory.mktemp("schema")
    shutil.copytree(FICTIONAL, root / "corpus")  # fuzzed uploads land in a copy
    values = app_settings(root)
    Services(values).store.ingest()
    yield create_app(values)
    shutdown_lifespans()  # the app's shutdown now rather than at interpreter exit


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    database=None,  # fuzzed examples per operation
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_generated_request_gets_a_server_error(case: schemathesis.Case, app: FastAPI) -> None:
    case.call_and_validate(app=app, headers=ADMIN_HEADERS, checks=[not_a_server_error])
