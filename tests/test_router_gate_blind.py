"Loop B's gate and held-out rows that cannot judge a change (found by a probe of the router's learning)."
import numpy as np
from ruvllm import Config, Feedback, RuvLLM

PEOPLE = ['Arvel Quint', 'Bessa Lorn', 'Corin Mald', 'Dovra Pent', 'Ebrim Tosk', 'Fenna Rook', 'Gavo Strel', 'Hilde Varn',
          'Ivo Karst', 'Jorla Menk', 'Kesper Doll', 'Lunet Farr', 'Maro Vesk', 'Nila Brack', 'Osric Hale', 'Pella Dunn',
          'Quill Marr', 'Rasa Venn', 'Sorel Pike', 'Tamsin Grue', 'Ulla Brisk', 'Varo Kettle', 'Wenna Sloat', 'Xander Bly',
          'Yara Molt', 'Zeno Crag', 'Abel Furze', 'Brin Oast', 'Cale Wisp', 'Dara Lusk', 'Elm Porter', 'Fitz Yarrow',
          'Gwen Tarn', 'Hal Brume', 'Ines Cobb', 'Jory Flint', 'Kit Lamb', 'Lira Stone', 'Moss Keel', 'Nell Rask']
TOWNS = ['Quenby', 'Farrow', 'Ostmere', 'Pellin', 'Brackwater', 'Dunmore', 'Elsham', 'Garrow', 'Hollin', 'Ivel',
         'Jessop', 'Kelling', 'Larkin', 'Mardle', 'Nethercombe', 'Orwick', 'Pudsey', 'Ramsby', 'Selwick', 'Thorne',
         'Uffing', 'Valder', 'Wexcombe', 'Yelling', 'Zennor', 'Ashby', 'Birling', 'Colham', 'Dorrick', 'Ebbing',
         'Fulmer', 'Gilden', 'Hartle', 'Ickford', 'Jevington', 'Kimble', 'Lenham', 'Milton Orr', 'Norley', 'Oakhurst']
WROTE = ["Who wrote The Long Field of {t}?", "Which author wrote The Long Field of {t}?", "Who is the author of The Long Field of {t}?"]
BUILT = ["Who built the old bridge of {t}?", "Which engineer built the old bridge of {t}?", "Who is the builder of the old bridge of {t}?"]


def test_a_round_that_moves_rated_answers_to_a_tier_no_outcome_speaks_for_is_not_promoted(tmp_path):
    """Who-wrote questions are answered on the small tier and rated good (the tiny tier would fail them); look-alike
    who-built questions get full-information rows where both tiers are right. A candidate that moves both kinds to the
    cheap tier was promoted on the who-built rows alone (the who-wrote rows it moved could not judge the move), and
    unseen who-wrote questions then went 90 % to the tier that fails them. The gate now counts those moves as lost answers."""
    cfg = (Config.builder().db_path(str(tmp_path / 'db')).set('inference.tiers', {'tiny': 'extractive', 'small': 'extractive'})
           .set('router.safe_tier', 'small').set('cache.enabled', False).set('cache.judge', 'none').set('system.warm_up', False)
           .set('router.gate_counts_unjudged', True).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest([f"{p} wrote the novel The Long Field of {t}." for p, t in zip(PEOPLE, TOWNS)]
                   + [f"The old bridge of {t} was built by {PEOPLE[(i + 3) % 40]}." for i, t in enumerate(TOWNS)], progress=False)
        unseen = [f.format(t=TOWNS[i]) for i in range(30, 40) for f in WROTE]
        for i in range(30):
            r = llm.query(WROTE[0].format(t=TOWNS[i]))
            llm.feedback(Feedback(r.request_id, rating=5 if r.routing_info.model.value == 'small' else 1))
            r = llm.query(BUILT[0].format(t=TOWNS[i]))  # a shadow-evaluated question: both tiers right
            rec = llm.record(r.request_id)
            llm.replay.add(np.asarray(rec.features, np.float32), rec.decision, 1.0, 1.0, rec.cost, 0.001, outcomes={'tiny': 1.0, 'small': 1.0})
        rnd = llm.learn('B')
        tiny = [llm.query(q, learn=False).routing_info.model.value == 'tiny' for q in unseen]
    assert rnd is not None and rnd['unjudged_changes'] > 0  # the candidate did move rated who-wrote rows
    assert not rnd['promoted'] and 'no outcome judges' in rnd['reason']
    assert sum(tiny) == 0  # unseen who-wrote questions stay on the tier that answers them
