"""The OpenAI probe of 7 December (evening), F2: an answer given in one conversation, whose history told the model the
office wifi password, was rated 5, cached under the last message's words, and served to every other conversation (one
whose history said another password, one with no history, one with a system message saying another), after a restart
too. A question sent with earlier messages is now answered in a temporary session whose answers are neither served
from the cache nor cached, rated or not, nor kept as a Q&A for others (a review: a rating of 5 still wrote one), and
whose bad ratings refuse nothing in the shared cache; a question sent alone still is cached. System messages are not
read (the README says so), so they leave the cache as it is."""
import json
from http.server import BaseHTTPRequestHandler

import pytest
from fastapi.testclient import TestClient

from ruvllm.config import Config
from ruvllm.server import create_app
from server_doubles import upstream_double

FACT = "Quorvane was founded by Ilsa Marrow in 1612."
Q = {'role': 'user', 'content': "Who founded Quorvane?"}
HISTORY = [{'role': 'user', 'content': "Note: Quorvane's founder is said to be Tomas Vey."}, {'role': 'assistant', 'content': "Noted."}, Q]


@pytest.fixture
def client(tmp_path):
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('learning.quality_threshold', 0.3).build())
    with TestClient(create_app(cfg, autosave_s=0)) as c:
        assert c.post('/ingest', json={'items': [FACT]}).status_code == 200
        yield c


def _ask(c, messages) -> dict:
    r = c.post('/v1/chat/completions', json=dict(model='ruvllm', messages=messages, max_tokens=32))
    assert r.status_code == 200, r.text
    return r.json()


def _rate(c, d):
    r = c.post('/feedback', json={'request_id': d['request_id'], 'rating': 5})
    assert r.status_code == 200, r.text


def _qa_pairs(c) -> int:
    llm = c.app.state.ruvllm.llm
    llm.flush()
    return llm.memory.stats()['by_type'].get('QAPair', 0)


def test_an_answer_given_with_the_clients_context_is_never_served_to_another_conversation(client):
    first = _ask(client, HISTORY)
    _rate(client, first)
    again, alone = _ask(client, HISTORY), _ask(client, [Q])
    assert not first['ruvllm']['cached'] and not again['ruvllm']['cached'] and not alone['ruvllm']['cached']
    assert _qa_pairs(client) == 0  # nor kept as a Q&A that other conversations retrieve


def test_a_bad_rating_given_with_context_refuses_nothing_for_others(client):
    _rate(client, _ask(client, [Q]))  # cached for the question asked alone
    told = _ask(client, HISTORY)
    assert client.post('/feedback', json={'request_id': told['request_id'], 'rating': 1}).status_code == 200
    assert _ask(client, [Q])['ruvllm']['cached']


def test_a_question_sent_alone_is_still_cached(client):  # the control: the cache works for it
    _rate(client, _ask(client, [Q]))
    assert _ask(client, [Q])['ruvllm']['cached']


class _RecordingUpstream(BaseHTTPRequestHandler):
    "Test double: an OpenAI-compatible model server that keeps the messages it is sent and answers one sentence."
    seen: list = []
    def log_message(self, *a): pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get('content-length', 0))))
        type(self).seen.append(body['messages'])
        text = "Quorvane fut fondée par Ilsa Marrow."
        if body.get('stream'):
            self.send_response(200); self.send_header('content-type', 'text/event-stream'); self.end_headers()
            for chunk in ({'choices': [{'index': 0, 'delta': {'content': text}}]}, {'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]}):
                self.wfile.write(b'data: ' + json.dumps(chunk).encode() + b'\n\n')
            self.wfile.write(b'data: [DONE]\n\n')
        else:
            out = json.dumps({'id': 'x', 'object': 'chat.completion', 'created': 0, 'model': 'm', 'choices': [
                {'index': 0, 'message': {'role': 'assistant', 'content': text}, 'finish_reason': 'stop'}],
                'usage': {'prompt_tokens': 10, 'completion_tokens': 8, 'total_tokens': 18}}).encode()
            self.send_response(200); self.send_header('content-type', 'application/json'); self.send_header('content-length', str(len(out)))
            self.end_headers(); self.wfile.write(out)


def test_a_system_message_reaches_a_generating_model_and_is_never_cached(tmp_path):
    """F1 of the same probe: system and developer messages were dropped (a 300-word system prompt cost no token). Their
    text now follows ruvllm's own instructions in what a generating model reads; such an answer is never cached."""
    with upstream_double(_RecordingUpstream) as url:
        cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': f'openai:{url}#m'}).set('router.safe_tier', 'tiny')
               .set('learning.quality_threshold', 0.3).set('inference.retries', 0).build())
        with TestClient(create_app(cfg, autosave_s=0)) as c:
            assert c.post('/ingest', json={'items': [FACT]}).status_code == 200
            told = [{'role': 'system', 'content': "Answer in French."}, {'role': 'developer', 'content': "Be brief."}, Q]
            first = _ask(c, told)
            _rate(c, first)
            again, plain = _ask(c, told), _ask(c, [Q])
    system = [m['content'] for m in _RecordingUpstream.seen[0] if m['role'] == 'system']
    assert len(system) == 1 and system[0].rstrip().endswith("Answer in French.\n\nBe brief."), system
    assert "Ilsa Marrow" in _RecordingUpstream.seen[0][-1]['content']  # memory's passage read beside them
    assert not again['ruvllm']['cached'] and not plain['ruvllm']['cached']
    plain_system = [m['content'] for m in _RecordingUpstream.seen[-1] if m['role'] == 'system']
    assert "Answer in French." not in plain_system[0]  # a request without one reads ruvllm's own alone


def test_instructions_too_long_for_the_budget_are_refused_by_name(tmp_path):
    """A review: a 4,000-character system message left no room for any passage without a word, and a 7,900-character
    one was told to "shorten the question". Instructions come on top of the routed context budget and may take half of
    what the tier's window leaves after max_tokens; past that, or past `server.max_query_chars`, the 400 names them."""
    with upstream_double(_RecordingUpstream) as url:
        cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': f'openai:{url}#m'}).set('router.safe_tier', 'tiny')
               .set('inference.retries', 0).build())
        with TestClient(create_app(cfg, autosave_s=0)) as c:
            assert c.post('/ingest', json={'items': [FACT]}).status_code == 200
            seen = len(_RecordingUpstream.seen)
            long = c.post('/v1/chat/completions', json=dict(model='ruvllm', max_tokens=16, messages=[
                {'role': 'system', 'content': "Always answer politely and in full sentences. " * 170}, Q]))
            huge = c.post('/v1/chat/completions', json=dict(model='ruvllm', messages=[{'role': 'system', 'content': 'x ' * 6000}, Q]))
    assert long.status_code == 400 and long.json()['error']['code'] == 'context_length_exceeded', long.text[:300]
    assert "instructions (its system messages)" in long.json()['error']['message']
    assert len(_RecordingUpstream.seen) == seen  # nothing reached the model
    assert huge.status_code == 400 and huge.json()['error']['param'] == 'messages', huge.text[:300]
