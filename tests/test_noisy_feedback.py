"""Learning under mistaken feedback (a probe of "learning never makes things worse", 7 December, night).

- A wrong correction the user later put right, in other words, was still served from the cache for the first
  wording (memory had archived it), after a restart too, and with the cache bypassed that wording said "I don't
  know": the document's right quote stayed refused for it.
- One rating of 2 ("meh") on a right quote counted as "wrong": the quote was never given again for those words, and
  the question went to a model that got it wrong."""
import pytest
from ruvllm import Config, Feedback, RuvLLM
from ruvllm.types import InvalidInputError

FACTS = ["The Orl is the longest river in Rivstaum.", "Employees get 27 days of paid vacation per year.",
         "The office wifi password is heron-42.", "The Vetra zoo opened in 1950."]
Q = "How many days of paid vacation do employees get?"
P = "How much paid vacation do employees get?"


def _cfg(path):
    return Config.from_dict({'system': {'db_path': str(path)}, 'inference': {'tiers': {'tiny': 'extractive'}}})


def test_a_correction_put_right_in_other_words_is_gone_from_the_first(tmp_path):
    with RuvLLM(_cfg(tmp_path)) as llm:
        llm.ingest(FACTS, progress=False)
        r = llm.query(Q)
        assert '27' in r.text
        llm.feedback(Feedback(r.request_id, correction="Employees get 72 days of paid vacation per year."))
        llm.flush()
        assert '72' in llm.query(Q, learn=False).text  # taught
        r = llm.query(P)
        assert '72' in r.text and not r.cached  # memory's taught answer, quoted for the other wording
        out = llm.feedback(Feedback(r.request_id, correction="Employees get 27 days of paid vacation per year."))
        assert out['archived'], out  # the 72 is replaced
        llm.flush()
        for learn in (True, False):  # the 72 is served no more (the first wording says it does not know: the 27 stays refused for it)
            a = llm.query(Q, learn=learn)
            assert '72' not in a.text, (learn, a.text, a.cached)
        assert '27' in llm.query(P).text
    with RuvLLM(_cfg(tmp_path)) as llm:  # and after a restart
        a = llm.query(Q)
        assert '72' not in a.text, (a.text, a.cached)


def test_a_rating_of_2_is_weak_not_wrong(tmp_path):
    with RuvLLM(_cfg(tmp_path)) as llm:
        llm.ingest(FACTS, progress=False)
        q = "What is the longest river in Rivstaum?"
        r = llm.query(q)
        assert 'Orl' in r.text
        llm.feedback(Feedback(r.request_id, rating=2))
        again = llm.query(q)
        assert 'Orl' in again.text and not again.cached, again.text  # given again (not from the cache: it was rated down)
        llm.feedback(Feedback(again.request_id, rating=2, task_success=False))  # a thumbs-down with its rating: wrong
        assert 'Orl' not in llm.query(q).text
        r = llm.query("When did the Vetra zoo open?")
        llm.feedback(Feedback(r.request_id, rating=1))  # a rating of 1 says it is wrong, as before
        assert '1950' not in llm.query("When did the Vetra zoo open?").text


def test_a_second_correction_keeps_what_the_first_said_was_wrong(tmp_path):
    """(A probe over HTTP.) The document said Lumbergh; corrected to Sen, then to Holt: paraphrases went back to the
    document's Lumbergh, since the first correction, which said Lumbergh was wrong, was replaced and its word with it."""
    with RuvLLM(_cfg(tmp_path)) as llm:
        llm.ingest(["The CEO of Initech is Bill Lumbergh.", "Initech makes TPS report software."], progress=False)
        q = "Who is the CEO of Initech?"
        r = llm.query(q); llm.feedback(Feedback(r.request_id, correction="The CEO of Initech is Ravi Sen.")); llm.flush()
        assert 'Ravi Sen' in llm.query("Who heads Initech?", learn=False).text
        r = llm.query(q); llm.feedback(Feedback(r.request_id, correction="The CEO of Initech is Mara Holt.")); llm.flush()
        for p in ("Who heads Initech?", "Who is the current CEO of Initech?", q):
            a = llm.query(p).text
            assert 'Lumbergh' not in a and 'Ravi Sen' not in a, (p, a)


def test_a_correction_that_only_says_wrong_is_a_rating(tmp_path):
    "(A probe over HTTP.) 'wrong' typed in the correction box was stored as the answer and served to everyone."
    with RuvLLM(_cfg(tmp_path)) as llm:
        llm.ingest(FACTS, progress=False)
        q = "When did the Vetra zoo open?"
        r = llm.query(q)
        out = llm.feedback(Feedback(r.request_id, correction="wrong"))
        assert out['correction_node'] is None and llm.record(r.request_id).feedback['rating'] == 1
        assert llm.query(q).text.strip().lower() != 'wrong'
        r = llm.query("What is the office wifi password?")
        llm.feedback(Feedback(r.request_id, correction="Correct!"))  # a yes to a question that is no yes/no one: the answer stands
        assert 'heron-42' in llm.query("What is the office wifi password?").text
        r = llm.query("What is the longest river in Rivstaum?")
        with pytest.raises(InvalidInputError, match='says the answer is wrong'):
            llm.feedback(Feedback(r.request_id, rating=5, correction="wrong"))  # a no beside a good rating: one of them is a slip
        assert llm.feedback(Feedback(r.request_id, correction="Not on Mondays."))['correction_node'] is not None  # a real correction


def test_a_correction_on_a_follow_up_reaches_the_plain_question_in_the_cache(tmp_path):
    """(A probe over HTTP.) "When was Quorvane founded?" was cached with the 1204 quote; the follow-up "When was it
    founded?" got the same quote and was corrected to 1210: the plain question was still served 1204 from the cache."""
    with RuvLLM(_cfg(tmp_path)) as llm:
        llm.ingest(["Quorvane is a river town in Veland. Quorvane was founded in 1204 by Ilsa Marrow.",
                    "Brask is a fishing village on the Tarn coast. Brask was founded in 1380 by Odo Venn."], progress=False)
        plain = "When was Quorvane founded?"
        llm.query(plain); llm.flush()
        assert llm.query(plain).cached  # the quote is in the cache
        s = llm.new_session()
        llm.query_session(s, "Who founded Quorvane?")
        r = llm.query_session(s, "When was it founded?")
        assert '1204' in r.text
        llm.feedback(Feedback(r.request_id, correction="Quorvane was founded in 1210.")); llm.flush()
        a = llm.query(plain)
        assert '1204' not in a.text, (a.text, a.cached)
