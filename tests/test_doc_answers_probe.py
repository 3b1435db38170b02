"""A probe of answering from one's own documents (the extractive tier's quotes): each test failed on the code before its fix."""
from ruvllm import Config, RuvLLM
from ruvllm.types import Constraints

HISTORY = ("Brightwater was founded in 2014 in Hamburg by Elena Sorensen and Karim Haddad. " +
           "Brightwater sold forecasting software to regional bakeries, and Brightwater grew slowly at first. " * 6 +
           "In 2021 Karim Haddad stepped down as CTO to start a foundation. His successor as CTO is Ingrid Lund. "
           "The company mascot is a heron named Pixel.")


def test_a_long_passage_is_quoted_where_the_answer_is(tmp_path):
    """The tiny tier quoted a long paragraph from its start and cut it at `max_tokens`, so "Who is the CTO?" got the
    founding story: now the quote is the sentences around the one that answers, as many as fit."""
    cfg = Config.builder().db_path(tmp_path / 'd').set('cache.enabled', False).build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest([HISTORY], progress=False)
        r = llm.query("Who is the CTO of Brightwater?", constraints=Constraints(force_model='tiny', max_tokens=64), learn=False)
    assert 'Ingrid Lund' in r.text and len(r.text) < len(HISTORY)


def test_a_number_asked_in_digits_finds_it_written_out(tmp_path):
    """"Can the lease be terminated with 3 months notice?": the digit was the only key word, so the clause that writes
    "three months'" was kept out of the context and the deposit clause, which holds a 3, was quoted (`text.key_forms`)."""
    term = "Either party may terminate the lease with three months' written notice."
    cfg = Config.builder().db_path(tmp_path / 'd').set('cache.enabled', False).build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest([term, "The deposit is 2,400 EUR, paid in 3 instalments.", "Pets are allowed with written consent."], progress=False)
        r = llm.query("Can the lease be terminated with 3 months notice?", constraints=Constraints(force_model='tiny'), learn=False)
    assert r.text == term
