"""A correction of a quote that did not answer the question (a probe of the docs, 7 December, night): "Who founded
Quenby?" was answered "Quenby is the capital of Marsovia." and corrected to "Quenby was founded by Orla Vance.";
the correction then said Marsovia was wrong, so "What is Quenby the capital of?" got the founder, and the document's
true sentence was kept from every tier. A quote that does not speak to what the question asks is a wrong answer,
not a false fact."""
from ruvllm import Config, Feedback, RuvLLM


def _llm(path):
    return RuvLLM(Config.from_dict({'system': {'db_path': str(path)}, 'inference': {'tiers': {'tiny': 'extractive'}}}))


def test_an_off_topic_quote_corrected_leaves_its_fact_true(tmp_path):
    for asked_first in (False, True):  # the capital's question asked and rated before (cached, taught), or never
        with _llm(tmp_path / str(asked_first)) as llm:
            llm.ingest(["The Zorblat river flows through Quenby.", {"text": "Quenby is the capital of Marsovia.", "type": "Fact"}], progress=False)
            if asked_first:
                cap = llm.query("What is Quenby the capital of?")
                assert 'Marsovia' in cap.text
                llm.feedback(Feedback(cap.request_id, rating=5)); llm.flush()
            r = llm.query("Who founded Quenby?")
            assert 'Marsovia' in r.text  # the quote that answers another question
            llm.feedback(Feedback(r.request_id, rating=1, correction="Quenby was founded by Orla Vance.")); llm.flush()
            assert 'Orla Vance' in llm.query("Who founded Quenby?", learn=False).text
            for q in ("What is Quenby the capital of?", "Which country is Quenby the capital of?", "Quenby is the capital of which country?"):
                a = llm.query(q, learn=False).text
                assert 'Marsovia' in a and 'Orla' not in a, (asked_first, q, a)


def test_a_wrong_fact_corrected_is_still_kept_out(tmp_path):
    "The quote that does speak to the question (its 'capital') and names the wrong country: that fact is said wrong."
    with _llm(tmp_path) as llm:
        llm.ingest(["Quenby is the capital of Marsovia.", "The Zorblat river flows through Quenby."], progress=False)
        r = llm.query("What is Quenby the capital of?")
        assert 'Marsovia' in r.text
        llm.feedback(Feedback(r.request_id, rating=1, correction="Quenby is the capital of Veltoria.")); llm.flush()
        for q in ("What is Quenby the capital of?", "Which country has Quenby as its capital?"):
            a = llm.query(q, learn=False).text
            assert 'Marsovia' not in a, (q, a)
