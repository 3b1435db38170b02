"""A correction of a cached answer reaches the paraphrase whose rated answer the entry rests on (a probe of replicas,
7 December, night): "How much paid vacation per year do employees get?" rated 5 (27 days) kept its Q&A after "How
many days of paid vacation do employees get per year?", served that entry, was corrected to 30 days, and was still
answered 27 with the cache bypassed. When the correction restates the answer with other facts, the fact was wrong,
not the match: the entry's Q&A is replaced as the answer's own would be. A correction of a wrong match is not."""
import dataclasses
from ruvllm import Config, Feedback, RuvLLM
from ruvllm.types import Constraints

NC = Constraints(no_cache=True)


def _llm(path):
    return RuvLLM(Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'}).build())


def test_a_correction_of_a_cached_answer_replaces_the_rated_paraphrase(tmp_path):
    Q, P = "How many days of paid vacation do employees get per year?", "How much paid vacation per year do employees get?"
    with _llm(tmp_path) as llm:
        llm.ingest(["Employees get 27 days of paid vacation per year.", "The office opens at 8:00 on weekdays."], progress=False)
        r = llm.query(P); assert '27' in r.text
        llm.feedback(Feedback(r.request_id, rating=5)); llm.flush()
        r = llm.query(Q); assert r.cached and '27' in r.text  # served P's entry
        fb = Feedback(r.request_id, rating=1, correction="Employees get 30 days of paid vacation per year.")
        rec = llm.record(r.request_id)
        assert llm.entry_qa(rec, fb) is not None
        # the same answer served for a question naming what it lacks was a wrong match: its entry's Q&A is not replaced
        assert llm.entry_qa(dataclasses.replace(rec, query="How many days of paid vacation do Initech employees get?"), fb) is None
        assert llm.entry_qa(rec, dataclasses.replace(fb, correction="Ask HR.")) is None  # no restatement: the match may be wrong
        out = llm.feedback(fb); llm.flush()
        assert out['archived'], out
        for q in (Q, P):
            for cons in (None, NC):
                a = llm.query(q, learn=False, constraints=cons).text
                assert '30' in a and '27' not in a, (q, cons, a)


def test_two_corrections_of_one_question_the_later_stands(tmp_path):
    "Two requests answered 9:15, corrected to 10:00 then 11:00: both stayed live, the cache said 11:00 and memory 10:00 (a probe of replicas)."
    Q = "When does the Orvik ferry leave?"
    with _llm(tmp_path) as llm:
        llm.ingest(["The Orvik ferry leaves at 9:15.", "The Orvik harbour has two piers."], progress=False)
        r1, r2 = llm.query(Q, constraints=NC), llm.query(Q, constraints=NC)
        assert '9:15' in r1.text and '9:15' in r2.text
        a = llm.feedback(Feedback(r1.request_id, rating=1, correction="The Orvik ferry leaves at 10:00.")); llm.flush()
        b = llm.feedback(Feedback(r2.request_id, rating=1, correction="The Orvik ferry leaves at 11:00.")); llm.flush()
        assert a['correction_node'] in b['archived'], (a, b)
        for cons in (None, NC):
            said = llm.query(Q, learn=False, constraints=cons).text
            assert '11:00' in said and '10:00' not in said and '9:15' not in said, (cons, said)
        said = llm.query("What time does the Orvik ferry depart?", learn=False, constraints=NC).text
        assert '10:00' not in said and '9:15' not in said, said
