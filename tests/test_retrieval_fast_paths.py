"""ret10: the read path of hybrid retrieval does less per query; every result must stay the same.
Each changed step is compared with what it computed before (frozen here as `reference_*`, or read from the store)."""
import random
import numpy as np
import pytest
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory, Hit
from ruvllm.hybrid import rrf_scores, retrieval_stats
from ruvllm.types import EdgeType


def reference_rrf_scores(rankings, weights=None, k=60.0):  # `rrf_scores` before ret10
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    out = {}
    for ids, w in zip(rankings, weights):
        for r, i in enumerate(ids, 1): out[i] = out.get(i, 0.0) + w / (k + r)
    return out


def _bits(d): return [(i, float(v).hex()) for i, v in d.items()]  # keys in order, values to the bit


def test_rrf_scores_is_the_reference_to_the_bit():
    rng = random.Random(10)
    for _ in range(3000):
        n_lists = rng.randint(0, 4)
        pool = rng.randint(1, 40)
        rankings = [[rng.randrange(pool) for _ in range(rng.randint(0, 30))] for _ in range(n_lists)]
        if rankings and rng.random() < 0.5: rankings[0] = list(dict.fromkeys(rankings[0]))  # no repeats: the usual first list
        weights = None if rng.random() < 0.2 else [rng.choice([0.0, 1.0, 0.25, rng.random() * 3]) for _ in rankings]
        k = rng.choice([60.0, 1.0, 0.5, 60])
        assert _bits(rrf_scores(rankings, weights, k)) == _bits(reference_rrf_scores(rankings, weights, k)), (rankings, weights, k)


@pytest.fixture
def mem(tmp_path):
    m = Memory.open(tmp_path / 'm', HashingEmbedder(dim=64))
    yield m
    m.close()


def test_get_many_reads_the_nodes_the_store_holds(mem):
    ids = mem.add_nodes([dict(text=f"note {i} about the {['harbour', 'mill', 'bridge'][i % 3]}", type=t, namespace=ns,
                              source=None if i % 2 else f"src{i}", metadata=dict(n=i, speaker='Sam') if i % 3 else {})
                         for i, (t, ns) in enumerate([('Fact', 'global'), ('Document', 'alice'), ('QAPair', 'global'),
                                                      ('Concept', 'bob'), ('Fact', 'global'), ('Document', 'global')])])
    mem.archive(ids[1:2]); mem.supersede(ids[4], ids[5]); mem.touch(ids[:3], at=1234.5)
    asked = [ids[3], ids[0], 10_000, ids[3], ids[4], ids[1], ids[2], ids[5]]  # repeats, an unknown id, archived and superseded nodes
    got = mem.get_many(asked)
    reference = mem.get_many(asked, fresh=True)  # read from the store (after the waiting accesses are written)
    assert list(got) == [ids[3], ids[0], ids[4], ids[1], ids[2], ids[5]] and got == reference
    assert got[ids[4]].superseded_by == ids[5] and got[ids[1]].archived and got[ids[0]].access_count == 1
    got[ids[2]].metadata['n'] = 'changed'  # a copy: the caller may change it
    assert mem.get(ids[2]).metadata['n'] == 2
    assert mem.get_many([]) == {} and mem.get_many(np.array(ids[:2])) == {i: mem.get(i) for i in ids[:2]}


def _propagated_both(m, seeds):  # with the `Follows` window and without it
    return m.propagate(seeds), m.propagate(seeds, window=0)


def test_the_window_lift_is_skipped_exactly_when_no_follows_edge_exists(tmp_path):
    path = tmp_path / 'w'
    with Memory.open(path, HashingEmbedder(dim=64)) as m:
        ids = m.add_nodes([dict(text=t) for t in ["apples in the orchard", "pears and apples", "a quiet day", "cherries"]])
        m.add_edge(ids[0], ids[2], EdgeType.SAME_TOPIC, 0.6)
        seeds = {ids[0]: 1.0, ids[1]: 0.5, ids[3]: 0.8}
        lifted, flat = _propagated_both(m, seeds)
        assert lifted == flat  # no `Follows` edge: the window changes nothing (the walk is skipped)
        m.add_edge(ids[1], ids[3], EdgeType.FOLLOWS, 0.5)  # the first `Follows` edge: the count must see it
        lifted, flat = _propagated_both(m, seeds)
        assert lifted != flat
    with Memory.open(path, HashingEmbedder(dim=64)) as reopened:  # nothing remembered: the walk runs
        assert _propagated_both(reopened, seeds) == (lifted, flat)


def test_subgraph_stats_are_those_of_its_hits(mem):
    ids = mem.add_nodes([dict(text=f"the {w} report number {i}") for i, w in enumerate(["harbour", "mill", "bridge", "harbour", "tower"] * 3)])
    mem.add_edge(ids[0], ids[1], EdgeType.CITES, 0.7); mem.add_edge(ids[3], ids[5], EdgeType.SAME_TOPIC, 0.4)
    for q in ["harbour report", "the mill", "bridge tower 3", "report number 7"]:
        sg = mem.hybrid_subgraph(q, k=5)
        hits = [Hit(n.node, n.similarity, n.score) for n in sg.nodes.values()]  # what the stats were computed from before ret10
        assert sg.stats == retrieval_stats(hits, sg.nodes, sg.edges)
        assert [h.node.id for h in mem.hybrid_search(q, k=5, propagate=True)] == [n.node.id for n in sg.ranked()]
        assert all(n.via is None and n.parent is None for n in sg.nodes.values() if n.hop == 0)
