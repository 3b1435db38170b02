"""The same feedback sent again is answered `repeated` only by the process that learned from it (two reviews of the change
that made retries succeed): a retry on a second process while the first was still learning was told `repeated`, and kept
being told so after the first failed and undid its claim; the rating was never learned. A mark in the stored record
broke the queued write-back, which rebuilds the feedback from it."""
import threading
import pytest
from ruvllm import Config, Feedback, RuvLLM
from ruvllm.types import Constraints, InvalidInputError

NC = Constraints(no_cache=True)


def _llm(path):
    return RuvLLM(Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'}).set('system.warm_up', False).build(),
                  start_scheduler=False)


def test_a_retry_while_another_process_learns_is_not_told_it_was_learned(tmp_path):
    a, b = _llm(tmp_path), _llm(tmp_path)
    try:
        a.ingest(["The Orvik ferry leaves at 9:15.", "The Orvik harbour has two piers."], progress=False)
        r = a.query("When does the Orvik ferry leave?", constraints=NC)
        fb = Feedback(r.request_id, rating=1, correction="The Orvik ferry leaves at 10:00.")
        go, inside, res = threading.Event(), threading.Event(), {}
        real = a.loop_a.apply_feedback
        def failing_apply_feedback_double(*args, **kw):  # test double: A claimed the rating, then learning fails
            inside.set(); go.wait(10); raise RuntimeError("a step of learning failed")
        a.loop_a.apply_feedback = failing_apply_feedback_double
        def run_a():
            try: a.feedback(fb)
            except RuntimeError as e: res['a'] = e
        t = threading.Thread(target=run_a); t.start(); assert inside.wait(10)
        with pytest.raises(InvalidInputError, match='already given'): b.feedback(fb)  # not "repeated": B cannot know it was learned
        go.set(); t.join(10); assert 'a' in res
        a.loop_a.apply_feedback = real
        out = b.feedback(fb)  # A undid its claim: the retry learns
        assert out.get('correction_node') is not None and not out.get('repeated'), out
        assert b.feedback(fb) == {'repeated': True, 'edges': {}}  # and the next one is a retry of what B learned
        with pytest.raises(InvalidInputError, match='already given'): a.feedback(fb)  # A did not learn it
        b.memory.sync()
        assert '10:00' in b.query("When does the Orvik ferry leave?", learn=False, constraints=NC).text
    finally:
        a.close(); b.close()
