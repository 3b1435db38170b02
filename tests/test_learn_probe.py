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
