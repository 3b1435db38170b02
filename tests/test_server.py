"""The HTTP server through FastAPI's test client: every endpoint, every 4xx path, API keys and tenant
isolation, CORS, load shedding, shutdown."""
import json, threading, time
import pytest
from fastapi.testclient import TestClient

from ruvllm.config import Config, ConfigError
from ruvllm.orchestrator import RuvLLM
from ruvllm.types import Response
from ruvllm.server import create_app, load_api_keys

FACTS = ["The Zorblat river flows through Quenby.", "Quenby is the capital of Marsovia.",
         "Marsovia exports violet glass and amber tea."]


def _cfg(path, **server):
    b = Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    b = b.set('learning.enabled', False)
    return b.update(server, section='server').build()


def _client(path):
    app = create_app(_cfg(path, max_body_bytes=4096, max_query_chars=200), autosave_s=0)
    c = TestClient(app).__enter__()
    assert c.post('/ingest', json={'items': FACTS}).status_code == 200
    return c


@pytest.fixture
def client(tmp_path):
    c = _client(tmp_path / 'd')
    yield c
    c.__exit__(None, None, None)


@pytest.fixture(scope='module')
def shared(tmp_path_factory):
    "One app for the tests that only read (the 4xx paths): opening a RuvLLM takes about a second."
    c = _client(tmp_path_factory.mktemp('shared') / 'd')
    yield c
    c.__exit__(None, None, None)


def _err(r, status, type_=None, contains=None):
    assert r.status_code == status, (r.status_code, r.text)
    e = r.json()['error']
    assert e['message'] and 'Traceback' not in r.text
    if type_: assert e['type'] == type_, e
    if contains: assert contains in e['message'], e['message']
    return e


# --- the seed endpoints ---------------------------------------------------------------------
def test_health_needs_nothing_and_reports_models_and_memory(shared):
    h = shared.get('/health').json()
    assert h['status'] == 'ok' and h['version'] and h['models']['tiers'] == ['tiny']
    assert h['memory']['nodes'] >= len(FACTS) and h['workers'] == {'workers': 2, 'queue_limit': 32, 'in_flight': 0}


def test_query_answers_from_memory_as_a_response(client):
    r = client.post('/query', json={'query': 'Which river flows through Quenby?'})
    assert r.status_code == 200
    resp = Response.from_dict(r.json())  # the body is exactly a Response
    assert 'Zorblat' in resp.text and resp.sources and resp.namespace == 'global'
    assert resp.routing_info.model.value == 'tiny'
    r2 = client.post('/query', json={'query': 'Which river flows through Quenby?', 'constraints': {'no_cache': True, 'max_tokens': 5}})
    assert r2.json()['completion_tokens'] <= 5


@pytest.mark.parametrize('body,status,type_,contains', [
    ({'query': ''}, 422, 'invalid_request', 'query'),
    ({'query': '   '}, 400, 'invalid_input', 'empty'),
    ({'query': 42}, 422, 'invalid_request', 'query'),
    ({}, 422, 'invalid_request', 'query: Field required'),
    ({'query': 'x', 'qeury': 'typo'}, 422, 'invalid_request', 'qeury'),
    ({'query': 'x' * 201}, 400, 'invalid_input', 'the limit is 200'),
    ({'query': 'x', 'constraints': {'temperature': 3}}, 422, 'invalid_request', 'temperature'),
    ({'query': 'x', 'constraints': {'max_tokens': 0}}, 422, 'invalid_request', 'max_tokens'),
    ({'query': 'x', 'constraints': {'force_model': 'huge'}}, 422, 'invalid_request', 'force_model'),
    ({'query': 'x', 'constraints': {'force_model': 'large'}}, 400, 'invalid_input', 'not a configured tier'),
    ({'query': 'x', 'namespace': 'a b'}, 422, 'invalid_request', 'namespace'),
    ({'query': 'x', 'session_id': 's_nope'}, 404, 'not_found', 'unknown session_id'),
    ([1, 2], 422, 'invalid_request', None),
])
def test_query_4xx(shared, body, status, type_, contains):
    _err(shared.post('/query', json=body), status, type_, contains)


def test_not_json_and_oversized_bodies(shared):
    _err(shared.post('/query', content=b'{"query": ', headers={'content-type': 'application/json'}), 422, 'invalid_request', 'not valid JSON')
    _err(shared.post('/query', json={'query': 'x' * 5000}), 413, 'request_too_large', '4096 bytes')
    # a chunked body (no Content-Length) is counted as it arrives
    def chunks():
        yield b'{"query": "'
        for _ in range(10): yield b'x' * 1000
        yield b'"}'
    _err(shared.post('/query', content=chunks(), headers={'content-type': 'application/json'}), 413, 'request_too_large')
    _err(shared.post('/query', content=b'{}', headers={'content-type': 'application/json', 'content-length': 'abc'}), 400)
    # the server still works afterwards
    assert shared.post('/query', json={'query': 'Where is Quenby?'}).status_code == 200


def test_feedback_paths(client):
    a = client.post('/query', json={'query': 'What does Marsovia export?'}).json()
    ok = client.post('/feedback', json={'request_id': a['request_id'], 'rating': 5})
    assert ok.status_code == 200 and ok.json()['request_id'] == a['request_id'] and isinstance(ok.json()['applied'], dict)
    assert client.get('/stats').json()['queries']['feedbacks'] == 1
    _err(client.post('/feedback', json={'request_id': a['request_id'], 'rating': 1}), 400, 'invalid_input', 'already given')
    again = client.post('/feedback', json={'request_id': a['request_id'], 'rating': 5})  # a client's retry of the same feedback
    assert again.status_code == 200 and again.json()['applied'] == {'repeated': True, 'edges': {}}, again.text
    assert client.get('/stats').json()['queries']['feedbacks'] == 1  # learned from once
    _err(client.post('/feedback', json={'request_id': 'nope', 'rating': 3}), 404, 'not_found', "unknown request_id 'nope'")
    _err(client.post('/feedback', json={'request_id': a['request_id']}), 422, 'invalid_request', 'at least one of')
    _err(client.post('/feedback', json={'request_id': a['request_id'], 'rating': 6}), 422, 'invalid_request', 'rating')
    _err(client.post('/feedback', json={'request_id': a['request_id'], 'rating': True, 'x': 1}), 422)
    _err(client.post('/feedback', json={'request_id': '', 'rating': 3}), 422, 'invalid_request', 'request_id')
    b = client.post('/query', json={'query': 'What is the capital of Marsovia?'}).json()
    _err(client.post('/feedback', json={'request_id': b['request_id'], 'correction': 'y' * 201}), 400, 'invalid_input', 'correction')
    # a correction is learned: the same question now gets the corrected answer
    c = client.post('/feedback', json={'request_id': 'chatcmpl-' + b['request_id'], 'correction': 'Quenby is the capital of Marsovia, since 1802.'})
    assert c.status_code == 200
    again = client.post('/query', json={'query': 'What is the capital of Marsovia?'}).json()
    assert '1802' in again['text'], again['text']
    assert client.get('/stats').json()['queries']['corrections'] == 1


def test_session_paths(client):
    s = client.post('/session').json()
    assert s['session_id'].startswith('s_') and s['namespace'] == 'global'
    r1 = client.post('/query', json={'query': 'Which river flows through Quenby?', 'session_id': s['session_id']}).json()
    r2 = client.post('/query', json={'query': 'What else is there?', 'session_id': s['session_id']}).json()
    assert r1['session_id'] == r2['session_id'] == s['session_id']
    llm = client.app.state.ruvllm.llm
    assert [t.query for t in llm.sessions[s['session_id']].turns] == ['Which river flows through Quenby?', 'What else is there?']
    other = client.post('/session', json={'namespace': 'other'}).json()
    assert other['namespace'] == 'other'
    _err(client.post('/query', json={'query': 'x', 'session_id': other['session_id'], 'namespace': 'global'}), 400, 'invalid_input', 'belongs to namespace')
    _err(client.post('/session', json={'namespace': ''}), 422)
    _err(client.post('/session', json={'nmespace': 'x'}), 422)


def test_ingest_paths(client):
    r = client.post('/ingest', json={'items': ["Fact one about Blorvia.", {'text': "Blorvia's flag is teal.", 'type': 'Fact', 'source': 'atlas',
                                                                           'metadata': {'page': 3}}], 'namespace': 'geo'})
    assert r.status_code == 200 and len(r.json()['ids']) == 2 and r.json()['namespace'] == 'geo'
    mem = client.app.state.ruvllm.llm.memory
    got = mem.get_many(r.json()['ids'])
    assert {n.namespace for n in got.values()} == {'geo'} and {n.type.value for n in got.values()} == {'Document', 'Fact'}
    _err(client.post('/ingest', json={'items': []}), 422, 'invalid_request', 'items')
    _err(client.post('/ingest', json={'items': ['  ']}), 400, 'invalid_input', 'items[0]')
    # a record cannot carry its own namespace (that would step around the key's namespace)
    _err(client.post('/ingest', json={'items': [{'text': 'x', 'namespace': 'other'}]}), 422, 'invalid_request', 'namespace')
    _err(client.post('/ingest', json={'items': [{'text': 'x', 'type': 'QAPair'}]}), 422)
    _err(client.post('/ingest', json={'items': 'just a string'}), 422)


def test_stats(client):
    client.post('/query', json={'query': 'Where is Quenby?'})
    st = client.get('/stats').json()
    assert st['queries']['queries'] == 1 and st['memory']['live'] >= len(FACTS)
    assert st['server']['pool']['workers'] == 2 and st['server']['pool']['completed'] >= 2
    assert st['server']['requests']['global'] == {'ingest': 1, 'query': 1}


def test_unknown_route_and_method(shared):
    _err(shared.get('/nope'), 404, 'not_found', '/nope')
    _err(shared.get('/query'), 405, 'method_not_allowed')
    assert shared.get('/openapi.json').json()['paths']['/query']['post']


# --- OpenAI-compatible ----------------------------------------------------------------------
def _chat(client, **kw):
    body = dict(model='ruvllm', messages=[{'role': 'user', 'content': 'Which river flows through Quenby?'}]); body.update(kw)
    return client.post('/v1/chat/completions', json=body)


def test_chat_completion_non_stream(client):
    r = _chat(client, no_cache=True)
    assert r.status_code == 200
    d = r.json()
    assert d['object'] == 'chat.completion' and d['id'] == 'chatcmpl-' + d['request_id'] and d['model'] == 'tiny'
    assert d['choices'][0]['message'] == {'role': 'assistant', 'content': d['choices'][0]['message']['content']}
    assert 'Zorblat' in d['choices'][0]['message']['content'] and d['choices'][0]['finish_reason'] == 'stop'
    assert d['usage']['total_tokens'] == d['usage']['prompt_tokens'] + d['usage']['completion_tokens'] > 0
    # earlier messages are the session history: they enter the prompt
    hist = [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Tell me about the geography of Marsovia please.'},
            {'role': 'assistant', 'content': 'Marsovia is a land of rivers and glass.'},
            {'role': 'user', 'content': 'Which river flows through Quenby?'}]
    h = _chat(client, messages=hist, no_cache=True).json()
    assert h['usage']['prompt_tokens'] > d['usage']['prompt_tokens'] + 10, (h['usage'], d['usage'])
    assert not client.app.state.ruvllm.llm.sessions  # the history's session was only for that request
    # content as a list of text parts; the tier named as the model
    p = _chat(client, model='tiny', messages=[{'role': 'user', 'content': [{'type': 'text', 'text': 'Which river flows through Quenby?'}]}]).json()
    assert p['ruvllm']['routing_info']['forced'] is True and 'Zorblat' in p['choices'][0]['message']['content']
    # feedback follows the completion id
    assert client.post('/feedback', json={'request_id': d['id'], 'rating': 4}).status_code == 200


def test_chat_completion_stream(client):
    full = _chat(client, no_cache=True).json()['choices'][0]['message']['content']
    with client.stream('POST', '/v1/chat/completions', json=dict(model='ruvllm', stream=True, stream_options={'include_usage': True}, no_cache=True,
                                                                  messages=[{'role': 'user', 'content': 'Which river flows through Quenby?'}])) as r:
        assert r.status_code == 200 and r.headers['content-type'].startswith('text/event-stream')
        lines = [l for l in r.iter_lines() if l]
    assert all(l.startswith('data: ') for l in lines) and lines[-1] == 'data: [DONE]'
    chunks = [json.loads(l[6:]) for l in lines[:-1]]
    assert chunks[0]['choices'][0]['delta']['role'] == 'assistant' and chunks[0]['request_id']
    assert len({c['id'] for c in chunks}) == 1 and all(c['object'] == 'chat.completion.chunk' for c in chunks)
    text = ''.join(c['choices'][0]['delta'].get('content', '') for c in chunks if c['choices'])
    assert text == full and len(chunks) > 4
    assert chunks[-2]['choices'][0]['finish_reason'] == 'stop'
    assert chunks[-1]['choices'] == [] and chunks[-1]['usage']['completion_tokens'] > 0
    # errors before the stream starts are plain JSON errors
    e = _err(_chat(client, stream=True, model='nope'), 404, 'invalid_request_error')  # OpenAI's error shape on /v1
    assert e['code'] == 'model_not_found' and e['param'] == 'model', e


@pytest.mark.parametrize('kw,status,contains', [
    (dict(model='gpt-4o'), 404, 'available: ruvllm, tiny'),
    (dict(messages=[]), 400, 'messages'),
    (dict(messages=[{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'hello'}]), 400, "last message must have role 'user'"),
    (dict(messages=[{'role': 'wizard', 'content': 'hi'}]), 400, 'role'),
    (dict(messages=[{'role': 'user', 'content': [{'type': 'image_url', 'image_url': {'url': 'x'}}]}]), 400, 'image_url'),
    (dict(messages=[{'role': 'user', 'content': '   '}]), 400, 'empty'),
    (dict(messages=[{'role': 'user', 'content': 'x' * 300}]), 400, 'the limit is 200'),
    (dict(n=2), 400, 'n:'),
    (dict(temperature=5), 400, 'temperature'),
    (dict(max_tokens=0), 400, 'max_tokens'),
    (dict(model=''), 400, 'model'),
    (dict(namespace='not ok!'), 400, 'namespace'),
    (dict(session_id='s_missing'), 404, 'unknown session_id'),
])
def test_chat_4xx(shared, kw, status, contains):
    _err(_chat(shared, **kw), status, contains=contains)


def test_models(shared):
    d = shared.get('/v1/models').json()
    assert d['object'] == 'list' and [m['id'] for m in d['data']] == ['ruvllm', 'tiny']
    assert all(m['object'] == 'model' for m in d['data'])


# --- shutdown, errors, limits ------------------------------------------------------------------
def test_shutdown_saves_state_and_closes(tmp_path):
    app = create_app(_cfg(tmp_path / 'd'), autosave_s=0)
    with TestClient(app) as c:
        sid = c.post('/session').json()['session_id']
        c.post('/query', json={'query': 'hello there', 'session_id': sid})
    llm = app.state.ruvllm.llm
    assert llm.closed
    with RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False) as again:
        assert sid in again.sessions and len(again.sessions[sid].turns) == 1
        assert again.counters['queries'] == 1


def test_given_llm_is_saved_but_not_closed(tmp_path):
    llm = RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False)
    with TestClient(create_app(llm=llm, autosave_s=0)) as c:
        assert c.post('/query', json={'query': 'hello'}).status_code == 200
    assert not llm.closed and llm.counters['queries'] == 1
    llm.close()


def test_autosave_runs(tmp_path):
    app = create_app(_cfg(tmp_path / 'd'), autosave_s=0.2)
    with TestClient(app) as c:
        sid = c.post('/session').json()['session_id']
        store = app.state.ruvllm.llm.store
        deadline = time.time() + 10
        while time.time() < deadline and sid not in (store.get('orchestrator') or b'').decode(): time.sleep(0.05)
        assert sid in store.get('orchestrator').decode()


class _FailingStatsDouble:
    "Test double: a stats() that fails with an unexpected exception."
    def __call__(self): raise RuntimeError("boom at /secret/path/to/file.py line 12")


def test_unexpected_error_is_a_500_without_details(tmp_path):
    app = create_app(_cfg(tmp_path / 'd'), autosave_s=0)
    with TestClient(app, raise_server_exceptions=False) as c:
        app.state.ruvllm.llm.stats = _FailingStatsDouble()
        r = c.get('/stats')
        e = _err(r, 500, 'internal_error', 'internal error err_')
        assert 'boom' not in r.text and 'secret' not in r.text
        del app.state.ruvllm.llm.stats
        assert c.get('/stats').status_code == 200


class _GatedQueryDouble:
    "Test double: RuvLLM.query_stream (what /query runs) that blocks until the gate opens (to fill the worker pool)."
    def __init__(self, query): self.query, self.gate, self.entered = query, threading.Event(), threading.Semaphore(0)
    def __call__(self, *a, **kw):
        self.entered.release(); self.gate.wait(30)
        return self.query(*a, **kw)


def test_overload_is_503_with_retry_after_at_once(tmp_path):
    app = create_app(_cfg(tmp_path / 'd', workers=1, queue_limit=1), autosave_s=0)
    with TestClient(app) as c:
        llm = app.state.ruvllm.llm
        double = llm.query_stream = _GatedQueryDouble(llm.query_stream)
        results = []
        threads = [threading.Thread(target=lambda: results.append(c.post('/query', json={'query': 'Where is Quenby?'}).status_code)) for _ in range(2)]
        for t in threads: t.start()
        assert double.entered.acquire(timeout=10)  # one in the worker ...
        deadline = time.time() + 10
        while app.state.ruvllm.pool.in_flight < 2 and time.time() < deadline: time.sleep(0.01)  # ... and one waiting
        t0 = time.perf_counter()
        r = c.post('/query', json={'query': 'one too many'})
        took = time.perf_counter() - t0
        _err(r, 503, 'overloaded', 'the limit is 2')
        assert r.headers['retry-after'] == '1' and took < 2, took
        c2 = c.post('/v1/chat/completions', json={'model': 'ruvllm', 'messages': [{'role': 'user', 'content': 'hi'}]})
        assert c2.status_code == 503
        assert c.get('/health').status_code == 200  # health does not queue
        double.gate.set()
        for t in threads: t.join(30)
        assert results == [200, 200]
        del llm.query_stream
        assert c.post('/query', json={'query': 'Where is Quenby?'}).status_code == 200
        assert app.state.ruvllm.pool.stats()['rejected'] == 2


def test_cors_off_unless_configured(tmp_path):
    pre = {'Origin': 'https://ui.example', 'Access-Control-Request-Method': 'POST'}
    with TestClient(create_app(_cfg(tmp_path / 'a'), autosave_s=0)) as c:
        assert 'access-control-allow-origin' not in c.options('/query', headers=pre).headers
        assert 'access-control-allow-origin' not in c.get('/health', headers={'Origin': 'https://ui.example'}).headers
    with TestClient(create_app(_cfg(tmp_path / 'b', cors_origins=['https://ui.example']), autosave_s=0)) as c:
        r = c.options('/query', headers=pre)
        assert r.status_code == 200 and r.headers['access-control-allow-origin'] == 'https://ui.example'
        assert c.get('/health', headers={'Origin': 'https://ui.example'}).headers['access-control-allow-origin'] == 'https://ui.example'
        assert 'access-control-allow-origin' not in c.options('/query', headers={**pre, 'Origin': 'https://evil.example'}).headers


# --- API keys and tenants -------------------------------------------------------------------------
KEYS = {'key-alice-0001': 'alice', 'key-bob-00002': 'bob'}
A, B = {'Authorization': 'Bearer key-alice-0001'}, {'Authorization': 'Bearer key-bob-00002'}


@pytest.fixture
def tenants(tmp_path):
    (tmp_path / 'keys.json').write_text(json.dumps(KEYS))
    app = create_app(_cfg(tmp_path / 'd', api_keys_file=str(tmp_path / 'keys.json')), autosave_s=0)
    with TestClient(app) as c: yield c


def test_keys_file_formats_and_errors(tmp_path):
    (tmp_path / 'k.txt').write_text("# comment\nkey-alice-0001 alice\nkey-bob-00002 bob # trailing\n")
    (tmp_path / 'k.toml').write_text('[keys]\n"key-alice-0001" = "alice"\n"key-bob-00002" = "bob"\n')
    (tmp_path / 'k.json').write_text(json.dumps(KEYS))
    assert load_api_keys(tmp_path / 'k.txt') == load_api_keys(tmp_path / 'k.toml') == load_api_keys(tmp_path / 'k.json')
    for name, text, msg in [('dup.txt', 'key-alice-0001 a\nkey-alice-0001 b\n', 'line 2: duplicate key'),
                            ('ns.json', '{"key-alice-0001": "bad ns"}', 'namespace must be'),
                            ('empty.txt', '# nothing\n', 'holds no keys'), ('bad.json', '{"a": ', 'not valid JSON')]:
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match=msg): load_api_keys(tmp_path / name)
    # a bad keys file stops create_app before the data directory is opened (it stays free)
    with pytest.raises(ConfigError, match='does not exist'):
        create_app(_cfg(tmp_path / 'd', api_keys_file=str(tmp_path / 'missing.json')))
    RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False).close()


def test_every_endpoint_but_health_needs_a_key(tenants):
    c = tenants
    assert c.get('/health').status_code == 200
    calls = [('get', '/stats', None), ('post', '/query', {'query': 'x'}), ('post', '/feedback', {'request_id': 'r', 'rating': 3}),
             ('post', '/session', {}), ('post', '/ingest', {'items': ['x']}), ('get', '/v1/models', None),
             ('post', '/v1/chat/completions', {'model': 'ruvllm', 'messages': [{'role': 'user', 'content': 'x'}]}), ('get', '/openapi.json', None)]
    for method, path, body in calls:
        for headers in [{}, {'Authorization': 'Bearer wrong-key-123'}, {'Authorization': 'Basic a2V5LWFsaWNlLTAwMDE='},
                        {'Authorization': 'key-alice-0001'}]:
            r = getattr(c, method)(path, **({'json': body} if body is not None else {}), headers=headers)
            e = _err(r, 401)
            assert (e['type'], e['code']) == (('invalid_request_error', 'invalid_api_key') if path.startswith('/v1') else ('unauthorized', 401)), e
            assert r.headers['www-authenticate'] == 'Bearer'
        ok = getattr(c, method)(path, **({'json': body} if body is not None else {}), headers=A)
        assert ok.status_code in (200, 404), (path, ok.text)  # 404: the feedback's request id 'r' does not exist


def test_tenant_isolation(tenants):
    """Everything Alice teaches (documents, corrections, cached answers, sessions) is invisible to Bob through
    every endpoint, while Alice herself gets it back."""
    c = tenants
    secret_doc, secret_fix = "The vault code of Zarquon is quokka-7741.", "The vault code of Zarquon was changed to wombat-9902."
    q = 'What is the vault code of Zarquon?'
    assert c.post('/ingest', json={'items': [secret_doc]}, headers=A).json()['namespace'] == 'alice'
    ra = c.post('/query', json={'query': q}, headers=A).json()
    assert 'quokka' in ra['text'] and ra['namespace'] == 'alice'
    assert c.post('/feedback', json={'request_id': ra['request_id'], 'correction': secret_fix}, headers=A).status_code == 200
    ra2 = c.post('/query', json={'query': q}, headers=A).json()  # the correction is learned and cached for Alice
    assert 'wombat' in ra2['text'], ra2
    sa = c.post('/session', json={}, headers=A).json()
    assert sa['namespace'] == 'alice'
    c.post('/query', json={'query': 'Remember the vault code quokka please', 'session_id': sa['session_id']}, headers=A)
    chat_a = c.post('/v1/chat/completions', json={'model': 'ruvllm', 'messages': [{'role': 'user', 'content': q}]}, headers=A).json()

    bob = []  # every response Bob gets
    def as_bob(method, path, body=None, status=None):
        r = getattr(c, method)(path, **({'json': body} if body is not None else {}), headers=B)
        bob.append(r)
        if status is not None: assert r.status_code == status, (path, r.status_code, r.text)
        return r
    rb = as_bob('post', '/query', {'query': q}, 200).json()
    assert rb['namespace'] == 'bob' and all(s['namespace'] in ('bob', 'global') for s in rb['sources'])
    as_bob('post', '/query', {'query': q, 'constraints': {'no_cache': True}}, 200)
    as_bob('post', '/query', {'query': q, 'namespace': 'alice'}, 403)
    as_bob('post', '/query', {'query': q, 'session_id': sa['session_id']}, 404)
    as_bob('post', '/v1/chat/completions', {'model': 'ruvllm', 'messages': [{'role': 'user', 'content': q}]}, 200)
    as_bob('post', '/v1/chat/completions', {'model': 'tiny', 'stream': True, 'messages': [{'role': 'user', 'content': q}]}, 200)
    as_bob('post', '/v1/chat/completions', {'model': 'ruvllm', 'namespace': 'alice', 'messages': [{'role': 'user', 'content': q}]}, 403)
    as_bob('post', '/v1/chat/completions', {'model': 'ruvllm', 'session_id': sa['session_id'], 'messages': [{'role': 'user', 'content': q}]}, 404)
    # Bob cannot see, rate or correct Alice's answers: her ids are unknown to him, exactly like made-up ids
    made_up = as_bob('post', '/feedback', {'request_id': 'made-up', 'correction': 'Bob says 0000'}, 404).json()['error']['message']
    for rid in (ra['request_id'], chat_a['id'], ra2['request_id']):
        r = as_bob('post', '/feedback', {'request_id': rid, 'correction': 'Bob says 0000'}, 404)
        msg = r.json()['error']['message']
        assert msg.startswith('unknown request_id') and msg.split(':', 1)[1] == made_up.split(':', 1)[1], (msg, made_up)
    as_bob('post', '/session', {'namespace': 'alice'}, 403)
    as_bob('post', '/ingest', {'items': ['Bob was here'], 'namespace': 'alice'}, 403)
    st = as_bob('get', '/stats', None, 200).json()
    assert st['namespace'] == 'bob' and st['memory']['live'] == 0
    as_bob('get', '/v1/models', None, 200)
    for r in bob:
        # (the secrets are words that cannot occur in the random hex ids Bob sees)
        assert 'quokka' not in r.text and 'wombat' not in r.text and 'alice' not in r.text.lower().replace("'alice'", ''), (r.request.url, r.text[:300])
    # Alice's record was not touched by Bob's attempts: she can still rate her latest answer, and it is still hers
    assert c.post('/feedback', json={'request_id': ra2['request_id'], 'rating': 5}, headers=A).status_code == 200
    sta = c.get('/stats', headers=A).json()
    assert sta['namespace'] == 'alice' and sta['memory']['live'] >= 2 and sta['requests']['feedback'] == 2
    # and what Bob teaches stays with Bob
    c.post('/ingest', json={'items': ['The vault code of Zarquon is numbat-5555 says Bob.']}, headers=B)
    assert 'numbat' not in c.post('/query', json={'query': q, 'constraints': {'no_cache': True}}, headers=A).json()['text']


# --- streaming ------------------------------------------------------------------------------------
def _sse(lines) -> list[tuple[str | None, dict | str]]:
    evs, kind = [], None
    for l in lines:
        if l.startswith('event: '): kind = l[7:]
        elif l.startswith('data: '): evs.append((kind, l[6:] if l == 'data: [DONE]' else json.loads(l[6:]))); kind = None
    return evs


def test_query_stream_endpoint_sends_pieces_then_the_response(client):
    with client.stream('POST', '/query/stream', json={'query': 'Which river flows through Quenby?', 'constraints': {'no_cache': True}}) as r:
        assert r.status_code == 200 and r.headers['content-type'].startswith('text/event-stream')
        evs = _sse(r.iter_lines())
    kinds = [k for k, _ in evs]
    assert kinds[0] == 'start' and kinds[-1] == 'response' and kinds.count('piece') > 1, kinds
    final = evs[-1][1]
    assert ''.join(d['text'] for k, d in evs if k == 'piece') == final['text'] and 'Zorblat' in final['text']
    assert evs[0][1]['request_id'] == final['request_id'] and final['sources']
    # learned on completion: feedback on the streamed answer is accepted, and it counts as a query
    assert client.post('/feedback', json={'request_id': final['request_id'], 'rating': 5}).status_code == 200
    assert client.get('/stats').json()['queries']['queries'] == 1
    # errors before the first piece are plain JSON errors
    _err(client.post('/query/stream', json={'query': 'hi', 'session_id': 's_nope'}), 404, 'not_found')
    _err(client.post('/query/stream', json={'query': 'x' * 300}), 400, 'invalid_input')


def test_chat_stream_with_session_adds_the_turn(client):
    sid = client.post('/session', json={}).json()['session_id']
    with client.stream('POST', '/v1/chat/completions', json=dict(model='tiny', stream=True, session_id=sid, no_cache=True,
                                                                  messages=[{'role': 'user', 'content': 'Which river flows through Quenby?'}])) as r:
        chunks = [d for _, d in _sse(r.iter_lines()) if d != '[DONE]']
    text = ''.join(c['choices'][0]['delta'].get('content', '') for c in chunks if c['choices'])
    assert 'Zorblat' in text and chunks[0]['session_id'] == sid and chunks[-1]['ruvllm']['sources']
    assert client.app.state.ruvllm.llm.sessions[sid].turns[-1].answer == text


@pytest.mark.parametrize('path', ['/v1/chat/completions', '/query/stream'])
def test_client_disconnect_mid_stream_cancels_generation_and_writes_nothing(tmp_path, path):
    "Real model (SmolLM2, one thread): the client reads one piece and goes away; the worker stops at its next piece."
    cfg = Config.builder().db_path(tmp_path / 'd').set('system.num_threads', 1).set('learning.enabled', True).build()
    q = 'Write a long story about a dragon and a knight.'
    body = (dict(model='small', stream=True, max_tokens=256, temperature=0, no_cache=True, messages=[{'role': 'user', 'content': q}])
            if path.startswith('/v1') else dict(query=q, constraints={'force_model': 'small', 'max_tokens': 256, 'temperature': 0, 'no_cache': True}))
    with TestClient(create_app(cfg, autosave_s=0)) as c:
        c.post('/ingest', json={'items': FACTS})
        llm = c.app.state.ruvllm.llm
        n0 = len(llm.memory)
        with c.stream('POST', path, json=body) as r:
            lines = r.iter_lines()
            first = next(l for l in lines if l.startswith('data: '))
            rid = json.loads(first[6:])['request_id']
            next(l for l in lines if l.startswith('data: '))  # one piece of the answer
        t0 = time.perf_counter()
        while c.get('/health').json()['workers']['in_flight'] and time.perf_counter() - t0 < 10: time.sleep(0.02)
        stopped_in = time.perf_counter() - t0
        assert stopped_in < 2, stopped_in  # 256 tokens take far longer than this on one thread
        with pytest.raises(Exception, match='unknown request_id'): llm.record(rid)
        assert len(llm.memory) == n0 and llm.stats()['queries']['queries'] == 0
        r = c.post('/query', json={'query': 'Where does the Zorblat river flow?', 'constraints': {'force_model': 'small', 'max_tokens': 24, 'no_cache': True}})
        assert r.status_code == 200 and r.json()['text']  # the model is free again


def test_with_keys_no_tenant_sees_what_the_others_hold_or_ask(tenants):
    """Without a key, /health reported the node count of the whole memory, and a tenant's /stats the server's completed
    and failed requests, the other tenants' included (a probe of the server). With keys, neither says so now."""
    assert tenants.post('/ingest', json={'items': ["Alice's secret plan is ready."]}, headers=A).status_code == 200
    assert tenants.post('/query', json={'query': 'What is ready?'}, headers=A).status_code == 200
    h = tenants.get('/health').json()
    assert h['status'] == 'ok' and 'memory' not in h and 'in_flight' not in h['workers']
    pool = tenants.get('/stats', headers=B).json()['server']['pool']
    assert set(pool) == {'workers', 'queue_limit'}
