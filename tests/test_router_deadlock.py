"Loop B when the safe tier is the cheap one and fails a user's questions (found by a probe of the router's learning)."
from ruvllm import Config, Feedback, RuvLLM

TOWNS = ['Quenby', 'Farrow', 'Ostmere', 'Pellin', 'Brackwater', 'Dunmore', 'Elsham', 'Garrow', 'Hollin', 'Ivel',
         'Jessop', 'Kelling', 'Larkin', 'Mardle', 'Nethercombe', 'Orwick', 'Pudsey', 'Ramsby', 'Selwick', 'Thorne',
         'Uffing', 'Valder', 'Wexcombe', 'Yelling', 'Zennor', 'Ashby', 'Birling', 'Colham', 'Dorrick', 'Ebbing',
         'Fulmer', 'Gilden', 'Hartle', 'Ickford', 'Jevington', 'Kimble', 'Lenham', 'Milton Orr', 'Norley', 'Oakhurst']
ASK = ["How many residents does {t} have, and how many bridges (in total, counting 2 per km)?",
       "How many bridges are there in {t} if its river is 10 km long and 3 more were built?",
       "How many residents live in {t}, given 12% moved away in 2019?"]


def test_a_router_whose_safe_tier_fails_every_question_learns_the_tier_that_answers(tmp_path):
    """`router.safe_tier='tiny'`, and the user rates every tiny answer 1 and every small answer 5. An untrained router
    never explored, so every row was logged on tiny with certainty; the gate could judge no candidate that moved a
    decision ('no held-out row with a usable outcome'), no round was ever promoted, and 200 rated answers later every
    unseen question still went to the failing tier. An untrained router now explores the dearer tier (ε, within the
    regret budget), so the first round can be judged and promoted."""
    cfg = (Config.builder().db_path(str(tmp_path / 'db')).set('inference.tiers', {'tiny': 'extractive', 'small': 'extractive'})
           .set('router.safe_tier', 'tiny').set('inference.escalate', False).set('cache.enabled', False)
           .set('cache.judge', 'none').set('system.warm_up', False).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest([f"The town of {t} has {1000 + 37 * i} residents and {3 + i} bridges, and its river is {10 + i} km long."
                    for i, t in enumerate(TOWNS)], progress=False)
        before = [llm.query(f.format(t=TOWNS[i]), learn=False).routing_info.model.value for i in range(30, 40) for f in ASK]
        served, rounds, j = [], [], 0
        for _ in range(4):
            for _ in range(40):
                r = llm.query(ASK[j % 3].format(t=TOWNS[j % 30])); j += 1
                served.append(r.routing_info.model.value)
                llm.feedback(Feedback(r.request_id, rating=5 if served[-1] == 'small' else 1))
            rounds.append(llm.learn('B'))
        after = [llm.query(f.format(t=TOWNS[i]), learn=False).routing_info.model.value for i in range(30, 40) for f in ASK]
    assert set(before) == {'tiny'}  # untrained: the safe tier
    assert 0 < served[:40].count('small') < 12  # before any promotion, a few requests explored the dearer tier...
    assert rounds[0]['promoted'] and 'usable outcome' not in rounds[0]['reason']  # ... so the first round could be judged
    assert after.count('small') >= 0.9 * len(after)  # unseen questions now go to the tier that answers them (before: none)
