"""Two processes on one data directory both count: the last one to save kept only its own counters (found by a probe of
the app: two app processes on one directory, then the Chat page's Queries lost the other's). `save` now adds what this
process counted since its last save to what the store holds. Two RuvLLMs in this process stand in for the two."""
from ruvllm import Config, RuvLLM


def _cfg(d):
    return Config.builder().db_path(d).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()


def test_counts_from_two_processes_on_one_directory_add_up(tmp_path):
    a = RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False)
    a.ingest(["The Zorblat river flows through Quenby."], progress=False); a.save()
    b = RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False)
    a.query("Where does the Zorblat river flow?")
    for _ in range(2): b.query("Which river flows through Quenby?")
    a.save(); b.save(); a.save()  # saved in turns, and again: each adds only what it counted since its own last save
    assert b.stats()['queries']['queries'] == 3
    a.query("Where does the Zorblat river flow, again?")
    a.close(); b.close()
    with RuvLLM(_cfg(tmp_path / 'd'), start_scheduler=False) as c:
        q = c.stats()['queries']
        assert q['queries'] == 4 and sum(q['by_tier'].values()) == 4, q
