"""Several processes, one memory: replicas on one PostgreSQL database, and processes on one SQLite directory.
Each process keeps its index and graph in RAM and catches up from the store's change log; these tests run real
processes against a real PostgreSQL server (see `pg_server` in conftest) and check what one writes the other finds,
within the bound, and that kill -9 loses no acknowledged write."""
import json, os, random, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest

from ruvllm import Config, Feedback, RuvLLM
from ruvllm.config import MemoryConfig
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory

WORKER = textwrap.dedent(r'''
    import json, sys
    from ruvllm import Config, Feedback, RuvLLM
    llm = RuvLLM(Config.load(), start_scheduler=False)  # configured by RUVLLM_* variables
    print(json.dumps({'ready': True}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd['op'] == 'add': out = llm.memory.add_node(cmd['text'], 'Fact', namespace=cmd.get('namespace', 'global'))
            elif cmd['op'] == 'search': out = [h.node.id for h in llm.memory.search(cmd['q'], k=3, namespace=cmd.get('namespace'))]
            elif cmd['op'] == 'lexical': out = [h.node.id for h in llm.memory.lexical_search(cmd['q'], k=3)]
            elif cmd['op'] == 'query': r = llm.query(cmd['q']); out = dict(request_id=r.request_id, text=r.text, cached=r.cached)
            elif cmd['op'] == 'sync': out = llm.memory.sync()  # a catch-up now (the background one runs every sync_interval_s)
            elif cmd['op'] == 'cache': out = [llm.cache.entry_record(i, vectors=False) for i in llm.cache.entry_versions()]
            elif cmd['op'] == 'promote':  # stands in for Loop B promoting a router: new weights, published
                p = {k: v.copy() for k, v in llm.router.params.items()}; p['b_z'] = p['b_z'] + cmd['shift']
                llm.router.set_params(p); out = dict(version=llm.publish('router'), b_z=float(p['b_z'].sum()))
            elif cmd['op'] == 'router': out = dict(b_z=float(llm.router.params['b_z'].sum()), versions=llm.state_versions())
            elif cmd['op'] == 'feedback': out = llm.feedback(Feedback(cmd['request_id'], rating=cmd['rating'], correction=cmd.get('correction')))
            print(json.dumps({'ok': out}, default=str), flush=True)
        except Exception as e:
            print(json.dumps({'error': f'{type(e).__name__}: {e}'}), flush=True)
    llm.close()
''')


def _env(db_path, store, **extra):
    env = dict(os.environ, RUVLLM_SYSTEM__DB_PATH=str(db_path), RUVLLM_MEMORY__STORE=store,
               RUVLLM_EMBEDDING__MODEL='hashing', RUVLLM_EMBEDDING__DIM='64', RUVLLM_MEMORY__SYNC_INTERVAL_S='0.1',
               RUVLLM_INFERENCE__TIERS='{"tiny": "extractive"}', RUVLLM_ROUTER__SAFE_TIER='tiny', RUVLLM_CACHE__ENABLED='false')
    env.update(extra)
    return env


class Worker:
    "A RuvLLM in another process, driven by JSON lines."
    def __init__(self, env, script=WORKER):
        self.p = subprocess.Popen([sys.executable, '-c', script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        line = self.p.stdout.readline()
        assert json.loads(line) == {'ready': True}, line
    def __call__(self, **cmd):
        self.p.stdin.write(json.dumps(cmd) + '\n'); self.p.stdin.flush()
        out = json.loads(self.p.stdout.readline())
        assert 'error' not in out, out['error']
        return out['ok']
    def close(self):
        self.p.stdin.close(); assert self.p.wait(timeout=60) == 0


@pytest.fixture(params=['sqlite', 'postgresql'])
def store(request):
    "`memory.store` for both cases: one shared SQLite directory, or one PostgreSQL database (each replica its own directory)."
    return 'sqlite' if request.param == 'sqlite' else request.getfixturevalue('pg_url')


def _dirs(tmp_path, store):
    "Replica directories: the same one for SQLite (it holds the shared file), one each for PostgreSQL."
    return (tmp_path / 'd', tmp_path / 'd') if store == 'sqlite' else (tmp_path / 'a', tmp_path / 'b')


def test_a_node_written_through_one_replica_is_found_on_the_other_within_1s(tmp_path, store):
    da, db = _dirs(tmp_path, store)
    a, b = Worker(_env(da, store)), Worker(_env(db, store))
    try:
        for w in (a, b): w(op='add', text=f"warm-up {id(w)}"); w(op='search', q="warm-up")  # compile the index's kernels first
        for i in range(3):
            text = f"Deployment {i}: the blue-green switch for cluster zeta{i} happens at 0{i}:30 UTC."
            t0 = time.monotonic()
            nid = a(op='add', text=text)
            while nid not in b(op='search', q=text) and time.monotonic() - t0 < 5: time.sleep(0.01)
            elapsed = time.monotonic() - t0
            assert nid in b(op='search', q=text) and elapsed < 1.0, f"found after {elapsed:.2f} s"
            assert nid in b(op='lexical', q=f"zeta{i} switch")
        # tenants stay apart across replicas: a node in namespace alice is not found from namespace bob
        secret = a(op='add', text="Alice's locker code is 4711.", namespace='alice')
        time.sleep(0.5)
        assert secret in b(op='search', q="locker code 4711", namespace='alice')
        assert secret not in b(op='search', q="locker code 4711", namespace='bob')
    finally:
        a.close(); b.close()


def test_feedback_on_one_replica_for_an_answer_from_the_other(tmp_path, store):
    da, db = _dirs(tmp_path, store)
    a, b = Worker(_env(da, store)), Worker(_env(db, store))
    try:
        a(op='add', text="The office wifi password is hunter2.")
        r = a(op='query', q="What is the office wifi password?")
        out = b(op='feedback', request_id=r['request_id'], rating=1, correction="The office wifi password is swordfish9.")
        assert out['correction_node'] is not None
        t0 = time.monotonic()
        while out['correction_node'] not in a(op='lexical', q="wifi password swordfish9") and time.monotonic() - t0 < 5: time.sleep(0.05)
        assert out['correction_node'] in a(op='lexical', q="wifi password swordfish9")
        with pytest.raises(AssertionError, match='already given'):  # counted once, whichever replica is asked again
            b(op='feedback', request_id=r['request_id'], rating=5)
        with pytest.raises(AssertionError, match='already given'):  # A answered it and holds its unrated record in RAM
            a(op='feedback', request_id=r['request_id'], rating=5)
        r2 = a(op='query', q="What is the office wifi password?")  # rated on A first, then refused on B
        assert a(op='feedback', request_id=r2['request_id'], rating=4)['correction_node'] is None
        with pytest.raises(AssertionError, match='already given'):
            b(op='feedback', request_id=r2['request_id'], rating=2)
        r3 = a(op='query', q="What is the office wifi password?")  # both asked at once: one learns, the other refuses
        for w, rating in ((a, 5), (b, 4)): w.p.stdin.write(json.dumps(dict(op='feedback', request_id=r3['request_id'], rating=rating)) + '\n'); w.p.stdin.flush()
        outs = [json.loads(w.p.stdout.readline()) for w in (a, b)]
        assert sorted('already given' in o.get('error', '') for o in outs) == [False, True], outs
        r4 = a(op='query', q="What is the office wifi password?")  # the same feedback on both at once (a client's retry): one learns,
        for w in (a, b): w.p.stdin.write(json.dumps(dict(op='feedback', request_id=r4['request_id'], rating=5)) + '\n'); w.p.stdin.flush()
        outs = [json.loads(w.p.stdout.readline()) for w in (a, b)]  # the other cannot know whether it did: refused, never `repeated`
        assert sorted('already given' in o.get('error', '') for o in outs) == [False, True], outs
        learned = a if 'ok' in outs[0] else b
        assert learned(op='feedback', request_id=r4['request_id'], rating=5) == {'repeated': True, 'edges': {}}  # retried where it learned
    finally:
        a.close(); b.close()


WRITER = textwrap.dedent(r'''
    import sys
    from ruvllm.memory import Memory
    from ruvllm.embedding import HashingEmbedder
    from ruvllm.config import MemoryConfig
    path, store, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mem = Memory.open(path, HashingEmbedder(dim=64), MemoryConfig(store=store, snapshot_every=7, sync_interval_s=0.1))
    print("READY", flush=True)
    prev = None
    for step in range(100000):
        i = mem.add_node(f"fact {seed}-{step}: item {step * 7919 % 10007} weighs {step % 97} grams", "Fact")
        if prev is not None: mem.add_edge(prev, i, "Follows", 0.5)
        print("NODE", i, flush=True); prev = i
''')


def test_kill9_of_a_writer_loses_no_acknowledged_write_and_the_other_process_agrees(tmp_path, store):
    """Two writers on one store, one of them killed with SIGKILL at a random moment, several times: every node
    it acknowledged is present through the surviving process (after catching up) and after a reopen, and that
    process's slot table, index and graph agree with the store."""
    da, db = _dirs(tmp_path, store)
    cfg = MemoryConfig(store=store, sync_interval_s=0.1)
    rng, acked = random.Random(7), set()
    with Memory.open(db, HashingEmbedder(dim=64), cfg) as survivor:
        for trial in range(4):
            p = subprocess.Popen([sys.executable, '-c', WRITER, str(da), store, str(trial)], stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == 'READY'
            mine = survivor.add_node(f"survivor's note {trial}", 'Fact')  # writes interleave with the writer's
            time.sleep(rng.uniform(0.2, 0.8))
            os.kill(p.pid, signal.SIGKILL); p.wait()
            lines = p.stdout.read().split('\n')[:-1]  # complete lines only: a kill can cut the last one (a full buffer flushed mid-line)
            acked |= {int(l.split()[1]) for l in lines if l.startswith('NODE ')} | {mine}
        survivor.sync()
        _check_agrees(survivor, acked)
    with Memory.open(db, HashingEmbedder(dim=64), cfg) as reopened:
        _check_agrees(reopened, acked)


def _check_agrees(mem, acked):
    rows = mem.store.slot_rows()
    assert acked <= {r[0] for r in rows}, f"lost acknowledged nodes: {sorted(acked - {r[0] for r in rows})}"
    for (i, slot, ns, typ, archived, sup) in rows:
        assert mem.slot(i) == slot and slot in mem.index, f"node {i}: RAM disagrees with the store"
    assert set(mem.graph.nodes) == {r[0] for r in rows}
    assert mem.graph.number_of_edges() == len(mem.store.all_edges())


def test_database_restart_gives_503_then_recovers_without_restarting_the_server(tmp_path):
    "PostgreSQL stopped under a running server: requests fail with a clear 503, and succeed again once it is back."
    from fastapi.testclient import TestClient
    from ruvllm.pgstore import start_local_postgres, stop_local_postgres, fresh_database
    from ruvllm.server import create_app
    import tempfile, shutil
    d = tempfile.mkdtemp(prefix='ruvllm-test-pg-restart-')  # its own server: this test stops it
    try:
        url = fresh_database(start_local_postgres(d))
        cfg = (Config.builder().db_path(tmp_path / 'r').set('memory.store', url).set('memory.pg_timeout_s', 2.0)
               .set('embedding.model', 'hashing').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
               .set('learning.enabled', False).build())
        with TestClient(create_app(cfg, autosave_s=0)) as c:
            assert c.post('/ingest', json={'items': ["The Zorblat river flows through Quenby."]}).status_code == 200
            stop_local_postgres(d)
            r = c.post('/ingest', json={'items': ["Quenby is the capital of Marsovia."]})
            assert r.status_code == 503 and r.json()['error']['type'] == 'store_unavailable', r.text
            assert 'PostgreSQL memory' in r.json()['error']['message'] and r.headers['Retry-After'] == '2'
            start_local_postgres(d)
            for _ in range(50):  # back within a moment (under load, the first asks after the restart were refused for up to a second)
                if c.post('/ingest', json={'items': ["Quenby is the capital of Marsovia."]}).status_code == 200: break
                time.sleep(0.1)
            statuses = [c.post('/ingest', json={'items': ["Quenby is the capital of Marsovia."]}).status_code for _ in range(3)]
            assert statuses == [200, 200, 200], statuses  # a pooled connection the restart broke is checked and replaced before it is lent
            assert 'Quenby' in c.post('/query', json={'query': "What is the capital of Marsovia?"}).json()['text']
    finally:
        try: stop_local_postgres(d)
        except Exception: pass
        shutil.rmtree(d, ignore_errors=True)


def test_loops_b_and_c_run_in_one_process_at_a_time(tmp_path, store):
    "While one process holds loop C's lock (it is compressing), another process's `learn('C')` skips the round; after, it runs."
    da, db = _dirs(tmp_path, store)
    cfgs = [Config.builder().db_path(d).set('memory.store', store).set('embedding.model', 'hashing').set('embedding.dim', 64)
            .set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build() for d in (da, db)]
    with RuvLLM(cfgs[0], start_scheduler=False) as a, RuvLLM(cfgs[1], start_scheduler=False) as b:
        a.ingest([f"note {i} about the {['red', 'green'][i % 2]} lanterns of Quorvane" for i in range(30)], progress=False)
        with a.store.exclusive('loop-C') as held:
            assert held
            assert b.learn('C') == {'skipped': "loop C is running in another process on this memory"}
            assert b.learn('B') is None or 'skipped' not in b.learn('B')  # another loop's lock is free
        assert isinstance(b.learn('C'), list) and b.store.get('loop_last:C') is not None
        assert a.store.get('loop_last:C') == b.store.get('loop_last:C')  # every process sees when it last ran


def test_a_router_promoted_by_one_replica_is_used_by_the_other_within_2s(tmp_path, store):
    "Process A publishes a new router; process B, catching up in the background, reloads it (its weights change to A's)."
    da, db = _dirs(tmp_path, store)
    a, b = Worker(_env(da, store)), Worker(_env(db, store))
    try:
        before = b(op='router')['b_z']
        for shift in (0.5, -0.25):  # twice: the second version replaces the first too
            pub = a(op='promote', shift=shift)
            assert pub['b_z'] != before
            t0 = time.monotonic()
            while b(op='router')['b_z'] != pub['b_z'] and time.monotonic() - t0 < 5: time.sleep(0.02)
            elapsed = time.monotonic() - t0
            got = b(op='router')
            assert got['b_z'] == pub['b_z'] and elapsed < 2.0, f"B has {got}, A published {pub} ({elapsed:.2f} s)"
            assert got['versions']['router'] == pub['version']
            before = got['b_z']
    finally:
        a.close(); b.close()
    with RuvLLM(Config.builder().db_path(db).set('memory.store', store).set('embedding.model', 'hashing')
                .set('embedding.dim', 64).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build(),
                start_scheduler=False) as c:  # B's save on close did not overwrite the published router with an older one
        assert c.state_versions()['router'] == 2 and float(c.router.params['b_z'].sum()) == before


SERVER = textwrap.dedent(r'''
    import json, sys
    from fastapi.testclient import TestClient
    from ruvllm import Config
    from ruvllm.server import create_app
    with TestClient(create_app(Config.load(), autosave_s=0)) as c:  # one server replica, configured by RUVLLM_* variables
        print(json.dumps({'ready': True}), flush=True)
        for line in sys.stdin:
            cmd = json.loads(line)
            headers = {'Authorization': f"Bearer {cmd['key']}"} if cmd.get('key') else {}
            r = c.request(cmd['method'], cmd['path'], json=cmd.get('json'), headers=headers)
            print(json.dumps({'ok': dict(status=r.status_code, body=r.json())}), flush=True)
''')


def test_api_keys_keep_tenants_apart_across_server_replicas(tmp_path, store):
    "Two server replicas on one store, through HTTP: what alice's key ingests on A, alice's key finds on B and bob's key does not."
    keys = tmp_path / 'keys.json'
    keys.write_text(json.dumps({'alice-key-3f9a': 'alice', 'bob-key-71c2': 'bob'}))
    da, db = _dirs(tmp_path, store)
    env = lambda d: _env(d, store, RUVLLM_SERVER__API_KEYS_FILE=str(keys), RUVLLM_LEARNING__ENABLED='false')
    a, b = Worker(env(da), SERVER), Worker(env(db), SERVER)
    alice, bob = 'alice-key-3f9a', 'bob-key-71c2'
    try:
        r = a(method='POST', path='/ingest', key=alice, json={'items': ["Alice's locker code is 4711."]})
        assert r['status'] == 200 and r['body']['namespace'] == 'alice', r
        t0 = time.monotonic()
        while b(method='GET', path='/stats', key=alice)['body']['memory']['live'] < 1 and time.monotonic() - t0 < 5: time.sleep(0.05)
        assert b(method='GET', path='/stats', key=alice)['body']['memory']['live'] == 1 and time.monotonic() - t0 < 1.0
        assert b(method='GET', path='/stats', key=bob)['body']['memory']['live'] == 0
        q = {'query': "What is Alice's locker code?"}
        got = b(method='POST', path='/query', key=alice, json=q)
        assert got['status'] == 200 and '4711' in got['body']['text'], got
        other = b(method='POST', path='/query', key=bob, json=q)
        leak = json.dumps({k: v for k, v in other['body'].items() if k not in ('request_id', 'latency')})  # a random id or a timing may hold '4711' by chance
        assert other['status'] == 200 and '4711' not in leak, other  # neither the answer nor a source
        denied = b(method='POST', path='/query', key=bob, json=dict(q, namespace='alice'))
        assert denied['status'] == 403 and "reaches namespace 'bob' only" in denied['body']['error']['message'], denied
        assert b(method='GET', path='/stats')['status'] == 401  # no key, no memory
    finally:
        for w in (a, b): w.p.stdin.close(); assert w.p.wait(timeout=60) == 0


HTTP_REPLICA = textwrap.dedent(r'''
    import json, sys, threading, time, uvicorn
    from ruvllm import Config
    from ruvllm.server import create_app
    app = create_app(Config.load(), autosave_s=0)  # one server replica, configured by RUVLLM_* variables, on a real port
    llm = app.state.ruvllm.llm
    server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=int(sys.argv[1]), log_level='warning', lifespan='on'))
    t = threading.Thread(target=server.run, daemon=True); t.start()
    while not server.started: time.sleep(0.02)
    print(json.dumps({'ready': True}), flush=True)
    for line in sys.stdin:  # a side channel to look inside this replica's RAM (the HTTP API has no such endpoint)
        cmd = json.loads(line)
        try:
            mem = llm.memory
            if cmd['op'] == 'agree':  # the slot table, index, graph and live count against the store, after a catch-up
                mem.sync()
                rows = mem.store.slot_rows()
                out = dict(ids=[r[0] for r in rows], disagree=[r[0] for r in rows if mem.slot(r[0]) != r[1] or r[1] not in mem.index],
                           graph=set(mem.graph.nodes) == {r[0] for r in rows}, edges=mem.graph.number_of_edges() == len(mem.store.all_edges()),
                           live=int(len(mem.live_ids())), live_in_store=sum(1 for r in rows if not r[4] and not r[5]))
            elif cmd['op'] == 'found':  # which of these (id, text) nodes this replica's dense and lexical searches find
                out = [i for i, text in cmd['nodes'] if i in [h.node.id for h in mem.search(text, k=3)]
                       and i in [h.node.id for h in mem.lexical_search(text, k=3)]]
            elif cmd['op'] == 'ratings':  # the rating recorded in the store for each request id
                out = {rid: (llm.store.request_record(rid) or {}).get('feedback', {}) for rid in cmd['ids']}
                out = {rid: (fb or {}).get('rating') for rid, fb in out.items()}
            print(json.dumps({'ok': out}), flush=True)
        except Exception as e:
            print(json.dumps({'error': f'{type(e).__name__}: {e}'}), flush=True)
    server.should_exit = True; t.join(timeout=60)
''')


def _http_replica(env):
    from ruvllm.server import free_port
    port = free_port()
    w = Worker(env, HTTP_REPLICA.replace("int(sys.argv[1])", str(port)))
    w.url = f"http://127.0.0.1:{port}"
    return w


def _stream(url, acked, stop):
    "Ingest, query and rate through replica `url` until it dies or `stop` is set; `acked` collects what it acknowledged."
    import httpx
    with httpx.Client(base_url=url, timeout=10) as c:
        for i in range(100_000):
            if stop.is_set(): return
            text = f"Fact {i}: the relay station kv{i}x on ridge {i % 7} opens at {i % 24:02d}:15."
            try:
                r = c.post('/ingest', json={'items': [text]})
                if r.status_code == 200: acked['nodes'] += [(n, text) for n in r.json()['ids']]
                q = c.post('/query', json={'query': f"When does relay station kv{i}x open?"})
                if q.status_code != 200: continue
                rid, rating = q.json()['request_id'], 1 + i % 5
                f = c.post('/feedback', json={'request_id': rid, 'rating': rating})
                if f.status_code == 200: acked['ratings'][rid] = rating
            except httpx.HTTPError:  # the replica was killed: what it acknowledged before must survive
                return


def test_kill9_of_a_server_replica_during_ingest_and_feedback_loses_no_acknowledged_write(tmp_path, store):
    """Two server replicas (separate processes, real HTTP on loopback) on one store; a client streams ingest, query
    and feedback to A; A is killed with SIGKILL mid-stream. Every write A acknowledged (2xx) is in the store, B finds
    every acknowledged node by dense and lexical search, B's slot table, index, graph and live count agree with the
    store, and all of it holds again through A restarted on the same store."""
    import threading
    da, db = _dirs(tmp_path, store)
    env = lambda d: _env(d, store, RUVLLM_LEARNING__ENABLED='false')
    a, b = _http_replica(env(da)), _http_replica(env(db))
    acked, stop = dict(nodes=[], ratings={}), threading.Event()
    try:
        client = threading.Thread(target=_stream, args=(a.url, acked, stop)); client.start()
        t0 = time.monotonic()
        while len(acked["ratings"]) < 8 and time.monotonic() - t0 < 45: time.sleep(0.05)
        time.sleep(random.Random(3).uniform(0.1, 0.6))  # somewhere inside a request
        os.kill(a.p.pid, signal.SIGKILL); a.p.wait()
        stop.set(); client.join(timeout=30)
        assert len(acked['nodes']) >= 8 and len(acked['ratings']) >= 8, acked
        restarted = _http_replica(env(da))
        for w in (b, restarted):
            got = w(op='agree')
            assert {i for i, _ in acked['nodes']} <= set(got['ids']), "an acknowledged node is missing from the store"
            assert got['disagree'] == [] and got['graph'] and got['edges'], got
            assert got['live'] == got['live_in_store'], got
            found = set(w(op='found', nodes=acked['nodes']))
            assert found == {i for i, _ in acked['nodes']}, f"not found: {sorted({i for i, _ in acked['nodes']} - found)}"
            assert w(op='ratings', ids=list(acked['ratings'])) == acked['ratings']
        restarted.close()
    finally:
        stop.set()
        if a.p.poll() is None: a.p.kill()
        b.close()


def _cfg(d, store, **kw):
    b = (Config.builder().db_path(d).set('memory.store', store).set('embedding.model', 'hashing').set('embedding.dim', 64)
         .set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').set('learning.enabled', False))
    return b.update({k.replace('__', '.'): v for k, v in kw.items()}).build()


def test_simultaneous_publishes_take_distinct_versions(tmp_path, store):
    "Two RuvLLMs on one store publish the attention from six threads at once: 30 publishes, versions 1..30, none taken twice."
    from concurrent.futures import ThreadPoolExecutor
    da, db = _dirs(tmp_path, store)
    with RuvLLM(_cfg(da, store), start_scheduler=False) as a, RuvLLM(_cfg(db, store), start_scheduler=False) as b:
        with ThreadPoolExecutor(6) as ex:
            got = list(ex.map(lambda i: (a, b)[i % 2].publish('attention'), range(30)))
        assert sorted(got) == list(range(1, 31)), sorted(got)
        assert a.state_versions()['attention'] == 30


def test_cache_entries_and_removals_are_shared_by_replicas(tmp_path, store):
    """Each replica caches a rated answer; within 2 s both hold both entries (neither lost the other's) and B serves
    A's answer from the cache. A learns that answer is wrong: after B's next catch-up B never serves it again, and
    B's entry stays. A replica opened afterwards holds what the log says (B's entry, not the removed one)."""
    da, db = _dirs(tmp_path, store)
    env = lambda d: _env(d, store, RUVLLM_CACHE__ENABLED='true', RUVLLM_CACHE__JUDGE='none', RUVLLM_LEARNING__ENABLED='false')
    a, b = Worker(env(da)), Worker(env(db))
    qa, qb = "What is the office wifi password?", "When does the staff canteen open?"
    try:
        a(op='add', text="The office wifi password is hunter2."); b(op='add', text="The staff canteen opens at 11:45.")
        ra, rb = a(op='query', q=qa), b(op='query', q=qb)
        a(op='feedback', request_id=ra['request_id'], rating=5); b(op='feedback', request_id=rb['request_id'], rating=5)
        t0, both = time.monotonic(), lambda w: {e['query'] for e in w(op='cache')} >= {qa, qb}
        while not (both(a) and both(b)) and time.monotonic() - t0 < 5: time.sleep(0.05)
        assert both(a) and both(b) and time.monotonic() - t0 < 2.0, (a(op='cache'), b(op='cache'))
        hit = b(op='query', q=qa)
        assert hit['cached'] and hit['text'] == ra['text'], hit  # A's answer, served by B
        bad = a(op='query', q=qa)
        assert bad['cached'], bad
        a(op='feedback', request_id=bad['request_id'], rating=1)  # wrong: A removes the entry
        b(op='sync')
        assert ra['request_id'] not in {e['request_id'] for e in b(op='cache')}
        again = b(op='query', q=qa)
        assert not again['cached'], again  # answered from memory, not from the removed entry
        assert rb['request_id'] in {e['request_id'] for e in a(op='cache')}  # B's entry is still on A
    finally:
        a.close(); b.close()
    c = Worker(env(tmp_path / 'c' if store != 'sqlite' else da))
    try:
        c(op='sync')
        held = {e['request_id']: e['query'] for e in c(op='cache')}
        assert rb['request_id'] in held and ra['request_id'] not in held, held
    finally:
        c.close()
