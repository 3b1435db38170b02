"""Loop A writes a Q&A once, also when questions' vectors tie (names that differ by a digit) and when the same
request's write-back is replayed after a crash. A probe (6 December) found 29 of 100 requests with two to four copies
of their Q&A after one kill during the replay, and repeated questions in one write-back batch written twice: the
nearest QAPair above `memory.dedup_threshold` held another river's answer, so the copy of this one was never seen."""
import collections
from ruvllm.config import Config
from ruvllm.orchestrator import RuvLLM
from ruvllm.types import Constraints


def _live_qa_texts(llm, n):
    return collections.Counter(x.text for x in llm.memory.get_many(range(1, 10 * n)).values()
                               if x.type.value == 'QAPair' and not x.archived)


def test_a_question_asked_again_in_one_write_back_batch_keeps_one_q_and_a(tmp_path):
    n = 60
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'})
           .set('learning.keep_unrated_quotes', True).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest([f"The river Thread0river{i} is exactly {1000 + i} meters long." for i in range(n)], progress=False)
        for i in range(n):
            for _ in range(3): assert str(1000 + i) in llm.query(f"How long is the river Thread0river{i}?", constraints=Constraints(no_cache=True)).text
        llm.flush()
        texts = _live_qa_texts(llm, n)
        assert len(texts) == n and max(texts.values()) == 1, [t for t, c in texts.items() if c > 1][:3]
        for _ in range(2): llm.query("How long is the river Thread0river7?", constraints=Constraints(no_cache=True))
        llm.flush()
        assert _live_qa_texts(llm, n) == texts  # asked again later: the same node, updated
