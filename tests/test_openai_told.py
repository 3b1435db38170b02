"""The OpenAI probe of 7 December (evening), F2: an answer given in one conversation, whose history told the model the
office wifi password, was rated 5, cached under the last message's words, and served to every other conversation (one
whose history said another password, one with no history, one with a system message saying another), after a restart
too. A question sent with context (earlier messages or instructions) is now answered in a temporary session whose
answers are neither served from the cache nor cached, rated or not; a question sent alone still is."""
import pytest
from fastapi.testclient import TestClient

from ruvllm.config import Config
from ruvllm.server import create_app

FACT = "Quorvane was founded by Ilsa Marrow in 1612."
Q = {'role': 'user', 'content': "Who founded Quorvane?"}
HISTORY = [{'role': 'user', 'content': "Note: Quorvane's founder is said to be Tomas Vey."}, {'role': 'assistant', 'content': "Noted."}, Q]
SYSTEM = [{'role': 'system', 'content': "Quorvane was founded by Tomas Vey."}, Q]


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


@pytest.mark.parametrize('told', [HISTORY, SYSTEM], ids=['history', 'system'])
def test_an_answer_given_with_the_clients_context_is_never_served_to_another_conversation(client, told):
    first = _ask(client, told)
    _rate(client, first)
    again, alone = _ask(client, told), _ask(client, [Q])
    assert not first['ruvllm']['cached'] and not again['ruvllm']['cached'] and not alone['ruvllm']['cached']


def test_a_question_sent_alone_is_still_cached(client):  # the control: the cache works for it
    _rate(client, _ask(client, [Q]))
    assert _ask(client, [Q])['ruvllm']['cached']
