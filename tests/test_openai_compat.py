"""What a black-box probe with the official `openai` client found (F1-F5, F7 of the lead's notes): `stop` was ignored,
a non-streamed request whose client timed out ran (and was recorded) to its end, parameters ruvllm cannot honour were
ignored, `models.retrieve` was a 404, errors did not follow OpenAI's conventions on /v1, and booleans were read laxly."""
import json, threading, time
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from ruvllm.config import Config
from ruvllm.server import create_app, free_port
from server_doubles import cached_answer, upstream_double

FACT = "Quorvane was founded by Ilsa Marrow in 1612."
QUESTION = "Who founded Quorvane?"
BEFORE_MARROW = "Quorvane was founded by Ilsa"
MSGS = [{'role': 'user', 'content': QUESTION}]


def _cfg(path, tiers=None, **server):
    b = (Config.builder().db_path(path).set('inference.tiers', tiers or {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
         .set('embedding.model', 'hashing').set('learning.quality_threshold', 0.3).set('inference.retries', 0)
         .set('inference.timeout_s', 5.0))
    return b.update(server, section='server').build()


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(_cfg(tmp_path / 'd'), autosave_s=0)) as c:
        assert c.post('/ingest', json={'items': [FACT]}).status_code == 200
        yield c


def _chat(c, **kw):
    return c.post('/v1/chat/completions', json=dict(model='ruvllm', messages=MSGS) | kw)


def _chunks(c, **kw) -> list[dict]:
    with c.stream('POST', '/v1/chat/completions', json=dict(model='ruvllm', messages=MSGS, stream=True) | kw) as resp:
        assert resp.status_code == 200, resp.read()
        lines = [l[6:] for l in resp.iter_lines() if l.startswith('data: ')]
    assert lines[-1] == '[DONE]'
    return [json.loads(l) for l in lines[:-1]]


def _content(chunks) -> str: return ''.join(ch['choices'][0]['delta'].get('content', '') for ch in chunks if ch['choices'])


def _cached(c): return cached_answer(c, QUESTION)


# --- F2: `stop` is honoured, end to end ------------------------------------------------------------------------------
@pytest.mark.parametrize('stop', ['Marrow', ['Marrow'], ['Observation:', 'Marrow']], ids=['string', 'list', 'second'])
def test_chat_stop_ends_the_answer_before_the_stop_string(client, stop):
    d = _chat(client, stop=stop, no_cache=True).json()
    assert d['choices'][0]['message']['content'] == BEFORE_MARROW and d['choices'][0]['finish_reason'] == 'stop', d['choices']
    chunks = _chunks(client, stop=stop, no_cache=True)
    assert _content(chunks) == BEFORE_MARROW and chunks[-1]['choices'][0]['finish_reason'] == 'stop'


def test_a_streamed_answer_never_shows_part_of_a_stop_string(client):
    "A stop string of two words: the first ('Ilsa') is held back until the second decides; it never reaches the client."
    chunks = _chunks(client, stop=['Ilsa Marrow'], no_cache=True)
    pieces = [ch['choices'][0]['delta'].get('content', '') for ch in chunks if ch['choices']]
    assert ''.join(pieces) == "Quorvane was founded by" and not any('Ilsa' in p for p in pieces), pieces
    with client.stream('POST', '/query/stream', json={'query': QUESTION, 'constraints': {'stop': ['Ilsa Marrow'], 'no_cache': True}}) as r:
        events = [json.loads(l[6:]) for l in r.iter_lines() if l.startswith('data: ')]
    assert ''.join(e['text'] for e in events[1:-1]) == events[-1]['text'] == "Quorvane was founded by", events


def test_query_constraints_stop_is_honoured(client):
    r = client.post('/query', json={'query': QUESTION, 'constraints': {'stop': ['Marrow'], 'no_cache': True}})
    assert r.status_code == 200, r.text
    assert r.json()['text'] == BEFORE_MARROW and r.json()['finish_reason'] == 'stop', r.json()


def test_an_answer_ended_by_a_stop_string_is_neither_cached_nor_kept(client):
    llm = client.app.state.ruvllm.llm
    n0 = client.get('/health').json()['memory']['nodes']
    d = _chat(client, stop=['Marrow']).json()  # the cache is consulted (empty), and would learn the answer
    assert d['choices'][0]['message']['content'] == BEFORE_MARROW, d['choices']
    assert client.post('/feedback', json={'request_id': d['id'], 'rating': 5}).status_code == 200  # rated well: still not kept
    llm.flush()
    rec = llm.record(d['request_id'])
    assert rec.cut and rec.qa_node is None, (rec.cut, rec.qa_node)
    assert client.get('/health').json()['memory']['nodes'] == n0  # no Q&A node
    again = client.post('/query', json={'query': QUESTION}).json()
    assert not again['cached'] and again['text'] == FACT, again  # not the shortened answer from the cache


def test_an_answer_no_stop_string_reached_is_kept_as_any_other(client):
    "The extractive and llama.cpp backends say whether a stop string ended the answer (`Generation.stop_hit`): one that did not is whole."
    llm = client.app.state.ruvllm.llm
    d = _chat(client, stop=['Zanzibar'], no_cache=True).json()
    assert d['choices'][0]['message']['content'] == FACT and d['choices'][0]['finish_reason'] == 'stop', d['choices']
    llm.flush()
    assert not llm.record(d['request_id']).cut  # it used to be recorded as cut: any answer to a request with stop strings


def test_a_cached_answer_holding_a_stop_string_is_answered_afresh(client):
    _cached(client)
    r = client.post('/query', json={'query': QUESTION, 'constraints': {'stop': ['Marrow']}}).json()
    assert not r['cached'] and r['text'] == BEFORE_MARROW and r['finish_reason'] == 'stop', r
    chunks = _chunks(client, stop='Marrow')
    assert not chunks[-1]['ruvllm']['cached'] and _content(chunks) == BEFORE_MARROW
    # a stop string the cached answer does not hold: the cached answer, whole
    r = client.post('/query', json={'query': QUESTION, 'constraints': {'stop': ['Observation:']}}).json()
    assert r['cached'] and r['text'] == FACT, r


@pytest.mark.parametrize('stop', [['a', 'b', 'c', 'd', 'e'], '', [''], ['x' * 300], 7], ids=['five', 'empty', 'empty-item', 'long', 'number'])
def test_a_bad_stop_is_refused(client, stop):
    r = _chat(client, stop=stop)
    param = r.json()['error']['param']
    assert r.status_code == 400 and param.split('.')[0] == 'stop' and not any(c in param for c in '[-'), r.text  # the field, not pydantic's member tag (stop.constrained-str)
    r = client.post('/query', json={'query': QUESTION, 'constraints': {'stop': stop}})
    assert r.status_code == 422 and 'stop' in r.json()['error']['message'], r.text


def test_an_empty_stop_list_is_no_stop_on_v1(client):
    d = _chat(client, stop=[], no_cache=True).json()
    assert d['choices'][0]['message']['content'] == FACT, d


# --- F1: a non-streamed request whose client leaves is cancelled, as a stream is ----------------------------------
class _SlowUpstream(BaseHTTPRequestHandler):
    "Test double: an OpenAI-compatible model server that streams a long answer slowly (a word every 50 ms, 10 s in all)."
    closed_early: list = []  # seconds each stream ran before its reader hung up
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get('content-length', 0)))
        self.send_response(200); self.send_header('content-type', 'text/event-stream'); self.end_headers()
        t0 = time.monotonic()
        try:
            for i in range(200):
                chunk = {'choices': [{'index': 0, 'delta': {'content': f'word{i} '}}]}
                self.wfile.write(b'data: ' + json.dumps(chunk).encode() + b'\n\n'); self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n')
        except (BrokenPipeError, ConnectionResetError): type(self).closed_early.append(time.monotonic() - t0)


@pytest.fixture(scope='module')
def slow_upstream():
    with upstream_double(_SlowUpstream) as url: yield url


class _Served:
    "The app under a real uvicorn server in a thread (the test client cannot hang up); the base URL."
    def __init__(self, app): self.port = free_port(); self.server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=self.port, log_level='critical', lifespan='on'))
    def __enter__(self):
        self.thread = threading.Thread(target=self.server.run, daemon=True); self.thread.start()
        t0 = time.time()
        while not self.server.started and time.time() - t0 < 30: time.sleep(0.05)
        assert self.server.started
        return f"http://127.0.0.1:{self.port}"
    def __exit__(self, *a): self.server.should_exit = True; self.thread.join(30)


@pytest.mark.parametrize('path', ['/v1/chat/completions', '/query'])
def test_a_client_that_times_out_cancels_its_non_streamed_request(tmp_path, slow_upstream, path, monkeypatch):
    app = create_app(_cfg(tmp_path / 'd', {'tiny': 'extractive', 'small': f'openai:{slow_upstream}#slow'}, workers=1), autosave_s=0)
    llm, ids = app.state.ruvllm.llm, []
    real = llm.query_stream
    def noting_ids(*a, **kw):  # the real query_stream; the request id is noted (the client that left never saw it)
        s = real(*a, **kw); ids.append(s.request_id); return s
    monkeypatch.setattr(llm, 'query_stream', noting_ids)
    body = (dict(model='small', messages=MSGS, no_cache=True) if path.startswith('/v1') else
            dict(query=QUESTION, constraints={'force_model': 'small', 'no_cache': True}))
    with _Served(app) as url:
        assert httpx.post(url + '/ingest', json={'items': [FACT]}, timeout=60).status_code == 200
        stats = lambda: httpx.get(url + '/stats', timeout=10).json()
        q0, req0 = stats()['queries']['queries'], stats()['server']['requests']['global']
        n_early = len(_SlowUpstream.closed_early)
        t0 = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(url + path, json=body, timeout=httpx.Timeout(10.0, read=1.0))  # the whole answer takes 10 s
        while stats()['server']['pool']['in_flight'] and time.monotonic() - t0 < 15: time.sleep(0.05)
        freed = time.monotonic() - t0
        assert freed < 5, f"the worker was busy {freed:.1f} s after its client left"
        t1 = time.monotonic()
        r = httpx.post(url + '/query', json={'query': QUESTION, 'constraints': {'force_model': 'tiny', 'no_cache': True}}, timeout=30)
        assert r.status_code == 200 and time.monotonic() - t1 < 3, (r.status_code, time.monotonic() - t1)  # not queued behind it
        assert len(ids) >= 1
        fb = httpx.post(url + '/feedback', json={'request_id': ids[0], 'rating': 5}, timeout=10)
        assert fb.status_code == 404, fb.text  # the abandoned answer was not recorded
        s = stats()
        assert s['queries']['queries'] == q0 + 1 and s['server']['requests']['global'] == {**req0, 'query': req0.get('query', 0) + 1}, s
    assert len(_SlowUpstream.closed_early) > n_early and _SlowUpstream.closed_early[-1] < 5  # the model server was hung up on


# --- F3: parameters ruvllm cannot honour are refused, naming the parameter --------------------------------------------
TOOLS = [{'type': 'function', 'function': {'name': 'lookup', 'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}}}}]


@pytest.mark.parametrize('kw,param', [
    (dict(tools=TOOLS, tool_choice='required'), 'tool_choice'),
    (dict(tools=TOOLS, tool_choice={'type': 'function', 'function': {'name': 'lookup'}}), 'tool_choice'),
    (dict(response_format={'type': 'json_object'}), 'response_format'),
    (dict(response_format={'type': 'json_schema', 'json_schema': {'name': 'answer', 'schema': {'type': 'object'}}}), 'response_format'),
    (dict(logprobs=True, top_logprobs=3), 'logprobs'),
    (dict(functions=[{'name': 'lookup', 'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}}}], function_call={'name': 'lookup'}), 'function_call')],  # the older form (lead24's probe: it was ignored)
    ids=['required', 'named', 'json_object', 'json_schema', 'logprobs', 'function_call'])
def test_what_cannot_be_honoured_is_a_400_naming_it(client, kw, param):
    for stream in (False, True):
        r = _chat(client, stream=stream, **kw)
        assert r.status_code == 400, r.text
        e = r.json()['error']
        assert e['param'] == param and param in e['message'] and 'cannot be honoured' in e['message'], e
        assert e['type'] == 'invalid_request_error' and e['code'] in ('unsupported_value', 'unsupported_parameter'), e


@pytest.mark.parametrize('kw', [dict(tools=TOOLS), dict(tools=TOOLS, tool_choice='auto'), dict(tools=TOOLS, tool_choice='none'),
                                dict(response_format={'type': 'text'}), dict(logprobs=False),
                                dict(functions=[{'name': 'lookup', 'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}}}], function_call='auto'), dict(functions=[{'name': 'lookup', 'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}}}], function_call='none'),
                                dict(seed=7, user='u-1', metadata={'k': 'v'}, store=False, presence_penalty=0.5, frequency_penalty=0.1)],
                         ids=['tools', 'auto', 'none', 'text', 'no-logprobs', 'functions-auto', 'functions-none', 'ignored'])
def test_what_asks_for_nothing_missing_is_accepted_and_ignored(client, kw):
    r = _chat(client, no_cache=True, **kw)
    assert r.status_code == 200 and r.json()['choices'][0]['message']['content'] == FACT, r.text


# --- F4: GET /v1/models/{model} ------------------------------------------------------------------------------------
def test_a_listed_model_can_be_retrieved_and_another_is_model_not_found(client):
    listed = client.get('/v1/models').json()['data']
    for m in listed:
        assert client.get(f"/v1/models/{m['id']}").json() == m
    r = client.get('/v1/models/gpt-4o')
    assert r.status_code == 404 and r.json()['error']['code'] == 'model_not_found' and 'available: ruvllm, tiny' in r.json()['error']['message'], r.text


# --- F5: OpenAI's error conventions on /v1, ruvllm's elsewhere --------------------------------------------------------
def _openai_error(r, status, code, param=None) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    e = r.json()['error']
    assert set(e) == {'message', 'type', 'param', 'code'} and e['message'], e
    assert e['type'] == ('server_error' if status >= 500 else 'invalid_request_error') and e['code'] == code and e['param'] == param, e
    return e


@pytest.mark.parametrize('kw,param,code', [(dict(n=2), 'n', 'invalid_value'), (dict(temperature=3), 'temperature', 'invalid_value'),
                                           (dict(max_tokens=0), 'max_tokens', 'invalid_value'), (dict(messages=[]), 'messages', 'invalid_value'),
                                           (dict(temperature='0.5'), 'temperature', 'invalid_type'),
                                           (dict(model=None), 'model', 'invalid_type')])
def test_a_body_that_does_not_match_the_schema_is_a_400_on_v1(client, kw, param, code):
    _openai_error(_chat(client, **kw), 400, code, param)


def test_errors_on_v1_carry_type_param_and_code(client):
    _openai_error(_chat(client, model='gpt-4o'), 404, 'model_not_found', 'model')
    _openai_error(client.post('/v1/chat/completions', json={'messages': MSGS}), 400, 'missing_required_parameter', 'model')
    _openai_error(client.post('/v1/chat/completions', content=b'{"model": ', headers={'content-type': 'application/json'}), 400, 'invalid_json')
    _openai_error(_chat(client, messages=MSGS + [{'role': 'assistant', 'content': 'ok'}]), 400, 'invalid_value')
    _openai_error(client.post('/v1/completions', json={}), 404, 'unknown_url')
    _openai_error(client.get('/v1/chat/completions'), 405, 'method_not_allowed')
    # ruvllm's own routes keep their shape and their 422
    r = client.post('/query', json={'query': ''})
    assert r.status_code == 422 and r.json()['error']['type'] == 'invalid_request' and r.json()['error']['code'] == 422, r.text


def test_auth_size_and_overload_errors_on_v1(tmp_path, monkeypatch):
    (tmp_path / 'keys.txt').write_text("key-alice-0001 alice\n")
    app = create_app(_cfg(tmp_path / 'd', api_keys_file=str(tmp_path / 'keys.txt'), max_body_bytes=4096, workers=1, queue_limit=0), autosave_s=0)
    A = {'Authorization': 'Bearer key-alice-0001'}
    with TestClient(app) as c:
        e = _openai_error(c.get('/v1/models', headers={'Authorization': 'Bearer wrong-key-01'}), 401, 'invalid_api_key')
        assert 'not valid' in e['message']
        assert c.get('/stats').json()['error']['type'] == 'unauthorized'  # ruvllm's shape elsewhere
        _openai_error(c.post('/v1/chat/completions', json={'model': 'ruvllm', 'messages': [{'role': 'user', 'content': 'x' * 5000}]}, headers=A),
                      413, 'request_too_large')
        llm = app.state.ruvllm.llm
        gate, entered, real = threading.Event(), threading.Event(), llm.query_stream
        def gated(*a, **kw):  # test double: query_stream held until the gate opens, to fill the one worker
            entered.set(); gate.wait(30); return real(*a, **kw)
        monkeypatch.setattr(llm, 'query_stream', gated)
        t = threading.Thread(target=lambda: c.post('/query', json={'query': QUESTION}, headers=A)); t.start()
        try:
            assert entered.wait(10)
            r = c.post('/v1/chat/completions', json={'model': 'ruvllm', 'messages': MSGS}, headers=A)
            _openai_error(r, 503, 'overloaded')
            assert r.headers['retry-after'] == '1'
        finally: gate.set(); t.join(30)


# --- F7: booleans are booleans -------------------------------------------------------------------------------------
@pytest.mark.parametrize('kw,param', [(dict(stream='yes'), 'stream'), (dict(stream=1), 'stream'), (dict(stream='off'), 'stream'),
                                      (dict(no_cache='yes'), 'no_cache'), (dict(no_cache=0), 'no_cache'),
                                      (dict(stream=True, stream_options={'include_usage': 'on'}), 'stream_options.include_usage'),
                                      (dict(logprobs='false'), 'logprobs')])
def test_a_boolean_field_refuses_strings_and_numbers_on_v1(client, kw, param):
    _openai_error(_chat(client, **kw), 400, 'invalid_type', param)


@pytest.mark.parametrize('path,body', [('/query', {'query': QUESTION, 'constraints': {'no_cache': 'yes'}}),
                                       ('/query', {'query': QUESTION, 'constraints': {'no_cache': 1}}),
                                       ('/query/stream', {'query': QUESTION, 'constraints': {'no_cache': 'off'}}),
                                       ('/feedback', {'request_id': 'r-1', 'task_success': 'yes'})])
def test_a_boolean_field_refuses_strings_and_numbers_on_ruvllm_routes(client, path, body):
    r = client.post(path, json=body)
    field = 'no_cache' if 'constraints' in body else 'task_success'
    assert r.status_code == 422 and field in r.json()['error']['message'] and 'valid boolean' in r.json()['error']['message'], r.text


def test_real_booleans_still_work(client):
    assert _chat(client, stream=False, no_cache=True).headers['content-type'].startswith('application/json')
    chunks = _chunks(client, no_cache=True, stream_options={'include_usage': True})
    assert chunks[-1]['choices'] == [] and chunks[-1]['usage']['completion_tokens'] > 0


# --- the same through the official client ------------------------------------------------------------------------
def test_the_openai_client_sees_openai_errors_stop_and_models(client):
    openai = pytest.importorskip('openai')
    oa = openai.OpenAI(base_url='http://testserver/v1', api_key='unused', http_client=client, max_retries=0)
    assert oa.models.retrieve('ruvllm').id == 'ruvllm'
    with pytest.raises(openai.NotFoundError) as e: oa.models.retrieve('gpt-4o')
    assert e.value.code == 'model_not_found'
    with pytest.raises(openai.BadRequestError) as e: oa.chat.completions.create(model='ruvllm', messages=MSGS, n=2)
    assert e.value.param == 'n'
    with pytest.raises(openai.BadRequestError) as e: oa.chat.completions.create(model='ruvllm', messages=MSGS, tools=TOOLS, tool_choice='required')
    assert e.value.param == 'tool_choice' and e.value.code == 'unsupported_value'
    r = oa.chat.completions.create(model='ruvllm', messages=MSGS, stop=['Marrow'], extra_body={'no_cache': True})
    assert r.choices[0].message.content == BEFORE_MARROW and r.choices[0].finish_reason == 'stop'
    with oa.chat.completions.create(model='ruvllm', messages=MSGS, stop='Marrow', stream=True, extra_body={'no_cache': True}) as s:
        text = ''.join(ch.choices[0].delta.content or '' for ch in s if ch.choices)
    assert text == BEFORE_MARROW


# --- a probe of 6 December: `AnswerStream.close()` from another thread (a stop button) -------------------------------
def test_a_stream_closed_from_another_thread_stops_at_the_next_piece_and_records_nothing(tmp_path, slow_upstream):
    "It raised ValueError('generator already executing'), and generation ran on to its end and was recorded."
    from ruvllm.orchestrator import RuvLLM
    from ruvllm.types import Constraints, UnknownIdError
    cfg = _cfg(tmp_path / 'd', {'tiny': 'extractive', 'small': f'openai:{slow_upstream}#slow'})
    with RuvLLM(cfg, start_scheduler=False) as llm:
        stream = llm.query_stream(QUESTION, constraints=Constraints(force_model='small', no_cache=True))
        got, errors, t0 = [], [], time.monotonic()
        def read():
            try:
                for piece in stream.pieces(): got.append(piece)
            except Exception as e: errors.append(e)
        reader = threading.Thread(target=read); reader.start()
        while not got and time.monotonic() - t0 < 5: time.sleep(0.01)
        stream.close()  # while the reader waits for its next piece
        reader.join(5)
        assert not reader.is_alive() and not errors and time.monotonic() - t0 < 3, (errors, len(got))
        assert 0 < len(got) < 20 and stream.response is None, len(got)  # 200 words at 50 ms each: stopped early
        with pytest.raises(UnknownIdError): llm.record(stream.request_id)
        assert llm.stats()['queries']['queries'] == 0
