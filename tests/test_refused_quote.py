"""The probe of a memory used over weeks (7 December, evening; MEDIUM-3): a quote rated 1 ("Who manages the Velvet
Orreries?" answered with another band's note) came back word for word when the question was asked again, with the
cache off, after Loops B and C and a reopen: a bad rating changed nothing the user could see. A quote a rating said is
wrong for a question is not given again for those words: a dearer tier is asked, or the last one says it does not know."""
from ruvllm import Config, Feedback, RuvLLM

NOTES = ["The Copper Lanterns are a folk band from Mirl, managed by Ada Voss.", "The Velvet Orreries played their first show in 2019."]
Q = "Who manages the Velvet Orreries?"


def _cfg(path, cache: bool):
    return (Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
            .set('cache.enabled', cache).build())


def test_a_quote_rated_wrong_is_not_given_again_for_the_same_question(tmp_path):
    with RuvLLM(_cfg(tmp_path / 'd', True), start_scheduler=False) as llm:  # the refusal is kept with the cache's state
        llm.ingest(NOTES, progress=False)
        first = llm.query(Q)
        llm.feedback(Feedback(first.request_id, rating=1))
        again = llm.query(Q)
    with RuvLLM(_cfg(tmp_path / 'd', True), start_scheduler=False) as llm:
        reopened = llm.query(Q)
    with RuvLLM(_cfg(tmp_path / 'e', False), start_scheduler=False) as llm:  # with the cache off, for the process's life
        llm.ingest(NOTES, progress=False)
        llm.feedback(Feedback(llm.query(Q).request_id, rating=1))
        off = llm.query(Q)
    assert first.text.strip() and "don't know" not in first.text, first.text  # it quoted something
    assert first.text not in (again.text, reopened.text, off.text), (first.text, again.text, reopened.text, off.text)
    assert not again.cached and not reopened.cached


def test_a_quote_rated_well_is_given_again(tmp_path):  # the control: only a refusal changes the answer
    with RuvLLM(_cfg(tmp_path / 'd', False), start_scheduler=False) as llm:
        llm.ingest(NOTES, progress=False)
        first = llm.query("Who manages the Copper Lanterns?")
        llm.feedback(Feedback(first.request_id, rating=5))
        assert llm.query("Who manages the Copper Lanterns?").text == first.text


def test_a_middling_rating_or_a_follow_up_refuses_nothing_for_the_question(tmp_path):
    """A review of the change: any rating under `learning.quality_threshold` refused the quote, so a right answer rated
    3 became "I don't know" for good; and a follow-up rated 1 outside its conversation ("Where was she born?") refused the
    quote for the same words in every other conversation. Only feedback that says wrong (`learning.wrong_quality`)
    counts, and only for a question that stands alone."""
    with RuvLLM(_cfg(tmp_path / 'd', True), start_scheduler=False) as llm:
        llm.ingest(NOTES + ["Ada Voss was born in Tarn."], progress=False)
        first = llm.query("Who manages the Copper Lanterns?")
        llm.feedback(Feedback(first.request_id, rating=3))
        again = llm.query("Who manages the Copper Lanterns?", constraints=None)
        alone = llm.query("Where was she born?")  # asked with no conversation, and rated wrong (rightly: it says nothing of her)
        llm.feedback(Feedback(alone.request_id, rating=1))
        s = llm.new_session()
        llm.query("Who manages the Copper Lanterns?", session=s)
        born = llm.query("Where was she born?", session=s)
        t = llm.new_session()
        llm.query("Who manages the Copper Lanterns?", session=t)
        born_again = llm.query("Where was she born?", session=t)
    assert 'Ada Voss' in first.text and again.text == first.text, (first.text, again.text)
    assert 'Tarn' in born.text and 'Tarn' in born_again.text, (born.text, born_again.text)
