"""A session is acknowledged when `new_session` returns, and every turn adds to it: both survive a kill -9 (no `save`)."""
import subprocess, sys, textwrap

from ruvllm import Config, RuvLLM

CHILD = textwrap.dedent(r'''
    import os, signal, sys
    from ruvllm import Config, RuvLLM
    cfg = Config.builder().db_path(sys.argv[1]).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    llm = RuvLLM(cfg, start_scheduler=False)
    llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
    s = llm.new_session(namespace='global'); empty = llm.new_session()
    for q in ["Which river flows through Quenby?", "And where does it flow?"]: llm.query(q, session=s)
    with llm.temporary_session() as t: llm.query("Which river?", session=t)
    print(s.session_id, empty.session_id, t.session_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no save
''')


def test_sessions_and_their_turns_survive_kill_9(tmp_path):
    out = subprocess.run([sys.executable, '-c', CHILD, str(tmp_path / 'd')], capture_output=True, text=True, timeout=300)
    assert out.returncode == -9, out.stderr[-2000:]
    sid, empty, temp = out.stdout.split()
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        assert [t.query for t in llm.sessions[sid].turns] == ["Which river flows through Quenby?", "And where does it flow?"]
        assert llm.sessions[empty].turns == [] and temp not in llm.sessions  # a temporary session is never stored
        r = llm.query("Is it long?", session=sid)  # and the conversation goes on
        assert r.session_id == sid and len(llm.sessions[sid].turns) == 3


def test_save_keeps_the_newest_sessions_past_the_cap(tmp_path):
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('system.saved_sessions', 2).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        ids = [llm.new_session().session_id for _ in range(4)]
        llm.save()
        assert list(llm.sessions) == ids[2:] and len(llm.store.kv_keys('sess:')) == 2
    with RuvLLM(cfg, start_scheduler=False) as llm: assert list(llm.sessions) == ids[2:]


def test_a_session_in_use_is_kept_past_the_cap(tmp_path):
    """The cap counted sessions by when they were started, so the first conversation of a server past
    `system.saved_sessions` new ones was forgotten at the next save even while in use: its next turn got 'unknown
    session_id' (a probe of the server). Sessions are now kept by when they were last used."""
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('system.saved_sessions', 2).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby."], progress=False)
        first = llm.new_session(); others = [llm.new_session() for _ in range(3)]
        llm.query("Which river flows through Quenby?", session=first)  # the first conversation goes on
        llm.save()
        assert set(llm.sessions) == {first.session_id, others[-1].session_id}
    with RuvLLM(cfg, start_scheduler=False) as llm:
        assert llm.query("Where does it flow?", session=first.session_id).session_id == first.session_id
