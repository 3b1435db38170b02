"""The server's input and failure paths found by probing it: a malformed model-server reply, a 500 on a keep-alive
connection, /session behind a held lock, booleans where integers belong, answers cut at max_tokens, and the model
that a streamed chat completion names."""
import http.client, json, threading, time
from http.server import BaseHTTPRequestHandler

import pytest
import uvicorn
from fastapi.testclient import TestClient

from ruvllm.config import Config
from ruvllm.server import create_app, free_port
from server_doubles import upstream_double

FACTS = ["The Zorblat river flows through Quenby.", "Quenby is the capital of Marsovia.",
         "Marsovia exports violet glass and amber tea."]
QUESTION = 'Which river flows through Quenby?'
FULL = "The Zorblat river flows through Quenby."


def _cfg(path, tiers=None, learning=False, **server):
    b = Config.builder().db_path(path).set('inference.tiers', tiers or {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    b = b.set('learning.enabled', learning).set('inference.retries', 0).set('inference.timeout_s', 5.0)
    return b.update(server, section='server').build()


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(_cfg(tmp_path / 'd'), autosave_s=0)) as c:
        assert c.post('/ingest', json={'items': FACTS}).status_code == 200
        yield c


def _chat(c, question=QUESTION, **kw):
    return c.post('/v1/chat/completions', json=dict(model='ruvllm', messages=[{'role': 'user', 'content': question}], no_cache=True) | kw)


def _chunks(c, question=QUESTION, **kw) -> list[dict]:
    body = dict(model='ruvllm', messages=[{'role': 'user', 'content': question}], stream=True) | kw
    with c.stream('POST', '/v1/chat/completions', json=body) as resp:
        assert resp.status_code == 200, resp.read()
        lines = [l[6:] for l in resp.iter_lines() if l.startswith('data: ')]
    assert lines[-1] == '[DONE]'
    return [json.loads(l) for l in lines[:-1]]


# --- 1. a malformed model-server reply is a 502 that says what was wrong ----------------------------------------
class _Malformed(BaseHTTPRequestHandler):
    "An OpenAI-compatible server that answers every chat request with a body of the wrong shape."
    def log_message(self, *a): pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get('content-length', 0))))
        sse = body['model'] == 'badsse'
        self.send_response(200)
        self.send_header('content-type', 'text/event-stream' if sse else 'application/json'); self.end_headers()
        self.wfile.write(b'data: {"choices": "nope"}\n\ndata: [DONE]\n\n' if sse else b'{"choices": "nope"}')


@pytest.fixture(scope='module')
def malformed_server():
    with upstream_double(_Malformed) as url: yield url


@pytest.mark.parametrize('model', ['garbage', 'badsse'])
def test_a_malformed_model_reply_is_a_502_naming_the_bad_part(tmp_path, malformed_server, model):
    tiers = {'tiny': 'extractive', 'small': f'openai:{malformed_server}#{model}'}
    with TestClient(create_app(_cfg(tmp_path / 'd', tiers), autosave_s=0)) as c:
        q = {'query': QUESTION, 'constraints': {'force_model': 'small', 'no_cache': True}}
        answers = [c.post('/query', json=q), c.post('/query/stream', json=q), _chat(c, model='small'), _chat(c, model='small', stream=True)]
        for r in answers:
            assert r.status_code == 502, (r.status_code, r.text)
            e = r.json()['error']
            kind = e['code'] if 'param' in e else e['type']  # OpenAI's error shape on /v1: the symbolic name is its code
            assert kind == 'inference_error' and "'choices' is a str" in e['message'] and 'not an OpenAI chat completion' in e['message'], e
        assert c.post('/query', json={'query': QUESTION, 'constraints': {'force_model': 'tiny'}}).status_code == 200  # the rest still works


# --- 2. a 500 leaves the keep-alive connection usable --------------------------------------------------------------
class _FailingStatsDouble:
    "Test double: a stats() that fails with an unexpected exception."
    def __call__(self): raise RuntimeError("boom at /secret/path/to/file.py line 12")


def test_a_500_is_answered_not_raised_into_the_server(tmp_path):
    app = create_app(_cfg(tmp_path / 'd'), autosave_s=0)
    with TestClient(app) as c:  # this client re-raises what reaches the server; a 500 must not
        app.state.ruvllm.llm.stats = _FailingStatsDouble()
        r = c.get('/stats')
        assert r.status_code == 500 and r.json()['error']['type'] == 'internal_error' and 'boom' not in r.text


def test_the_connection_stays_usable_after_a_500(tmp_path):
    app = create_app(_cfg(tmp_path / 'd'), autosave_s=0)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=port, log_level='critical', lifespan='on'))
    th = threading.Thread(target=server.run, daemon=True); th.start()
    try:
        deadline = time.time() + 30
        while not server.started and time.time() < deadline: time.sleep(0.05)
        assert server.started
        app.state.ruvllm.llm.stats = _FailingStatsDouble()
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        conn.request('GET', '/stats'); r = conn.getresponse(); body = json.loads(r.read())
        assert r.status == 500 and body['error']['type'] == 'internal_error'
        conn.request('GET', '/health'); r2 = conn.getresponse()  # the same connection: it was not reset
        assert r2.status == 200 and json.loads(r2.read())['status'] == 'ok'
        conn.close()
    finally:
        server.should_exit = True; th.join(30)


# --- 3. /session does not block the event loop ------------------------------------------------------------------
class _GatedNewSessionDouble:
    "Test double: RuvLLM.new_session that blocks until the gate opens (as when a feedback worker holds the lock)."
    def __init__(self, new_session): self.new_session, self.gate, self.entered = new_session, threading.Event(), threading.Event()
    def __call__(self, *a, **kw):
        self.entered.set(); self.gate.wait(30)
        return self.new_session(*a, **kw)


def test_a_waiting_new_session_stalls_neither_health_nor_other_requests(client):
    llm = client.app.state.ruvllm.llm
    double = llm.new_session = _GatedNewSessionDouble(llm.new_session)
    got = {}
    s = threading.Thread(target=lambda: got.update(session=client.post('/session', json={})))
    h = threading.Thread(target=lambda: got.update(health=client.get('/health')))
    try:
        s.start()
        assert double.entered.wait(10)
        t0 = time.perf_counter(); h.start(); h.join(5)
        assert not h.is_alive() and got['health'].status_code == 200, "/health waited for /session"
        assert time.perf_counter() - t0 < 5
    finally:
        double.gate.set(); s.join(30); h.join(30)
        del llm.new_session
    assert got['session'].status_code == 200 and got['session'].json()['session_id'].startswith('s_')


# --- 4. booleans are not integers -------------------------------------------------------------------------------
def test_a_boolean_rating_is_refused_and_the_feedback_stays_available(client):
    a = client.post('/query', json={'query': QUESTION}).json()
    r = client.post('/feedback', json={'request_id': a['request_id'], 'rating': True})
    assert r.status_code == 422 and 'rating' in r.json()['error']['message'], r.text
    assert client.post('/feedback', json={'request_id': a['request_id'], 'rating': 5}).status_code == 200  # not used up


@pytest.mark.parametrize('path,body', [
    ('/v1/chat/completions', {'max_tokens': True}), ('/v1/chat/completions', {'max_completion_tokens': True}),
    ('/v1/chat/completions', {'n': True}), ('/v1/chat/completions', {'temperature': True}),
    ('/query', {'constraints': {'max_tokens': True}}), ('/query', {'constraints': {'force_context': True}}),
    ('/query', {'constraints': {'temperature': False}}), ('/query', {'constraints': {'max_latency_ms': True}})])
def test_booleans_in_number_fields_are_422(client, path, body):
    base = {'model': 'ruvllm', 'messages': [{'role': 'user', 'content': QUESTION}]} if path.startswith('/v1') else {'query': QUESTION}
    r = client.post(path, json=base | body)
    field = next(iter(body.get('constraints', body)))
    status = 400 if path.startswith('/v1') else 422  # OpenAI's status for a body that does not match the schema
    assert r.status_code == status and field in r.json()['error']['message'], r.text


# --- 5. an answer cut at max_tokens says so -----------------------------------------------------------------------
def test_max_tokens_1_is_an_empty_answer_cut_not_complete(client):
    q = 'What does Marsovia export?'  # the answer's first word, 'Marsovia', is 2 tokens: none fits in 1
    d = _chat(client, q, max_tokens=1).json()
    assert d['choices'][0]['message']['content'] == '' and d['choices'][0]['finish_reason'] == 'length', d['choices']
    assert d['usage']['completion_tokens'] == 0  # no text, no token (it said 1: a server probe)
    assert _chunks(client, q, max_tokens=1, no_cache=True)[-1]['choices'][0]['finish_reason'] == 'length'


def test_a_cut_answer_is_length_and_a_whole_one_stop(client):
    cut = _chat(client, max_tokens=6).json()
    text = cut['choices'][0]['message']['content']
    assert text and FULL.startswith(text) and text != FULL, text
    assert cut['choices'][0]['finish_reason'] == 'length' and cut['usage']['completion_tokens'] == 6
    chunks = _chunks(client, max_tokens=6, no_cache=True)
    assert ''.join(c['choices'][0]['delta'].get('content', '') for c in chunks) == text
    assert chunks[-1]['choices'][0]['finish_reason'] == 'length'
    whole = _chat(client).json()
    assert whole['choices'][0]['message']['content'] == FULL and whole['choices'][0]['finish_reason'] == 'stop'
    q = client.post('/query', json={'query': QUESTION, 'constraints': {'max_tokens': 6, 'no_cache': True}}).json()
    assert q['text'] == text and q['completion_tokens'] == 6  # /query: the count shows the whole budget was used


# --- 6. streamed chunks name the model as the whole answer does; top_p's schema says what is accepted -------------
def test_streamed_chunks_name_the_tier_like_the_whole_answer(tmp_path):
    with TestClient(create_app(_cfg(tmp_path / 'd', learning=True), autosave_s=0)) as c:  # learning: answers are cached
        c.post('/ingest', json={'items': FACTS})
        whole = _chat(c).json()
        assert whole['model'] == 'tiny'
        assert {ch['model'] for ch in _chunks(c, no_cache=True)} == {'tiny'}
        c.post('/query', json={'query': QUESTION}); c.app.state.ruvllm.llm.flush()
        cached = _chunks(c)  # no tier generates a cached answer: its chunks name the tier its Response names
        assert cached[-1]['ruvllm']['cached'], cached[-1]
        assert {ch['model'] for ch in cached} == {cached[-1]['ruvllm']['routing_info']['model']} == {'tiny'}


def test_top_p_0_is_refused_by_the_schema_that_says_so(client):
    for r, status in [(_chat(client, top_p=0), 400), (client.post('/query', json={'query': QUESTION, 'constraints': {'top_p': 0}}), 422)]:
        assert r.status_code == status and 'top_p' in r.json()['error']['message'] and 'greater than 0' in r.json()['error']['message'], r.text
    assert _chat(client, top_p=0.5).status_code == 200
    schema = client.app.openapi()['components']['schemas']
    assert schema['ChatCompletionBody']['properties']['top_p']['anyOf'][0]['exclusiveMinimum'] == 0


def test_a_nul_in_an_earlier_message_is_refused_like_one_in_the_question(client):
    """Only the last message went through the checks: a NUL in a system, assistant or earlier user message was taken
    (200) although the README says a NUL is refused wherever text enters (a probe of the server). System messages are
    read since 7 December (the model reads them as the client's instructions): checked too, and an image part in one is
    refused as in any message that is read."""
    for role in ('user', 'assistant', 'system', 'developer'):
        msgs = [{'role': role, 'content': 'earlier\x00text'}, {'role': 'user', 'content': QUESTION}]
        r = client.post('/v1/chat/completions', json=dict(model='ruvllm', messages=msgs))
        assert r.status_code == 400 and 'NUL' in r.json()['error']['message'], (role, r.status_code, r.text[:200])
    ok = client.post('/v1/chat/completions', json=dict(model='ruvllm', messages=[{'role': 'user', 'content': 'earlier text'},
                                                                                 {'role': 'user', 'content': QUESTION}]))
    assert ok.status_code == 200
    img = {'role': 'system', 'content': [{'type': 'image_url', 'image_url': {'url': 'http://x/y.png'}}]}
    r = client.post('/v1/chat/completions', json=dict(model='ruvllm', messages=[img, {'role': 'user', 'content': QUESTION}]))
    assert r.status_code == 400 and "image_url" in r.json()['error']['message'], r.text[:200]
