"""The store contract, checked the same way on both stores: `SQLiteStore` (a file) and `PostgresStore` (a real
PostgreSQL server, see `pg_server` in conftest). `Memory`, the orchestrator and the app use only these methods."""
import json
import numpy as np
import pytest

from ruvllm.config import MemoryConfig
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory
from ruvllm.store import Edge, Node, STORE_CONTRACT, open_store
from ruvllm.types import EdgeType, InvalidInputError, NodeType


@pytest.fixture(params=['sqlite', 'postgresql'])
def spec(request, tmp_path):
    "The `memory.store` value for each store: 'sqlite', or the URL of a fresh PostgreSQL database."
    return 'sqlite' if request.param == 'sqlite' else request.getfixturevalue('pg_url')


@pytest.fixture
def store(spec, tmp_path):
    s = open_store(spec, tmp_path)
    yield s
    s.close()


def _node(text, ns='global', typ=NodeType.FACT): return Node(0, typ, text, ns)


def test_every_contract_method_exists(store):
    assert [m for m in STORE_CONTRACT if not callable(getattr(store, m, None))] == []
    assert store.kind in ('sqlite', 'postgresql') and len(store.store_id) == 32


def test_nodes_round_trip_and_flags(store):
    with store.tx():
        a = store.insert_node(Node(0, NodeType.FACT, "one", 'global', 'src', 1.0, 2.0, 0, 0.7, False, None, {'k': [1]}), np.arange(4), store.next_slot())
        b = store.insert_node(_node("two", 'alice', NodeType.QAPAIR), np.ones(4), store.next_slot())
        store.set_archived([b], True); store.touch_nodes([a], at=5.0)
    got = store.get_nodes([a, b, 999])
    assert set(got) == {a, b}
    assert (got[a].text, got[a].source, got[a].quality, got[a].metadata, got[a].last_access, got[a].access_count) == ('one', 'src', 0.7, {'k': [1]}, 5.0, 1)
    assert got[b].archived and got[b].type == NodeType.QAPAIR
    assert store.slot_rows() == [(a, 1, 'global', 'Fact', 0, 0), (b, 2, 'alice', 'QAPair', 1, 0)]
    slots, vecs = store.vectors_after(0)
    assert slots == [1, 2] and np.array_equal(vecs[0], np.arange(4, dtype=np.float32))
    assert store.max_slot() == 2 and store.live_counts('type') == {'Fact': 1} and store.live_counts('namespace') == {'global': 1}
    with store.tx():
        store.mark_superseded(a, b)
        store.update_fields(b, text="deux", quality=0.9, metadata={'x': 1}, slot=store.next_slot(), vector=np.full(4, 2.0))
    assert store.get_nodes([a])[a].superseded_by == b and store.get_nodes([a])[a].archived
    nb = store.get_nodes([b])[b]
    assert (nb.text, nb.quality, nb.metadata) == ('deux', 0.9, {'x': 1})
    assert store.vectors_after(2)[0] == [3]
    with pytest.raises(InvalidInputError, match="groups by 'type' or 'namespace', got 'text'"):
        store.live_counts('text')


def test_a_transaction_that_cannot_begin_leaves_the_store_usable(store):
    "A transaction opened inside another (SQLite refuses it) must not keep the store's lock: another thread still reads."
    import threading
    try:
        with store.tx():
            with store.tx(): store.put('nested', b'1')
    except Exception: pass  # SQLite: "cannot start a transaction within a transaction"; PostgreSQL nests it
    got = []
    t = threading.Thread(target=lambda: got.append(store.get('nested')), daemon=True); t.start(); t.join(10)
    assert not t.is_alive() and got in ([None], [b'1'])


def test_a_failed_transaction_writes_nothing(store):
    with pytest.raises(ValueError, match='boom'):
        with store.tx():
            store.insert_node(_node("lost"), np.ones(4), store.next_slot()); raise ValueError('boom')
    assert store.get_nodes([1]) == {} and store.max_slot() == 0 and store.change_seq() == 0


def test_lexical_search_filters_and_ranks(store):
    with store.tx():
        ids = [store.insert_node(_node(f"the server was rebooted on day {i}", 'notes'), np.ones(4), store.next_slot()) for i in range(8)]
        rare = store.insert_node(_node("zorblatt is the admin password", 'notes'), np.ones(4), store.next_slot())
        both = store.insert_node(_node("the server zorblatt", 'notes'), np.ones(4), store.next_slot())
        other = store.insert_node(_node("zorblatt elsewhere", 'alice', NodeType.QAPAIR), np.ones(4), store.next_slot())
    top = [i for i, _ in store.lexical_search("server zorblatt", 3, namespaces=['notes'])]
    assert top[:2] == [both, rare]  # the rare word counts for more than the common one
    assert [i for i, _ in store.lexical_search("zorblatt", 5, types=['QAPair'])] == [other]
    with store.tx(): store.set_archived([rare], True)
    assert rare not in [i for i, _ in store.lexical_search("zorblatt", 5)]
    assert rare in [i for i, _ in store.lexical_search("zorblatt", 5, include_archived=True)]
    with store.tx(): store.update_fields(both, text="renamed entirely")
    assert [i for i, _ in store.lexical_search("renamed", 5)] == [both]
    for q in ['"foo" OR bar*', 'NEAR(', "o'ne", 'a & b | !c', 'x:*', '(one', '', 'the and of']:
        assert isinstance(store.lexical_search(q, 5), list)  # query syntax is read as words: never an error


def test_edges_kv_events_records(store):
    with store.tx():
        a = store.insert_node(_node("a"), np.ones(4), store.next_slot()); b = store.insert_node(_node("b"), np.ones(4), store.next_slot())
        store.upsert_edge(Edge(a, b, EdgeType.CITES, 0.4), decayed_at=0.0)
        store.upsert_edge(Edge(a, b, EdgeType.CITES, 0.7, uses=3), decayed_at=1.0)
        store.upsert_edge(Edge(a, b, EdgeType.SAME_TOPIC, 0.2), decayed_at=0.0)
    assert sorted((t, w, u, da) for _, _, t, w, _, _, u, da in store.all_edges()) == [('Cites', 0.7, 3, 1.0), ('SameTopic', 0.2, 0, 0.0)]
    assert [r[2:4] for r in store.edge_rows([(a, b, 'Cites'), (b, a, 'Cites')])] == [('Cites', 0.7)]
    store.put('router', b'\x00\x01'); store.put('router', b'\x02')
    assert store.get('router') == b'\x02' and store.get('nope') is None
    for i in range(3): store.log_event('loop', dict(loop='A', i=i))
    store.log_event('feedback', dict(quality=1.0))
    assert [e['i'] for e in store.events('loop', limit=2)] == [1, 2] and len(store.events()) == 4
    store.put_request_record('r1', dict(request_id='r1', query='first'))
    store.put_request_record('r2', json.dumps(dict(request_id='r2', query='second')))
    store.put('req:bad', b'{not json')
    assert {r['request_id'] for r in store.request_records()} == {'r1', 'r2'}
    assert store.request_record('r1')['query'] == 'first' and store.request_record('zz') is None
    assert [r['id'] for r in store.node_rows()] == [a, b] and [r['id'] for r in store.node_rows(limit=1)] == [b]
    assert store.node_rows(namespace='nope') == [] and store.q('SELECT COUNT(*) FROM nodes WHERE id > ?', (a,)) == [(1,)]



def test_prune_events_deletes_one_kind_up_to_a_bound_and_records_how_far(store):
    "The cache's log is pruned up to its saved copy (`through`) once old enough (`before`); other kinds and newer events stay."
    import time
    ids = [store.log_event('cache', dict(i=i)) for i in range(5)]
    loop = store.log_event('loop', dict(loop='A'))
    assert store.events_horizon('cache') == 0
    assert store.prune_events('cache', through=ids[2], before=time.time() + 60) == 3
    assert [e['i'] for e in store.events_after('cache', 0)] == [3, 4] and store.events_horizon('cache') == ids[2]
    assert [e['id'] for e in store.events('loop')] == [loop] and store.events_horizon('loop') == 0
    assert store.prune_events('cache', through=ids[4], before=0.0) == 0  # none logged before then: nothing, horizon kept
    assert store.prune_events('cache', through=ids[1], before=time.time() + 60) == 0 and store.events_horizon('cache') == ids[2]  # never back

def test_upsert_edges_writes_what_upsert_edge_writes_one_by_one(store):
    "Several edges in one call (`Memory` writes a node's links and `ingest`'s Follows so): the rows and the change log of the calls one by one."
    def write(batch: bool) -> tuple:
        with store.tx():
            a, b, c = (store.insert_node(_node(t), np.ones(4), store.next_slot()) for t in "abc")
            store.upsert_edge(Edge(a, c, EdgeType.SAME_TOPIC, 0.3), decayed_at=1.0)  # an existing edge: updated
        edges = [Edge(a, b, EdgeType.CITES, 0.4, 5.0, 6.0, 0), Edge(a, c, EdgeType.SAME_TOPIC, 0.5, 7.0, 7.0, 2),
                 Edge(a, b, EdgeType.CITES, 0.9, 8.0, 9.0, 1),  # the same edge again: the later one wins
                 Edge(b, a, EdgeType.CITES, 0.1, 3.0, 3.0, 0)]
        seq = store.change_seq()
        with store.tx():
            if batch: store.upsert_edges(edges)
            else:
                for e in edges: store.upsert_edge(e, e.created_at)
        name = {a: 'a', b: 'b', c: 'c'}
        rows = sorted((name[r[0]], name[r[1]], *r[2:]) for r in store.all_edges() if r[0] in name)
        return rows, [(name[s_], name[d], t) for _, _, s_, d, t in store.changes_after(seq)]
    one_by_one, together = write(False), write(True)
    assert together == one_by_one
    assert together[0] == [('a', 'b', 'Cites', 0.9, 5.0, 9.0, 1, 8.0), ('a', 'c', 'SameTopic', 0.5, 0.0, 7.0, 2, 7.0),  # created before: kept
                           ('b', 'a', 'Cites', 0.1, 3.0, 3.0, 0, 3.0)]
    assert together[1] == [('a', 'b', 'Cites'), ('a', 'c', 'SameTopic'), ('a', 'b', 'Cites'), ('b', 'a', 'Cites')]


def test_change_log(store):
    assert store.change_seq() == 0
    with store.tx():
        a = store.insert_node(_node("a"), np.ones(4), store.next_slot()); b = store.insert_node(_node("b"), np.ones(4), store.next_slot())
    seq = store.change_seq()
    with store.tx():
        store.touch_nodes([a], at=9.0)  # access statistics are not logged
        store.upsert_edge(Edge(a, b, EdgeType.CITES, 0.4), decayed_at=0.0)
        store.set_archived([b], True)
    assert [r[1:] for r in store.changes_after(seq)] == [(None, a, b, 'Cites'), (b, None, None, None)]
    assert [r[1] for r in store.changes_after(0, limit=2)] == [a, b]
    st = store.node_states([b, a])
    assert [s[:6] for s in st] == [(a, 1, 'global', 'Fact', False, False), (b, 2, 'global', 'Fact', True, False)]
    assert st[0][6].dtype == np.float32 and st[0][6].shape == (4,)


def test_memory_runs_on_either_store(spec, tmp_path):
    cfg = MemoryConfig(store=spec, sync_interval_s=0)
    emb = HashingEmbedder(dim=64)
    with Memory.open(tmp_path / 'm', emb, cfg) as mem:
        paris = mem.add_node("Paris is the capital of France.", 'Fact')
        eiffel = mem.add_node("The Eiffel Tower stands in Paris.", 'Fact')
        mem.add_edge(paris, eiffel, 'SameTopic', 0.8)
        fixed = mem.update_node(eiffel, text="The Eiffel Tower is in Paris, France.")
        assert fixed.text.endswith('France.') and mem.search("capital of France", k=1)[0].node.id == paris
        assert [h.node.id for h in mem.lexical_search("Eiffel tower")] == [eiffel]
    with Memory.open(tmp_path / 'm', emb, cfg) as mem:  # reopened: snapshot + store agree
        assert mem.replayed == 0 and mem.edge(paris, eiffel, 'SameTopic').weight == 0.8
        assert sorted(mem.live_ids().tolist()) == [paris, eiffel]


def test_migrate_a_sqlite_directory_into_postgresql_and_back(tmp_path, pg_url):
    from ruvllm.cli import run_cli
    emb = HashingEmbedder(dim=64)
    with Memory.open(tmp_path / 'src', emb) as mem:
        ids = mem.ingest([f"note {i}: the {['red', 'green', 'blue'][i % 3]} box holds {i} marbles" for i in range(50)], progress=False)
        mem.add_edge(ids[0], ids[1], 'Cites', 0.9); mem.archive(ids[2:4]); mem.supersede(ids[5], ids[6])
        mem.store.put_request_record('r1', dict(request_id='r1', query='q'))
        before = [h.node.id for h in mem.search("blue box marbles", k=5)]
    code, out, err = run_cli(['migrate', str(tmp_path / 'src'), pg_url])
    assert code == 0 and out.startswith('copied 50 nodes'), (out, err)
    cfg = MemoryConfig(store=pg_url, sync_interval_s=0)
    with Memory.open(tmp_path / 'replica', emb, cfg) as mem:  # no snapshot: the index is built from the stored vectors
        assert [h.node.id for h in mem.search("blue box marbles", k=5)] == before
        assert mem.is_archived(ids[2]) and mem.get(ids[5]).superseded_by == ids[6] and mem.edge(ids[0], ids[1], 'Cites').weight == 0.9
        assert mem.store.request_record('r1') == dict(request_id='r1', query='q')
        assert mem.add_node("written after the copy") == max(ids) + 1
    code, out, err = run_cli(['migrate', pg_url, str(tmp_path / 'back')])
    assert code == 0 and out.startswith('copied 51 nodes'), (out, err)
    code, out, err = run_cli(['migrate', str(tmp_path / 'src'), pg_url])
    assert code == 1 and 'the destination already holds nodes' in err


def test_a_process_behind_the_pruned_change_log_reloads_from_the_store(spec, tmp_path):
    cfg = MemoryConfig(store=spec, sync_interval_s=0, change_log_keep=3)
    emb = HashingEmbedder(dim=64)
    da, db = (tmp_path / 'd', tmp_path / 'd') if spec == 'sqlite' else (tmp_path / 'a', tmp_path / 'b')
    with Memory.open(da, emb, cfg) as a, Memory.open(db, emb, cfg) as b:
        ids = [a.add_node(f"fact {i}: the {i}th lantern of Quorvane is {['red', 'green'][i % 2]}") for i in range(12)]
        a.add_edge(ids[0], ids[1], 'Cites', 0.6); a.archive([ids[2]])
        a.snapshot()  # prunes the log to its latest 3 rows: b, at 0, is behind the horizon
        assert a.store.changes_horizon() > 0 and len(a.store.changes_after(0)) == 3
        b.sync()
        assert sorted(b.live_ids().tolist()) == sorted(set(ids) - {ids[2]})
        assert b.search("the 7th lantern of Quorvane", k=1)[0].node.id == ids[7]
        assert b.edge(ids[0], ids[1], 'Cites').weight == 0.6


def test_a_read_and_writes_in_one_transaction_are_atomic_across_processes(spec, tmp_path):
    """A version bump (read the number, write it + 1, log it) by many threads on two store objects (two connections,
    as two processes have) at once: every bump gets its own number, none is lost, and the log reads back in order."""
    import threading
    stores = [open_store(spec, tmp_path), open_store(spec, tmp_path)]
    got, errors = [], []
    def bump(s):
        try:
            for _ in range(10):
                with s.tx():
                    n = int(s.get('version') or b'0') + 1
                    s.put('version', str(n).encode()); s.log_event('bump', dict(n=n))
                got.append(n)
        except Exception as e: errors.append(e)
    threads = [threading.Thread(target=bump, args=(stores[i % 2],)) for i in range(6)]
    for t in threads: t.start()
    for t in threads: t.join()
    try:
        assert errors == [] and sorted(got) == list(range(1, 61)), (errors, sorted(got))
        assert stores[0].get('version') == b'60'
        log = stores[1].events_after('bump', 0, limit=100)
        assert [e['n'] for e in log] == list(range(1, 61))
        assert [e['n'] for e in stores[1].events_after('bump', log[29]['id'], limit=5)] == [31, 32, 33, 34, 35]
    finally:
        for s in stores: s.close()


def test_insert_nodes_in_bulk_returns_ids_in_order_and_indexes_the_text(store):
    "The bulk insert the memory's write path uses: ids in the given order, rows by slot, lexical index filled."
    with store.tx():
        s0 = store.next_slot()
        ids = store.insert_nodes([_node(f"bulk note {i} zyxwv" if i == 1 else f"bulk note {i}", 'bulk') for i in range(4)],
                                 np.eye(4), [s0, s0 + 1, s0 + 2, s0 + 3])
        assert store.insert_nodes([], np.zeros((0, 4)), []) == []
    assert len(set(ids)) == 4 and ids == sorted(ids)
    got = store.get_nodes(ids)
    assert [got[i].text for i in ids] == ["bulk note 0", "bulk note 1 zyxwv", "bulk note 2", "bulk note 3"]
    assert [r[:2] for r in store.slot_rows()] == [(i, s0 + k) for k, i in enumerate(ids)]
    slots, vecs = store.vectors_after(s0)
    assert slots == [s0 + 1, s0 + 2, s0 + 3] and np.array_equal(vecs[0], np.eye(4, dtype=np.float32)[1])
    assert [i for i, _ in store.lexical_search("zyxwv", 5)] == [ids[1]]
    with pytest.raises(Exception):  # a slot already taken: the whole batch is refused
        with store.tx(): store.insert_nodes([_node("dup", 'bulk')] * 2, np.ones((2, 4)), [s0 + 9, s0])
    assert len(store.slot_rows()) == 4


def test_kv_write_inside_a_transaction_is_part_of_it(store):
    "The write-back queue's writer removes its hand-offs inside its records' transaction: kept or rolled back with it."
    store.kv_write({'a': b'1', 'b': b'2'})
    with pytest.raises(RuntimeError, match='rolled back'):
        with store.tx():
            store.put('c', b'3'); store.kv_write({'d': b'4'}, deletes=['a'])
            raise RuntimeError('rolled back')
    assert (store.get('a'), store.get('c'), store.get('d')) == (b'1', None, None)
    with store.tx(): store.put('c', b'3'); store.kv_write({'d': b'4'}, deletes=['a'])
    assert (store.get('a'), store.get('b'), store.get('c'), store.get('d')) == (None, b'2', b'3', b'4')
    store.kv_write(deletes=['b'])  # outside a transaction: its own, as before
    assert store.get('b') is None


def test_kv_items_reads_a_prefix_with_its_values(store):
    "What `kv_keys` lists, with the values `get` gives, in key order; a prefix, not a LIKE pattern ('_' and '%' are plain)."
    store.kv_write({'sess:b': b'2', 'sess:a': b'1', 'sessx': b'3', 'sess_%': b'4', 'other': b'5'})
    assert store.kv_items('sess:') == [(k, store.get(k)) for k in store.kv_keys('sess:')] == [('sess:a', b'1'), ('sess:b', b'2')]
    assert store.kv_items('sess_') == [('sess_%', b'4')] and store.kv_items('none:') == []
