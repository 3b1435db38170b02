"""The store's event log and request records are pruned (a soak run found it never was: each cache put or removal is a ~3.6 KB event, about
20 MB a minute at full load). `save` prunes the cache's events the saved cache holds once `cache.log_keep_s` old, and
loop runs and ratings once `system.events_keep_s` old. A process behind the pruned part of the log reloads the saved
cache: it must end holding what the log said (an entry removed meanwhile gone, one added meanwhile there), on both stores."""
import pytest

from ruvllm import Config, Feedback, RuvLLM

Q1, Q2 = "What is the office wifi password?", "When does the staff canteen open?"


@pytest.fixture(params=['sqlite', 'postgresql'])
def store(request):
    return 'sqlite' if request.param == 'sqlite' else request.getfixturevalue('pg_url')


def _cfg(d, store, **kw):
    b = (Config.builder().db_path(d).set('memory.store', store).set('embedding.model', 'hashing').set('embedding.dim', 64)
         .set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').set('learning.enabled', False)
         .set('cache.judge', 'none').set('memory.sync_interval_s', 0.0))  # no background catch-up: a process catches up when told
    return b.update(kw).build()


def held(llm):
    "The request ids whose answers the cache holds."
    return {r['request_id'] for r in map(lambda i: llm.cache.entry_record(i, vectors=False), llm.cache.entry_versions()) if r}


def rate(llm, q, rating):
    r = llm.query(q); llm.feedback(Feedback(r.request_id, rating=rating)); assert llm.flush(10); return r


def test_a_process_behind_the_pruned_cache_log_reloads_the_saved_cache(tmp_path, store):
    dirs = (tmp_path / 'd', tmp_path / 'd') if store == 'sqlite' else (tmp_path / 'a', tmp_path / 'b')
    kw = {'cache.log_keep_s': 0.0}
    with RuvLLM(_cfg(dirs[0], store, **kw), start_scheduler=False) as a, RuvLLM(_cfg(dirs[1], store, **kw), start_scheduler=False) as b:
        a.memory.add_node("The office wifi password is hunter2.", 'Fact'); a.memory.add_node("The staff canteen opens at 11:45.", 'Fact')
        r1 = rate(a, Q1, 5); a.memory.sync(); b.memory.sync()
        assert held(a) == held(b) == {r1.request_id}
        bad = a.query(Q1); assert bad.cached  # b is away from here on: it catches up only at the end
        a.feedback(Feedback(bad.request_id, rating=1)); assert a.flush(10)  # wrong: a removes the entry
        r2 = rate(a, Q2, 5); a.memory.sync()
        assert held(a) == {r2.request_id}
        a.save()
        assert a.store.events_after('cache', 0) == [] and a.store.events_horizon('cache') > 0  # every cache event pruned
        b.memory.sync()
        assert held(b) == {r2.request_id}  # the removal and the addition it never read as events
        assert not b.query(Q1).cached and b.query(Q2).cached and b.flush(10)
        rate(b, "Is the staff canteen open at noon?", 5); b.memory.sync(); a.memory.sync()  # and the log goes on from there
        assert held(a) == held(b)
    with RuvLLM(_cfg(dirs[0], store, **kw), start_scheduler=False) as c:
        c.memory.sync()
        assert r2.request_id in held(c) and r1.request_id not in held(c)


def test_loop_runs_and_ratings_are_pruned_after_their_keep_time(tmp_path):
    with RuvLLM(_cfg(tmp_path / 'd', 'sqlite'), start_scheduler=False) as llm:
        llm.memory.add_node("The office wifi password is hunter2.", 'Fact')
        rate(llm, Q1, 4)
        llm.save()
        assert len(llm.store.events('feedback')) == 1  # kept: 30 days by default
    with RuvLLM(_cfg(tmp_path / 'd', 'sqlite', **{'system.events_keep_s': 0.0}), start_scheduler=False) as llm:
        llm.save()
        assert llm.store.events('feedback') == [] and llm.store.events_horizon('feedback') > 0


def test_settled_request_records_are_pruned_after_their_keep_time(tmp_path):
    "A record older than `system.request_keep_s` goes at `save`: feedback on it from a process that never saw it is refused as unknown."
    from ruvllm.config import RuvLLMError
    with RuvLLM(_cfg(tmp_path / 'd', 'sqlite'), start_scheduler=False) as llm:
        llm.memory.add_node("The office wifi password is hunter2.", 'Fact')
        old, kept = llm.query(Q1), llm.query(Q2); assert llm.flush(10)
        llm.save()
        assert llm.store.request_record(old.request_id)['writeback'] == 'done'  # kept: 30 days by default
    with RuvLLM(_cfg(tmp_path / 'd', 'sqlite', **{'system.request_keep_s': 0.0}), start_scheduler=False) as llm:
        llm.save()
        assert llm.store.request_record(old.request_id) is None and llm.store.request_records() == []
        with pytest.raises(RuvLLMError, match=old.request_id):
            llm.feedback(Feedback(old.request_id, rating=5))
