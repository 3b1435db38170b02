"""The server as a real process on a loopback port: the official `openai` client and plain HTTP against it,
SIGTERM draining, kill -9 durability, and the 60-second load test."""
import json, os, random, signal, subprocess, sys, textwrap, threading, time
from pathlib import Path
import httpx
import openai
import pytest

from ruvllm.config import Config
from ruvllm.orchestrator import RuvLLM
from ruvllm.evals.server_load import default_load_facts, default_load_queries, load_test
from ruvllm.server import ServerProcess, free_port

FACTS = ["The Zorblat river flows through Quenby.", "Quenby is the capital of Marsovia.",
         "Marsovia exports violet glass and amber tea."]


def _cfg(path, **server):
    b = Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    return b.update(server, section='server').build()


def test_openai_client_and_plain_http(tmp_path):
    (tmp_path / 'keys.txt').write_text("key-live-0001 live\n")
    cfg = _cfg(tmp_path / 'd', api_keys_file=str(tmp_path / 'keys.txt'), max_body_bytes=10_000)
    with ServerProcess(cfg) as srv:
        auth = {'Authorization': 'Bearer key-live-0001'}
        # plain HTTP
        assert httpx.get(srv.url + '/health').json()['status'] == 'ok'
        assert httpx.post(srv.url + '/query', json={'query': 'x'}).status_code == 401
        # the first ingest and query of a fresh clone load the embedder and compile the kernels (beside the warm-up): not a speed test
        assert httpx.post(srv.url + '/ingest', json={'items': FACTS}, headers=auth, timeout=120).json()['namespace'] == 'live'
        r = httpx.post(srv.url + '/query', json={'query': 'Which river flows through Quenby?'}, headers=auth, timeout=120)
        assert r.status_code == 200 and 'Zorblat' in r.json()['text']
        big = httpx.post(srv.url + '/query', content=b'{"query": "' + b'x' * 20_000 + b'"}', headers={**auth, 'content-type': 'application/json'})
        assert big.status_code == 413 and big.json()['error']['type'] == 'request_too_large'
        with httpx.stream('POST', srv.url + '/v1/chat/completions', headers=auth, timeout=30,
                          json={'model': 'ruvllm', 'stream': True, 'messages': [{'role': 'user', 'content': 'Where is Quenby?'}]}) as s:
            lines = [l for l in s.iter_lines() if l]
        assert lines[-1] == 'data: [DONE]' and json.loads(lines[0][6:])['object'] == 'chat.completion.chunk'

        # the official OpenAI client, unchanged
        client = openai.OpenAI(base_url=srv.url + '/v1', api_key='key-live-0001', max_retries=0, timeout=30)
        assert [m.id for m in client.models.list()] == ['ruvllm', 'tiny']
        msgs = [{'role': 'system', 'content': 'Answer briefly.'}, {'role': 'user', 'content': 'Which river flows through Quenby?'}]
        c = client.chat.completions.create(model='ruvllm', messages=msgs, extra_body={'no_cache': True})
        text = c.choices[0].message.content
        assert 'Zorblat' in text and c.id.startswith('chatcmpl-') and c.usage.total_tokens > 0 and c.choices[0].finish_reason == 'stop'
        parts, usage, ids = [], None, set()
        for ch in client.chat.completions.create(model='tiny', messages=msgs, stream=True, stream_options={'include_usage': True},
                                                 extra_body={'no_cache': True}):
            ids.add(ch.id)
            if ch.choices: parts.append(ch.choices[0].delta.content or '')
            if ch.usage: usage = ch.usage
        assert ''.join(parts) == text and len(parts) > 3 and usage.completion_tokens > 0 and len(ids) == 1
        # feedback follows the completion's id
        fb = httpx.post(srv.url + '/feedback', json={'request_id': c.id, 'rating': 5}, headers=auth)
        assert fb.status_code == 200, fb.text
        # errors reach the client as its own exception types, with our message
        with pytest.raises(openai.NotFoundError, match='available: ruvllm, tiny'):
            client.chat.completions.create(model='gpt-4o', messages=msgs)
        with pytest.raises(openai.BadRequestError, match="last message must have role 'user'"):
            client.chat.completions.create(model='ruvllm', messages=msgs + [{'role': 'assistant', 'content': 'ok'}])
        with pytest.raises(openai.BadRequestError):  # OpenAI's status for a body that does not match the schema
            client.chat.completions.create(model='ruvllm', messages=[])
        with pytest.raises(openai.AuthenticationError, match='not valid'):
            openai.OpenAI(base_url=srv.url + '/v1', api_key='wrong-key-0001', max_retries=0).models.list()
        code = srv.stop()
        assert code == 0, srv.tail()


DRAIN_CHILD = textwrap.dedent(r'''
    import sys, time
    from ruvllm.config import Config
    from ruvllm.orchestrator import RuvLLM
    from ruvllm.server import serve

    class SlowQueryDouble:
        "Test double: every query (what /query runs: query_stream) takes 1.5 s longer, like a slow model."
        def __init__(self, query): self.query = query
        def __call__(self, *a, **kw):
            time.sleep(1.5); return self.query(*a, **kw)

    cfg = Config.load(sys.argv[1], env=False)
    llm = RuvLLM(cfg)
    llm.query_stream = SlowQueryDouble(llm.query_stream)
    serve(cfg, host='127.0.0.1', port=int(sys.argv[2]), llm=llm, log_level='warning')
    print('CLEAN EXIT', flush=True)
''')


def test_sigterm_drains_in_flight_requests_and_saves(tmp_path):
    cfg = _cfg(tmp_path / 'd', workers=2, queue_limit=4, shutdown_timeout_s=20.0); cfg.cache.enabled = False
    cfg.to_toml(tmp_path / 'c.toml')
    port = free_port(); url = f'http://127.0.0.1:{port}'
    p = subprocess.Popen([sys.executable, '-c', DRAIN_CHILD, str(tmp_path / 'c.toml'), str(port)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(600):
            try:
                if httpx.get(url + '/health', timeout=1).status_code == 200: break
            except httpx.HTTPError: time.sleep(0.1)
        results = {}
        def ask(i):
            try: results[i] = httpx.post(url + '/query', json={'query': f'question {i}?'}, timeout=30).status_code
            except httpx.HTTPError as e: results[i] = repr(e)
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
        for t in threads: t.start()
        deadline = time.time() + 20
        while httpx.get(url + '/health', timeout=5).json()['workers']['in_flight'] < 3 and time.time() < deadline: time.sleep(0.05)
        assert not results  # all three are in flight (two working, one queued), none done
        t0 = time.perf_counter()
        p.send_signal(signal.SIGTERM)
        for t in threads: t.join(30)
        out, _ = p.communicate(timeout=30)
        took = time.perf_counter() - t0
    finally:
        if p.poll() is None: p.kill()
    assert results == {0: 200, 1: 200, 2: 200}, (results, out)
    assert p.returncode == 0 and 'CLEAN EXIT' in out, out
    assert 0.5 < took < 15, took  # it waited for the work (up to 3 s of it), and no longer than needed
    with RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False) as llm:
        assert llm.counters['queries'] == 3  # the counters were saved at shutdown (they are saved only by save/close)


def test_kill9_during_feedback_and_ingest_loses_nothing_acknowledged(tmp_path):
    """kill -9 the server in the middle of a stream of ingest, query and feedback requests, three times, restarting
    on the same data directory each time: every acknowledged (2xx) write is there after the restart."""
    # the semantic cache is off here: it is saved only by save()/close() by design (not a write this test is about),
    # and its judge embedder costs seconds to load at every restart
    cfg = _cfg(tmp_path / 'd'); cfg.cache.enabled = False
    rng = random.Random(7)
    ingested, fed = {}, {}  # node id -> text; request id -> correction (None for a rating)
    for trial in range(3):
        srv = ServerProcess(cfg).start()
        if fed:  # the restarted server knows every acknowledged feedback: a second one is refused
            with httpx.Client(base_url=srv.url, timeout=10) as h:
                for rid in fed:
                    r = h.post('/feedback', json={'request_id': rid, 'rating': 3})
                    assert r.status_code == 400 and 'already given' in r.json()['error']['message'], (trial, rid, r.text)
        if trial == 2:
            srv.kill(); srv.cleanup(); break
        stop = threading.Event()
        def stream():
            with httpx.Client(base_url=srv.url, timeout=10) as h:
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        text = f"Trial {trial} note {i}: the gadget {trial}-{i} weighs {i * 7 + trial} grams."
                        r = h.post('/ingest', json={'items': [text]})
                        if r.status_code == 200: ingested[r.json()['ids'][0]] = text
                        a = h.post('/query', json={'query': f"How much does gadget {trial}-{i} weigh?"})
                        if a.status_code != 200: continue
                        rid = a.json()['request_id']
                        body = {'request_id': rid, 'rating': 5} if i % 2 else \
                               {'request_id': rid, 'correction': f"Gadget {trial}-{i} weighs exactly {i * 7 + trial} grams."}
                        if h.post('/feedback', json=body).status_code == 200: fed[rid] = body.get('correction')
                    except httpx.HTTPError:
                        return
        t = threading.Thread(target=stream, daemon=True); t.start()
        try:
            target, deadline = len(fed) + 8, time.time() + 60
            while len(fed) < target and time.time() < deadline: time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            srv.kill()  # kill -9 in the middle of the stream
            stop.set(); t.join(15)
            srv.cleanup()
        assert not t.is_alive()
    assert len(fed) >= 16 and len(ingested) >= 16, (len(fed), len(ingested))
    # every acknowledged document and correction is in the memory, every feedback in its request's record
    with RuvLLM(cfg, start_scheduler=False) as llm:
        got = llm.memory.get_many(list(ingested))
        assert {i: n.text for i, n in got.items()} == ingested
        texts = [t for (t,) in llm.store.q('SELECT text FROM nodes')]
        for rid, corr in fed.items():
            assert llm.record(rid).feedback is not None
            if corr is not None: assert any(corr in t for t in texts), corr


def test_load_32_clients_60s(tmp_path):
    with ServerProcess(_cfg(tmp_path / 'd')) as srv:
        httpx.post(srv.url + '/ingest', json={'items': default_load_facts(200)}, timeout=120).raise_for_status()
        res = load_test(srv.url, clients=32, duration_s=60)
        stats = httpx.get(srv.url + '/stats', timeout=30).json()
    print('\nload test:', json.dumps({k: v for k, v in res.items() if k != 'error_examples'}))
    assert res['errors'] == 0, res['error_examples']
    assert res['requests'] == res['ok'] + res['rejected_503'] and res['ok'] >= 2 * 32  # throughput is reported, not judged
    assert 58 <= res['duration_s'] < 75  # it stops by itself
    assert stats['queries']['queries'] == res['ok']  # every answered request was a real query
