"Loop B when the safe tier is the cheap one and fails a user's questions (found by a probe of the router's learning)."
from ruvllm import Config, Feedback, RuvLLM

TOWNS = ['Quenby', 'Farrow', 'Ostmere', 'Pellin', 'Brackwater', 'Dunmore', 'Elsham', 'Garrow', 'Hollin', 'Ivel',
         'Jessop', 'Kelling', 'Larkin', 'Mardle', 'Nethercombe', 'Orwick', 'Pudsey', 'Ramsby', 'Selwick', 'Thorne',
         'Uffing', 'Valder', 'Wexcombe', 'Yelling', 'Zennor', 'Ashby', 'Birling', 'Colham', 'Dorrick', 'Ebbing',
         'Fulmer', 'Gilden', 'Hartle', 'Ickford', 'Jevington', 'Kimble', 'Lenham', 'Milton Orr', 'Norley', 'Oakhurst']
ASK = ["How many residents does {t} have, and how many bridges (in total, counting 2 per km)?",
       "How many bridges are there in {t} if its river is 10 km long and 3 more were built?",
       "How many residents live in {t}, given 12% moved away in 2019?"]


def config(path: str) -> Config:
    return (Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive', 'small': 'extractive'})
            .set('router.safe_tier', 'tiny').set('inference.escalate', False).set('cache.enabled', False)
            .set('cache.judge', 'none').set('system.warm_up', False).build())


def opened(path: str) -> RuvLLM:
    "Two extractive tiers, the cheap one safe, no escalation, no cache; the towns in memory."
    llm = RuvLLM(config(path), start_scheduler=False)
    llm.ingest([f"The town of {t} has {1000 + 37 * i} residents and {3 + i} bridges, and its river is {10 + i} km long."
                for i, t in enumerate(TOWNS)], progress=False)
    return llm


def teach(llm, n_rounds: int, served: list | None = None) -> list:
    "`n_rounds` of 40 questions rated as the user does (tiny 1, small 5), each followed by a Loop B round."
    served = [] if served is None else served; rounds, j = [], 0
    for _ in range(n_rounds):
        for _ in range(40):
            r = llm.query(ASK[j % 3].format(t=TOWNS[j % 30])); j += 1
            served.append(r.routing_info.model.value)
            llm.feedback(Feedback(r.request_id, rating=5 if served[-1] == 'small' else 1))
        rounds.append(llm.learn('B'))
    return rounds


def test_a_router_whose_safe_tier_fails_every_question_learns_the_tier_that_answers(tmp_path):
    """`router.safe_tier='tiny'`, and the user rates every tiny answer 1 and every small answer 5. An untrained router
    never explored, so every row was logged on tiny with certainty; the gate could judge no candidate that moved a
    decision ('no held-out row with a usable outcome'), no round was ever promoted, and 200 rated answers later every
    unseen question still went to the failing tier. Once a round is refused for moves no outcome can judge, the
    untrained router explores the dearer tier (ε, within the regret budget), so the next round can be judged."""
    with opened(str(tmp_path / 'db')) as llm:
        before = [llm.query(f.format(t=TOWNS[i]), learn=False).routing_info.model.value for i in range(30, 40) for f in ASK]
        served = []; rounds = teach(llm, 4, served)
        after = [llm.query(f.format(t=TOWNS[i]), learn=False).routing_info.model.value for i in range(30, 40) for f in ASK]
    assert set(before) == {'tiny'}  # untrained: the safe tier
    assert served[:40].count('small') == 0 and not rounds[0]['promoted'] and 'usable outcome' in rounds[0]['reason']
    assert 0 < served[40:80].count('small') < 12  # refused for moves it could not judge: a few requests explore the dearer tier...
    assert rounds[1]['promoted'] and 'usable outcome' not in rounds[1]['reason']  # ... so the next round can be judged
    assert after.count('small') >= 0.9 * len(after)  # unseen questions now go to the tier that answers them (before: none)


def test_a_crash_right_after_a_promotion_keeps_the_rounds_the_router_reports(tmp_path):
    """The promoted router is published at once, but the counters `stats()['router']` reports were written only by
    `save`: a process killed after a promotion reopened with the router of round 1 and stats saying 0 rounds, 0
    promoted (router probe 8). The counters are now stored with each round."""
    import subprocess, sys, textwrap
    child = textwrap.dedent(f"""
        import os, sys; sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
        from test_router_deadlock import *
        llm = opened({str(tmp_path / 'db')!r})
        rounds = teach(llm, 2)
        print(rounds[-1]['promoted'], flush=True)
        os._exit(0)  # killed: no close, no save
        """)
    p = subprocess.run([sys.executable, '-c', child], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == 'True', p.stderr[-2000:]
    with RuvLLM(config(str(tmp_path / 'db')), start_scheduler=False) as llm:
        st = llm.stats()['router']
        assert llm.router.rounds == 1 and (st['rounds'], st['promoted']) == (2, 1)


def test_a_router_asking_for_evidence_asks_in_every_process_and_after_a_crash(tmp_path):
    """A refused round sets `needs_evidence`, but only a promotion published the router: a process killed after the
    round reopened with the flag off, and other processes never explored (a review). The router is now published when
    the flag turns on."""
    import subprocess, sys, textwrap
    child = textwrap.dedent(f"""
        import os, sys; sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
        from test_router_deadlock import *
        llm = opened({str(tmp_path / 'db')!r})
        rounds = teach(llm, 1)
        print(rounds[-1]['promoted'], llm.router.needs_evidence, flush=True)
        os._exit(0)  # killed: no close, no save
        """)
    p = subprocess.run([sys.executable, '-c', child], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stdout.split() == ['False', 'True'], p.stderr[-2000:]
    with RuvLLM(config(str(tmp_path / 'db')), start_scheduler=False) as llm:
        assert llm.router.rounds == 0 and llm.router.needs_evidence


def test_a_dry_run_round_does_not_turn_exploration_on(tmp_path):
    "`train_round(promote=False)` never promotes; it set `needs_evidence` all the same, and live requests explored (a review)."
    with opened(str(tmp_path / 'db')) as llm:
        for j in range(40):
            r = llm.query(ASK[j % 3].format(t=TOWNS[j % 30]))
            llm.feedback(Feedback(r.request_id, rating=5 if r.routing_info.model.value == 'small' else 1))
        assert not llm.trainer.train_round(llm.replay, promote=False).promoted and not llm.router.needs_evidence
        assert not llm.learn('B')['promoted'] and llm.router.needs_evidence  # a real round does
