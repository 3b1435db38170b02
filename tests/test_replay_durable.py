"""Loop B's training data survives a process that never saves and is shared by processes on one directory (a probe of
7 December: 12 rated answers, no `close()`, reopened: the replay buffer held 0; two processes rating 5 and 7: 5 kept).
The ratings are events in the store's log; the buffer is saved with the position it holds and catches up from there.
Nothing is counted twice."""
from ruvllm import Config, Feedback, RuvLLM

FACTS = [f"The {c} tower is {40 + i} metres tall." for i, c in enumerate(
    'Orl Vel Tam Quor Zim Brek Hal Pim Sorn Tufa Welk Yarn Lom Gesk'.split())]


def _cfg(d):
    return (Config.builder().db_path(d).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
            .set('learning.enabled', False).set('cache.enabled', False).build())


def _rate(llm, names, rating=5):
    for n in names:
        r = llm.query(f"How tall is the {n} tower?"); llm.flush()
        llm.feedback(Feedback(r.request_id, rating=rating))


def test_a_process_that_never_saves_keeps_its_ratings_for_loop_b(tmp_path):
    a = RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False)
    a.ingest(FACTS, progress=False)
    _rate(a, ['Orl', 'Vel', 'Tam', 'Quor'])
    n = len(a.replay); assert n == 4
    b = RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False)  # opened while `a` never saved (as after a crash)
    assert len(b.replay) == n, (len(b.replay), n)
    b.close(); a.close()
    with RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False) as c:
        assert len(c.replay) == n  # once each: neither `a`'s own nor `b`'s copy counted twice


def test_two_processes_keep_both_sets_of_ratings(tmp_path):
    a = RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False)
    a.ingest(FACTS, progress=False)
    b = RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False)
    _rate(a, ['Orl', 'Vel', 'Tam', 'Quor', 'Zim'])
    _rate(b, ['Brek', 'Hal', 'Pim', 'Sorn', 'Tufa', 'Welk', 'Yarn'], rating=1)
    a.close(); b.close()  # the last to save used to keep only its own
    with RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False) as c:
        assert len(c.replay) == 12, len(c.replay)
    with RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False) as c:  # and again: nothing added twice
        assert len(c.replay) == 12


def test_a_damaged_record_costs_its_outcome_not_the_open(tmp_path):
    a = RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False)
    a.ingest(FACTS, progress=False)
    r = a.query("How tall is the Orl tower?"); a.flush(); a.feedback(Feedback(r.request_id, rating=5))
    _rate(a, ['Vel'])
    a.store.put(f'req:{r.request_id}', b'{"request_id": "damaged')  # the first rating's record, damaged on disk
    with RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False) as b:
        assert len(b.replay) == 1  # the other rating's outcome; the damaged one left out, with a warning
    a.close()
