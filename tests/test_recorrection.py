"""Correcting an answer again replaces it everywhere: a correction given on an answer the cache served for its own
question supersedes the Q&A memory holds it in (it used to drop only the cache entry: the old answer stayed live at
quality 1 and came back without the cache, or for a paraphrase, and after a reopen); such corrections are no false
hits against the namespace's error budget (two of them turned the cache off for a day); a Q&A Loop C compressed is
updated by the next write-back instead of copied, so a correction replaces it; an answer a correction superseded is
neither stored nor cached again by Loop A. Extractive tier, real embeddings, real judge."""
from ruvllm import Config, Constraints, Feedback, RuvLLM
from ruvllm.types import NodeType

NC = Constraints(no_cache=True)
DOCS = ["A lost security badge is replaced by the Facilities team on request.",  # (no "fee": the extractive tier would quote it over the correction)
        "The security badge must be worn visibly at all times inside the Marrowby building.",
        "Employees receive 27 days of paid vacation per year.",
        "Visitors sign in at the front desk and wear a red visitor badge."]
Q = "What is the fee for a lost badge?"
TEN, FIFTEEN = "A lost badge costs 10 euros to replace.", "A lost badge costs 15 euros to replace, paid to Facilities."


def _llm(path, docs=DOCS, **sets):
    b = Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    for k, v in sets.items(): b = b.set(k, v)
    llm = RuvLLM(b.build(), start_scheduler=False)
    llm.ingest(docs, progress=False)
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
    """The extractive tier quotes the passage that shares most of the question's words, so after the correction, asked
    in another wording, it quotes the passage marked wrong again: Loop A used to store that Q&A again (its superseded
    copy is archived, which the duplicate test did not see) and cache it."""
    llm = _llm(tmp_path / 'd', ["A lost badge is replaced by the Facilities team for a fee."] + DOCS[1:])
    a = llm.query(Q, constraints=NC)
    out = llm.feedback(Feedback(a.request_id, rating=5)); llm.flush()  # a wrong answer rated well by mistake: stored
    qa = out.get('written') or llm.record(a.request_id).qa_node
    assert qa is not None and llm.memory.get(qa).quality == 1.0
    b = llm.query(Q, constraints=NC); llm.flush()
    assert b.text == a.text
    llm.feedback(Feedback(b.request_id, rating=1, correction=FIFTEEN)); llm.flush()
    assert llm.memory.get(qa).superseded_by is not None
    assert llm.query(Q, constraints=NC).text == FIFTEEN  # the question as worded: the taught answer
    c = llm.query("How much is the fee to replace a lost badge?", constraints=NC); llm.flush()
    assert c.text == a.text  # another wording: the passage marked wrong, quoted again
    rec = llm.record(c.request_id)
    assert rec.qa_node is None and rec.self_quality == 0.0  # not stored again, and never cached
    assert [n.id for n in _qa_nodes(llm, a.text) if n.superseded_by is None] == []
    llm.close()


def test_an_answer_that_gives_no_amount_to_a_how_much_question_is_neither_kept_nor_cached(tmp_path):
    """The extractive tier quotes a badge passage that states no fee; Loop A's self-estimate (grounding: the quote is
    grounded in itself) kept it at ~0.74, stored it and cached it, and the next asker got it from the cache."""
    llm = _llm(tmp_path / 'd')
    q = "How much does it cost to replace a lost badge?"
    a = llm.query(q); llm.flush()
    assert not any(ch.isdigit() for ch in a.text)  # memory states no fee
    rec = llm.record(a.request_id)
    assert rec.self_quality == 0.0 and rec.qa_node is None
    assert not llm.query(q).cached
    r = llm.query("How many vacation days do employees get?"); llm.flush()  # an amount: kept as before
    assert '27' in r.text and llm.record(r.request_id).self_quality > 0
    llm.close()


def test_a_correction_reaches_no_other_question_and_a_rating_no_other_wording(tmp_path):
    """Review findings: Saturday's corrected answer, served for Sunday from the cache and corrected there, was superseded
    (the two Q&A texts are 0.99 alike); a low rating on an answer the cache served to "What was the fee ...?" archived
    the correction made for "What is the fee ...?" (the cache reads the two as the same tokens)."""
    llm = _llm(tmp_path / 'd', ["The Marrowby office is closed on Sundays."] + DOCS)
    sat, sun = "Is the Marrowby office open on Saturday?", "Is the Marrowby office open on Sunday?"
    fix = "Yes, on Saturdays the Marrowby office is open from 9 to 12."
    a = llm.query(sat, constraints=NC)
    sat_node = llm.feedback(Feedback(a.request_id, rating=1, correction=fix))['correction_node']; llm.flush()
    llm.query(sun); llm.flush()
    b = llm.query(sun)
    assert b.cached and b.text == fix  # Sunday answered with Saturday's correction, from the cache
    llm.feedback(Feedback(b.request_id, rating=1, correction="No, the Marrowby office is closed on Sundays.")); llm.flush()
    assert llm.memory.get(sat_node).superseded_by is None and not llm.memory.is_archived(sat_node)
    assert llm.query(sat, constraints=NC).text == fix
    c = llm.query(Q); llm.feedback(Feedback(c.request_id, rating=1, correction=FIFTEEN)); llm.flush()
    node = _qa_nodes(llm, FIFTEEN)[0].id
    d = llm.query("What was the fee for a lost badge?")
    assert d.cached and d.text == FIFTEEN
    llm.feedback(Feedback(d.request_id, rating=1)); llm.flush()
    assert not llm.memory.is_archived(node) and llm.memory.get(node).quality == 1.0
    assert llm.query(Q, constraints=NC).text == FIFTEEN  # the taught answer, not a document, without the cache too
    llm.close()


def test_correcting_back_and_forth_leaves_one_live_answer(tmp_path):
    llm = _llm(tmp_path / 'd')
    r = llm.query(Q)
    for fix in (TEN, FIFTEEN, TEN, FIFTEEN):
        llm.feedback(Feedback(r.request_id, rating=1, correction=fix)); llm.flush()
        r = llm.query(Q)
        assert r.cached and r.text == fix
    live = [n for a in (TEN, FIFTEEN) for n in _qa_nodes(llm, a) if n.superseded_by is None]
    assert [n.text.endswith(FIFTEEN) for n in live] == [True], [(n.id, n.text) for n in live]
    llm.close()


def test_asking_questions_leaves_memory_as_it_was_and_a_rated_quote_is_kept(tmp_path):
    """Unrated extractive answers were written back on their self-estimate (a quote is grounded in itself), and a wrong
    quote then outranked the right passage for that question (conversation probe 6: 16 of 25 right turns ranked lower)."""
    llm = _llm(tmp_path / 'd')
    n0 = len(llm.memory)
    def found(q): sg = llm.retrieve(q, llm.memory.embed_query(q)); return sorted(sg.nodes, key=lambda i: -sg.nodes[i].score)
    asked = ["How many days of paid vacation do employees receive per year?", "Who replaces a lost security badge on request?", Q]
    before = {q: found(q) for q in asked}
    answers = [llm.query(q, constraints=NC) for q in asked]; llm.flush()
    assert llm.record(answers[0].request_id).self_quality > 0.7  # a close quote: its self-estimate would have kept it
    assert len(llm.memory) == n0 and all(llm.record(a.request_id).qa_node is None for a in answers)
    assert {q: found(q) for q in before} == before  # what retrieval finds, in its order, is unchanged
    llm.feedback(Feedback(answers[0].request_id, rating=5)); llm.flush()
    assert len(llm.memory) == n0 + 1  # rated well: kept as a QAPair
    llm.close()
