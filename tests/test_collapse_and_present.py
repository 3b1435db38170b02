"Through the default retrieval path (`RuvLLM.retrieve`, real WordLlama): a line said in every session takes one place in the subgraph, not all of them; and a chat history asked without an asking time reads \"last week\" as the last week of the history."
import time

from chat_ranking import chat_items, extractive_config, past_a_window, ranked
from ruvllm.config import Config
from ruvllm.orchestrator import RuvLLM

SMALL_TALK = ("Sam", "ugh, I did not sleep well last night")
TRAIN = ("Sam", "the night train to Vienna kept me awake, I did not sleep at all")
Q = "Why did Sam not sleep well?"

def _items():
    days = [f"2023-0{m}-0{d}" for m in range(1, 7) for d in (1, 8)]
    return chat_items(past_a_window([(f"s{i}", day, [SMALL_TALK]) for i, day in enumerate(days)] +  # said alone, on twelve days
                                    [("train", "2023-07-01", [("Dana", "how was the trip home?"), TRAIN])]))  # past one window: propagated

def test_the_same_line_takes_one_place_in_the_subgraph(tmp_path):
    assert Config().memory.collapse_duplicates
    ids, on, _ = ranked(tmp_path / 'on', _items(), Q, search_k=4)
    _, off, _ = ranked(tmp_path / 'off', _items(), Q, search_k=4, collapse_duplicates=False)
    copies, train = set(ids[:12]), ids[13]
    assert len(copies & set(on)) == 1 and train in on, on
    assert len(copies & set(off)) >= 3 and train not in off, off  # without the collapse the copies fill the subgraph

TRIPS = [("2023-03-04", "Sam", "off to Oslo for the weekend, can't wait"), ("2023-04-01", "Sam", "off to Rome for the weekend, can't wait"),
         ("2023-05-13", "Sam", "off to Lisbon for the weekend, can't wait"), ("2023-05-20", "Dana", "welcome back! the office was quiet")]

def test_last_week_is_the_last_week_of_the_history(tmp_path):
    q = "Where did Sam go last week?"
    items = chat_items([(f"s{i}", d, [(s, t)]) for i, (d, s, t) in enumerate(TRIPS)])
    with RuvLLM(extractive_config(tmp_path / 'h'), start_scheduler=False) as llm:
        ids = llm.ingest(items, progress=False)
        qv = llm.memory.embed_query(q)
        first = llm.retrieve(q, qv).ranked()[0].node.id
        clock = llm.memory.hybrid_subgraph(q, vector=qv, now=time.time()).ranked()[0].node.id
    assert first == ids[2], first  # Lisbon: the week before 20 May 2023, the history's last day
    assert clock != ids[2], clock  # read against the clock, "last week" is empty and the words decide
