"A question that names its subject only by a pronoun is answered in its conversation (found by a probe of the server)."
from ruvllm import Config, Feedback, RuvLLM

DOCS = ["Quorvane is a river town. Quorvane was founded in 1802.", "Tarn is a mountain city. Tarn was founded in 1650."]


def test_a_follow_up_is_answered_from_its_conversation_and_never_served_to_another(tmp_path):
    """'When was it founded?' after 'Tell me about Quorvane.' was searched alone: the extractive tier quoted Tarn's
    founding, and, rated well, that answer was cached and served to the same words in any conversation. Now a follow-up
    is searched for with the question it leans on, never cached, and Loop A keeps it under its standalone question."""
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(DOCS, progress=False)
        a, b = llm.new_session(), llm.new_session()
        llm.query("Tell me about Quorvane.", session=a)
        ra = llm.query("When was it founded?", session=a)
        llm.feedback(Feedback(ra.request_id, rating=5)); llm.flush()
        llm.query("Tell me about Tarn.", session=b)
        rb = llm.query("When was it founded?", session=b)
        qas = [llm.memory.get(i).text for i in llm.memory.live_ids() if llm.memory.get(i).type.value == 'QAPair']
    assert '1802' in ra.text and '1650' not in ra.text
    assert '1650' in rb.text and not rb.cached  # the other conversation's answer is not served to the same words
    assert any(t.startswith("Q: Tell me about Quorvane. When was it founded?") for t in qas)
    assert not any(t.startswith("Q: When was it founded?") for t in qas)  # no Q&A that names no town
