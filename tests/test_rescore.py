"Learned re-scoring of the propagated top (`memory.rescore_weights`, ret12): the order the weights give is the order of `candidate_features` · weights, the scores keep their scale, empty weights change nothing, and the config refuses weights of the wrong length or not finite."
import dataclasses

import numpy as np
import pytest

from ruvllm.config import Config, ConfigError, MemoryConfig
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory
from ruvllm.hybrid import RESCORE_FEATURES

TURNS = [("Sam", "Dana, the blue kayak is on sale at the lake"), ("Dana", "my old kayak leaks"),
         ("Sam", "see you at the lake then"), ("Dana", "ok"), ("Sam", "the kayak shop opens at nine, the blue ones are cheap")]
Q = "what did Dana say about the blue kayak?"

def _memory(path):
    mem = Memory.open(path, HashingEmbedder(dim=64), MemoryConfig(length_prior=0.0))  # the turn-length prior off: these tests pin the learned order alone
    mem.add_nodes([dict(text=f"[2023-05-01] {who}: {text}", metadata=dict(speaker=who)) for who, text in TURNS])
    return mem

def _weights(**kw):
    w = [0.0] * len(RESCORE_FEATURES)
    for name, v in kw.items(): w[RESCORE_FEATURES.index(name.replace('_', ' '))] = v
    return w

def test_the_named_speaker_decides_the_order_when_the_weights_favour_it(tmp_path):
    with _memory(tmp_path / 'm') as mem:
        plain = mem.hybrid_search(Q, k=3, propagate=True)
        dana = [h.node.id for h in mem.hybrid_search("kayak leaks", k=1)][0]
        assert plain[0].node.id != dana  # without the weights Sam's turn (more of the question's words) comes first
        mem.cfg = dataclasses.replace(mem.cfg, rescore_weights=_weights(speaker_named=1.0))
        learned = mem.hybrid_search(Q, k=3, propagate=True)
        sub = mem.hybrid_subgraph(Q, k=3)
        assert learned[0].node.id == dana and sub.ranked()[0].node.id == dana
        assert sorted(h.score for h in learned) == sorted(h.score for h in plain)  # the same scores, handed out in the learned order
        assert [h.node.id for h in mem.hybrid_search(Q, k=3)] == [h.node.id for h in mem.hybrid_search(Q, k=3)]  # (deterministic)

def test_the_runtime_order_is_the_order_of_the_training_features(tmp_path):
    with _memory(tmp_path / 'm') as mem:
        w = np.array(_weights(length=1.0, fused=0.5, activation=0.2))
        ids, X = mem.candidate_features(Q)
        assert X.shape == (len(ids), len(RESCORE_FEATURES))
        expected = ids[np.lexsort((np.arange(len(ids)), -(X @ w)))].tolist()
        mem.cfg = dataclasses.replace(mem.cfg, rescore_weights=w.tolist(), collapse_duplicates=False)
        got = [h.node.id for h in mem.hybrid_search(Q, k=len(ids), propagate=True)]
        assert got == expected, (got, expected)
        assert expected != ids.tolist()  # the weights did change the order (the longest turn first)

def test_empty_weights_and_an_unpropagated_ranking_are_not_rescored(tmp_path):
    with _memory(tmp_path / 'm') as mem:
        assert Config().memory.rescore_weights == []  # off by default
        before = [(h.node.id, h.score) for h in mem.hybrid_search(Q, k=5, propagate=True)]
        flat = [(h.node.id, h.score) for h in mem.hybrid_search(Q, k=5)]
        mem.cfg = dataclasses.replace(mem.cfg, rescore_weights=_weights(length=1.0))
        assert [(h.node.id, h.score) for h in mem.hybrid_search(Q, k=5)] == flat  # weights fitted on the propagated ranking only
        mem.cfg = dataclasses.replace(mem.cfg, rescore_weights=[])
        assert [(h.node.id, h.score) for h in mem.hybrid_search(Q, k=5, propagate=True)] == before

@pytest.mark.parametrize('bad', [[1.0] * 3, [1.0] * (len(RESCORE_FEATURES) + 1), [float('nan')] * len(RESCORE_FEATURES),
                                 [float('inf')] + [0.0] * (len(RESCORE_FEATURES) - 1), [True] * len(RESCORE_FEATURES)])
def test_the_config_refuses_weights_of_the_wrong_length_or_not_finite(bad):
    with pytest.raises(ConfigError, match='rescore_weights'):
        Config.builder().set('memory.rescore_weights', bad).build()
    Config.builder().set('memory.rescore_weights', [0.5] * len(RESCORE_FEATURES)).build()  # the right length, finite: accepted
