"""A passage removed from a file takes the stored answers that quote it along (a probe of replicas, 7 December, night):
the door code's paragraph was removed and the file ingested again; the passage was archived, but the Q&A a rating of
5 had stored from it kept being served."""
from ruvllm import Config, Feedback, RuvLLM
from ruvllm.cli import run_cli
from ruvllm.types import Constraints


def test_a_removed_passage_takes_its_rated_quote_along(tmp_path):
    db, f = tmp_path / 'data', tmp_path / 'vault.md'
    f.write_text("The Vantry vault is in the basement.\n\nThe door code of the Vantry vault is 4471.\n")
    assert run_cli(['--db', str(db), 'ingest', '--no-progress', str(f)])[0] == 0
    cfg = Config.builder().db_path(db).set('inference.tiers', {'tiny': 'extractive'}).build()
    with RuvLLM(cfg) as llm:
        r = llm.query("What is the door code of the Vantry vault?")
        assert '4471' in r.text
        llm.feedback(Feedback(r.request_id, rating=5)); llm.flush()
    f.write_text("The Vantry vault is in the basement.\n")
    code, out, err = run_cli(['--db', str(db), 'ingest', '--no-progress', str(f)])
    assert code == 0 and 'no longer in the file archived (kept, restorable), with 1 stored answer quoting it' in out, (out, err)
    with RuvLLM(cfg) as llm:
        for q in ("What is the door code of the Vantry vault?", "Which code opens the Vantry vault door?"):
            for cons in (None, Constraints(no_cache=True)):
                said = llm.query(q, learn=False, constraints=cons).text
                assert '4471' not in said, (q, cons, said)
        assert 'basement' in llm.query("Where is the Vantry vault?", learn=False).text
    f.write_text("The Vantry vault is in the basement.\n\nThe door code of the Vantry vault is 4471.\n")  # put back: the rated answer too
    code, out, err = run_cli(['--db', str(db), 'ingest', '--no-progress', str(f)])
    assert code == 0 and 'back in the file restored' in out, (out, err)
    with RuvLLM(cfg) as llm:
        assert any(n.type.value == 'QAPair' and '4471' in n.text for n in llm.memory.get_many(list(range(1, 10))).values() if not llm.memory.is_archived(n.id))
