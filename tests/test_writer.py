"""Loop A's writer: one search serves the duplicate check and the links, and a new Q&A node is written with its edges in
one transaction. The resulting memory is the one the two-search, two-transaction write-back made."""
import numpy as np
import pytest

from ruvllm.config import LearningConfig, MemoryConfig
from ruvllm.embedding import WordLlamaEmbedder
from ruvllm.learning import LoopA, RequestRecord, answer_part
from ruvllm.memory import Memory
from ruvllm.types import EdgeType, NodeType, UnknownIdError, InvalidInputError

DOCS = [("The Zorblat river flows through the city of Quenby.", 'global'),
        ("Quenby is famous for its glass bridges over the Zorblat.", 'global'),
        ("The Quenby tower is 212 metres tall.", 'global'),
        ("Glass bridges in Quenby were built in 1921.", 'team'),
        ("The Zorblat river floods Quenby every spring.", 'team'),
        ("Quenby's mayor opened the glass museum in 1990.", 'team'),
        ("The team meets in the Quenby tower on Mondays.", 'team')]

# (request id, namespace, question, answer, used doc positions): new answers, the same answer again (a near copy),
# a replay of a request, the same question with another answer, namespaced requests that also see `global` nodes
WRITES = [('r1', 'global', "Which river flows through Quenby?", "The Zorblat river flows through Quenby.", [0]),
          ('r2', 'team', "When were the glass bridges in Quenby built?", "They were built in 1921.", [3, 1]),
          ('r3', 'global', "Which river flows through Quenby?", "The Zorblat river flows through Quenby.", [0, 1]),
          ('r3', 'global', "Which river flows through Quenby?", "The Zorblat river flows through Quenby.", [0, 1]),
          ('r4', 'team', "When does the Zorblat flood Quenby?", "Every spring.", [4]),
          ('r5', 'team', "Which river flows through Quenby?", "The Zorblat.", [0, 4]),
          ('r6', 'team', "When were the glass bridges in Quenby built?", "They were built in 1921.", [3]),
          ('r7', 'global', "How tall is the Quenby tower?", "The Quenby tower is 212 metres tall.", [2]),
          ('r8', 'team', "Where does the team meet?", "In the Quenby tower, on Mondays.", [6, 2]),
          ('r9', 'global', "Which river flows through Quenby?", "The Zorblat river, which floods every spring.", [0]),
          ('r10', 'team', "Which river flows through Quenby?", "The Zorblat river flows through Quenby.", [0])]  # global has it


def two_search_write_back(mem: Memory, lc: LearningConfig, rec: RequestRecord, quality: float,
                          neighbour_similarity: float, max_neighbours: int) -> int | None:
    "Test double: Loop A's write-back as it was before this change (a duplicate search, the insert, then a second search and the edges)."
    if quality < lc.quality_threshold or not rec.answer.strip(): return None
    text, used = LoopA.qa_text(rec.query, rec.answer), list(rec.used_ids)
    vec = mem.check_vector(mem.embedder.embed([text], kind='passage')[0])
    dup = mem.find_duplicate(vec, namespace=rec.namespace, types=[NodeType.QAPAIR])
    if dup is not None and answer_part(dup.node.text).lower() == answer_part(rec.answer).lower():
        nid, md = dup.node.id, dup.node.metadata
        if rec.request_id not in md.get('request_ids', []):
            mem.update_node(nid, quality=max(dup.node.quality, quality),
                            metadata={**md, 'request_ids': (md.get('request_ids', []) + [rec.request_id])[-lc.qa_request_ids:]})
            mem.touch([nid])
    else:
        nid = mem.add_node(text, NodeType.QAPAIR, namespace=rec.namespace, source='loopA', vector=vec, quality=quality,
                           metadata={'query': rec.query, 'answer': rec.answer, 'request_ids': [rec.request_id],
                                     **({'unrated': True} if rec.feedback is None else {})})  # (a self-estimate: marked since)
    w = lc.initial_edge_weight
    links = [(nid, u, EdgeType.CITES, w) for u in used if u != nid]
    close = [h for h in mem.search(mem.vectors([nid])[0], k=max_neighbours + 1 + len(used), namespace=rec.namespace)
             if h.node.id != nid and h.node.id not in used and h.similarity >= neighbour_similarity
             and h.node.namespace == rec.namespace]
    links += [(nid, h.node.id, EdgeType.SAME_TOPIC, w) for h in close[:max_neighbours]]
    live = [l for l in links if mem.exists(l[1]) and not mem.graph.has_edge(l[0], l[1], key=l[2].value)]
    if live: mem.add_edges(live)
    return nid


def state(mem: Memory) -> tuple:
    "The memory's nodes and edges, without their timestamps."
    nodes = mem.get_many(range(1, 200))
    return ({i: (n.type, n.text, n.namespace, n.source, n.quality, n.archived, n.metadata) for i, n in nodes.items()},
            sorted((e.src, e.dst, e.type.value, e.weight) for i in nodes for e in mem.edges_of(i) if e.src == i))


def fresh(path, emb) -> tuple[Memory, list[int]]:
    mem = Memory.open(path, emb, MemoryConfig())
    return mem, [mem.add_node(t, NodeType.FACT, namespace=ns) for t, ns in DOCS]


@pytest.mark.parametrize('neighbour_similarity,max_neighbours', [(0.3, 3), (0.5, 1), (0.0, 6)])
def test_one_search_write_back_leaves_the_memory_the_two_search_write_back_left(tmp_path, neighbour_similarity, max_neighbours):
    emb, lc = WordLlamaEmbedder(), LearningConfig(quality_threshold=0.5)
    new, ids = fresh(tmp_path / 'new', emb)
    old, ids_old = fresh(tmp_path / 'old', emb)
    assert ids == ids_old
    loop = LoopA(new, lc, neighbour_similarity=neighbour_similarity, max_neighbours=max_neighbours)
    got, want = [], []
    for rid, ns, q, a, used in WRITES:
        rec = dict(request_id=rid, query=q, answer=a, namespace=ns, used_ids=[ids[i] for i in used])
        got.append(loop.write_back(RequestRecord(**rec), 0.8))
        want.append(two_search_write_back(old, lc, RequestRecord(**rec), 0.8, neighbour_similarity, max_neighbours))
    assert got == want
    assert len(set(got)) < len(got)  # near copies were refreshed, not written again
    s_new, s_old = state(new), state(old)
    assert s_new == s_old
    assert any(t == 'SameTopic' for _, _, t, _ in s_new[1]) and any(t == 'Cites' for _, _, t, _ in s_new[1])
    new.close(); old.close()


def test_a_new_node_and_its_links_are_written_together_or_not_at_all(tmp_path):
    mem, ids = fresh(tmp_path / 'm', WordLlamaEmbedder())
    n = len(mem)
    with pytest.raises(UnknownIdError): mem.add_node("A node linked to nothing real.", links=[(ids[0], 'Cites', 0.5), (9999, 'Cites', 0.5)])
    with pytest.raises(InvalidInputError): mem.add_node("A node with a bad edge weight.", links=[(ids[0], 'Cites', 1.5)])
    assert len(mem) == n  # nothing written
    nid = mem.add_node("The Zorblat is 80 km long.", links=[(ids[0], 'SameTopic', 0.4), (ids[4], EdgeType.CITES, 0.6)])
    test = {(e.src, e.dst, e.type.value, e.weight) for e in mem.edges_of(nid)}
    assert test == {(nid, ids[0], 'SameTopic', 0.4), (nid, ids[4], 'Cites', 0.6)}
    mem.close()
    again = Memory.open(tmp_path / 'm', WordLlamaEmbedder())  # durable: the edges come back from the store
    assert {(e.src, e.dst, e.type.value, e.weight) for e in again.edges_of(nid)} == test
    again.close()


def test_reserving_room_in_the_index_changes_no_search_and_no_later_insert():
    from ruvllm.hnsw import HNSWIndex
    rng = np.random.default_rng(4)
    X, Y, Q = (rng.standard_normal((n, 32)).astype(np.float32) for n in (300, 40, 20))
    plain, reserved = HNSWIndex(32, M=8, ef_construction=40), HNSWIndex(32, M=8, ef_construction=40)
    plain.add(X); reserved.add(X)
    before = [reserved.search(q, k=5) for q in Q]
    reserved.reserve(); reserved.reserve(1000)
    assert len(reserved) == len(plain) == 300
    for q, (i, d) in zip(Q, before):
        i2, d2 = reserved.search(q, k=5); assert i2.tolist() == i.tolist() and np.allclose(d2, d)
    plain.add(Y); reserved.add(Y)  # the same seed and the same adds: the same graph, room or not
    for q in Q:
        a, b = plain.search(q, k=8), reserved.search(q, k=8)
        assert a[0].tolist() == b[0].tolist() and np.allclose(a[1], b[1])
    with pytest.raises(Exception): reserved.reserve(-1)


def test_nearest_gives_the_nodes_similarities_and_order_search_gives(tmp_path):
    "Loop A's neighbour search builds no node (`Memory.nearest`); what it reads of each hit is what `search` gives."
    rng = np.random.default_rng(3)
    mem = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), MemoryConfig(exact_scan_factor=0.0))  # the graph walk, as at 100k
    words = "river bridge tower glass flood museum mayor spring metres city".split()
    types = [NodeType.FACT, NodeType.QAPAIR, NodeType.DOCUMENT]
    ids = mem.add_nodes([dict(text=' '.join(rng.choice(words, 6)) + f' {i}', type=types[i % 3],
                              namespace=['global', 'team', 'alice'][i % 5 % 3]) for i in range(300)])
    mem.archive(ids[::7])
    mem.update_node(ids[1], text="The glass river tower of Quenby.")  # a new vector: the node moves to another slot
    queries = [mem.embed_query(' '.join(rng.choice(words, 4))) for _ in range(30)] + [mem.vectors([ids[1]])[0]]
    seen = set()
    for v in queries:
        for kw in (dict(k=9), dict(k=4, namespace='team'), dict(k=12, namespace='alice', types=[NodeType.QAPAIR]),
                   dict(k=6, include_archived=True)):
            want = [(h.node.id, h.similarity, h.node.type, h.node.namespace) for h in mem.search(v, **kw)]
            assert [tuple(h) for h in mem.nearest(v, **kw)] == want
            seen.update((t, ns) for _, _, t, ns in want)
    assert {NodeType.QAPAIR, NodeType.FACT} <= {t for t, _ in seen} and {'team', 'global'} <= {ns for _, ns in seen}
    mem.close()


# more requests for the batched write-back: distinct subjects (written together), one below the quality threshold, one empty
MORE = [('m1', 'global', "Who opened the glass museum?", "Quenby's mayor opened it in 1990.", [5], 0.8),
        ('m2', 'team', "What does the Zorblat do every spring?", "It floods Quenby.", [4], 0.8),
        ('m3', 'global', "How tall is the tower?", "It is tall.", [2], 0.3),
        ('m4', 'team', "Where do we meet on Mondays?", "", [6], 0.9),
        ('m5', 'team', "Who opened the glass museum?", "Quenby's mayor opened it in 1990.", [5], 0.8)]


@pytest.mark.parametrize('neighbour_similarity,max_neighbours,per_commit', [(0.8, 3, 8), (0.8, 3, 2), (0.3, 3, 8), (0.0, 6, 8)])
def test_the_batched_write_back_leaves_the_memory_one_write_back_per_request_leaves(tmp_path, neighbour_similarity, max_neighbours, per_commit):
    "`write_back_many` gives the ids, nodes and edges of one `write_back` per request, with new QAPairs written several to a transaction."
    emb, lc = WordLlamaEmbedder(), LearningConfig(quality_threshold=0.5, qa_nodes_per_commit=per_commit)
    one, ids = fresh(tmp_path / 'one', emb)
    many, _ = fresh(tmp_path / 'many', emb)
    recs = lambda: [(RequestRecord(request_id=rid, query=q, answer=a, namespace=ns, used_ids=[ids[i] for i in used]), quality)
                    for rid, ns, q, a, used, quality in [w + (0.8,) for w in WRITES] + MORE]
    want = [LoopA(one, lc, neighbour_similarity=neighbour_similarity, max_neighbours=max_neighbours).write_back(r, q) for r, q in recs()]
    sizes, add_nodes = [], many.add_nodes
    def counting_add_nodes(items, links=None): sizes.append(len(items)); return add_nodes(items, links=links)  # test double: counts transactions
    many.add_nodes = counting_add_nodes
    batch = recs()
    got = LoopA(many, lc, neighbour_similarity=neighbour_similarity, max_neighbours=max_neighbours).write_back_many(iter(batch))
    assert got == want and [r.qa_node for r, _ in batch] == want
    assert want[-3:-1] == [None, None]  # below the threshold, and an empty answer: nothing written
    assert state(many) == state(one)
    assert sum(sizes) == len({n for n in want if n is not None})  # each new QAPair written once
    if neighbour_similarity == 0.8: assert 1 < max(sizes) <= per_commit, sizes  # (the default) new QAPairs shared a transaction, at most per_commit
    one.close(); many.close()
