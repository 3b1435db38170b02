"""A probe of learning as a user meets it (corrections): each test failed on the code before its fix."""
import pytest
from ruvllm import Config, Feedback, RuvLLM
from ruvllm.types import Constraints

DOCS = ["Quorvane is a harbour town on the north coast of Veltoria.", "Quorvane was founded in 1820 by fishermen from the south.",
        "The Orl is the longest river in Rivstaum.", "Employees receive 27 days of paid vacation per year.",
        "The cafeteria in the Marrowby building opens at 8 am on weekdays.", "Visitors sign in at the front desk and wear a red visitor badge."]
TINY = Constraints(force_model='tiny')
VACATION = "How many vacation days do employees get?"
FIXED = "Employees get 30 days of paid vacation per year."


@pytest.fixture
def llm(tmp_path):
    cfg = Config.builder().db_path(tmp_path / 'd').set('cache.enabled', False).build()  # the cache would serve the exact wording itself
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(DOCS, progress=False)
        yield llm


def _correct(llm, question, correction, constraints=TINY):
    r = llm.query(question, constraints=constraints)
    llm.feedback(Feedback(r.request_id, correction=correction)); llm.flush()
    return r.text


def test_a_model_tier_answers_the_corrected_question_with_the_correction(llm):
    """SmolLM2 answered the corrected question with the document's 27 days (it read both passages), and read alone
    "30 days" came back "The answer is 3.": the user's answer to this very question is now served as given, by every tier."""
    small = Constraints(force_model='small', temperature=0.0)
    before = _correct(llm, VACATION, FIXED, small)
    assert '27' in before
    after = llm.query(VACATION, constraints=small, learn=False)
    assert after.text == FIXED and after.routing_info.model.value == 'small' and after.routing_info.backend == 'extractive'
    assert len(after.sources) == 1 and after.sources[0].text.endswith(FIXED)  # the correction alone


def test_a_paraphrase_reads_the_correction_without_what_it_said_was_wrong(llm):
    """"How much vacation do employees get?" kept quoting the 27-day document: the correction's Q&A was kept out as
    "another subject" (how much/how many counted as words of the subject), and beside it the 27 would still be read."""
    _correct(llm, VACATION, FIXED)
    q = "How much vacation do employees get?"
    assert llm.query(q, constraints=TINY, learn=False).text == FIXED
    qv = llm.memory.embed_query(q)
    texts = [t for _, t, _ in llm.select_passages(q, llm.retrieve(q, qv, 'global'), qv).passages]
    assert FIXED in texts and not any('27' in t for t in texts)  # what a model tier reads: the correction, not the sentence it corrected


def test_a_correction_does_not_answer_other_questions_about_its_subject(llm):
    """After correcting only "Who founded Quorvane?", the extractive tier answered "What is Quorvane?", "Tell me about
    Quorvane." and "Which country is Quorvane in?" with "Quorvane was founded by Ilsa Marrow.": a stored answer to a
    who question now enters only the context of a question asking the same kind of thing."""
    _correct(llm, "Who founded Quorvane?", "Quorvane was founded by Ilsa Marrow.")
    for q in ("What is Quorvane?", "Tell me about Quorvane.", "Which country is Quorvane in?", "Where is Quorvane?"):
        assert 'Ilsa Marrow' not in llm.query(q, constraints=TINY, learn=False).text, q
    assert llm.query("Who founded Quorvane?", constraints=TINY, learn=False).text == "Quorvane was founded by Ilsa Marrow."


def test_an_echo_is_no_grounded_answer():
    "SmolLM2 answered \"When do carried-over vacation days expire?\" with the question itself, and Loop A kept it (0.74)."
    from ruvllm.learning import grounding_quality
    passages = ["Up to 5 unused vacation days may be carried over; carried-over days expire on 31 March."]
    q = "When do carried-over vacation days expire?"
    assert grounding_quality(q, passages, 0.8, q) == 0.0
    assert grounding_quality("They expire on 31 March.", passages, 0.8, q) > 0.5


def test_an_answer_kept_on_its_own_estimate_is_never_quoted_nor_taught(tmp_path):
    """A doc probe: SmolLM2's unrated "The notice period after probation is 1 month." (the passage says 3 months after
    probation) was kept at quality 0.74, and from then on the extractive tier quoted it, alone, for that question: the
    system's own guess had replaced the document. Now such a Q&A is marked `unrated` until a user rates it well."""
    from ruvllm.learning import RequestRecord
    cfg = Config.builder().db_path(tmp_path / 'd').set('cache.enabled', False).build()
    doc = "The notice period is 1 month during probation and 3 months after probation."
    q, guess = "How long is the notice period after probation?", "The notice period after probation is 1 month."
    with RuvLLM(cfg, start_scheduler=False) as llm:
        ids = llm.ingest([doc, "Desks are booked in the portal."], progress=False)
        rec = RequestRecord('r-guess', q, guess, 'global', used_ids=[ids[0]])
        nid = llm.loop_a.write_back(rec, 0.8)  # what the writer does with an unrated answer whose self-estimate is 0.8
        assert llm.memory.get(nid).metadata.get('unrated') is True
        r = llm.query(q, constraints=TINY, learn=False)
        assert r.text == doc and [s.node_id for s in r.sources] == [ids[0]]


def test_the_text_modules_names_are_defined_once():
    """`text.without_facts` split sentences with a regex named like a later one (`split_long`'s), which replaced it in
    the module: the notebook's examples ran with the first, the package with the second ("portal  Sick leave", the full
    stop lost). Likewise `_BE` was defined twice with different words. No module-level name is bound twice now."""
    import re, inspect, collections
    import ruvllm.text as text
    from ruvllm.text import without_facts
    assert without_facts("Vacation is booked in the portal. Employees receive 27 days. Sick leave is 3.5 days.", {'27'}) == \
        "Vacation is booked in the portal. Sick leave is 3.5 days."
    names = collections.Counter(m.group(1) for m in re.finditer(r"^([A-Za-z_][A-Za-z_0-9]*) = ", inspect.getsource(text), re.M))
    assert [n for n, c in names.items() if c > 1] == []
