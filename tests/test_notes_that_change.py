"""A later note that changes a fact is read instead of the earlier one (`context.prefer_later`), and a later note about
a sibling thing is not taken for an update (evals/11_updates measures both on sets written blind)."""
from ruvllm import Config, RuvLLM


def _llm(path, **settings):
    b = Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'}).set('system.warm_up', False)
    for k, v in settings.items(): b = b.set(k.replace('__', '.'), v)
    return RuvLLM(b.build(), start_scheduler=False)


def test_the_later_note_is_quoted(tmp_path):
    for on in (True, False):
        with _llm(tmp_path / str(on), context__prefer_later=on) as llm:
            llm.ingest(["Oscar's clarinet lesson with Mrs Havers is on Wednesday after school.", "The office wifi password is heron-42.",
                        "Oscar's piano lesson is on Monday."], progress=False)
            llm.ingest(["Oscar's clarinet lesson with Mrs Havers is on Friday after school.",  # the same words, another day
                        "Update: IT changed the office wifi password to osprey-19 this morning."], progress=False)  # says it changed
            day = llm.query("When does Oscar see Mrs Havers for clarinet?", learn=False).text
            pw = llm.query("What's the wifi password at the office?", learn=False).text
            assert ('Friday' in day and 'osprey-19' in pw) if on else ('Wednesday' in day and 'heron-42' in pw), (on, day, pw)
            assert 'Monday' in llm.query("When is Oscar's piano lesson?", learn=False).text  # its sibling stands


def test_a_later_note_about_a_sibling_is_no_update(tmp_path):
    "Room B's note, and Dad's dose, stored later and saying 'now', replace neither room A's nor my dose (a review's case)."
    with _llm(tmp_path) as llm:
        llm.ingest(["Meeting room A seats 12 people.", "My daily vitamin D dose is 1000 IU."], progress=False)
        llm.ingest(["Meeting room B now seats 20 people.", "Dad's vitamin D dose is now 800 IU a day."], progress=False)
        assert '12' in llm.query("How many people does meeting room A seat?", learn=False).text
        assert '1000' in llm.query("What is my daily vitamin D dose?", learn=False).text


def test_a_later_note_that_changed_another_thing_is_no_update(tmp_path):
    "'now' said of the gym, in a note that also names the pool, leaves the pool's hours (a review's case, eighth probe round)."
    with _llm(tmp_path) as llm:
        llm.ingest(["The pool opens at 7:00 on weekdays."], progress=False)
        llm.ingest(["The gym now opens at 6:00 on weekdays; the pool keeps its hours."], progress=False)
        assert '7:00' in llm.query("When does the pool open?", learn=False).text
        llm.ingest(["Update: the pool now opens at 6:30 on weekdays."], progress=False)  # said of the pool: it is the change
        assert '6:30' in llm.query("When does the pool open?", learn=False).text
