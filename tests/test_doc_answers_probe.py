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


def test_a_file_ingested_again_replaces_what_it_no_longer_says(tmp_path):
    """A lease's rent was edited from 1,150 to 1,250 EUR and the file ingested again: both paragraphs stayed live and the
    tiny tier quoted the old rent. The passages a re-read .txt/.md file no longer holds are archived (kept, restorable)."""
    from ruvllm.cli import run_cli
    lease, db = tmp_path / 'lease.txt', tmp_path / 'db'
    argv = ['--db', str(db), '--set', 'inference.tiers={tiny="extractive"}', '--set', 'router.safe_tier="tiny"']
    lease.write_text("The monthly base rent is 1,150 EUR.\n\nPets need the landlord's written consent.\n")
    assert run_cli([*argv, 'ingest', '--no-progress', str(lease)])[0] == 0
    lease.write_text("The monthly base rent is 1,250 EUR.\n\nPets need the landlord's written consent.\n")
    code, out, err = run_cli([*argv, 'ingest', '--no-progress', str(lease)])
    assert code == 0 and '1 passage no longer in the file archived' in out, out + err
    code, out, _ = run_cli([*argv, 'ask', '--no-cache', 'How much is the monthly base rent?'])
    assert '1,250 EUR' in out and '1,150' not in out, out
    code, out, _ = run_cli([*argv, 'ingest', '--no-progress', str(lease)])  # unchanged: nothing archived
    assert 'archived' not in out, out
