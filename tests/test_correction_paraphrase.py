"""A user's correction answers the paraphrases of the question it corrected even when it does not repeat the question's
words: "Our broker is Fatima Zahir now.", given for "Who is our mortgage broker?", has no 'mortgage', and "Who's the
broker for the mortgage?" (which the cache does not take for the same question: its words come in another order) read
the mortgage note instead. A correction's key word may be in the question it corrected or in its answer
(`context.key_match='both'`). Its other checks stay: a question about another thing in the same frame does not read it.
Extractive tier, real embeddings, cache on (the default)."""
from ruvllm import Config, Constraints, Feedback, RuvLLM

NOTES = ["Mortgage is with Cedar Building Society.", "The fixed rate ends in March 2027.", "Monthly payment is 845 pounds.",
         "Our broker is Leon Achterberg.", "Overpayments up to 10 percent are allowed.",
         "Lily's class teacher is Mrs Abernathy.", "School starts at 8:45 and pickup is at 3:15."]


def _corrected(path, question, correction):
    b = Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    llm = RuvLLM(b.build(), start_scheduler=False)
    llm.ingest(NOTES, progress=False); llm.flush()
    r = llm.query(question); llm.flush()
    llm.feedback(Feedback(r.request_id, rating=1, correction=correction)); llm.flush()
    return llm


def test_a_paraphrase_reads_the_correction_that_does_not_repeat_its_subject(tmp_path):
    with _corrected(tmp_path / 'a', "Who is our mortgage broker?", "Our broker is Fatima Zahir now.") as llm:
        assert "Fatima Zahir" in llm.query("Who is our mortgage broker?").text  # its own question: the correction, read alone
        r = llm.query("Who's the broker for the mortgage?", constraints=Constraints(no_cache=True))  # memory's answer (the cache refuses the reordered words)
        assert "Fatima Zahir" in r.text, r.text  # before: "Mortgage is with Cedar Building Society."


def test_a_paraphrase_with_a_name_reads_the_correction(tmp_path):
    with _corrected(tmp_path / 'b', "Who is Lily's class teacher?", "No, her teacher this year is Mr Quinlan.") as llm:
        r = llm.query("Which teacher has Lily's class?")
        assert "Mr Quinlan" in r.text, r.text  # before: "Lily's class teacher is Mrs Abernathy." (the superseded answer)


def test_a_question_about_another_thing_still_does_not_read_the_correction(tmp_path):
    with _corrected(tmp_path / 'c', "Who is our mortgage broker?", "Our broker is Fatima Zahir now.") as llm:
        nc = Constraints(no_cache=True)  # what memory lets in (the cache's own near misses are issue 21's sets)
        r = llm.query("When does the fixed rate end?", constraints=nc)
        assert "March 2027" in r.text and "Fatima" not in r.text, r.text
        r = llm.query("Who is the mortgage lender?", constraints=nc)  # same frame, another thing: the correction stays out
        assert "Fatima" not in r.text, r.text
