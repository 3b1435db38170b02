"""Loop C summarises a member once (found by a stress run: a community with one new member was summarised whole, so every
run after a few new nodes added a concept per community, all but identical to the last: 16,000 `Contains` edges over
2,500 nodes). Runs after new nodes add a concept only when enough uncovered members gather, over those members alone;
members an earlier concept covers are archived once cold, with no new concept; and they stay findable."""
import time
import pytest

from ruvllm.config import LearningConfig, MemoryConfig
from ruvllm.embedding import WordLlamaEmbedder
from ruvllm.learning import LoopC
from ruvllm.memory import Memory
from ruvllm.types import EdgeType, NodeType

SUBJECTS = ['river', 'tower', 'bridge', 'canal', 'market']


def contains(mem): return mem.stats()['by_edge_type'].get(EdgeType.CONTAINS.value, 0)
def concepts(mem): return mem.stats()['by_type'].get(NodeType.CONCEPT.value, 0)


def test_new_nodes_do_not_resummarise_covered_members(tmp_path):
    mem = Memory.open(tmp_path / 'm', WordLlamaEmbedder(), MemoryConfig())
    try:
        mem.ingest([f"The {SUBJECTS[i % 5]} number {i} of Quenby is old and painted red." for i in range(100)], progress=False)
        cfg = LearningConfig(min_community=3)
        first = LoopC(mem, cfg).run()
        assert first.concepts_made >= 3 and first.archived == 0  # nothing is cold yet
        n_concepts, n_contains = concepts(mem), contains(mem)
        assert n_contains <= 100
        for run in range(3):  # one new node per run: fewer than min_community uncovered, so no concept
            mem.ingest([f"The {SUBJECTS[run]} number {1000 + run} of Quenby is new."], progress=False)
            assert LoopC(mem, cfg).run().concepts_made == 0
        assert (concepts(mem), contains(mem)) == (n_concepts, n_contains)
        new = mem.ingest([f"The lighthouse number {j} of Quenby guides the ships at night." for j in range(6)], progress=False)
        LoopC(mem, cfg).run()
        added = contains(mem) - n_contains
        assert 3 <= added <= 9, added  # the new members (and the few single ones before), not whole communities again
        assert all(any(e.type == EdgeType.CONTAINS for e in mem.edges_of(i)) for i in new)
        week = time.time() + cfg.cold_after_s + 60  # covered members go cold: archived, reachable, no concept made for it
        rep = LoopC(mem, cfg).run(now=week)
        assert rep.concepts_made == 0 and rep.archived >= 90, rep
        hits = mem.hybrid_search("Which lighthouse of Quenby guides the ships?", k=10, propagate=True)
        assert len({h.node.id for h in hits} & set(new)) >= 5, hits  # archived, still found on their own
    finally: mem.close()
