"A chat shorter than one `Follows` window is ranked without propagation (`Memory.spans_a_window`): a CLI probe's five-turn chat."
from chat_ranking import chat_items, past_a_window, ranked

CHAT = [("Dana", "My sister just started studying marine biology in Lisbon."), ("Sam", "That is great! Does she like it?"),
        ("Dana", "She loves it, especially the octopus lab.")]
LATER = [("Sam", "I adopted a greyhound called Pixel last weekend."), ("Dana", "Pixel is a lovely name for a dog.")]
Q = "What did Sam adopt in May 2023?"

def _items(sessions): return chat_items(sessions)

def test_a_five_turn_chat_ranks_the_turn_that_answers_first(tmp_path):
    """Every turn of a five-turn chat lies in every seed's window, so the window lifted the turns with most neighbours:
    the first turn (Dana's sister) ranked first for every question, the greyhound turn third."""
    ids, order, sg = ranked(tmp_path / 'five', _items([('s1', '2023-05-08', CHAT), ('s2', '2023-05-20', LATER)]), Q)
    assert order[0] == ids[3], [sg.nodes[i].node.text for i in order]
    assert all(n.hop == 0 for n in sg.nodes.values())  # no propagation: every node is a candidate of its own


def test_propagation_runs_past_one_window(tmp_path):
    "29 visible turns are more than one window spans (2 × 10 + 1): propagation runs; 5 and 17 are not; a window of 0 spans one."
    from chat_ranking import SMALL_TALK, extractive_config
    from ruvllm.orchestrator import RuvLLM
    five = [('s1', '2023-05-08', CHAT), ('s2', '2023-05-20', LATER)]
    for sessions, window, spans in ((five, 10, False), (past_a_window(five), 10, False), (past_a_window(five) + [('more', '2023-09-02', [(w, t + ', again') for w, t in SMALL_TALK])], 10, True), (five, 0, True)):
        items = _items(sessions)
        with RuvLLM(extractive_config(tmp_path / f'{len(items)}-{window}', propagate_window=window), start_scheduler=False) as llm:
            llm.ingest(items, progress=False)
            assert llm.memory.spans_a_window({}) is spans, (len(items), window)
