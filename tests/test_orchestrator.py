"""End-to-end tests of RuvLLM: learning changes behaviour, with the extractive tier and with SmolLM2."""
import threading, time
from pathlib import Path
import numpy as np
import pytest

from ruvllm import Config, Constraints, Feedback, RuvLLM, InvalidInputError, UnknownIdError
from ruvllm.types import Response


def _cfg(path, keep_quotes=False, **tiers):  # keep_quotes: unrated extractive answers are written back (tests of the write-back)
    b = Config.builder().db_path(path).set('learning.keep_unrated_quotes', keep_quotes)
    if tiers: b = b.set('inference.tiers', tiers).set('router.safe_tier', 'small' if 'small' in tiers else 'tiny')
    return b.build()


def test_router_round_changes_routing_of_a_query_cluster(tmp_path):
    """Two tiers that both answer a cluster of questions: after a Loop B round on those outcomes the router
    sends the cluster to the cheaper tier instead of falling back to the safe (expensive) default."""
    cfg = _cfg(tmp_path / 'd', tiny='extractive', small='extractive')
    cluster = [f"What is the boiling point of liquid number {i} at sea level?" for i in range(40)]
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest([f"Liquid number {i} boils at {100 + i} degrees at sea level." for i in range(40)], progress=False)
        before = [llm.query(q, constraints=Constraints(no_cache=True), learn=False).routing_info.model.value for q in cluster]
        assert before.count('small') >= 35  # untrained: low confidence, safe default
        for q in cluster * 3:  # full-information outcomes: both tiers succeed, tiny costs nothing
            r = llm.query(q, constraints=Constraints(no_cache=True))
            rec = llm.record(r.request_id)
            llm.replay.add(np.asarray(rec.features, np.float32), rec.decision, 1.0, 1.0, rec.cost, 0.001,
                           outcomes={'tiny': 1.0, 'small': 1.0})
        for _ in range(3): llm.learn('B')
        after = [llm.query(q, constraints=Constraints(no_cache=True), learn=False).routing_info.model.value for q in cluster]
        assert llm.stats()['router']['rounds'] >= 1
    assert after.count('tiny') >= 30, (before, after)


def test_feedback_bad_input_changes_nothing(tmp_path):
    with RuvLLM(_cfg(tmp_path / 'd', keep_quotes=True, tiny='extractive'), start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        r = llm.query("Which river flows through Quenby?")
        llm.flush()  # its queued write-back is written: the count below is the one feedback must not change
        n_nodes = llm.memory.stats()['nodes']
        with pytest.raises(UnknownIdError, match="unknown request_id 'nope'"): llm.feedback(Feedback('nope', rating=2))
        with pytest.raises(InvalidInputError, match="must be a Feedback"): llm.feedback({'request_id': r.request_id})
        llm.feedback(Feedback(r.request_id, rating=4))
        with pytest.raises(InvalidInputError, match="already given"): llm.feedback(Feedback(r.request_id, correction="x"))
        assert llm.memory.stats()['nodes'] == n_nodes
        with pytest.raises(InvalidInputError): llm.query(None)
        with pytest.raises(InvalidInputError, match="the limit is"): llm.query("a" * 100_000)


def test_close_is_prompt_with_scheduler_running(tmp_path):
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    llm = RuvLLM(cfg, start_scheduler=True)
    llm.ingest([f"fact {i}" for i in range(20)], progress=False)
    t0 = time.perf_counter(); llm.close(); took = time.perf_counter() - t0
    assert took < 5, took
    assert not llm.scheduler.thread.is_alive()


def test_restart_restores_router_replay_cache_and_stats(tmp_path):
    cfg = _cfg(tmp_path / 'd', tiny='extractive', small='extractive')
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Quorvane is the capital of Veltoria."], progress=False)
        r = llm.query("What is the capital of Veltoria?")
        llm.feedback(Feedback(r.request_id, rating=5))
        W = llm.router.params['W'].copy(); n_replay = len(llm.replay); st = llm.stats()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        assert np.array_equal(llm.router.params['W'], W)
        assert len(llm.replay) == n_replay
        assert llm.stats()['queries']['queries'] == st['queries']['queries']
        assert llm.cache.stats()['entries'] == st['cache']['entries']
        # feedback for a request served before the restart is still accepted once (a retry is `repeated` only in the process that learned)
        with pytest.raises(InvalidInputError, match="already given"): llm.feedback(Feedback(r.request_id, rating=5))


def test_smollm2_learns_a_corrected_fact(tmp_path):
    """Real model: a fictional fact SmolLM2 cannot know is wrong before the correction and right on a
    paraphrase afterwards."""
    cfg = Config.builder().db_path(tmp_path / 'd').build()  # tiny=extractive, small=SmolLM2
    with RuvLLM(cfg, start_scheduler=False) as llm:
        small = Constraints(force_model='small', temperature=0.0, no_cache=True)
        r = llm.query("What is the capital of the country Zembravia?", constraints=small)
        assert 'vellimar' not in r.text.lower()
        llm.feedback(Feedback(r.request_id, rating=1, correction="The capital of Zembravia is Vellimar."))
        r2 = llm.query("Which city is Zembravia's capital?", constraints=small)
        assert 'vellimar' in r2.text.lower(), r2.text
        assert any('Vellimar' in s.text for s in r2.sources)


def test_context_leaves_out_passages_about_another_subject(tmp_path):
    """A stored fact about an invented country must not reach the context of a question about Germany
    (a small model copies what it is given); a paraphrase about the same country still gets it."""
    with RuvLLM(_cfg(tmp_path / 'd', tiny='extractive'), start_scheduler=False) as llm:
        llm.ingest(["The capital of Stanarith is Torpelia."], progress=False)
        other = llm.query("What is the capital of Germany?", constraints=Constraints(no_cache=True))
        same = llm.query("Name Stanarith's capital city.", constraints=Constraints(no_cache=True))
        llm.cfg.context.require_key_word = False  # the filter off: the same passage does reach the other question's context
        unfiltered = llm.query("What is the capital of Germany?", constraints=Constraints(no_cache=True))
    assert not any('Stanarith' in s.text for s in other.sources) and 'Torpelia' not in other.text
    assert any('Stanarith' in s.text for s in same.sources) and 'Torpelia' in same.text
    assert any('Stanarith' in s.text for s in unfiltered.sources)


def test_correction_replaces_the_answer_in_the_session_history(tmp_path):
    with RuvLLM(_cfg(tmp_path / 'd', tiny='extractive'), start_scheduler=False) as llm:
        llm.ingest(["The capital of Zembravia is Quenby."], progress=False)
        s = llm.new_session()
        r = llm.query("What is the capital of Zembravia?", session=s)
        assert 'Quenby' in s.turns[-1].answer
        llm.feedback(Feedback(r.request_id, rating=1, correction="The capital of Zembravia is Vellimar."))
        assert s.turns[-1].said == "The capital of Zembravia is Vellimar." and 'Quenby' in s.turns[-1].answer  # both kept
        r2 = llm.query("Which city is Zembravia's capital?", session=s, constraints=Constraints(no_cache=True))
    assert 'Vellimar' in r2.text


def test_router_for_another_tier_set_is_kept_not_overwritten(tmp_path):
    two = _cfg(tmp_path / 'd', tiny='extractive', small='extractive')
    one = _cfg(tmp_path / 'd', tiny='extractive')
    with RuvLLM(two, start_scheduler=False) as llm:
        llm.router.params['W'][:] += 0.5; W = llm.router.params['W'].copy()  # stands for a trained router
    with RuvLLM(one, start_scheduler=False) as llm:  # e.g. `ruvllm stats` with another config
        assert llm.router.tiers == ['tiny']
    with RuvLLM(two, start_scheduler=False) as llm:
        assert llm.router.tiers == ['tiny', 'small'] and np.array_equal(llm.router.params['W'], W)


# --- chat transcripts ------------------------------------------------------------------------------------

TURNS = Path(__file__).resolve().parent.parent / 'ruvllm' / 'evals' / 'data' / 'conversations' / 'turns.jsonl'


def _transcript(path: Path) -> list[dict]:
    "Eleven real turns of the conversation benchmark: six of c1's first session, five of its second, one JSONL line each."
    import json
    rows = [json.loads(l) for l in TURNS.read_text().splitlines() if '"c1"' in l]
    turns = [r for r in rows if r['session'] == 1][10:16] + [r for r in rows if r['session'] == 2][:5]
    path.write_text(''.join(json.dumps(t) + '\n' for t in turns))
    return turns


def test_transcript_ingests_dated_turns_linked_per_session_and_answers_from_them(tmp_path):
    turns = _transcript(tmp_path / 'c1.jsonl')
    with RuvLLM(_cfg(tmp_path / 'd', tiny='extractive'), start_scheduler=False) as llm:
        ids = llm.ingest(tmp_path / 'c1.jsonl', namespace='chat', batch_size=4, progress=False)  # detected as chat
        assert len(ids) == 11 and llm.stats()['memory']['live'] == 11
        nodes = [llm.memory.get(i) for i in ids]
        for t, n in zip(turns, nodes):
            assert n.text == f"[{t['timestamp'][:10]}] {t['speaker']}: {t['text']}"
            assert n.source == f"c1-s{t['session']}"
            assert (n.metadata['speaker'], n.metadata['timestamp'], n.metadata['session'], n.metadata['turn_id']) == \
                   (t['speaker'], t['timestamp'], t['session'], t['id'])
        follows = {(e.src, e.dst) for i in ids for e in llm.memory.edges_of(i) if e.type.value == 'Follows'}
        assert follows == {(a, b) for a, b in zip(ids, ids[1:]) if b != ids[6]}  # in order, across batches, not across sessions
        r = llm.query("Where did Oliver's brother get accepted for a PhD?", namespace='chat',
                      constraints=Constraints(no_cache=True))
        assert 'Aarhus' in r.text, r.text
        assert ids[4] in [s.node_id for s in r.sources]


def test_transcript_bad_line_names_file_and_line_and_stores_nothing(tmp_path):
    import json
    turns = _transcript(tmp_path / 'c1.jsonl')
    with RuvLLM(_cfg(tmp_path / 'd', tiny='extractive'), start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        before = llm.memory.stats()['nodes']
        for n, bad in [(3, '{"speaker": "Felix", "text": "hi", "session": 1,}'),
                       (7, json.dumps(dict(turns[0], text=''))),
                       (11, json.dumps({k: v for k, v in turns[0].items() if k != 'text'})),
                       (5, json.dumps(dict(turns[0], timestamp='last Sunday')))]:
            lines = [json.dumps(t) for t in turns]; lines[n - 1] = bad
            f = tmp_path / 'bad.jsonl'; f.write_text('\n'.join(lines) + '\n')
            with pytest.raises(InvalidInputError, match=f"bad.jsonl:{n}: "):
                llm.ingest(f, progress=False)
            with pytest.raises(InvalidInputError, match=f"bad.jsonl:{n}: "):  # explicit format, same check
                llm.ingest(f, format='chat', progress=False)
            assert llm.memory.stats()['nodes'] == before
        with pytest.raises(InvalidInputError, match="turns:2: \"speaker\""):  # turn dicts, validated before storing
            llm.ingest([turns[0], {'text': 'x', 'session': 1}], format='chat', progress=False)
        assert llm.memory.stats()['nodes'] == before


def test_hybrid_retrieval_brings_the_rare_word_passage_to_the_context(tmp_path):
    """A rare word the dense search ranks last (as in the memory notebook's `zorblatt` check): the default
    hybrid retrieval puts its passage in the sources and the answer; dense search with expansion does not."""
    notes = [f"Meeting {i}: the server configuration for the team share was reviewed again." for i in range(30)]
    needle = ("Meeting notes from Tuesday: Dana talked about the lunch order, the parking permits, the quarterly "
              "budget, the holiday rota, the new printer, and said the password is zorblatt; then the office plants.")
    q = "In which meeting did zorblatt come up?"
    got = {}
    for how in ('hybrid_graph', 'dense_graph'):
        cfg = Config.builder().db_path(tmp_path / how).set('inference.tiers', {'tiny': 'extractive'}) \
                    .set('router.safe_tier', 'tiny').set('memory.retrieval', how).build()
        with RuvLLM(cfg, start_scheduler=False) as llm:
            ids = llm.ingest(notes + [needle], progress=False)
            assert [h.node.id for h in llm.memory.search(q, k=len(ids))][-1] == ids[-1]  # dense ranks it last
            r = llm.query(q, constraints=Constraints(no_cache=True), learn=False)
            got[how] = ([s.node_id for s in r.sources], r.text)
    assert Config().memory.retrieval == 'hybrid_graph'
    assert ids[-1] in got['hybrid_graph'][0] and 'zorblatt' in got['hybrid_graph'][1], got
    assert ids[-1] not in got['dense_graph'][0] and 'zorblatt' not in got['dense_graph'][1], got


# --- streaming ------------------------------------------------------------------------------------
def test_query_stream_yields_pieces_that_join_to_the_response_and_learns_once(tmp_path):
    with RuvLLM(_cfg(tmp_path / 'd', keep_quotes=True, tiny='extractive'), start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby.", "Quenby is the capital of Marsovia."], progress=False)
        s = llm.new_session()
        n0, q0 = len(llm.memory), llm.counters['queries']
        stream = llm.query_stream("Which river flows through Quenby?", session=s, constraints=Constraints(no_cache=True))
        assert llm.counters['queries'] == q0  # nothing runs before the first next()
        events = list(stream)
        pieces, r = events[:-1], events[-1]
        assert isinstance(r, Response) and len(pieces) > 1 and ''.join(pieces) == r.text and 'Zorblat' in r.text
        assert r.request_id == stream.request_id and stream.response is r and r.sources
        assert llm.record(r.request_id).answer == r.text and [t.request_id for t in s.turns] == [r.request_id]
        assert llm.counters['queries'] == q0 + 1 and len(llm.memory) == n0 + 1  # one write-back, on completion
        # the same question through query gives the same answer: one request path
        assert llm.query("Which river flows through Quenby?", constraints=Constraints(no_cache=True)).text == r.text


def test_query_stream_checks_arguments_at_the_call_and_counts_later_errors(tmp_path):
    with RuvLLM(_cfg(tmp_path / 'd', tiny='extractive'), start_scheduler=False) as llm:
        with pytest.raises(InvalidInputError, match="must be a Constraints"): llm.query_stream("x", constraints={'no_cache': True})
        with pytest.raises(UnknownIdError, match="unknown session_id"): llm.query_stream("x", session='s_nope')
        with pytest.raises(InvalidInputError, match="not a configured tier"):
            llm.query_stream("x", constraints=Constraints(force_model='large'))
        assert llm.counters['queries'] == 0 and llm.counters['errors'] == 0


def test_cached_answer_streams_in_one_piece(tmp_path):
    with RuvLLM(_cfg(tmp_path / 'd', tiny='extractive'), start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        r = llm.query("Which river flows through Quenby?")
        llm.feedback(Feedback(r.request_id, rating=5))  # a well-rated answer is cached
        events = list(llm.query_stream("Which river flows through Quenby?"))
        assert len(events) == 2 and events[1].cached and events[0] == events[1].text == r.text


def _assert_cancelled(llm, stream, n_nodes, n_queries, sess):
    with pytest.raises(UnknownIdError): llm.record(stream.request_id)
    assert len(llm.memory) == n_nodes and llm.counters['queries'] == n_queries and stream.response is None
    assert all(t.request_id != stream.request_id for t in sess.turns)


def test_closing_a_stream_cancels_and_leaves_no_half_written_state(tmp_path):
    with RuvLLM(_cfg(tmp_path / 'd', tiny='extractive'), start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby and then through the wide plains of Marsovia."], progress=False)
        s = llm.new_session()
        n0, q0 = len(llm.memory), llm.counters['queries']
        with llm.query_stream("Which river flows through Quenby?", session=s, constraints=Constraints(no_cache=True)) as stream:
            first = next(stream)
        assert isinstance(first, str) and first
        _assert_cancelled(llm, stream, n0, q0, s)
        r = llm.query("Which river flows through Quenby?", session=s, constraints=Constraints(no_cache=True))
        assert r.text.startswith(first.strip()) and llm.counters['queries'] == q0 + 1


def test_smollm2_streams_tokens_as_generated_and_a_closed_stream_stops_the_model(tmp_path):
    """Real model: the first piece arrives long before the answer is complete; closing the stream mid-answer
    stops llama.cpp at once (the model is free for the next query) and nothing of the request is written."""
    cfg = Config.builder().db_path(tmp_path / 'd').set('system.num_threads', 1).build()  # tiny=extractive, small=SmolLM2
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Quorvane is the capital of Veltoria.", "Veltoria exports violet glass, amber tea and silver salt."], progress=False)
        long = Constraints(force_model='small', no_cache=True, temperature=0.0, max_tokens=200)
        llm.pool.get('small')  # loaded before the clock starts
        t0 = time.perf_counter(); stream = llm.query_stream("Write a long story about a dragon and a knight.", constraints=long)
        times = [(time.perf_counter() - t0, ev) for ev in stream]
        r = times[-1][1]
        assert isinstance(r, Response) and r.completion_tokens > 10 and len(times) > 10
        assert times[0][0] < 0.5 * times[-1][0], (times[0][0], times[-1][0])  # the first piece came early
        assert ''.join(ev for _, ev in times[:-1]) == r.text
        llm.flush(); s = llm.new_session(); n0, q0 = len(llm.memory), llm.counters['queries']
        stream = llm.query_stream("Write a long story about a dragon and a knight.", session=s, constraints=long)
        next(stream); t1 = time.perf_counter(); stream.close(); closed_in = time.perf_counter() - t1
        assert closed_in < 0.5, closed_in  # no waiting for the rest of the answer
        _assert_cancelled(llm, stream, n0, q0, s)
        r2 = llm.query("What is the capital of Veltoria?", constraints=Constraints(force_model='small', no_cache=True, temperature=0.0))
        assert r2.text and r2.completion_tokens > 0 and not r2.cached  # the model's lock was released


# --- Loop A's write-back queue -------------------------------------------------------------------------
WB_CHILD = r'''
import sys, time
from ruvllm import Config, Constraints, RuvLLM
path, seed = sys.argv[1], int(sys.argv[2])
cfg = (Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
       .set('learning.writeback_max_delay_s', 60.0).set('learning.quality_threshold', 0.3).set('learning.qa_request_ids', 100)
       .set('learning.keep_unrated_quotes', True).build())  # `_wb_cfg`'s settings: a quote its own writer finishes is kept too
llm = RuvLLM(cfg, start_scheduler=False)
real_write_back = llm.loop_a.write_back_many
def slow_write_back(items):  # test double: a slow disk, so that acknowledged write-backs are still queued at the kill
    def slowly():
        for item in items: time.sleep(0.05); yield item
    return real_write_back(slowly())
llm.loop_a.write_back_many = slow_write_back
print("READY", flush=True)
for i in range(40):  # each question once, in this process's own namespace (no other process writes there)
    r = llm.query(f"What is the colour of gadget {seed}-{i}?", namespace=f"ns{seed}", constraints=Constraints(no_cache=True))
    print("ACK", r.request_id, flush=True)
time.sleep(600)  # until killed
'''

def _wb_facts(s):
    return [f"Gadget {s}-{i} is painted {c} and was built in {1900 + i} in Quenby." for i, c in zip(range(40), ['red', 'blue', 'green', 'amber', 'violet'] * 8)]


def _wb_cfg(path):  # the children's settings (a low quality threshold: these answers are written back)
    # a QAPair notes only the latest `learning.qa_request_ids` requests (by design): room for all 80 questions here, so
    # that "each written request is noted on exactly one QAPair" holds however many answers dedup onto one node
    return Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny') \
                 .set('learning.quality_threshold', 0.3).set('learning.qa_request_ids', 100).set('learning.keep_unrated_quotes', True).build()


def _qa_nodes_by_request(llm):
    "request id -> the QAPair nodes that note it (each request must be in exactly one)."
    ids = [r['id'] for r in llm.store.node_rows() if r['type'] == 'QAPair']
    out = {}
    for n in llm.memory.get_many(ids).values():
        for rid in n.metadata.get('request_ids', []): out.setdefault(rid, []).append(n.id)
    return out


def test_kill9_with_queued_write_backs_replays_each_acknowledged_request_exactly_once(tmp_path):
    """Two processes on one store, their writers slowed (a test double) so that acknowledged write-backs are still
    queued, are killed with SIGKILL. Two RuvLLMs opened afterwards on the store (one takes the dead processes' slots,
    the other finds nothing left to adopt) write every acknowledged request's QAPair exactly once."""
    import os, signal, subprocess, sys
    path = tmp_path / 'd'
    with RuvLLM(_wb_cfg(path), start_scheduler=False) as llm:
        for s in (0, 1): llm.ingest(_wb_facts(s), namespace=f'ns{s}', progress=False)
    procs = [subprocess.Popen([sys.executable, '-c', WB_CHILD, str(path), str(s)], stdout=subprocess.PIPE, text=True) for s in (0, 1)]
    acked = []
    try:
        for p in procs: assert p.stdout.readline().strip() == 'READY'
        for p in procs:  # some answers acknowledged by each
            for _ in range(8):
                line = p.stdout.readline(); assert line.startswith('ACK '), line; acked.append(line.split()[1])
    finally:  # killed even when an assertion above fails (a child left alive sleeps for 10 minutes)
        for p in procs: os.kill(p.pid, signal.SIGKILL)
    for p in procs:
        out, _ = p.communicate(timeout=60)
        acked += [l.split()[1] for l in out.split('\n')[:-1] if l.startswith('ACK ')]
    with RuvLLM(_wb_cfg(path), start_scheduler=False) as a, RuvLLM(_wb_cfg(path), start_scheduler=False) as b:
        left = a.writes.adopted + b.writes.adopted
        assert a.writes.adopted > 0 and b.writes.adopted == 0, (a.writes.adopted, b.writes.adopted)
        assert a.flush(timeout=60) and b.flush(timeout=60) and a.store.kv_keys('wbq:') == []
        by_rid, written = _qa_nodes_by_request(a), 0
        for rid in acked:
            rec = a.record(rid)
            assert rec.writeback == 'done', (rid, rec.writeback)
            if rec.self_quality >= a.cfg.learning.quality_threshold:  # Loop A writes it: exactly one QAPair notes it
                assert rec.qa_node is not None and by_rid.get(rid) == [rec.qa_node], (rid, by_rid.get(rid), rec.qa_node)
                written += 1
            else: assert rec.qa_node is None and rid not in by_rid
    assert len(acked) >= 16 and left >= 2 and written >= len(acked) // 2, (len(acked), left, written)



def _killed_with_queued_write_backs(path) -> list[str]:
    "Run `WB_CHILD` (seed 0) on `path`, SIGKILL it once it acknowledged 8 answers (its writer slowed): the ids it acknowledged."
    import os, signal, subprocess, sys
    p = subprocess.Popen([sys.executable, '-c', WB_CHILD, str(path), '0'], stdout=subprocess.PIPE, text=True)
    acked = []
    try:
        assert p.stdout.readline().strip() == 'READY'
        for _ in range(8): line = p.stdout.readline(); assert line.startswith('ACK '), line; acked.append(line.split()[1])
    finally: os.kill(p.pid, signal.SIGKILL)  # (a child left alive sleeps for 10 minutes)
    out, _ = p.communicate(timeout=60)
    return acked + [l.split()[1] for l in out.split('\n')[:-1] if l.startswith('ACK ')]


def test_a_process_that_stays_open_adopts_the_write_backs_of_one_killed_after_it_opened(tmp_path):
    """A probe (6 December): the survivor never wrote them; only a process opened later did (`WriteBackQueue.take_orphans`,
    every `ADOPT_CHECK_S` while its writer is idle). The dead process's writer was slowed (a test double)."""
    import time
    path = tmp_path / 'd'
    with RuvLLM(_wb_cfg(path), start_scheduler=False) as survivor:
        survivor.ingest(_wb_facts(0), namespace='ns0', progress=False)
        assert survivor.writes.adopted == 0
        acked = _killed_with_queued_write_backs(path)
        assert survivor.store.kv_keys('wbq:'), 'the dead process left no hand-off: nothing to test'
        t0 = time.time()
        while survivor.store.kv_keys('wbq:') and time.time() - t0 < 30: time.sleep(0.2)
        assert survivor.store.kv_keys('wbq:') == [] and survivor.flush(timeout=30), time.time() - t0
        assert all(survivor.record(rid).writeback == 'done' for rid in acked), [survivor.record(r).writeback for r in acked]


def test_a_process_opened_with_sync_write_back_writes_what_a_killed_queued_one_left(tmp_path):
    "A probe (6 December): in 'sync' mode the hand-offs stayed queued, with no warning, until a 'queued' process opened."
    path = tmp_path / 'd'
    with RuvLLM(_wb_cfg(path), start_scheduler=False) as llm: llm.ingest(_wb_facts(0), namespace='ns0', progress=False)
    acked = _killed_with_queued_write_backs(path)
    cfg = Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny') \
                .set('learning.quality_threshold', 0.3).set('learning.qa_request_ids', 100).set('learning.writeback', 'sync').build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        assert llm.writes is None and llm.store.kv_keys('wbq:') == []
        assert all(llm.record(rid).writeback == 'done' for rid in acked), [llm.record(r).writeback for r in acked]


def test_a_qapair_notes_only_its_latest_request_ids_and_a_replay_of_an_older_one_adds_no_node(tmp_path):
    """Why the kill-9 test above failed under load before it gave the note room: requests whose answers dedup onto one
    QAPair are noted on it only up to the latest `learning.qa_request_ids` (there 20, and under load more than 20 of the
    80 questions were answered with one attractor answer), so an older request's record names a node that no longer
    notes it. Nothing is lost: writing that request back again (a replay) finds the same node and adds none."""
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny') \
                .set('learning.quality_threshold', 0.3).set('learning.writeback', 'sync').set('learning.qa_request_ids', 2) \
                .set('learning.keep_unrated_quotes', True).build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Gadget 7 is painted red and was built in 1907 in Quenby."], progress=False)
        recs = [llm.record(llm.query("What is the colour of gadget 7?", constraints=Constraints(no_cache=True)).request_id) for _ in range(3)]
        nid = recs[0].qa_node
        assert nid is not None and all(r.qa_node == nid for r in recs), [r.qa_node for r in recs]  # one QAPair, three requests
        by_rid, n = _qa_nodes_by_request(llm), len(llm.memory)
        assert recs[0].request_id not in by_rid and all(by_rid[r.request_id] == [nid] for r in recs[1:]), by_rid
        assert llm.loop_a.write_back(recs[0], recs[0].self_quality) == nid and len(llm.memory) == n  # no second QAPair
        assert _qa_nodes_by_request(llm)[recs[0].request_id] == [nid]


def test_feedback_on_a_queued_write_back_waits_for_it_and_applies(tmp_path):
    with RuvLLM(_wb_cfg(tmp_path / 'd'), start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby.", "Quenby is famous for its glass bridges."], progress=False)
        real_write_back = llm.loop_a.write_back_many
        def slow_write_back(items):  # test double: a slow writer, so the feedback arrives while the write is queued
            time.sleep(0.5); return real_write_back(items)
        llm.loop_a.write_back_many = slow_write_back
        n0 = llm.memory.stats()['nodes']
        r = llm.query("Which river flows through Quenby?", constraints=Constraints(no_cache=True))
        assert llm.writes.pending == 1 and llm.memory.stats()['nodes'] == n0  # answered; Loop A has not written yet
        out = llm.feedback(Feedback(r.request_id, rating=1))
        rec = llm.record(r.request_id)
        assert rec.writeback == 'done' and rec.qa_node is not None and llm.memory.stats()['nodes'] == n0 + 1
        assert out['archived'] == [rec.qa_node] and llm.memory.is_archived(rec.qa_node)  # the bad rating reached the written node
        assert llm.memory.edges_of(rec.qa_node) and all(e.weight < 0.5 for e in llm.memory.edges_of(rec.qa_node) if e.type.value == 'Cites')
        # close drains the queue: an answer still queued at close is written, and nothing is left to replay
        r2 = llm.query("What is Quenby famous for?", constraints=Constraints(no_cache=True))
        assert llm.writes.pending == 1
    with RuvLLM(_wb_cfg(tmp_path / 'd'), start_scheduler=False) as llm:
        assert llm.writes.adopted == 0 and llm.store.kv_keys('wbq:') == []
        assert llm.record(r2.request_id).writeback == 'done' and r2.request_id in _qa_nodes_by_request(llm)


def test_sync_write_back_mode_writes_on_the_request_path(tmp_path):
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny') \
                .set('learning.writeback', 'sync').set('learning.keep_unrated_quotes', True).build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        n0 = len(llm.memory)
        r = llm.query("Which river flows through Quenby?", constraints=Constraints(no_cache=True))
        assert llm.writes is None and len(llm.memory) == n0 + 1  # written before the answer returned
        assert llm.record(r.request_id).qa_node is not None and llm.store.kv_keys('wbq:') == []
    with pytest.raises(Exception, match="learning.writeback"):
        Config.builder().set('learning.writeback', 'later').build()


def test_a_correction_through_another_process_stops_the_queued_write_back_of_the_wrong_answer(tmp_path):
    "Replicas on one store: B corrects an answer A still has queued; A's writer keeps B's feedback and does not write the wrong answer back."
    with RuvLLM(_wb_cfg(tmp_path / 'd'), start_scheduler=False) as a, RuvLLM(_wb_cfg(tmp_path / 'd'), start_scheduler=False) as b:
        a.ingest(["The office wifi password is hunter2."], progress=False)
        gate = threading.Event(); real_write_back = a.loop_a.write_back_many
        def held_write_back(items):  # test double: A's writer is held until B's feedback is in (the test always sets the gate; the timeout only stops a hang, and a fresh clone's first query compiles the numba kernels)
            gate.wait(120); return real_write_back(items)
        a.loop_a.write_back_many = held_write_back
        r = a.query("What is the office wifi password?", constraints=Constraints(no_cache=True))
        r2 = a.query("Which password does the office wifi use?", constraints=Constraints(no_cache=True))  # queued behind the first
        b.memory.sync()
        out = b.feedback(Feedback(r2.request_id, rating=1, correction="The office wifi password is swordfish9."))
        assert out['correction_node'] is not None
        gate.set(); assert a.flush(timeout=30)
        stored = a.store.request_record(r2.request_id)
        assert stored['writeback'] == 'done' and stored['feedback']['correction'] and stored['qa_node'] is None
        assert _qa_nodes_by_request(a)[r2.request_id] == [out['correction_node']]  # the correction, not the wrong answer
        with pytest.raises(InvalidInputError, match="already given"): a.feedback(Feedback(r2.request_id, rating=5))


def test_a_correction_that_lands_while_the_writer_writes_archives_the_wrong_answer(tmp_path):
    "Replicas on one store: B's correction arrives after A's writer read the record but before it committed; the written answer is archived."
    with RuvLLM(_wb_cfg(tmp_path / 'd'), start_scheduler=False) as a, RuvLLM(_wb_cfg(tmp_path / 'd'), start_scheduler=False) as b:
        a.ingest(["The office wifi password is hunter2."], progress=False)
        real_write_back, outs = a.loop_a.write_back_many, []
        def write_back_then_correct(items):  # test double: B corrects the answer in the window between A's write and A's commit
            seen = []
            def passing():
                for item in items: seen.append(item); yield item
            ids = real_write_back(passing())
            b.memory.sync()
            for rec, _ in seen: outs.append(b.feedback(Feedback(rec.request_id, rating=1, correction="The office wifi password is swordfish9.")))
            return ids
        a.loop_a.write_back_many = write_back_then_correct
        r = a.query("What is the office wifi password?", constraints=Constraints(no_cache=True))
        assert a.flush(timeout=60) and outs and outs[0]['correction_node'] is not None
        stored = a.store.request_record(r.request_id)
        assert stored['writeback'] == 'done' and stored['feedback']['correction'] and stored['qa_node'] is None
        wrong = [n for n in _qa_nodes_by_request(a)[r.request_id] if n != outs[0]['correction_node']]
        assert wrong and all(a.memory.is_archived(n) for n in wrong)  # written in the window, then archived at commit
        assert not a.memory.is_archived(outs[0]['correction_node'])


@pytest.mark.parametrize('key_match, leaks', [('text', True), ('read', False), ('both', False)])
def test_a_stored_answer_enters_the_context_by_what_the_model_reads(tmp_path, key_match, leaks):
    "With `context.key_match='read'`, a stored Q&A whose question (not its answer) shares the query's key word stays out."
    from ruvllm import RuvLLM
    from ruvllm.types import NodeType
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('context.key_match', key_match).set('context.qa_min_similarity', 0.0).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        qa = llm.memory.add_node("Q: What is 7 times 8? A: The answer is 56.", type=NodeType.QAPAIR)
        q = "What is 9 plus 8?"
        qv = llm.memory.embed_query(q)
        sg = llm.retrieve(q, qv)
        assert qa in sg.nodes  # retrieved either way: the filter decides what the model reads
        kept = [i for i, _, _ in llm.select_passages(q, sg, qv).passages]
        assert (qa in kept) == leaks


# --- escalation inside a request ------------------------------------------------------------------
@pytest.mark.parametrize('escalate', [True, False])
def test_an_unsupported_cheap_answer_escalates_to_the_model_in_the_same_request(tmp_path, escalate):
    """Cheap first (the untrained router picks the extractive tier): its abstention, or a quote about something
    else, is handed to SmolLM2 in the same request, and Loop B gets the extractive tier's failure as an outcome.
    With `inference.escalate` off the extractive tier's answer is served as it was."""
    from ruvllm.inference import EXTRACTIVE_NO_CONTEXT
    cfg = (Config.builder().db_path(tmp_path / 'd').set('router.safe_tier', 'tiny')
           .set('inference.escalate', escalate).set('inference.max_tokens', 24).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        assert llm.router.escalation_recall == (0.9 if escalate else 0.0)  # the router values a cascade only when there is one
        llm.ingest(["The capital of Veltoria is Quorvane.", "A cat has four legs."], progress=False)
        none = Constraints(no_cache=True)
        r = llm.query("What is the capital of Veltoria?", constraints=none)  # the quote answers it: no escalation
        assert (r.routing_info.model.value, r.routing_info.escalated_from) == ('tiny', None) and 'Quorvane' in r.text
        n = len(llm.replay)
        fr = llm.query("What is the capital of France?", constraints=none)  # memory has nothing: the extractive tier abstains
        spider = llm.query("How many legs does a spider have?", constraints=none)  # it would quote the cat
        forced = llm.query("What is the capital of France?", constraints=Constraints(no_cache=True, force_model='tiny'))
        assert forced.text == EXTRACTIVE_NO_CONTEXT and forced.routing_info.escalated_from is None  # a forced tier answers itself
        if not escalate:
            assert fr.text == EXTRACTIVE_NO_CONTEXT and spider.text == "A cat has four legs." and len(llm.replay) == n
            return
        for x in (fr, spider):
            assert (x.routing_info.model.value, x.routing_info.escalated_from) == ('small', 'tiny'), x.routing_info
            assert x.routing_info.fallback and x.text and x.text != EXTRACTIVE_NO_CONTEXT and "cat" not in x.text.lower()
            assert llm.record(x.request_id).tier == 'small' and llm.record(x.request_id).cost == llm.pool.cost('small')
        assert 'Paris' in fr.text
        assert llm.stats()['queries']['escalated'] == 2 and llm.stats()['queries']['by_tier']['small'] == 2  # counted apart (a probe: they looked like routing)
        ts = llm.replay.training_set(llm.tiers, llm.cfg.inference.tier_costs)  # the two failures, as outcomes
        assert len(ts) == n + 2 and list(ts.chosen[-2:]) == [0, 0] and list(ts.quality[-2:, 0]) == [0.0, 0.0]


@pytest.mark.parametrize('key_match, qa_min_similarity, admitted', [('read', 0.0, True), ('both', 0.0, False), ('read', 0.9, False)])
def test_a_past_answer_to_another_question_stays_out_of_the_context(tmp_path, key_match, qa_min_similarity, admitted):
    """A stored Q&A whose answer holds the query's number by chance ("What is half of 30? The answer is 15." for
    "What is 15 plus 5?") answers another question: `'both'` keeps it out (its question does not ask about 15),
    and so does a similarity floor it does not reach. The taught fact a paraphrase asks about still comes in."""
    from ruvllm.types import NodeType
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('context.key_match', key_match).set('context.qa_min_similarity', qa_min_similarity)
           .set('context.qa_other_subject', False).build())  # the key-word rule alone (the other-subject rule also refuses it)
    with RuvLLM(cfg, start_scheduler=False) as llm:
        other = llm.memory.add_node("Q: What is half of 30? A: The answer is 15.", type=NodeType.QAPAIR)
        fact = llm.memory.add_node("Q: What is the capital of Veltoria? A: The capital of Veltoria is Quorvane.", type=NodeType.QAPAIR)
        def kept(q):
            qv = llm.memory.embed_query(q)
            return [i for i, _, _ in llm.select_passages(q, llm.retrieve(q, qv), qv).passages]
        assert (other in kept("What is 15 plus 5?")) == admitted
        if qa_min_similarity <= 0.5: assert fact in kept("Which city is the capital of Veltoria?")  # a paraphrase keeps its fact
