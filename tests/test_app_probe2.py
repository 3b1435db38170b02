"""The app probe of 7 December (notes/lead44/probe_app): a correction that repeats the answer word for word ("correct,
that's it") was taken as a correction: the answer rated 0, a second node stored with the same words, the cache entry
removed. It is a confirmation: rated 5 (or as rated), no correction stored."""
from ruvllm import Config, Feedback, RuvLLM


def test_a_correction_that_repeats_the_answer_confirms_it(tmp_path):
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(['Veltoria exports copper and wool.', 'Quenby is the capital of Marsovia.'], progress=False)
        r = llm.query('What does Veltoria export?'); llm.flush()
        assert r.text == 'Veltoria exports copper and wool.'
        live = len(llm.memory)
        out = llm.feedback(Feedback(r.request_id, correction='  Veltoria exports  copper and wool '))
        assert out['correction_node'] is None and llm.counters['corrections'] == 0, out
        assert llm.record(r.request_id).feedback['rating'] == 5 and llm.record(r.request_id).feedback['correction'] is None
        assert len(llm.memory) <= live + 1  # at most the answer's own Q&A, written on the good rating; no correction node
        again = llm.query('What does Veltoria export?')
        assert again.text == 'Veltoria exports copper and wool.'
