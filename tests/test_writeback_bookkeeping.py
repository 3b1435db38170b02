"""The queued write-back's bookkeeping (issue 19): what the writer thread stores for each request and what that costs.
One commit for a batch's records and the removal of their hand-offs, and no JSON parse of a record this process handed
over itself and nobody changed. Feedback from another process while a write-back is queued or under way is covered by
test_orchestrator (`test_a_correction_through_another_process_...`, `test_a_correction_that_lands_while_...`)."""
import json, os, sys, threading

import pytest

from ruvllm import Config, Constraints, RuvLLM

FACTS = [f"Gadget {i} is painted {c} and was built in {1900 + i} in Quenby." for i, c in
         zip(range(12), ['red', 'blue', 'green', 'amber'] * 3)]
QUESTIONS = [f"What colour is gadget {i}?" for i in range(12)]


def _cfg(path, learning=True):
    return (Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
            .set('learning.quality_threshold', 0.3).set('learning.enabled', learning)
            .set('learning.keep_unrated_quotes', True).build())  # the extractive answers are written back unrated


def test_one_commit_per_write_back_batch_for_the_records_and_their_hand_offs(tmp_path):
    "Learning off (Loop A commits nothing): a query is its hand-off's commit plus the writer's one (3 when the marks had their own)."
    with RuvLLM(_cfg(tmp_path / 'd', learning=False), start_scheduler=False) as llm:
        llm.ingest(FACTS, progress=False)
        commits = []
        for q in QUESTIONS:  # one at a time: each write-back is a batch of one
            c0 = llm.store.commits
            llm.query(q, constraints=Constraints(no_cache=True))
            assert llm.flush(timeout=60)
            commits.append(llm.store.commits - c0)
        assert commits == [2] * len(QUESTIONS), commits
        assert llm.store.kv_keys('wbq:') == []  # every hand-off removed


def test_the_writer_stores_each_records_final_json_and_parses_none_it_handed_over(tmp_path, monkeypatch):
    parsed, real_loads = [], json.loads

    def counting_loads(s, *a, **kw):  # test double around json.loads: notes the request records the writer thread parses
        text = s.decode() if isinstance(s, (bytes, bytearray)) else s
        if threading.current_thread().name == 'ruvllm-writeback' and text.startswith('{"request_id"'): parsed.append(text)
        return real_loads(s, *a, **kw)

    with RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False) as llm:
        llm.ingest(FACTS, progress=False)
        monkeypatch.setattr(json, 'loads', counting_loads)
        rids = [llm.query(q, constraints=Constraints(no_cache=True)).request_id for q in QUESTIONS]
        assert llm.flush(timeout=60)
        monkeypatch.undo()
        assert parsed == [], len(parsed)
        written = 0
        for rid in rids:
            rec = llm.record(rid)
            assert rec.writeback == 'done'
            assert llm.store.get(f'req:{rid}') == rec.to_json().encode()  # the record as it is after its write-back
            written += rec.qa_node is not None
        assert written >= len(rids) // 2, written  # Loop A wrote: the stored JSON carries the QAPair's id
        assert llm.store.kv_keys('wbq:') == []


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason="per-thread nice values are Linux's")
@pytest.mark.parametrize('steps', [10, 0])
def test_the_writer_thread_runs_learning_writer_nice_steps_below_the_requests(tmp_path, steps):
    "The request threads keep their CPU: the writer's nice value is `learning.writer_nice` above the process's; the caller's is untouched."
    me = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('learning.writer_nice', steps).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(FACTS[:2], progress=False)
        llm.query(QUESTIONS[0], constraints=Constraints(no_cache=True)); assert llm.flush(timeout=60)  # the writer has run
        assert os.getpriority(os.PRIO_PROCESS, llm.writes.thread.native_id) == min(19, me + steps)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == me
