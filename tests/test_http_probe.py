"""Defects a probe of the HTTP server found (lead31/http_probe, 6 December), each test failing on the code before."""
from fastapi.testclient import TestClient

from ruvllm import Config, Feedback, RuvLLM
from ruvllm.server import create_app, load_api_keys


def opened(path, **kw) -> RuvLLM:
    b = (Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'})
         .set('router.safe_tier', 'tiny').set('system.warm_up', False))
    return RuvLLM(b.update(kw).build(), start_scheduler=False)


def test_a_keys_file_with_a_byte_order_mark_keeps_its_first_key(tmp_path):
    "Notepad and PowerShell write one: the first key was read with it and refused as 'not valid'."
    lines, js = tmp_path / 'keys.txt', tmp_path / 'keys.json'
    lines.write_bytes('\ufeffalice-key-1 alice\nbob-key-22 bob\n'.encode('utf-8'))
    js.write_bytes('\ufeff{"alice-key-1": "alice"}'.encode('utf-8'))
    assert sorted(load_api_keys(lines).values()) == ['alice', 'bob'] and list(load_api_keys(js).values()) == ['alice']


def test_health_answers_head(tmp_path):
    "Uptime monitors probe with HEAD: it was 405."
    cfg = (Config.builder().db_path(str(tmp_path / 'd')).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('system.warm_up', False).build())
    with TestClient(create_app(cfg, autosave_s=0)) as c:
        assert c.head('/health').status_code == 200


def test_one_namespace_opening_sessions_never_pushes_out_anothers(tmp_path):
    "`system.saved_sessions` was one limit for all: a tenant opening sessions made another's live session unknown at the next save."
    with opened(tmp_path / 'd', **{'system.saved_sessions': 3}) as llm:
        alice = llm.new_session('alice'); llm.query("Who founded Velmora?", session=alice)
        for _ in range(5): llm.query("Who founded Brask?", session=llm.new_session('bob'))
        llm.save()
    with opened(tmp_path / 'd', **{'system.saved_sessions': 3}) as llm:
        assert alice.session_id in llm.sessions
        assert sum(s.namespace == 'bob' for s in llm.sessions.values()) == 3


def test_a_follow_up_in_a_session_is_answered_about_its_own_subject(tmp_path):
    """"What year was it founded?" and "Who is its CEO?" were not read as follow-ups (a time noun before 'it', a name
    beside 'its'): searched alone, and cached, another session's answer was served to them; "When was he born?" was
    searched with the questions before it only, so the person the answer named was never found."""
    with opened(tmp_path / 'd') as llm:
        llm.ingest(["Velmora was founded by Tomas Hale.", "Velmora was founded in 1905.", "Brask was founded by Oda Fen.",
                    "Brask was founded in 1750.", "Oda Fen was born in 1710 in Kesk."], progress=False)
        for subject, year in (('Velmora', '1905'), ('Brask', '1750')):
            s = llm.new_session()
            llm.query(f"Who founded {subject}?", session=s)
            r = llm.query("What year was it founded?", session=s)
            assert year in r.text and not r.cached, (subject, r.text)
            llm.feedback(Feedback(r.request_id, rating=5)); llm.flush()
        s = llm.new_session()
        llm.query("Who founded Brask?", session=s)
        assert '1710' in llm.query("When was he born?", session=s).text


def test_the_chat_endpoint_refuses_audio_and_takes_the_older_function_messages(tmp_path):
    """modalities ['text', 'audio'] was answered 200 with no audio (logprobs and JSON mode are refused with a 400 naming
    the parameter); a history holding the older role 'function' was a 400, though `functions` is accepted."""
    cfg = (Config.builder().db_path(str(tmp_path / 'd')).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('system.warm_up', False).build())
    ask = {'role': 'user', 'content': "Who founded Quorvane?"}
    with TestClient(create_app(cfg, autosave_s=0)) as c:
        c.post('/ingest', json={'items': ["Quorvane was founded by Ilsa Marrow in 1820."]})
        r = c.post('/v1/chat/completions', json={'model': 'ruvllm', 'modalities': ['text', 'audio'], 'messages': [ask]})
        assert r.status_code == 400 and r.json()['error']['param'] == 'modalities'
        assert c.post('/v1/chat/completions', json={'model': 'ruvllm', 'modalities': ['text'], 'messages': [ask]}).status_code == 200
        history = [{'role': 'user', 'content': "Look it up."}, {'role': 'assistant', 'content': None, 'function_call': {'name': 'lookup', 'arguments': '{}'}},
                   {'role': 'function', 'name': 'lookup', 'content': 'nothing found'}, ask]
        r = c.post('/v1/chat/completions', json={'model': 'ruvllm', 'messages': history})
        assert r.status_code == 200 and 'Ilsa Marrow' in r.json()['choices'][0]['message']['content']
