"""Property-based fuzzing of the server's OpenAPI schema with schemathesis: valid and invalid bodies for
every operation, at least 500 generated requests in all, and not one 5xx."""
import collections
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from fastapi.testclient import TestClient

from ruvllm.config import Config
from ruvllm.server import create_app


def _cfg(path, **server):
    b = Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    b = b.set('learning.enabled', False)
    return b.update(server, section='server').build()


@pytest.mark.parametrize('keys', [False, True], ids=['open', 'api-keys'])
def test_fuzz_openapi_no_5xx(tmp_path, keys):
    server = dict(max_body_bytes=20_000, max_query_chars=500)
    if keys:
        (tmp_path / 'keys.json').write_text('{"fuzz-key-0001": "fuzz", "other-key-0002": "other"}')
        server['api_keys_file'] = str(tmp_path / 'keys.json')
    app = create_app(_cfg(tmp_path / 'd', **server), autosave_s=0)
    auth = {'Authorization': 'Bearer fuzz-key-0001'} if keys else {}
    with TestClient(app, raise_server_exceptions=False) as client:
        client.post('/ingest', json={'items': ["The Zorblat river flows through Quenby.", "Quenby is in Marsovia."]}, headers=auth)
        schema = schemathesis.openapi.from_asgi('/openapi.json', app, headers=auth) if keys else \
            schemathesis.openapi.from_asgi('/openapi.json', app)
        ops = [r.ok() for r in schema.get_all_operations()]
        assert {(o.method.upper(), o.path) for o in ops} >= {('POST', '/query'), ('POST', '/feedback'), ('POST', '/session'),
                                                              ('POST', '/ingest'), ('GET', '/stats'), ('GET', '/health'),
                                                              ('POST', '/v1/chat/completions'), ('GET', '/v1/models')}
        strategies = [o.as_strategy(generation_mode=m) for o in ops for m in schemathesis.GenerationMode
                      if not (m == schemathesis.GenerationMode.NEGATIVE and o.method.upper() == 'GET')]
        seen = collections.Counter(); fails = []

        @settings(max_examples=120 if keys else 520, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(st.one_of(strategies))
        def check(case):
            kw = case.as_transport_kwargs()
            data = kw.get('data')
            raw = kw.get('content', data if isinstance(data, (bytes, str)) else None)
            r = client.request(kw['method'], kw['url'].replace('http://localhost', ''), headers={**(kw.get('headers') or {}), **auth},
                               params=kw.get('params'), content=raw, json=kw.get('json'),
                               data=data if isinstance(data, dict) else None, files=kw.get('files'))
            seen[r.status_code] += 1
            if r.status_code >= 500: fails.append((case.method, case.path, case.body, r.status_code, r.text[:300]))
            assert 'Traceback' not in r.text
            if r.status_code >= 400:
                err = r.json()['error']
                assert err['type'] and err['message']

        check()
    n = sum(seen.values())
    print(f"{n} generated requests; status codes: {dict(sorted(seen.items()))}")
    assert not fails, fails[:5]
    assert n >= (120 if keys else 500), seen
    assert sum(v for k, v in seen.items() if k < 300) > 20 and sum(v for k, v in seen.items() if 400 <= k < 500) > 20, seen
