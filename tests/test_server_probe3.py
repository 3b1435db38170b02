"""The server probe of 7 December (notes/lead44/probe_server): a namespace sent in the query string was ignored, so
`/ingest?namespace=tenantX` stored a tenant's note in `global` with a 200; NaN and Infinity in metadata were stored as
no JSON reads them (SQLite kept `NaN`; PostgreSQL's jsonb refuses it)."""
import pytest
from fastapi.testclient import TestClient

from ruvllm.config import Config
from ruvllm.server import create_app


@pytest.fixture(scope='module')
def client(tmp_path_factory):
    d = tmp_path_factory.mktemp('probe3') / 'd'
    cfg = (Config.builder().db_path(d).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('learning.enabled', False).build())
    with TestClient(create_app(cfg, autosave_s=0)) as c: yield c


def test_a_query_parameter_is_refused_not_ignored(client):
    r = client.post('/ingest?namespace=tenantX', json={'items': ['Secret of tenantX: the vault code is 7731.']})
    assert r.status_code == 400 and 'unexpected query parameter(s) namespace' in r.json()['error']['message'], r.text
    assert client.post('/query?namespace=a.b', json={'query': 'What is the vault code?'}).status_code == 400
    assert client.get('/health?probe=1').status_code == 200  # monitors add their own: not refused there
    assert client.get('/stats?nocache=1').status_code == 200 and client.get('/v1/models?api-version=1').status_code == 200  # GETs, OpenAI's routes


@pytest.mark.parametrize('bad', [b'NaN', b'Infinity', b'-Infinity', b'1e400'])
def test_metadata_json_cannot_hold_is_refused(client, bad):
    body = b'{"items": [{"text": "The Orl is long.", "metadata": {"a": ' + bad + b'}}]}'
    r = client.post('/ingest', content=body, headers={'content-type': 'application/json'})
    assert r.status_code in (400, 422) and 'JSON' in r.text, r.text


def test_client_errors_are_not_counted_as_failures(client):
    "A feedback 404 and an ingest 400 raised `server.pool.failed` (false alarms for monitoring): they are `refused` now."
    before = client.get('/stats').json()['server']['pool']
    assert client.post('/feedback', json={'request_id': 'no-such-request', 'rating': 5}).status_code == 404
    assert client.post('/ingest', json={'items': ['bad \u0000 text']}).status_code == 400
    after = client.get('/stats').json()['server']['pool']
    assert after['failed'] == before['failed'] and after['refused'] >= before['refused'] + 1, (before, after)
