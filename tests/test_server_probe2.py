"""What a black-box probe of the HTTP server found (F3, F4, F6, F7, F8 of the lead's probe notes): a cached answer and
`max_tokens`, a client that leaves a stream early, error messages that name the problem, a `refusal` part in a replayed
history, and request counters that count answered requests only."""
import gzip, http.client, json, socket, threading, time
from http.server import BaseHTTPRequestHandler

import pytest
import uvicorn
from fastapi.testclient import TestClient

from ruvllm.config import Config
from ruvllm.inference import estimate_tokens
from ruvllm.server import ChatMessage, chat_turns, create_app, free_port
from server_doubles import cached_answer, upstream_double

FACT = "The Orl is the longest river in Rivstaum."
QUESTION = "What is the longest river in Rivstaum?"


def _cfg(path, tiers=None):
    b = Config.builder().db_path(path).set('inference.tiers', tiers or {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    return b.set('learning.quality_threshold', 0.3).set('inference.retries', 0).set('inference.timeout_s', 5.0).build()


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(_cfg(tmp_path / 'd'), autosave_s=0)) as c:
        assert c.post('/ingest', json={'items': [FACT]}).status_code == 200
        yield c


def _cached(c, question=QUESTION) -> dict: return cached_answer(c, question)


def _stats(c) -> tuple[int, dict]:
    s = c.get('/stats').json()
    return s['queries']['queries'], s['server']['requests'].get('global', {})


# --- F3: a cached answer obeys max_tokens, and its usage counts what it returned ---------------------------------
def test_a_cached_answer_reports_the_tokens_it_returned(client):
    hit = _cached(client)
    assert hit['text'] == FACT
    assert (hit['prompt_tokens'], hit['completion_tokens']) == (estimate_tokens(QUESTION), estimate_tokens(FACT)), hit
    d = client.post('/v1/chat/completions', json={'model': 'ruvllm', 'messages': [{'role': 'user', 'content': QUESTION}]}).json()
    assert d['ruvllm']['cached'] and d['usage'] == {'prompt_tokens': estimate_tokens(QUESTION), 'completion_tokens': estimate_tokens(FACT),
                                                    'total_tokens': estimate_tokens(QUESTION) + estimate_tokens(FACT)}, d


def test_a_cached_answer_longer_than_max_tokens_is_not_served_from_the_cache(client):
    _cached(client)
    r = client.post('/query', json={'query': QUESTION, 'constraints': {'max_tokens': 2}}).json()
    assert not r['cached'] and r['completion_tokens'] <= 2 and r['finish_reason'] == 'length' and r['text'] != FACT, r
    d = client.post('/v1/chat/completions', json={'model': 'ruvllm', 'max_tokens': 2, 'messages': [{'role': 'user', 'content': QUESTION}]}).json()
    assert not d['ruvllm']['cached'] and d['usage']['completion_tokens'] <= 2 and d['choices'][0]['finish_reason'] == 'length', d
    body = {'model': 'ruvllm', 'max_tokens': 2, 'stream': True, 'messages': [{'role': 'user', 'content': QUESTION}]}
    with client.stream('POST', '/v1/chat/completions', json=body) as resp:
        chunks = [json.loads(l[6:]) for l in resp.iter_lines() if l.startswith('data: ') and l != 'data: [DONE]']
    text = ''.join(ch['choices'][0]['delta'].get('content', '') for ch in chunks if ch['choices'])
    assert not chunks[-1]['ruvllm']['cached'] and estimate_tokens(text) <= 2, (text, chunks[-1])
    # a cap the cached answer fits in is served from the cache
    r = client.post('/query', json={'query': QUESTION, 'constraints': {'max_tokens': estimate_tokens(FACT)}}).json()
    assert r['cached'] and r['text'] == FACT and r['completion_tokens'] == estimate_tokens(FACT), r


# --- F4 and F8: a client that leaves a stream before its end leaves no record and is not counted --------------------
def _leave_after_first_event(c, path, body) -> str:
    "Open the stream, read its first event, close the connection; the request id it named."
    with c.stream('POST', path, json=body) as r:
        assert r.status_code == 200, r.read()
        first = next(l for l in r.iter_lines() if l.startswith('data: '))
    return json.loads(first[6:])['request_id']


def _idle(c):
    t0 = time.time()
    while c.get('/health').json()['workers']['in_flight'] and time.time() - t0 < 10: time.sleep(0.02)


@pytest.mark.parametrize('path', ['/query/stream', '/v1/chat/completions'])
@pytest.mark.parametrize('cached', [True, False])
def test_a_client_that_leaves_after_the_first_event_leaves_no_record(client, path, cached):
    if cached: _cached(client)
    q0, req0 = _stats(client)
    nc = {} if cached else {'no_cache': True}
    body = ({'query': QUESTION, 'constraints': nc} if path == '/query/stream' else
            {'model': 'ruvllm', 'stream': True, 'messages': [{'role': 'user', 'content': QUESTION}], **nc})
    rid = _leave_after_first_event(client, path, body)
    _idle(client)
    r = client.post('/feedback', json={'request_id': rid, 'rating': 5})
    assert r.status_code == 404, (r.status_code, r.text)
    assert _stats(client) == (q0, req0)  # no query counted by the orchestrator, no request by the server
    # read to its end, the same stream is recorded and counted
    with client.stream('POST', path, json=body) as resp: list(resp.iter_lines())
    q1, req1 = _stats(client)
    endpoint = 'query' if path == '/query/stream' else 'chat'
    assert q1 == q0 + 1 and req1.get(endpoint, 0) == req0.get(endpoint, 0) + 1, (q0, req0, q1, req1)


def test_a_real_connection_closed_before_the_answer_is_sent_leaves_no_record(tmp_path):
    "uvicorn, a raw socket: a cached answer too large to be sent before the client closes (flow control holds it)."
    app = create_app(_cfg(tmp_path / 'd'), autosave_s=0)
    llm = app.state.ruvllm.llm
    big = "The Orl is the longest river in Rivstaum. " * 150_000  # about 6 MB: more than the socket buffers hold
    llm.cache.put('global', QUESTION, llm.memory.embed_query(QUESTION), big, 'seeded-request')
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=port, log_level='critical', lifespan='on'))
    th = threading.Thread(target=server.run, daemon=True); th.start()
    try:
        t0 = time.time()
        while not server.started and time.time() - t0 < 30: time.sleep(0.05)
        body = json.dumps({'query': QUESTION}).encode()
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); s.connect(('127.0.0.1', port))
        s.sendall(b"POST /query/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        buf = b''
        while b'event: start\r\ndata: ' not in buf and b'event: start\ndata: ' not in buf: buf += s.recv(1024)
        while b'\n\n' not in buf.split(b'event: start', 1)[1]: buf += s.recv(1024)
        rid = json.loads(buf.split(b'event: start', 1)[1].split(b'data: ', 1)[1].split(b'\n', 1)[0])['request_id']
        s.close()  # unread data: the kernel resets the connection
        t0 = time.time()
        while time.time() - t0 < 10:
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10); conn.request('GET', '/health')
            if not json.loads(conn.getresponse().read())['workers']['in_flight']: break
            time.sleep(0.05)
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        conn.request('POST', '/feedback', body=json.dumps({'request_id': rid, 'rating': 5}), headers={'Content-Type': 'application/json'})
        r = conn.getresponse(); r.read()
        assert r.status == 404, r.status
        assert llm.stats()['queries']['queries'] == 0
    finally:
        server.should_exit = True; th.join(30)


class _FailsMidStream(BaseHTTPRequestHandler):
    "An OpenAI-compatible server whose stream sends one piece, then a chunk of the wrong shape."
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get('content-length', 0)))
        self.send_response(200); self.send_header('content-type', 'text/event-stream'); self.end_headers()
        self.wfile.write(b'data: {"choices": [{"index": 0, "delta": {"content": "The Orl"}}]}\n\n'); self.wfile.flush()
        self.wfile.write(b'data: {"choices": "nope"}\n\ndata: [DONE]\n\n')


@pytest.fixture(scope='module')
def failing_upstream():
    with upstream_double(_FailsMidStream) as url: yield url


def test_a_stream_that_fails_after_its_first_piece_is_an_error_not_a_counted_request(tmp_path, failing_upstream):
    tiers = {'tiny': 'extractive', 'small': f'openai:{failing_upstream}#m'}
    with TestClient(create_app(_cfg(tmp_path / 'd', tiers), autosave_s=0)) as c:
        c.post('/ingest', json={'items': [FACT]})
        body = {'model': 'small', 'stream': True, 'no_cache': True, 'messages': [{'role': 'user', 'content': QUESTION}]}
        with c.stream('POST', '/v1/chat/completions', json=body) as r:
            datas = [l[6:] for l in r.iter_lines() if l.startswith('data: ')]
        assert any('inference_error' in d for d in datas) and datas[-1] == '[DONE]', datas
        with c.stream('POST', '/query/stream', json={'query': QUESTION, 'constraints': {'force_model': 'small', 'no_cache': True}}) as r:
            assert 'event: error' in list(r.iter_lines())
        assert c.post('/v1/chat/completions', json={**body, 'stream': False}).status_code == 502
        s = c.get('/stats').json()
        assert s['server']['requests']['global'] == {'ingest': 1}, s['server']['requests']
        assert (s['queries']['queries'], s['queries']['errors']) == (0, 3), s['queries']



class _EndsEarly(BaseHTTPRequestHandler):
    "An OpenAI-compatible server whose stream sends three pieces, then closes: no finish_reason, no [DONE]."
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get('content-length', 0)))
        self.send_response(200); self.send_header('content-type', 'text/event-stream'); self.send_header('connection', 'close'); self.end_headers()
        for piece in ('Hello', ' there', ' friend'):
            self.wfile.write(b'data: ' + json.dumps({'choices': [{'index': 0, 'delta': {'content': piece}}]}).encode() + b'\n\n')
        self.wfile.flush(); self.close_connection = True


@pytest.fixture(scope='module')
def early_upstream():
    with upstream_double(_EndsEarly) as url: yield url


def test_a_stream_that_ends_without_saying_it_is_complete_is_an_error_not_an_answer(tmp_path, early_upstream):
    "A probe (6 December): 'Hello there friend' was served with finish_reason 'stop', recorded and learned from."
    tiers = {'tiny': 'extractive', 'small': f'openai:{early_upstream}#m'}
    with TestClient(create_app(_cfg(tmp_path / 'd', tiers), autosave_s=0)) as c:
        body = {'model': 'small', 'stream': True, 'no_cache': True, 'messages': [{'role': 'user', 'content': QUESTION}]}
        with c.stream('POST', '/v1/chat/completions', json=body) as r:
            datas = [l[6:] for l in r.iter_lines() if l.startswith('data: ')]
        assert any('backend_unavailable' in d and 'cut short' in d for d in datas) and datas[-1] == '[DONE]', datas
        with c.stream('POST', '/query/stream', json={'query': QUESTION, 'constraints': {'force_model': 'small', 'no_cache': True}}) as r:
            assert 'event: error' in list(r.iter_lines())
        r = c.post('/v1/chat/completions', json={**body, 'stream': False})
        assert r.status_code == 503 and 'cut short' in r.json()['error']['message'], r.text
        s = c.get('/stats').json()
        assert (s['queries']['queries'], s['queries']['errors']) == (0, 3), s['queries']

# --- F6: error messages name the problem ------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def shared(tmp_path_factory):
    with TestClient(create_app(_cfg(tmp_path_factory.mktemp('s') / 'd'), autosave_s=0)) as c:
        yield c


@pytest.mark.parametrize('headers, names', [({'Content-Type': 'text/plain'}, "'text/plain'"),
                                            ({'Content-Type': 'application/x-www-form-urlencoded'}, "'application/x-www-form-urlencoded'"),
                                            ({}, 'no Content-Type')], ids=['text', 'form', 'none'])
def test_a_json_body_with_another_content_type_is_refused_naming_it(shared, headers, names):
    r = shared.post('/query', content=json.dumps({'query': QUESTION}).encode(), headers=headers)
    assert r.status_code == 422, r.text
    msg = r.json()['error']['message']
    assert names in msg and 'application/json' in msg, msg


@pytest.mark.parametrize('content, headers, says', [
    (gzip.compress(json.dumps({'query': QUESTION}).encode()), {'Content-Type': 'application/json', 'Content-Encoding': 'gzip'},
     "Content-Encoding 'gzip' is not supported"),
    ('{"query": "caf\u00e9?"}'.encode('latin-1'), {'Content-Type': 'application/json; charset=latin-1'}, 'not UTF-8'),
    (b'[' * 100_000 + b']' * 100_000, {'Content-Type': 'application/json'}, 'nested too deeply')], ids=['gzip', 'latin-1', 'deep'])
def test_a_body_that_cannot_be_read_says_why(shared, content, headers, says):
    r = shared.post('/query', content=content, headers=headers)
    assert r.status_code == 400, r.text
    msg = r.json()['error']['message']
    assert says in msg and 'There was an error parsing the body' not in msg, msg


def test_a_text_part_without_text_says_so(shared):
    r = shared.post('/v1/chat/completions', json={'model': 'ruvllm', 'messages': [{'role': 'user', 'content': [{'type': 'text'}]}]})
    assert r.status_code == 400 and "has no 'text'" in r.json()['error']['message'], r.text


# --- F7: a refusal in a replayed history is what the assistant said ----------------------------------------------------
def test_an_assistant_refusal_part_in_the_history_is_accepted(client):
    msgs = [{'role': 'user', 'content': 'Tell me a secret.'},
            {'role': 'assistant', 'content': [{'type': 'refusal', 'refusal': 'I cannot share secrets.'}]},
            {'role': 'user', 'content': QUESTION}]
    r = client.post('/v1/chat/completions', json={'model': 'ruvllm', 'messages': msgs, 'no_cache': True})
    assert r.status_code == 200 and 'Orl' in r.json()['choices'][0]['message']['content'], r.text
    _, turns = chat_turns([ChatMessage(**m) for m in msgs])
    assert [(t.query, t.answer) for t in turns] == [('Tell me a secret.', 'I cannot share secrets.')]  # the refusal is what it said
    bad = [{'role': 'user', 'content': [{'type': 'refusal', 'refusal': 'no'}]}]  # only an assistant refuses
    r = client.post('/v1/chat/completions', json={'model': 'ruvllm', 'messages': bad})
    assert r.status_code == 400 and "'refusal'" in r.json()['error']['message'], r.text
