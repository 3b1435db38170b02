"""The Python API refuses wrong types and impossible requests with `InvalidInputError`/`ConfigError` naming the problem (no stray TypeError, AttributeError or OverflowError)."""
from pathlib import Path
import pytest

from ruvllm import Config, Constraints, RuvLLM
from ruvllm.types import InvalidInputError
from ruvllm.config import ConfigError


@pytest.fixture
def llm(tmp_path):
    with RuvLLM(Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build(),
                start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        yield llm


def test_wrong_types_and_impossible_requests_are_named(llm, tmp_path):
    n = len(llm.memory.live_ids())
    for items, what in [(None, 'items must be'), (5, 'items must be'), ({'text': 'The Orl is a river.', 'metadata': {}}, 'single record'), (Path(tmp_path / 'missing.jsonl'), 'no such file'), (tmp_path, 'is a directory')]:
        with pytest.raises(InvalidInputError, match=what): llm.ingest(items, format='chat' if isinstance(items, Path) else None, progress=False)
    with pytest.raises(InvalidInputError, match='got a string'): llm.ingest_chat('chat.jsonl', progress=False)
    with pytest.raises(InvalidInputError, match='Turn objects'): llm.temporary_session(['hi']).__enter__()
    with pytest.raises(InvalidInputError, match='learn must be True or False'): llm.query("Which river?", learn='no')
    with pytest.raises(InvalidInputError, match='learn must be True or False'): llm.query_stream("Which river?", learn='yes')  # at once, not at the first next()
    with pytest.raises(InvalidInputError, match='leaves no room for the prompt'): llm.query("Which river?", constraints=Constraints(max_tokens=10**6))
    with pytest.raises(InvalidInputError, match='node id'): llm.memory.get(2**70)
    with pytest.raises(InvalidInputError, match='cannot publish'): llm.publish('cache')
    assert len(llm.memory.live_ids()) == n  # nothing stored on the way


def test_a_config_that_is_not_a_config_is_refused(tmp_path):
    with pytest.raises(ConfigError, match='config must be a Config'): RuvLLM({'system': {}})


def test_text_with_nothing_visible_is_empty(llm):
    n = len(llm.memory.live_ids())
    with pytest.raises(InvalidInputError, match='query is empty'): llm.query('\u200b\x00 ')
    with pytest.raises(InvalidInputError, match='is empty'): llm.ingest(['a real passage', '\u200b\u200b'], progress=False)
    assert len(llm.memory.live_ids()) == n


def test_a_correction_with_no_letter_or_digit_or_too_long_is_refused(llm):
    from ruvllm import Feedback
    rid = llm.query("Which river flows through Quenby?").request_id
    with pytest.raises(InvalidInputError, match='no letter or digit'): Feedback(rid, correction=' . ')
    with pytest.raises(InvalidInputError, match='the limit is 8000'): llm.feedback(Feedback(rid, correction='The Zorblat. ' * 1000))
    llm.feedback(Feedback(rid, correction='The Zorblat river.'))  # nothing was spent on the refused ones


def test_a_huge_latency_budget_is_no_cap(llm):
    llm.query("Which river flows through Quenby?")  # the tier's speed is known from here on
    r = llm.query("Which river flows through Quenby?", constraints=Constraints(no_cache=True, max_latency_ms=1e308))
    assert 'Zorblat' in r.text


def test_close_waits_for_a_loop_under_way(tmp_path):
    import threading, time
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    llm = RuvLLM(cfg, start_scheduler=False)
    llm.ingest([f"fact {i} about the harbour of Farrow" for i in range(30)], progress=False)
    name = 'C'; due, run = llm.scheduler.jobs[name]  # Loop C (compression)
    started, out = threading.Event(), {}
    def slow_run_double(): started.set(); time.sleep(1.0); return run()  # a test double: the loop, a second slower
    llm.scheduler.jobs[name] = (due, slow_run_double)
    t = threading.Thread(target=lambda: out.setdefault('result', llm.learn(name))); t.start(); started.wait(5)
    llm.close(); t.join(10)
    assert 'result' in out  # it finished against an open store (it used to fail on the closed one)
