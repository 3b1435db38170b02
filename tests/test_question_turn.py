"""The probe of a memory used over weeks (7 December, evening; MEDIUM-2): over a chat transcript, "What is the cabin
wifi password?" was answered with Sam's question ("Sam: What is the wifi password at the cabin?"), which shares the
most words with it, though Dana's answer turn was retrieved beside it. A passage that only asks answers nothing: the
quoting tier passes over it while another passage states something."""
import json

from ruvllm import Config, RuvLLM

TURNS = [("Sam", "Did you book the cabin for the reunion?"), ("Dana", "Yes, I booked the Pinecrest cabin at Lake Orla."),
         ("Sam", "What is the wifi password at the cabin?"), ("Dana", "The cabin wifi password is otterbank42."),
         ("Sam", "Great, thanks!")]


def test_a_question_turn_is_not_quoted_as_the_answer(tmp_path):
    chat = tmp_path / 'chat.jsonl'
    chat.write_text(''.join(json.dumps(dict(speaker=s, text=t, timestamp=f"2024-03-09T18:0{i}:00Z")) + '\n' for i, (s, t) in enumerate(TURNS)))
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('cache.enabled', False).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(chat, progress=False)
        answers = [llm.query(q, learn=False).text for q in ("What is the cabin wifi password?", "What is the wifi password at the cabin?")]
    assert all('otterbank42' in a for a in answers), answers
