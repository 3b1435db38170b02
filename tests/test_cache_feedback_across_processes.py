"""A rating that says a cached answer is wrong reaches every entry that holds it, in every process on the store (found
by a probe of PostgreSQL replicas, lead30: a hit rated 1 went on being served, on one server now and then and on two
replicas always; an answer rated 1 on one replica was cached by the other and the cache's log spread it back). Two
RuvLLMs on one data directory stand in for two processes, as in test_feedback_across_replicas.py."""
from ruvllm import Config, Feedback, RuvLLM


def opened(path) -> RuvLLM:
    cfg = (Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('system.warm_up', False).build())
    return RuvLLM(cfg, start_scheduler=False)


def asked(llm, q):
    r = llm.query(q); llm.flush()
    return r


Q = "How many elephants does the Vetra zoo have?"
NOTES = ["The Vetra zoo has 40 elephants.", "The Vetra zoo opened in 1950."]


def test_a_hit_rated_wrong_is_not_served_again_when_a_later_write_back_stored_the_same_answer(tmp_path):
    """The rating removed the entry that served the hit, but a write-back of the same answer to an earlier asking of
    the question had replaced that entry meanwhile (the writer takes its batch 0.2 s later), and the replacement
    went on being served (1 of 4 hits rated 1 in the probe, on one server)."""
    with opened(tmp_path / 'db') as llm:
        llm.ingest(NOTES, progress=False)
        asked(llm, Q)
        hit = asked(llm, Q)
        assert hit.cached
        llm.cache.put('global', Q, llm.memory.embed_query(Q), hit.text, 'a-later-write-back')  # what the queued write-back of another asking stores
        out = llm.feedback(Feedback(hit.request_id, rating=1))
        assert out['cache_invalidated'] == 1 and not asked(llm, Q).cached  # the entry that replaced it


def test_a_hit_rated_wrong_on_another_process_is_removed_everywhere(tmp_path):
    """The rating process had not served the hit, so it found no entry to remove (it looked for the hit's request
    among the entries' makers): both processes went on serving the answer."""
    a, b = opened(tmp_path / 'db'), opened(tmp_path / 'db')
    try:
        a.ingest(NOTES, progress=False)
        asked(a, Q)
        hit = asked(a, Q)
        assert hit.cached
        a.cache_log.sync(); b.cache_log.sync()
        out = b.feedback(Feedback(hit.request_id, rating=1))
        assert out['cache_invalidated'] >= 1
        a.cache_log.sync()
        assert not asked(a, Q).cached and not asked(b, Q).cached
    finally:
        a.close(); b.close()


def test_an_answer_rated_wrong_on_one_process_is_not_cached_by_another(tmp_path):
    """The refusal was kept in the process that took the rating: the other process answered the question the same
    way, cached it on its self-estimate, and the log carried the entry back to the process that had refused it."""
    a, b = opened(tmp_path / 'db'), opened(tmp_path / 'db')
    try:
        a.ingest(NOTES, progress=False)
        r = asked(a, Q)
        a.feedback(Feedback(r.request_id, rating=1))  # refused on A (and shared through the cache's log)
        b.memory.sync(); b.cache_log.sync()  # B has the notes and the refusal (each process catches up every memory.sync_interval_s)
        again = asked(b, Q)
        assert again.text != r.text and b.cache.said_wrong('global', Q, r.text)  # B knows the refusal: it gives that quote no more (it gave it again, uncached, before 7 December)
        b.cache_log.sync(); a.cache_log.sync()
        assert not asked(b, Q).cached and not asked(a, Q).cached
    finally:
        a.close(); b.close()


def threshold_of(llm, maker):
    "The judge threshold (None: the cache's) of the entry request `maker` made, in this process's cache."
    return next(t for eid, (t, _) in llm.cache.entry_versions().items() if llm.cache.entry_record(eid, vectors=False)['request_id'] == maker)


def test_a_wrong_match_rated_on_another_process_raises_the_entry_threshold_everywhere(tmp_path):
    """A paraphrase served by the judge and rated wrong where it was not served: the entry now needs a judge score
    above that hit's in both processes (as when rated where it was served), and its own question is still served."""
    a, b = opened(tmp_path / 'db'), opened(tmp_path / 'db')
    try:
        a.ingest(["The Vetra museum opens at 10 am on weekdays."], progress=False)
        first = asked(a, "When does the Vetra museum open?")
        a.feedback(Feedback(first.request_id, rating=5))
        hit = asked(a, "What time does the Vetra museum open its doors?")
        js = a.record(hit.request_id).cache_hit['judge_similarity']
        assert hit.cached and js is not None  # served by the judge
        a.cache_log.sync(); b.cache_log.sync()
        assert (threshold_of(b, first.request_id) or 0) < js
        b.feedback(Feedback(hit.request_id, rating=1))
        a.cache_log.sync()
        assert threshold_of(a, first.request_id) > js and threshold_of(b, first.request_id) > js
        assert asked(a, "When does the Vetra museum open?").cached
    finally:
        a.close(); b.close()
