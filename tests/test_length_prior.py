"""The turn-length prior (`memory.length_prior`, 1 by default, see 04c_hybrid): of two turns that match a question
equally, the one that says something is ranked above a line of filler when it is on, in `hybrid_search` (with and
without propagation) and through the retrieval path of `RuvLLM.retrieve`; 0 turns it off; the best score keeps its
value; a node that is no chat turn (a document, a stored Q&A) keeps its score beside the turns; `propagate` leaves its seeds as given; the config refuses a negative or infinite prior."""
import dataclasses

import pytest

from ruvllm.config import Config, ConfigError, MemoryConfig
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import Memory
from chat_ranking import chat_items, ranked

FILLER, SAYS = "the boat, yes", "we took the boat out past the harbour wall and it handled the swell well"
Q = "what did Dana say about the boat?"

def _memory(path, prior):
    mem = Memory.open(path, HashingEmbedder(dim=64), MemoryConfig(length_prior=prior))
    ids = mem.add_nodes([dict(text=f"[2023-06-01] Dana: {t}", metadata=dict(speaker='Dana')) for t in (FILLER, SAYS)])
    return mem, ids

@pytest.mark.parametrize('propagate', [False, True])
def test_the_turn_that_says_something_comes_before_the_filler(tmp_path, propagate):
    assert Config().memory.length_prior == 1.0  # on by default
    mem, (filler, says) = _memory(tmp_path / 'on', 1.0)
    with mem: on = [h.node.id for h in mem.hybrid_search(Q, k=2, propagate=propagate)]
    mem, (filler, says) = _memory(tmp_path / 'off', 0.0)
    with mem: off = [h.node.id for h in mem.hybrid_search(Q, k=2, propagate=propagate)]
    assert off == [filler, says]  # without the prior the short line wins: BM25 and the hashed vector both favour it
    assert on == [says, filler]

def test_the_retrieval_path_ranks_by_the_prior(tmp_path):
    items = chat_items([('s1', '2023-06-01', [("Dana", FILLER), ("Sam", "nice"), ("Dana", SAYS)])])
    ids, on, _ = ranked(tmp_path / 'on', items, Q, length_prior=1.0)
    _, off, _ = ranked(tmp_path / 'off', items, Q, length_prior=0.0)
    assert on.index(ids[2]) < on.index(ids[0]), on
    assert off.index(ids[0]) < off.index(ids[2]), off

def test_the_best_keeps_its_score_and_zero_changes_nothing(tmp_path):
    mem, _ = _memory(tmp_path / 'm', 0.0)
    with mem:
        plain = [(h.node.id, h.score) for h in mem.hybrid_search(Q, k=2, propagate=True)]
        mem.cfg = dataclasses.replace(mem.cfg, length_prior=1.0)
        weighted = [(h.node.id, h.score) for h in mem.hybrid_search(Q, k=2, propagate=True)]
    assert max(s for _, s in weighted) == pytest.approx(max(s for _, s in plain))  # the scale the router reads stays
    assert [i for i, _ in weighted] == [i for i, _ in plain][::-1]

def test_nodes_that_are_no_turns_keep_their_scores(tmp_path):
    "A long stored Q&A and a short document (no speaker, no header) rank as without the prior: it weighs chat turns only."
    docs = [dict(text="Dana keeps the boat at the harbour."),
            dict(text="Q: where does Sam keep his boat, and is it a sailing boat or a motor boat with a cabin? "
                      "A: Sam keeps a small motor boat with a cabin at the marina on the east side of the bay.")]
    got = {}
    for prior in (0.0, 1.0):
        with Memory.open(tmp_path / f'p{prior}', HashingEmbedder(dim=64), MemoryConfig(length_prior=prior)) as mem:
            mem.add_nodes(docs)
            got[prior] = [(h.node.id, h.score) for h in mem.hybrid_search("where is the boat kept?", k=2, propagate=True)]
    assert [i for i, _ in got[1.0]] == [i for i, _ in got[0.0]]
    assert [s for _, s in got[1.0]] == pytest.approx([s for _, s in got[0.0]])

def test_a_turn_never_gains_on_a_node_that_is_no_turn(tmp_path):
    "Relative to the longest candidate turn, the prior can only lower a turn beside the other nodes."
    items = [dict(text=f"[2023-06-01] Dana: {FILLER}", metadata=dict(speaker='Dana')),
             dict(text=f"[2023-06-01] Dana: {SAYS}", metadata=dict(speaker='Dana')),
             dict(text="The boat Dana took out is a small sloop.")]
    got = {}
    for prior in (0.0, 1.0):
        with Memory.open(tmp_path / f'p{prior}', HashingEmbedder(dim=64), MemoryConfig(length_prior=prior)) as mem:
            filler, says, doc = mem.add_nodes(items)
            got[prior] = {h.node.id: h.score for h in mem.hybrid_search(Q, k=3, propagate=False)}
    for t in (filler, says):  # each turn's score relative to the document's: never higher with the prior
        assert got[1.0][t] / got[1.0][doc] <= got[0.0][t] / got[0.0][doc] * (1 + 1e-9)
    assert got[1.0][filler] / got[1.0][doc] < got[0.0][filler] / got[0.0][doc]  # the filler line lost ground

@pytest.mark.parametrize('bad', [-0.5, float('inf'), float('nan')])
def test_the_config_refuses_a_negative_or_infinite_prior(bad):
    with pytest.raises(ConfigError): Config.builder().set('memory.length_prior', bad).build()

def test_propagate_leaves_its_seeds_as_given(tmp_path):
    mem, (filler, says) = _memory(tmp_path / 'm', 1.0)
    with mem: assert mem.propagate({filler: 1.0, says: 0.5}, hops=0, window=0, name_mix=0.0, sharpness=1.0) == {filler: 1.0, says: 0.5}
