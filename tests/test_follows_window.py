"Propagation's `Follows` window: a turn in a stretch of the conversation where other turns match the question outranks the same words said in unrelated small talk, through the default retrieval path."
from chat_ranking import chat_items, past_a_window, ranked
from ruvllm.config import Config

MOVE = [("Sam", "we signed the lease! moving to Cork at the end of the month"), ("Dana", "wow, big change!"),
        ("Sam", "the new flat in Cork has a tiny kitchen"), ("Dana", "ha, fair"), ("Sam", "honestly I love the new place")]
CHAT = [("Dana", "how was the gig on Friday?"), ("Sam", "loud, my ears are still ringing"), ("Dana", "we should go again"),
        ("Dana", "did you see the new cafe on the corner?"), ("Sam", "honestly I love the new place")]
Q = "How does Sam like the new flat in Cork?"

def _items(): return chat_items(past_a_window([('move', '2023-03-04', MOVE), ('chat', '2023-06-10', CHAT)]))

def _ranked(tmp_path, name, **memory): return ranked(tmp_path / name, _items(), Q, **memory)

def test_the_same_words_rank_higher_among_turns_that_match(tmp_path):
    ids, ranked, sg = _ranked(tmp_path, 'on')
    _, off, sg_off = _ranked(tmp_path, 'off', propagate_window=0)
    assert Config().memory.retrieval == 'hybrid_graph' and Config().memory.propagate_window > 0
    move_says, chat_says = ids[4], ids[9]  # the same sentence, in the move's session and in small talk
    # the same words by the same speaker are one text: the subgraph keeps the better-scored copy (`memory.collapse_duplicates`)
    assert move_says in ranked and chat_says not in ranked, ranked
    assert chat_says in off and move_says not in off, off  # without the window the small-talk copy came first
    _, both, _ = _ranked(tmp_path, 'both', collapse_duplicates=False)
    assert both.index(move_says) < both.index(chat_says), both  # both copies listed: the move's first
