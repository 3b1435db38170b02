"""Correcting an answer again replaces it everywhere: a correction given on an answer the cache served for its own
question supersedes the Q&A memory holds it in (it used to drop only the cache entry: the old answer stayed live at
quality 1 and came back without the cache, or for a paraphrase, and after a reopen); such corrections are no false
hits against the namespace's error budget (two of them turned the cache off for a day); a Q&A Loop C compressed is
updated by the next write-back instead of copied, so a correction replaces it; an answer a correction superseded is
neither stored nor cached again by Loop A. Extractive tier, real embeddings, real judge."""
from ruvllm import Config, Constraints, Feedback, RuvLLM
from ruvllm.types import NodeType

NC = Constraints(no_cache=True)
DOCS = ["Lost security badges are replaced by the Facilities team for a fee.",
        "The security badge must be worn visibly at all times inside the Marrowby building.",
        "Employees receive 27 days of paid vacation per year.",
        "Visitors sign in at the front desk and wear a red visitor badge."]
Q = "What is the fee for a lost badge?"
TEN, FIFTEEN = "A lost badge costs 10 euros to replace.", "A lost badge costs 15 euros to replace, paid to Facilities."


def _llm(path, **sets):
    b = Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    for k, v in sets.items(): b = b.set(k, v)
    llm = RuvLLM(b.build(), start_scheduler=False)
    llm.ingest(DOCS, progress=False)
    return llm


def _qa_nodes(llm, answer):
    return [h.node for h in llm.memory.search(f"Q: {Q}\nA: {answer}", k=20, types=[NodeType.QAPAIR], include_archived=True)
            if h.node.text.endswith(answer)]


def test_a_correction_given_on_a_cached_answer_supersedes_it_in_memory(tmp_path):
    llm = _llm(tmp_path / 'd')
    a = llm.query(Q)
    llm.feedback(Feedback(a.request_id, rating=1, correction=TEN)); llm.flush()
    b = llm.query(Q)
    assert b.cached and b.text == TEN  # the first correction, from the cache
    out = llm.feedback(Feedback(b.request_id, rating=1, correction=FIFTEEN)); llm.flush()
    ten = _qa_nodes(llm, TEN)
    assert ten and all(n.superseded_by == out['correction_node'] for n in ten), [(n.id, n.superseded_by) for n in ten]
    assert out['archived'] == [n.id for n in ten]
    for q in (Q, "lost badge fee?"):
        assert '10 euros' not in llm.query(q, constraints=NC).text
    llm.close()
    with _llm(tmp_path / 'd') as again:
        assert '10 euros' not in again.query(Q, constraints=NC).text


def test_corrections_of_cached_answers_to_their_own_questions_do_not_turn_the_cache_off(tmp_path):
    llm = _llm(tmp_path / 'd')
    for q, wrong, right in ((Q, TEN, FIFTEEN), ("How many vacation days do employees get?", "Employees get 25 days.",
                                                "Employees get 30 days of paid vacation per year.")):
        r = llm.query(q)
        llm.feedback(Feedback(r.request_id, rating=1, correction=wrong)); llm.flush()
        r = llm.query(q)
        assert r.cached and r.text == wrong
        llm.feedback(Feedback(r.request_id, rating=1, correction=right)); llm.flush()  # the fact changed, or was wrong
        assert llm.query(q).text == right
    st = llm.cache.stats()
    assert st['false_hits'] == 0 and llm.cache.namespace_enabled('global'), st
    assert llm.query(Q).cached
    llm.close()


def test_a_correction_replaces_a_qa_that_loop_c_compressed(tmp_path):
    llm = _llm(tmp_path / 'd', **{'learning.cold_after_s': 0.0, 'learning.min_community': 2, 'learning.cold_max_access': 1000})
    a = llm.query(Q)
    first = llm.feedback(Feedback(a.request_id, rating=1, correction=TEN))['correction_node']; llm.flush()
    llm.learn('C')
    assert llm.memory.is_archived(first) and llm.memory.get(first).superseded_by is None  # compressed, still found
    b = llm.query(Q, constraints=NC)
    assert TEN in b.text; llm.flush()
    out = llm.feedback(Feedback(b.request_id, rating=1, correction=FIFTEEN)); llm.flush()
    assert llm.memory.get(first).superseded_by == out['correction_node']  # not a fresh copy of it
    for q in (Q, "lost badge fee?"):
        assert '10 euros' not in llm.query(q, constraints=NC).text
    llm.close()


def test_an_answer_a_correction_superseded_is_not_learned_again(tmp_path):
    llm = _llm(tmp_path / 'd')
    a = llm.query(Q, constraints=NC)
    qa = llm.feedback(Feedback(a.request_id, rating=5))['written']; llm.flush()  # a wrong answer rated well by mistake: stored
    assert qa is not None and llm.memory.get(qa).quality == 1.0
    b = llm.query(Q, constraints=NC); llm.flush()
    assert b.text == a.text
    llm.feedback(Feedback(b.request_id, rating=1, correction=FIFTEEN)); llm.flush()
    assert llm.memory.get(qa).superseded_by is not None
    c = llm.query(Q, constraints=NC); llm.flush()
    if c.text == a.text:  # the extractive tier quoted the passage marked wrong again
        rec = llm.record(c.request_id)
        assert rec.qa_node is None and rec.self_quality == 0.0  # not stored again, and never cached
    assert [n.id for n in _qa_nodes(llm, a.text) if n.superseded_by is None] == []
    llm.close()
