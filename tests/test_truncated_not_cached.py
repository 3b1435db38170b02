"""An answer cut at max_tokens is no answer to cache: a later full request gets the whole answer, not the cut one."""
import pytest

from ruvllm import Config, Constraints, RuvLLM
from ruvllm.types import Feedback


def _llm(path, writeback):
    return RuvLLM(Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
                  .set('learning.quality_threshold', 0.3).set('learning.writeback', writeback).build(),
                  start_scheduler=False)


@pytest.mark.parametrize('writeback', ['queued', 'sync'])
def test_an_answer_cut_at_max_tokens_is_neither_cached_nor_kept(tmp_path, writeback):
    "The cut answer is served as asked, but neither the cache nor Loop A's QAPair keeps it; the whole answer is cached."
    with _llm(tmp_path / 'd', writeback) as llm:
        llm.ingest(["Quorvane was founded by Ilsa Marrow in 1820."], namespace='orl', progress=False)
        cut = llm.query("Who founded Quorvane?", namespace='orl', constraints=Constraints(max_tokens=5))
        assert cut.text and len(cut.text) < len("Quorvane was founded by Ilsa Marrow in 1820."), cut.text  # cut short
        llm.flush()
        full = llm.query("Who founded Quorvane?", namespace='orl')
        assert not full.cached and 'Ilsa Marrow' in full.text, (full.cached, full.text)
        assert llm.record(cut.request_id).cut and llm.record(cut.request_id).qa_node is None
        llm.flush()
        again = llm.query("Who founded Quorvane?", namespace='orl')  # the whole answer is cached, with a confidence in [0, 1]
        assert again.cached and 'Ilsa Marrow' in again.text and 0.0 <= again.confidence <= 1.0, (again.cached, again.confidence)


@pytest.mark.parametrize('writeback', ['queued', 'sync'])
def test_a_good_rating_does_not_keep_a_cut_answer(tmp_path, writeback):
    "Rated 5, a cut answer still writes no QAPair and no cache entry; the Response says it was cut, a whole one that it was not."
    with _llm(tmp_path / 'd', writeback) as llm:
        llm.ingest(["Brennik is the tallest mountain in Osterra, at 4100 metres."], namespace='o', progress=False)
        n0 = len(llm.memory)
        cut = llm.query("What is the tallest mountain in Osterra?", namespace='o', constraints=Constraints(max_tokens=2, no_cache=True))
        assert cut.finish_reason == 'length' and llm.record(cut.request_id).cut, (cut.finish_reason, cut.text)
        llm.flush()
        out = llm.feedback(Feedback(cut.request_id, rating=5))
        assert out.get('written') is None and llm.record(cut.request_id).qa_node is None, out  # used to write "Q: ... A: Brennik"
        llm.flush()
        assert len(llm.memory) == n0 and not any('A: Brennik' in n.text for n in llm.memory.get_many(llm.memory.live_ids('o').tolist()).values())
        again = llm.query("What is the tallest mountain in Osterra?", namespace='o')
        assert not again.cached and again.finish_reason == 'stop' and '4100' in again.text, (again.cached, again.text)
