import os, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault('IN_TEST', '1')

import shutil, tempfile
import pytest


@pytest.fixture(scope='session')
def pg_server():
    """The URL of a real PostgreSQL server for the tests: `RUVLLM_TEST_PG_URL` if set (CI starts one), else a
    throwaway server started here (initdb in a temporary directory, a free loopback port) and stopped at the end."""
    from ruvllm.pgstore import start_local_postgres, stop_local_postgres
    url = os.environ.get('RUVLLM_TEST_PG_URL')
    if url:
        yield url; return
    d = tempfile.mkdtemp(prefix='ruvllm-test-pg-')
    try:
        yield start_local_postgres(d)
    finally:
        try: stop_local_postgres(d)
        finally: shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope='module')
def own_server():
    "A PostgreSQL server of the test module's own, which its tests stop and start (an outage): (directory, URL)."
    from ruvllm.pgstore import start_local_postgres, stop_local_postgres
    d = tempfile.mkdtemp(prefix='ruvllm-test-pg-own-')
    try: yield d, start_local_postgres(d)
    finally:
        try: stop_local_postgres(d)
        except Exception: pass
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server):
    "A fresh, empty database on the test server (dropped after the test)."
    from ruvllm.pgstore import fresh_database, drop_database
    url = fresh_database(pg_server, prefix='ruvllm_test')
    yield url
    try: drop_database(url)
    except Exception: pass


@pytest.fixture
def cli_argv(tmp_path):
    "`ruvllm`'s global options for a data directory in tmp_path with a config of the given TOML text: make(toml) -> argv."
    def make(toml_text: str) -> list[str]:
        toml = tmp_path / 'extractive.toml'
        toml.write_text(toml_text)
        return ['--config', str(toml), '--db', str(tmp_path / 'data')]
    return make

