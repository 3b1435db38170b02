"""An answer cut at max_tokens is no answer to cache: a later full request gets the whole answer, not the cut one."""
import pytest

from ruvllm import Config, Constraints, RuvLLM


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
