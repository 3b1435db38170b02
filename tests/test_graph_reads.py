"""Reads that walk the memory's graph hold its lock (found by a stress run: `Memory.stats`, and so `RuvLLM.stats` and
Loop C, which calls it, failed with "dictionary changed size during iteration" while a write added edges; so did
`Memory.edges_of`, which Loop C calls for every live node while Loop A's writer links new answers to them). Each read
must wait for a holder of the memory (`Memory.reading`, as a write holds it while it changes the graph) rather than walk
the graph under it: detected by a timeout, not timed. A short run of the stress itself follows."""
import threading
import pytest

from ruvllm.config import MemoryConfig
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory
from ruvllm.types import EdgeType


@pytest.fixture
def mem(tmp_path):
    m = Memory.open(tmp_path / 'm', HashingEmbedder(dim=64), MemoryConfig())
    yield m
    m.close()


@pytest.mark.parametrize('read', ['stats', 'edges_of', 'edge'])
def test_a_graph_read_waits_for_a_holder_of_the_memory(mem, read):
    a, b = mem.ingest(["The hub node of Quenby.", "A spoke of Quenby."], progress=False)
    mem.add_edge(a, b, EdgeType.SAME_TOPIC, 0.5)
    fn = {'stats': mem.stats, 'edges_of': lambda: mem.edges_of(a), 'edge': lambda: mem.edge(a, b, EdgeType.SAME_TOPIC)}[read]
    held, release, done, out = threading.Event(), threading.Event(), threading.Event(), {}
    def hold():
        with mem.reading(): held.set(); release.wait(20)
    h = threading.Thread(target=hold, daemon=True); h.start(); assert held.wait(10)
    r = threading.Thread(target=lambda: (out.setdefault('v', fn()), done.set()), daemon=True); r.start()
    try: assert not done.wait(0.5), f"{read} walked the graph while another thread held the memory"
    finally: release.set()
    assert done.wait(20) and out['v']
    h.join(10); r.join(10)


def test_stats_and_edges_of_beside_a_writer_adding_edges(mem):
    hub = mem.add_node("hub zorblat node", "Fact")
    stop, errors = threading.Event(), []
    def writer():
        i = 0
        while not stop.is_set() and i < 80:
            i += 1
            ids = mem.ingest([f"fact {i}-{j} zorb{i}x{j}" for j in range(10)], progress=False)
            mem.add_edges([(hub, n, EdgeType.SAME_TOPIC, 0.5) for n in ids])
        stop.set()
    def reader(fn):
        while not stop.is_set():
            try: fn()
            except Exception as e: errors.append(repr(e)); stop.set()
    ts = [threading.Thread(target=writer), threading.Thread(target=reader, args=(mem.stats,)),
          threading.Thread(target=reader, args=(lambda: mem.edges_of(hub),))]
    for t in ts: t.start()
    stop.wait(5); stop.set()
    for t in ts: t.join(20)
    assert errors == []
    assert len(mem.edges_of(hub)) == mem.stats()['by_edge_type'][EdgeType.SAME_TOPIC.value]


def test_stats_counts_the_edges_the_store_holds(tmp_path):
    "`stats` counts edges by type from the edge arrays (no walk of the graph): the same counts as the store's rows, upserts included."
    from collections import Counter
    m = Memory.open(tmp_path / 'm', HashingEmbedder(dim=64), MemoryConfig(edge_rebuild_every=3))  # indexed and pending rows both
    try:
        ids = m.ingest([dict(text=f"Turn {i} of the talk about Quenby.", source='talk') for i in range(8)], progress=False)
        m.add_edge(ids[0], ids[5], EdgeType.SAME_TOPIC, 0.5); m.add_edge(ids[0], ids[5], EdgeType.SAME_TOPIC, 0.9)  # once
        m.add_edge(ids[2], ids[3], EdgeType.CITES, 0.4)
        st = m.stats()
        assert st['by_edge_type'] == dict(Counter(r[2] for r in m.store.all_edges())) == {'Follows': 7, 'SameTopic': 1, 'Cites': 1}
        assert st['edges'] == 9
    finally: m.close()
