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
        later = llm.query(Q1); assert llm.flush(10)
        llm.save()  # within `system.prune_every_s` of the last pruning: no scan of the records
        assert llm.store.request_record(later.request_id) is not None
    with RuvLLM(_cfg(tmp_path / 'd', 'sqlite', **{'system.request_keep_s': 0.0, 'system.prune_every_s': 0.0}), start_scheduler=False) as llm:
        llm.save(); assert llm.store.request_record(later.request_id) is None


# ---- found by a probe of the pruning with several processes (each fails on the code before its fix) ----------------

FACTS = ["The office wifi password is hunter2.", "The staff canteen opens at 11:45.", "The payroll desk is run by Maria."]
Q3 = "Who runs the payroll desk?"


def _two(tmp_path, store, n=2):
    return [tmp_path / 'd'] * n if store == 'sqlite' else [tmp_path / c for c in 'abcd'[:n]]


from contextlib import contextmanager

@contextmanager
def _pair(tmp_path, store, **kw):
    "Two processes' RuvLLMs on one store (one directory for SQLite, one each for PostgreSQL), the facts in memory."
    da, db = _two(tmp_path, store)
    with RuvLLM(_cfg(da, store, **kw), start_scheduler=False) as a, RuvLLM(_cfg(db, store, **kw), start_scheduler=False) as b:
        for f in FACTS: a.memory.add_node(f, 'Fact')
        yield a, b


def test_a_process_with_the_cache_off_saves_no_cache_over_the_others(tmp_path, store):
    "It applies no entry: its empty cache, saved at the log's end, would be what a new process or one behind reloads."
    da, db, dc, dd = _two(tmp_path, store, 4)
    kw = {'cache.log_keep_s': 0.0}
    with RuvLLM(_cfg(da, store, **kw), start_scheduler=False) as a, RuvLLM(_cfg(db, store, **kw), start_scheduler=False) as b:
        for f in FACTS: a.memory.add_node(f, 'Fact')
        r1 = rate(a, Q1, 5); a.memory.sync(); b.memory.sync()
        r2 = rate(a, Q2, 5); a.memory.sync()  # b has not read this one
        with RuvLLM(_cfg(dc, store, **kw, **{'cache.enabled': False}), start_scheduler=False): pass  # closing saves
        b.memory.sync()
        with RuvLLM(_cfg(dd, store, **kw), start_scheduler=False) as d:
            d.memory.sync()
            assert held(a) == held(b) == held(d) == {r1.request_id, r2.request_id}


def test_a_prune_between_reading_the_horizon_and_the_log_is_caught(tmp_path, store):
    "A's save prunes while B reads the log (forced by a test double of B's `events_after`): B must reload, not skip what was pruned."
    with _pair(tmp_path, store, **{'cache.log_keep_s': 0.0}) as (a, b):
        r1 = rate(a, Q1, 5); a.memory.sync(); b.memory.sync()
        bad = a.query(Q1); assert bad.cached
        a.feedback(Feedback(bad.request_id, rating=1)); assert a.flush(10)  # r1 removed
        r2 = rate(a, Q2, 5); a.memory.sync()
        real, fired = b.store.events_after, []
        def events_after_racing_a_save(kind, after, limit=1000):  # test double: A saves (and prunes) as B reads, then writes on
            if kind == 'cache' and not fired: fired.append(1); a.save(); fired.append(rate(a, Q3, 5))
            return real(kind, after, limit)
        b.store.events_after = events_after_racing_a_save
        try: b.memory.sync()
        finally: b.store.events_after = real
        a.memory.sync(); b.memory.sync()
        assert held(a) == held(b) == {r2.request_id, fired[1].request_id}


def test_after_a_reload_rating_an_answer_served_before_it_still_removes_it(tmp_path, store):
    "An entry B published after the saved copy keeps its id through the reload, so a rating of a hit served from it finds it."
    with _pair(tmp_path, store, **{'cache.log_keep_s': 0.0}) as (a, b):
        rate(a, Q1, 5); a.memory.sync(); b.memory.sync()
        rate(a, Q3, 5); a.memory.sync(); a.save()  # b is behind the horizon now
        r2 = rate(b, Q2, 5)  # published by b after the saved copy
        hit = b.query(Q2); assert hit.cached
        b.memory.sync()  # reloads
        b.feedback(Feedback(hit.request_id, rating=1)); assert b.flush(10)
        a.memory.sync(); b.memory.sync()
        assert r2.request_id not in held(a) | held(b)


def test_the_saved_cache_never_holds_an_entry_the_log_lacks(tmp_path, store):
    """A write-back's cache put that lands after save published (forced: a test double of `memory.touch` holds the writer
    until then) is left out of the saved copy, so its removal right after cannot leave it there for new processes."""
    import threading, time
    da, db, dc = _two(tmp_path, store, 3)
    with RuvLLM(_cfg(da, store), start_scheduler=False) as a, RuvLLM(_cfg(db, store), start_scheduler=False) as b:
        for f in FACTS: a.memory.add_node(f, 'Fact')
        a.memory.sync(); b.memory.sync()
        gate, touch = threading.Event(), a.memory.touch
        a.memory.touch = lambda ids: (gate.wait(30), touch(ids))[1]  # test double: the writer waits before its cache put
        r = a.query(Q1); time.sleep(0.3)
        sync = a.cache_log.sync
        def sync_then_the_writer_puts():  # test double: the put lands right after save's publish
            n = sync()
            if not gate.is_set():
                gate.set(); t = time.time()
                while r.request_id not in held(a) and time.time() - t < 10: time.sleep(0.01)
            return n
        a.cache_log.sync = sync_then_the_writer_puts
        try: a.save()
        finally: a.cache_log.sync = sync; a.memory.touch = touch
        assert r.request_id in held(a)
        a.feedback(Feedback(r.request_id, rating=1)); assert a.flush(10)
        a.memory.sync(); b.memory.sync()
        with RuvLLM(_cfg(dc, store), start_scheduler=False) as c:
            c.memory.sync()
            assert r.request_id not in held(c) and held(a) == held(b) == held(c)


def test_a_rated_request_whose_record_was_pruned_is_not_rated_again(tmp_path, store):
    "B holds the record unrated in RAM; A rates it and its record is pruned: B cannot tell, so it refuses, naming the retention."
    import time
    from ruvllm.config import RuvLLMError
    with _pair(tmp_path, store, **{'system.request_keep_s': 0.0}) as (a, b):
        r = a.query(Q2); assert a.flush(10)
        b.record(r.request_id)
        a.feedback(Feedback(r.request_id, rating=5)); assert a.flush(10)
        time.sleep(0.01); a.save()
        assert a.store.request_record(r.request_id) is None
        with pytest.raises(RuvLLMError, match='request_keep_s'):
            b.feedback(Feedback(r.request_id, rating=1))


def test_a_query_finishes_while_save_writes_the_cache(tmp_path):
    "Saving the cache (~0.4 s for 3,830 entries in a soaked run) happened under the orchestrator's lock, which every query needs to finish."
    import threading
    with RuvLLM(_cfg(tmp_path / 'd', 'sqlite'), start_scheduler=False) as llm:
        llm.memory.add_node(FACTS[0], 'Fact')
        inside, release, snapshot = threading.Event(), threading.Event(), llm.cache_log.snapshot
        def slow_snapshot():  # test double: the cache's snapshot takes until the query below is done
            inside.set(); release.wait(20); return snapshot()
        llm.cache_log.snapshot = slow_snapshot
        saver = threading.Thread(target=llm.save); saver.start()
        try:
            assert inside.wait(10)
            done = threading.Event()
            threading.Thread(target=lambda: (llm.query(Q1), done.set()), daemon=True).start()
            assert done.wait(10), "a query waited for save's cache snapshot"
        finally:
            release.set(); saver.join(20); llm.cache_log.snapshot = snapshot


def test_a_process_behind_the_pruned_log_keeps_the_refusals_it_never_read(tmp_path, store):
    """A rating of 1 on one process is shared as a 'refuse' event; when that event was pruned before another process
    read it, the reload from the saved cache took the entries and not the refusals: that process cached the refused
    answer again on its self-estimate and the log spread it back."""
    dirs = (tmp_path / 'd', tmp_path / 'd') if store == 'sqlite' else (tmp_path / 'a', tmp_path / 'b')
    kw = {'cache.log_keep_s': 0.0}
    with RuvLLM(_cfg(dirs[0], store, **kw), start_scheduler=False) as a, RuvLLM(_cfg(dirs[1], store, **kw), start_scheduler=False) as b:
        a.memory.add_node("The office wifi password is hunter2.", 'Fact'); a.memory.add_node("The staff canteen opens at 11:45.", 'Fact')
        r = a.query(Q1); a.feedback(Feedback(r.request_id, rating=1)); assert a.flush(10)
        rate(a, Q2, 5); a.memory.sync()
        a.save()
        assert a.store.events_after('cache', 0) == []  # the refusal's event is gone: b can only learn it from the saved cache
        b.memory.sync()
        again = b.query(Q1); assert b.flush(10)
        assert b.cache.said_wrong('global', Q1, r.text)  # the refusal, and that it was said wrong, came with the saved cache
        assert again.text != r.text and not again.cached  # so b gives that quote no more (before 7 December, evening: again, uncached)
        b.memory.sync(); a.memory.sync()
        assert not b.query(Q1).cached and not a.query(Q1).cached
