"""A quotes-only system answers about what memory holds, not with the nearest note about something else (probes of
7 December, night): flight AB301's note was quoted for flight AB377, and a subject's note about one thing for a
question about another of its things ("Who is the head coach?" -> "The courts are resurfaced every April.").
Measured on notes sets written blind, with 2 of each subject's 5 notes left out: evals/09_cache_sets,
*A quote that does not stand out*."""
from ruvllm import Config, RuvLLM

IDK = "I don't know"
NOTES = ["The Ashdown tennis club's courts are resurfaced every April.", "The Ashdown tennis club charges £120 a year for membership.",
         "The Ashdown tennis club's clubhouse has a small café.", "The Pellow Street dental practice closes at 5 pm on Fridays.",
         "The Pellow Street dental practice is run by Dr Amara Quist.", "The Pellow Street dental practice charges £45 for a check-up.",
         "Flight AB301 departs from gate 12.", "Invoice INV-5521 was paid on 3 March."]


def _llm(path, **settings):
    b = Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'})
    for k, v in settings.items(): b = b.set(k.replace('__', '.'), v)
    return RuvLLM(b.build())


def test_another_code_is_no_answer(tmp_path):
    with _llm(tmp_path) as llm:
        llm.ingest(NOTES, progress=False)
        assert llm.query("Which gate does flight AB377 depart from?", learn=False).text.startswith(IDK)
        assert llm.query("When was invoice INV-5598 paid?", learn=False).text.startswith(IDK)
        assert '12' in llm.query("Which gate does flight AB301 depart from?", learn=False).text
        assert '3 March' in llm.query("inv-5521 paid when", learn=False).text  # the code as typed


def test_a_note_about_another_thing_of_the_subject_is_no_answer(tmp_path):
    missing = ["Who is the head coach at the Ashdown tennis club?", "Where does the Pellow Street dental practice send x-rays?"]
    held = {"How much is a year's membership at the Ashdown tennis club?": '£120', "When are the Ashdown tennis club's courts resurfaced?": 'April',
            "Who runs the Pellow Street dental practice?": 'Amara Quist', "How much is a check-up at Pellow Street?": '£45'}
    for margin in (0.0, 0.04):  # off, and the default
        with _llm(tmp_path / str(margin), inference__quote_min_margin=margin) as llm:
            llm.ingest(NOTES, progress=False)
            for q in missing:
                said = llm.query(q, learn=False).text
                assert said.startswith(IDK) == (margin > 0), (margin, q, said)
            for q, a in held.items(): assert a in llm.query(q, learn=False).text, (margin, q)


def test_a_weekday_is_no_place(tmp_path):
    "'Where is the Velvet Comb salon?' quoted its Saturday hours: 'Saturdays' counted as a place the question did not name (`text.gives_asked`)."
    with _llm(tmp_path) as llm:
        llm.ingest(["The Velvet Comb salon is on Mill Street, beside the post office.", "The Velvet Comb salon opens at 9 am on Saturdays.",
                    "The Velvet Comb salon charges £30 for a haircut."], progress=False)
        assert 'Mill Street' in llm.query("Where is the Velvet Comb salon?", learn=False).text
        assert '9 am' in llm.query("When does the Velvet Comb salon open on Saturdays?", learn=False).text
