"A cached answer is served only while memory still backs it (found by a probe of the semantic cache, lead29)."
import subprocess, sys, textwrap
from ruvllm import Config, Constraints, Feedback, RuvLLM


def opened(path) -> RuvLLM:
    cfg = (Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('system.warm_up', False).build())
    return RuvLLM(cfg, start_scheduler=False)


def asked(llm, q, **kw):
    r = llm.query(q, **kw); llm.flush()
    return r


def test_a_rated_answer_keeps_its_sources_so_an_archived_source_stops_it(tmp_path):
    """Rating an answer 5 put it in the cache without its sources (and replaced the entry the write-back had stored
    with them), so the check that a hit's sources are still live never ran: after its only source was archived the
    answer was still served."""
    with opened(tmp_path / 'db') as llm:
        [src] = llm.ingest(["A day on Quillon lasts 31 hours."], progress=False)
        r = asked(llm, "How long is a day on Quillon?")
        llm.feedback(Feedback(r.request_id, rating=5))
        hit = asked(llm, "How long is a day on Quillon?")
        assert hit.cached and [s.node_id for s in hit.sources] == [src]  # rated, cached, backed by memory: served, with its source
        llm.memory.archive([src])
        again = asked(llm, "How long is a day on Quillon?")
        assert not again.cached and llm.stats()['cache'].get('rejected_by_memory', 0) >= 1


def test_a_document_ingested_after_the_answer_and_retrieved_for_the_question_stops_it(tmp_path):
    """New notes never displaced a cached answer: its old source was still live and still retrieved."""
    with opened(tmp_path / 'db') as llm:
        llm.ingest(["Quorvane is a coastal town known for its lighthouse.", "The Vetra museum opens at 10 am."], progress=False)
        r = asked(llm, "When does the Vetra museum open?")
        llm.feedback(Feedback(r.request_id, rating=5))
        assert asked(llm, "When does the Vetra museum open?").cached
        llm.ingest(["From June, the Vetra museum opens at 9 am."], progress=False)
        assert not asked(llm, "When does the Vetra museum open?").cached  # answered again, from the memory that now holds both


def test_a_correction_of_a_hit_served_for_a_paraphrase_removes_that_entry(tmp_path):
    """The correction was cached under the paraphrase, but the entry that served the outdated fact stayed and went on
    serving it for its own wording."""
    with opened(tmp_path / 'db') as llm:
        llm.ingest(["The population of Vetra is 1.2 million.", "Ilsa Marrow is the mayor of Vetra."], progress=False)
        r = asked(llm, "What is the population of Vetra?")
        llm.feedback(Feedback(r.request_id, rating=5))
        hit = asked(llm, "How many people live in Vetra?")
        assert hit.cached and '1.2 million' in hit.text
        llm.feedback(Feedback(hit.request_id, rating=1, correction="About 1.3 million people live in Vetra."))
        assert '1.2 million' not in asked(llm, "What is the population of Vetra?").text


def test_a_forced_tier_is_answered_by_that_tier_not_the_cache(tmp_path):
    with opened(tmp_path / 'db') as llm:
        llm.ingest(["The Vetra library opens at 9 am."], progress=False)
        r = asked(llm, "When does the Vetra library open?")
        llm.feedback(Feedback(r.request_id, rating=5))
        assert asked(llm, "When does the Vetra library open?").cached
        forced = asked(llm, "When does the Vetra library open?", constraints=Constraints(force_model='tiny'))
        assert not forced.cached and forced.routing_info.forced


def test_a_process_killed_after_a_correction_serves_it_on_reopen(tmp_path):
    """The cache saved at the last `save` held the first correction; the second one was only in the store's event log,
    which a reopened process read at its first background sync: until then it served the superseded correction."""
    code = textwrap.dedent(f'''
        import os, sys; sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
        from ruvllm import Feedback
        from test_cache_agrees_with_memory import opened, asked
        llm = opened({str(tmp_path / 'db')!r})
        llm.ingest(["The Vetra zoo has 40 elephants."], progress=False)
        r = asked(llm, "Who runs the Vetra zoo?")
        llm.feedback(Feedback(r.request_id, rating=1, correction="Ilsa Marrow runs the Vetra zoo."))
        llm.save()
        h = asked(llm, "Who runs the Vetra zoo?")
        assert h.cached and 'Ilsa' in h.text
        llm.feedback(Feedback(h.request_id, rating=1, correction="Tomas Reed runs the Vetra zoo."))
        os._exit(0)  # killed: no close, no save''')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with opened(tmp_path / 'db') as llm:
        a = asked(llm, "Who runs the Vetra zoo?")
        assert 'Ilsa' not in a.text and (not a.cached or 'Tomas' in a.text)


def test_an_answer_whose_sources_loop_c_compressed_is_still_served(tmp_path):
    """Loop C archives cold turns under a concept, and hybrid retrieval still finds them (`memory.search_compressed`);
    the cache took them for gone: every ask refused the entry, removed it and stored the answer again, never serving it."""
    cfg = (Config.builder().db_path(str(tmp_path / 'db')).set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('system.warm_up', False)
           .set('learning.cold_after_s', 0.0).set('learning.cold_max_access', 100).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest([f"The Tarn bridge fact {i}: the Tarn bridge has {i} lamps on span {i}." for i in range(1, 9)]
                   + ["The Tarn bridge is 420 metres long.", "The Tarn bridge was opened in 1931."], progress=False)
        r = asked(llm, "How long is the Tarn bridge?")
        llm.feedback(Feedback(r.request_id, rating=5))
        llm.learn('C')
        assert any(llm.memory.is_compressed(s.node_id) for s in r.sources)  # the answer's source is compressed
        again = [asked(llm, "How long is the Tarn bridge?") for _ in range(3)]
        assert all(a.cached and '420' in a.text for a in again)


def test_an_answer_rated_wrong_is_not_cached_again_when_given_again_unrated(tmp_path):
    """A rating of 1 removed the answer's entry, but the next ask gave the same answer, its self-estimate cached it
    again, and the ask after that was served the answer the user had refused. (A quote refused is not given again for
    those words at all now: `tests/test_refused_quote.py`.)"""
    with opened(tmp_path / 'db') as llm:
        llm.ingest(["The Vetra zoo has 40 elephants.", "The Vetra zoo opened in 1950."], progress=False)
        q = "How many elephants does the Vetra zoo have?"
        r = asked(llm, q)
        assert asked(llm, q).cached  # cached on its self-estimate
        llm.feedback(Feedback(r.request_id, rating=1))
        again = [asked(llm, q) for _ in range(3)]
        assert not any(a.cached or a.text == r.text for a in again)  # neither served nor given again (since 7 December: it was given again, uncached)


def test_a_correction_given_through_another_process_removes_the_entry_that_served_it_and_no_other(tmp_path):
    """Entry ids are each process's own; the correction removed the entry with the serving process's id in the
    process that took the feedback, another question's entry there (and, through the log, everywhere)."""
    a = opened(tmp_path / 'db'); b = opened(tmp_path / 'db')
    try:
        a.ingest(["Paris is the capital of France.", "Berlin is the capital of Germany.", "Madrid is the capital of Spain."], progress=False)
        b.memory.sync()  # b reads a's notes now, not when its catch-up timer comes (it answered "I don't know", and that was cached)
        def rate(llm, q):
            r = asked(llm, q); llm.feedback(Feedback(r.request_id, rating=5))
            assert q.split()[-1].rstrip('?') in r.text, r.text  # an answer, not "I don't know": a rated abstention is never cached
        rate(a, "What is the capital of France?"); rate(b, "What is the capital of Spain?"); rate(b, "What is the capital of Germany?")
        a.cache_log.sync(); b.cache_log.sync(); a.cache_log.sync()
        served = asked(a, "What is the capital of France?")
        assert served.cached
        b.feedback(Feedback(served.request_id, rating=1, correction="Paris, the capital since 508."))
        b.cache_log.sync(); a.cache_log.sync()
        assert asked(a, "What is the capital of Spain?").cached and asked(a, "What is the capital of Germany?").cached
    finally:
        a.close(); b.close()


def test_a_correction_of_another_question_about_the_subject_leaves_the_answer_cached(tmp_path):
    """A correction counts as newer memory only for the question it corrected: one of "the population of the capital of
    France" shares every word of "the capital of France" and removed its rated answer."""
    with opened(tmp_path / 'db') as llm:
        llm.ingest(["Paris is the capital of France.", "Paris has about 2.1 million inhabitants."], progress=False)
        q = "What is the capital of France?"
        r = asked(llm, q); llm.feedback(Feedback(r.request_id, rating=5))
        other = asked(llm, "What is the population of the capital of France?")
        llm.feedback(Feedback(other.request_id, rating=1, correction="About 2.1 million people live in Paris."))
        assert asked(llm, q).cached


def test_an_answer_cut_to_nothing_can_be_rated(tmp_path):
    "A stop string that cuts the whole answer leaves '' to rate: the refusal of a bad answer must not refuse the rating."
    with opened(tmp_path / 'db') as llm:
        llm.ingest(["Paris is the capital of France."], progress=False)
        r = asked(llm, "What is the capital of France?", constraints=Constraints(stop=["Paris"]))
        assert r.text == ''
        llm.feedback(Feedback(r.request_id, rating=1))
        assert llm.record(r.request_id).feedback is not None


MUSEUM = ["In Arlen, the museum was built in 1840.", "In Arlen, the museum was renovated in 1792.",
          "In Arlen, the museum reopened in 1962.", "In Arlen, the museum closed briefly in 1637.",
          "In Dunmore, the museum was built in 1608.", "In Arlen, the library was renovated in 1750."]


def test_another_event_of_one_subject_is_answered_from_the_node_about_it(tmp_path):
    """Questions about two events of one thing, asked in other forms ("When was ... built?" / "In which year was ...
    renovated?"), share the subject's words; the rules read the pair as reworded and the judge served the first event's
    answer for the second (76 of 207 hits on 840 such notes, 6 December), although memory holds the node that answers
    it. A hit is refused when a retrieved document shares more of the question's words than the sources the cached
    answer rests on ('better in memory'); a reworded question about the same event is still served."""
    with opened(tmp_path / 'db') as llm:
        llm.ingest(MUSEUM, progress=False)
        first = asked(llm, "When was the museum in Arlen built?")
        llm.feedback(Feedback(first.request_id, rating=5))
        assert '1840' in first.text
        other = asked(llm, "In which year was the museum of Arlen renovated?")
        assert not other.cached and '1792' in other.text  # answered from the node about the renovation
        assert llm.stats()['cache'].get('rejected_by_memory', 0) >= 1
        same = asked(llm, "Tell me when the museum in Arlen was built.")
        assert same.cached and '1840' in same.text  # the same question reworded: still served


def test_better_in_memory_weighs_another_wording_not_the_question_itself(tmp_path):
    """An answer may rest on a note that shares fewer of the question's words than another retrieved one (here a note
    that says 'built' but not when the museum was): the same question is still served from the cache, every time (it
    used to be refused and answered again on every ask). Only another wording is weighed ('better in memory')."""
    with opened(tmp_path / 'db') as llm:
        ids = llm.ingest(["The museum in Arlen opened its doors in 1840.",
                          "Visitors to the museum in Arlen learn how the old mill was built."], progress=False)
        q = "When was the museum in Arlen built?"
        llm.cache.put('global', q, llm.memory.embed_query(q), "The museum in Arlen opened its doors in 1840.", 'r-manual',
                      sources=[ids[0]], rated=True)
        assert [asked(llm, q).cached for _ in range(3)] == [True, True, True]


LAMP = ["The Lumo S2 desk lamp costs $89 on the official online store.", "The Lumo S2 desk lamp was launched in September 2021.",
        "The battery of the Lumo S2 desk lamp lasts 12 hours on one charge.",
        "The Lumo S2 desk lamp comes with a two-year warranty from the maker.", "The Lumo S2 desk lamp is designed and made by Brightfold Ltd."]
HOTEL = ["Our booking at the Seacliff Hotel is for 12 to 19 August.", "Check-in at the Seacliff Hotel is from 3 pm on arrival day.",
         "The booking reference for the Seacliff Hotel is SCH-48213.", "A room at the Seacliff Hotel costs £140 per night with breakfast.",
         "The Seacliff Hotel is in the village of Porthcray on the Cornish coast."]

def test_a_tie_on_the_subjects_words_is_read_as_the_extractive_tier_reads_it(tmp_path):
    """From a set of notes written blind: "How much does the Lumo S2 desk lamp cost?" was served the cached answer to
    "What warranty comes with the Lumo S2 desk lamp?". Every note shares the subject's words with the question, so no
    note has more of them than the warranty note ('better in memory' saw nothing); all-MiniLM-L6-v2, which breaks the
    extractive tier's ties, finds the price note more about it: memory's own answer would be another note. The same for
    the hotel's dates after its booking reference. Switched off (`cache.memory_tie_break`), the old hits come back."""
    cases = [(LAMP, "What warranty comes with the Lumo S2 desk lamp?", "How much does the Lumo S2 desk lamp cost?", "$89"),
             (HOTEL, "What is the booking reference for the Seacliff Hotel?", "What dates is our booking at the Seacliff Hotel?", "12 to 19 August")]
    for i, (notes, first, other, answer) in enumerate(cases):
        for on in (True, False):
            cfg = (Config.builder().db_path(str(tmp_path / f'{i}{on}')).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
                   .set('system.warm_up', False).set('cache.memory_tie_break', on).build())
            with RuvLLM(cfg, start_scheduler=False) as llm:
                llm.ingest(notes, progress=False)
                asked(llm, first)
                r = asked(llm, other)
                if on: assert not r.cached and answer in r.text and llm.stats()['cache']['rejected_by_memory'] == 1, (other, r.text)
                else: assert r.cached and answer not in r.text, (other, r.text)  # the other question's answer


def test_an_update_of_the_answer_stops_it_though_another_source_shares_more_of_the_question(tmp_path):
    """"When does the Harbour Cafe open on Sundays?" was cached as "... 8 am ...". A note stored with it shares more of
    the question's words (the staff rota: *Sundays*, *open*, *Harbour Cafe*) but not the answer; the update "From May
    ... 9 am on Sundays" was measured against that note and, sharing fewer words, passed unseen: the stale hour was
    served. The bar is the answer's own grounds (a review of 6 December, late)."""
    with opened(tmp_path / 'db') as llm:
        llm.ingest(["The Harbour Cafe opens at 8 am on Sundays.", "The Harbour Cafe serves a full breakfast until noon.",
                    "The Harbour Cafe is run by Ellen Shaw.", "The Harbour Cafe has outdoor seating by the marina.",
                    "Harbour Cafe staff rota: Ellen, Sundays; Tom, Saturdays; the key holder must open up."], progress=False)
        q = "When does the Harbour Cafe open on Sundays?"
        r = asked(llm, q)
        assert '8 am' in r.text
        llm.feedback(Feedback(r.request_id, rating=5))
        assert asked(llm, q).cached
        llm.ingest(["From May the Harbour Cafe opens at 9 am on Sundays."], progress=False)
        again = asked(llm, q)
        assert not again.cached, again.text
