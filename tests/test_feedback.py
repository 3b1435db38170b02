"""Pseudo-relevance feedback in hybrid retrieval (`memory.feedback_docs`, `feedback_dense`, `feedback_terms`, ret11): off by
default (it lost on the dev split of the conversation benchmark, left-one-conversation-out), so these tests pin what it does
when turned on: the turn a question needs, which shares no word with it but a word with the top hit, is found; the
feedback words are the top hit's own rare words; with nothing to feed back the ranking is the default's."""
import dataclasses
import numpy as np
from ruvllm.config import MemoryConfig
from ruvllm.embedding import HashingEmbedder
from ruvllm.memory import LexicalIndex, Memory

MARCH = ["[2023-03-02] Sam: we adopted a puppy from the shelter today, a beagle", "[2023-03-02] Dana: no way, congratulations!"]
JUNE = ["[2023-06-11] Dana: how are things?", "[2023-06-11] Sam: the beagle is called Biscuit, he ate my left shoe"]
APRIL = ["[2023-04-01] Dana: the shelter for the bus stop is finally fixed", "[2023-04-02] Sam: what name should the new band have?",
         "[2023-04-03] Dana: my cousin wants a puppy too", "[2023-04-04] Sam: we need a name for the group chat",
         "[2023-04-05] Dana: a storm shelter would be handy here"]
Q = "what is the name of the puppy from the shelter?"  # the answer (June) says none of its words

def _memory(tmp_path):
    mem = Memory.open(tmp_path / 'm', HashingEmbedder(dim=256), MemoryConfig(length_prior=0.0))  # the turn-length prior off: the answer is the longest turn, and the prior alone would lift it
    ids = {src: mem.ingest([dict(text=t, source=src) for t in turns], progress=False) for src, turns in (('march', MARCH), ('june', JUNE), ('april', APRIL))}
    return mem, ids['march'][0], ids['june'][1]

def _ranking(mem, **kw):
    base = mem.cfg
    mem.cfg = dataclasses.replace(base, **kw)
    try: return [h.node.id for h in mem.hybrid_search(Q, k=10)]
    finally: mem.cfg = base

def test_lexical_feedback_finds_a_turn_that_shares_a_word_only_with_the_top_hit(tmp_path):
    mem, adopted, biscuit = _memory(tmp_path)
    with mem:
        off = _ranking(mem)
        on = _ranking(mem, feedback_docs=1, feedback_terms=3, feedback_term_weight=1.0)
        assert off[0] == adopted and on[0] == adopted  # the top hit itself stays first
        assert off.index(biscuit) >= 5, off  # without feedback the answer is far down (no word of the question)
        assert on.index(biscuit) <= 1, on    # with it, the top hit's "beagle" brings it up

def test_dense_feedback_moves_the_turn_up(tmp_path):
    mem, adopted, biscuit = _memory(tmp_path)
    with mem:
        off, on = _ranking(mem), _ranking(mem, feedback_docs=1, feedback_dense=1.0)
        assert on.index(biscuit) < off.index(biscuit), (off, on)  # the query moved towards the top hit, which shares "beagle" and the speaker

def test_feedback_words_are_the_top_hits_own_rare_words(tmp_path):
    mem, adopted, biscuit = _memory(tmp_path)
    with mem:
        # "adopted" and "today" are held by the reply only as its turn before's words: no other node says them
        assert mem.feedback_words([adopted], 3, Q) == {'beagle': 1.0}
        assert 'puppy' in mem.feedback_words([adopted], 3) and 'puppy' not in mem.feedback_words([adopted], 3, Q)  # the query's words are left out
        assert mem.feedback_words([adopted], 0, Q) == {}

def test_nothing_to_feed_back_leaves_the_ranking_as_it_was(tmp_path):
    mem, adopted, biscuit = _memory(tmp_path)
    with mem:
        off = _ranking(mem)
        assert _ranking(mem, feedback_docs=0, feedback_dense=1.0, feedback_terms=3) == off  # no documents: off
        assert _ranking(mem, feedback_docs=3) == off  # documents but neither feedback: the same fusion again
        assert MemoryConfig().feedback_docs == 0  # off by default

def test_extra_words_weigh_their_terms_and_never_displace_the_querys_own():
    lx = LexicalIndex()
    for slot, t in enumerate(["the red fox", "a red red car", "the fox and the hound", "red paint"]): lx.add(slot, t)
    every = np.ones(4, bool)
    fox = dict(zip(*(a.tolist() for a in lx.search("fox", 4, every))))
    red = dict(zip(*(a.tolist() for a in lx.search("red", 4, every))))
    both = dict(zip(*(a.tolist() for a in lx.search("fox", 4, every, extra={'red': 0.5}))))
    for s in range(4): assert np.isclose(both.get(s, 0.0), fox.get(s, 0.0) + 0.5 * red.get(s, 0.0), rtol=1e-6), (s, both)
    assert lx.search("fox", 4, every, max_postings=2, extra={'red': 1.0})[0].tolist() == lx.search("fox", 4, every)[0].tolist()  # red's 3 postings do not fit
