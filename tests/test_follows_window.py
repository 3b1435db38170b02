"Propagation's `Follows` window: a turn in a stretch of the conversation where other turns match the question outranks the same words said in unrelated small talk, through the default retrieval path."
from ruvllm.config import Config
from ruvllm.orchestrator import RuvLLM

MOVE = [("Sam", "we signed the lease! moving to Cork at the end of the month"), ("Dana", "wow, big change!"),
        ("Sam", "the new flat in Cork has a tiny kitchen"), ("Dana", "ha, fair"), ("Sam", "honestly I love the new place")]
CHAT = [("Dana", "how was the gig on Friday?"), ("Sam", "loud, my ears are still ringing"), ("Dana", "we should go again"),
        ("Dana", "did you see the new cafe on the corner?"), ("Sam", "honestly I love the new place")]
Q = "How does Sam like the new flat in Cork?"

def _items():
    return ([dict(text=f"[2023-03-04] {s}: {t}", source='move', metadata=dict(speaker=s)) for s, t in MOVE] +
            [dict(text=f"[2023-06-10] {s}: {t}", source='chat', metadata=dict(speaker=s)) for s, t in CHAT])

def _ranked(tmp_path, name, **memory):
    b = Config.builder().db_path(tmp_path / name).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    for k, v in memory.items(): b = b.set(f'memory.{k}', v)
    with RuvLLM(b.build(), start_scheduler=False) as llm:
        ids = llm.ingest(_items(), progress=False)
        sg = llm.retrieve(Q, llm.memory.embed_query(Q))
        return ids, [n.node.id for n in sg.ranked()], sg

def test_the_same_words_rank_higher_among_turns_that_match(tmp_path):
    ids, ranked, sg = _ranked(tmp_path, 'on')
    _, off, sg_off = _ranked(tmp_path, 'off', propagate_window=0)
    assert Config().memory.retrieval == 'hybrid_graph' and Config().memory.propagate_window > 0
    move_says, chat_says = ids[4], ids[9]  # the same sentence, in the move's session and in small talk
    assert ranked.index(move_says) < ranked.index(chat_says), ranked
    assert off.index(move_says) > off.index(chat_says), off  # without the window the small-talk copy came first
