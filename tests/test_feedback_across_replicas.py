"""A request rated on another process while its write-back is still queued where it was served (found by a stress run
of PostgreSQL replicas): the rating process wrote the Q&A itself, so the request ended with two QAPairs, and its final
store of the record overwrote the writer's (`writeback` back to 'queued', `qa_node` pointing at its own copy). Now the
writer of the serving process writes it once, at the rating's quality, and the stored record keeps what the writer
committed. Two RuvLLMs in this process stand in for two processes (one SQLite directory, or one PostgreSQL database);
the serving one's writer lets its batch gather for 1 s, so the rating lands while the write-back is queued."""
import json
import pytest

from ruvllm import Config, Feedback, RuvLLM


@pytest.fixture(params=['sqlite', 'postgresql'])
def store(request):
    return 'sqlite' if request.param == 'sqlite' else request.getfixturevalue('pg_url')


def _cfg(path, store, **learning):
    b = (Config.builder().db_path(path).set('memory.store', store).set('inference.tiers', {'tiny': 'extractive'})
         .set('router.safe_tier', 'tiny').set('memory.sync_interval_s', 0.1))
    for k, v in learning.items(): b = b.set(f'learning.{k}', v)
    return b.build()


def qa_nodes(llm, rid):
    return [(n, bool(a)) for n, a, md in llm.store.q("SELECT id, archived, metadata FROM nodes WHERE type = 'QAPair'")
            if rid in json.loads(md or '{}').get('request_ids', [])]


def test_a_rating_from_another_process_while_queued_writes_one_qapair(tmp_path, store):
    da, db = (tmp_path / 'd', tmp_path / 'd') if store == 'sqlite' else (tmp_path / 'a', tmp_path / 'b')
    a = RuvLLM(_cfg(da, store, writeback_gather_s=1.0, writeback_max_delay_s=2.0), start_scheduler=False)
    b = RuvLLM(_cfg(db, store), start_scheduler=False)
    try:
        a.ingest(["The widget W7Q7 is stored in bin 7 of hall 3."], progress=False)
        r = a.query("Where is widget W7Q7 stored?")
        assert json.loads(b.store.get(f'req:{r.request_id}'))['writeback'] == 'queued'  # A's writer is still gathering
        out = b.feedback(Feedback(r.request_id, rating=5))
        assert out.get('written') is None  # B leaves the write to A's writer
        assert a.flush(10)
        nodes = qa_nodes(a, r.request_id)
        assert len(nodes) == 1 and not nodes[0][1], nodes
        stored = json.loads(a.store.get(f'req:{r.request_id}'))
        assert stored['writeback'] == 'done' and stored['qa_node'] == nodes[0][0] and stored['feedback']['rating'] == 5
        assert a.memory.get(nodes[0][0]).quality == 1.0  # written at the rating's quality
        with pytest.raises(Exception, match='already given'): a.feedback(Feedback(r.request_id, rating=1))
    finally:
        a.close(); b.close()


def test_a_good_rating_given_elsewhere_while_the_write_back_runs_keeps_the_answer(tmp_path):
    """A rating 5 given on another process while the serving process's writer was between its read of the record and its
    commit (here provoked by a correction sent to the serving process at the same moment, refused, whose wait for the
    write-back makes the writer run at once) was accepted but had no effect: the rating process left the write to the
    writer (the record was queued), and the writer, having read no rating, kept no Q&A for an unrated quote (a probe of
    PostgreSQL replicas: 0 of 8; 2 of 8 lost here on the code before). Now the writer writes it after its commit."""
    import threading
    a, b = (RuvLLM(_cfg(tmp_path / 'd', 'sqlite'), start_scheduler=False) for _ in range(2))
    try:
        a.ingest([f"The mascot of team {i} is the animal{i}." for i in range(16)], progress=False)
        for n in range(16):
            r = a.query(f"What is the mascot of team {n}?")
            ok = {}
            def give(llm, fb, who):
                try: llm.feedback(fb); ok[who] = True
                except Exception: ok[who] = False
            ts = [threading.Thread(target=give, args=(a, Feedback(r.request_id, rating=1, correction=f"Team {n}'s mascot is the lynx."), 'a')),
                  threading.Thread(target=give, args=(b, Feedback(r.request_id, rating=5), 'b'))]
            for t in ts: t.start()
            for t in ts: t.join()
            assert a.flush(10) and b.flush(10) and sum(ok.values()) == 1, ok
            live = [n_ for n_, archived in qa_nodes(a, r.request_id) if not archived]
            assert len(live) == 1, (n, ok, qa_nodes(a, r.request_id))  # the answer as rated well, or the correction
    finally:
        a.close(); b.close()
