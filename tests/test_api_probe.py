"""Defects a probe of the Python API found (lead31/api_probe, 6 December), each test failing on the code before."""
import pytest

from ruvllm import Config, Feedback, RuvLLM


def opened(path, **kw) -> RuvLLM:
    b = (Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'})
         .set('router.safe_tier', 'tiny').set('system.warm_up', False))
    return RuvLLM(b.update(kw).build(), start_scheduler=False)


def asked(llm, q, **kw):
    r = llm.query(q, **kw); llm.flush()
    return r


def test_a_correction_with_a_good_rating_replaces_the_answer_for_every_wording(tmp_path):
    """"4 stars, but it's 12 now" on a hit served for a paraphrase kept the entry the original question made: that
    question went on getting the superseded answer, from the cache (the rating decided, not the correction)."""
    Q, P = "How many elephants does the Vetra zoo have?", "How many elephants live at the Vetra zoo?"
    with opened(tmp_path / 'd') as llm:
        llm.ingest(["The Vetra zoo has 40 elephants.", "The Vetra zoo opened in 1950."], progress=False)
        llm.feedback(Feedback(asked(llm, Q).request_id, rating=5))
        hit = asked(llm, P)
        assert hit.cached and '40' in hit.text
        out = llm.feedback(Feedback(hit.request_id, rating=4, correction="The Vetra zoo has 12 elephants since the 2024 move."))
        assert out['cache_invalidated'] >= 1
        assert all('40' not in asked(llm, q).text for q in (Q, P, Q))
