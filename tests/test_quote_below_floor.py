"The quoting tier reads the passages under the relevance floor too; only the quoted one becomes a source; a cache hit needs the note it rests on retrieved (issue 21, lead37)."
import json, random
from ruvllm import Config, RuvLLM
from ruvllm.evals.cache_sets import NOTES_DIR
from ruvllm.evals.memory_bench import BENCH_SUBJECTS, BENCH_TOWNS, BENCH_VERBS


def opened(path, **settings) -> RuvLLM:
    cfg = (Config.builder().db_path(str(path)).set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('system.warm_up', False).update(settings).build())
    return RuvLLM(cfg, start_scheduler=False)


def test_the_quoting_tier_reads_the_note_the_attention_put_under_the_floor(tmp_path):
    """Eleven subjects of the first blind notes set: the bakery's owner note got under 5 % of the best attention weight,
    so the extractive tier never saw it and quoted the closing time. With `context.quote_below_floor` it reads the
    admitted passages under the floor as well, after the rest, and picks by the question's words."""
    subjects = [json.loads(l) for l in (NOTES_DIR / 'notes1.jsonl').read_text(encoding='utf-8').splitlines() if l.strip()]
    pick = [s for s in subjects if 'Lindell' in s['subject']] + [s for s in subjects if 'Lindell' not in s['subject']][:10]
    notes = [n['text'] for s in pick for n in s['notes']]
    answers = {}
    for below in (False, True):
        with opened(tmp_path / f'db{below}', **{'cache.enabled': False, 'context.quote_below_floor': below}) as llm:
            llm.ingest(notes, progress=False)
            answers[below] = llm.query("Who owns the Lindell Bakery?")
    assert 'Maria Costa' not in answers[False].text  # the note was cut by the floor: another Lindell note was quoted
    r = answers[True]
    assert 'Maria Costa' in r.text
    best = max(s.score for s in r.sources)
    under = [s.text for s in r.sources if s.score < 0.05 * best]
    assert under == [r.text]  # of the passages read under the floor, only the one quoted is a source (`answer_used_ids`)


def test_a_hit_whose_own_note_is_not_retrieved_is_refused(tmp_path):
    """The template world's notes (840 one-fact notes). When every passage the quoting tier read under the floor became
    a source, the answer to "What year: the museum, Brisk, was renovated?" was cached with the note about the museum
    closing among its sources. For "Tell me when the museum in Brisk closed briefly." the renovation note is not
    retrieved, so the sources that were (the closing note too) tied on the answer's words and all counted as its
    grounds: nothing in memory looked better, and the renovation year was served. Only the quoted passage under the
    floor is a source now (`answer_used_ids`)."""
    rng = random.Random(11)
    combos = [(s, t, v) for s in BENCH_SUBJECTS for t in BENCH_TOWNS for v in BENCH_VERBS]
    year = {c: rng.randrange(1600, 2000) for c in combos}
    with opened(tmp_path / 'db') as llm:
        llm.ingest([f"In {t}, {s} {v} {year[(s, t, v)]}." for s, t, v in combos], progress=False)
        first = llm.query("What year: the museum, Brisk, was renovated?"); llm.flush()
        assert '1747' in first.text and not any('closed briefly' in s.text for s in first.sources)  # read under the floor, not quoted: no source
        r = llm.query("Tell me when the museum in Brisk closed briefly."); llm.flush()
        assert not r.cached and '1992' in r.text
        assert llm.stats()['cache'].get('rejected_by_memory', 0) >= 1


def test_a_hit_is_refused_when_the_note_its_answer_quotes_is_not_retrieved(tmp_path):
    """The second blind notes set. "What are the dates of DataCraft Summit 2025?" was answered (wrongly) with Project
    Halcyon's go-live date, and cached with the summit's notes as sources beside it. "When does DataCraft Summit 2025
    run?" does not retrieve the Halcyon note; the summit's notes that it does retrieve tied on the answer's few words
    and counted as its grounds, so nothing in memory looked better, and the wrong date was served again. The grounds
    are now counted over all the answer's sources, retrieved or not (`RuvLLM.answer_grounds`). (The quote margin,
    `inference.quote_min_margin`, now refuses that first wrong answer: it is off here, to make the case.)"""
    notes = [n['text'] for l in (NOTES_DIR / 'notes2.jsonl').read_text(encoding='utf-8').splitlines() if l.strip()
             for n in json.loads(l)['notes']]
    with opened(tmp_path / 'db', **{'inference.quote_min_margin': 0.0}) as llm:
        llm.ingest(notes, progress=False)
        first = llm.query("What are the dates of DataCraft Summit 2025?"); llm.flush()
        assert 'Halcyon' in first.text  # the case: a wrong answer, cached
        r = llm.query("When does DataCraft Summit 2025 run?"); llm.flush()
        assert not r.cached and '23 and 24 October' in r.text
