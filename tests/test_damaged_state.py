"A learned state (router, replay buffer, attention, cache) whose stored bytes cannot be read (found by a probe of the router's persistence)."
import os, sqlite3
import pytest
from ruvllm import Config, RuvLLM
from ruvllm.cli import run_cli
from ruvllm.types import MemoryStoreError


def _builder(path):
    return (Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
            .set('system.warm_up', False))


def _damage(path, key, data=None):
    con = sqlite3.connect(os.path.join(path, 'memory.sqlite'))
    (old,) = con.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
    con.execute("UPDATE kv SET value = ? WHERE key = ?", (data if data is not None else bytes(old)[:len(old) // 2], key)); con.commit(); con.close()


@pytest.mark.parametrize('key, name', [('router', 'router'), ('replay', 'replay buffer'), ('attention', 'attention'), ('cache', 'semantic cache')])
def test_a_damaged_state_is_named_and_can_be_set_aside_without_losing_memory(tmp_path, key, name):
    d = tmp_path / 'd'
    with RuvLLM(_builder(d).build(), start_scheduler=False) as llm:
        llm.ingest(["The capital of Veltoria is Quorvane."], progress=False)
        llm.query("What is the capital of Veltoria?")
    _damage(d, key)
    with pytest.raises(MemoryStoreError) as e: RuvLLM(_builder(d).build(), start_scheduler=False)
    msg = str(e.value)
    assert f"the {name} stored under '{key}'" in msg and 'system.reset_damaged_state' in msg
    assert 'allow_pickle' not in msg and 'blob.npz' not in msg  # not numpy's words about a temporary file
    with RuvLLM(_builder(d).set('system.reset_damaged_state', True).build(), start_scheduler=False) as llm:
        assert llm.store.get(key + ':damaged') is not None  # the bytes are kept
        assert 'Quorvane' in llm.query("What is the capital of Veltoria?").text  # memory answers as before
    with RuvLLM(_builder(d).build(), start_scheduler=False) as llm:  # saved again at close: the flag is needed once
        assert len(llm.memory) >= 1


def test_the_cli_names_the_damaged_state_and_the_setting_that_opens_anyway(tmp_path):
    d = tmp_path / 'd'
    with RuvLLM(_builder(d).build(), start_scheduler=False) as llm:
        llm.ingest(["The capital of Veltoria is Quorvane."], progress=False)
    _damage(d, 'router', os.urandom(300))
    conf = tmp_path / 'c.toml'; conf.write_text('[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n')
    code, out, err = run_cli(['--db', str(d), '--config', str(conf), 'stats'])
    assert code != 0 and "the router stored under 'router'" in err
    code, out, err = run_cli(['--db', str(d), '--config', str(conf), '--set', 'system.reset_damaged_state=true', 'stats'])
    assert code == 0, err


def test_a_router_missing_from_the_store_after_promotions_is_said(tmp_path, caplog):
    "Its blob deleted, the directory opened silently with an untrained router while stats still counted promoted rounds (router probe 6)."
    d = tmp_path / 'd'
    with RuvLLM(_builder(d).build(), start_scheduler=False) as llm:
        llm.counters['router_promoted'] = 2  # as two promoted rounds leave it
    con = sqlite3.connect(os.path.join(d, 'memory.sqlite')); con.execute("DELETE FROM kv WHERE key = 'router'"); con.commit(); con.close()
    with caplog.at_level('WARNING', logger='ruvllm.orchestrator'):
        with RuvLLM(_builder(d).build(), start_scheduler=False) as llm: assert llm.router.rounds == 0
    assert any("router's weights are missing" in r.getMessage() and '2 rounds were promoted' in r.getMessage() for r in caplog.records)
