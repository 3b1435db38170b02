"""Context admission after teaching: a past answer about another thing in the same frame stays out of the prompt,
a taught fact still reaches its paraphrases (issue 18: learning must not make general questions worse)."""
import pytest

from ruvllm import Config, Feedback, RuvLLM


def _teach(llm, question: str, correction: str):
    "Ask `question` and correct the answer through the public API (the way the self-learning benchmark teaches)."
    r = llm.query(question)
    llm.feedback(Feedback(r.request_id, rating=1, correction=correction))


@pytest.mark.parametrize('other_subject_rule', [True, False])
def test_a_general_question_reads_what_a_fresh_system_reads_after_teaching(tmp_path, other_subject_rule):
    """After "What is the plural of goose?" is taught by correction, "What is the plural of mouse?" gets the prompt a
    fresh system gives it (no passage, the same answer), while a paraphrase of a taught fact still gets its fact.
    Without `context.qa_other_subject` the goose answer is read and quoted: the leak router7 found in the benchmark."""
    def cfg(d):
        return (Config.builder().db_path(tmp_path / d).set('inference.tiers', {'tiny': 'extractive'})
                .set('router.safe_tier', 'tiny').set('context.qa_other_subject', other_subject_rule).build())
    general, paraphrase = "What is the plural of mouse?", "Who came up with the lumxanenscope?"
    with RuvLLM(cfg('fresh'), start_scheduler=False) as fresh:
        before = fresh.query(general, learn=False)
    with RuvLLM(cfg('taught'), start_scheduler=False) as llm:
        _teach(llm, "What is the plural of goose?", "The plural of goose is geese.")
        _teach(llm, "Who invented the lumxanenscope?", "The lumxanenscope was invented by Talith Yorsoran.")
        llm.flush()
        after = llm.query(general, learn=False)
        fact = llm.query(paraphrase, learn=False)
    assert 'Talith Yorsoran' in fact.text and fact.sources  # the taught fact reaches its paraphrase either way
    if other_subject_rule:
        assert after.sources == [] and after.text == before.text, (after.text, [s.text for s in after.sources])
    else:
        assert any('goose' in s.text for s in after.sources) and 'geese' in after.text  # the leak, with the rule off


def test_a_passage_that_writes_the_key_word_in_the_plural_is_read(tmp_path):
    """"When do workstation backups run?" is answered by "Backups of engineering workstations run ...": the key word in
    its other number. The context filter used to refuse that passage, and the answer was "I don't know"."""
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Backups of engineering workstations run every night at 02:00.",
                    "Laptops are replaced every four years by the IT team.",
                    "The office opens at 08:00 on weekdays."], progress=False)
        r = llm.query("When do workstation backups run?", learn=False)
        assert '02:00' in r.text, r.text
        other = llm.query("When is the cafeteria open?", learn=False)  # no key word in memory: still nothing quoted
        assert '02:00' not in other.text, other.text


@pytest.mark.parametrize('key_near', [None, 1.0, 0.5])  # None: the default (1.0)
def test_a_passage_that_names_the_key_word_by_a_near_word_is_read_only_if_asked(tmp_path, key_near):
    """"Where do we keep the bicycle?" is answered by "The bike lives in the shed ...": the note holds none of the
    question's key words, only a word near one. With `context.key_near` 0.5 it is read; by default (1.0, the key words
    themselves only) the filter refuses it and nothing is quoted. The unknown subject ("the cafeteria") finds nothing
    either way."""
    b = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'})
         .set('router.safe_tier', 'tiny'))
    cfg = (b if key_near is None else b.set('context.key_near', key_near)).build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["The bike lives in the shed behind the garage, on the left hook.",
                    "Laptops are replaced every four years by the IT team.",
                    "The office opens at 08:00 on weekdays."], progress=False)
        r = llm.query("Where do we keep the bicycle?", learn=False)
        assert ('shed' in r.text) == (key_near == 0.5), r.text
        other = llm.query("When is the cafeteria open?", learn=False)
        assert '08:00' not in other.text and not other.sources, other.text


@pytest.mark.parametrize('rescue', [1.0, 0.55])
def test_an_empty_context_is_rescued_by_the_note_minilm_finds_about_the_question(tmp_path, rescue):
    """"Which tooth needs a crown?" holds one key word, *tooth*, which the dentist's note about a molar lacks: the filter
    lets nothing in and the answer was "I don't know". With `context.rescue_min_similarity` below 1, the one retrieved
    note all-MiniLM-L6-v2 puts close enough to the question (0.76) enters, and its quote stands without the key word.
    The unknown subject ("the cafeteria", 0.53 to the office's hours) still reads nothing at 0.55."""
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('context.rescue_min_similarity', rescue).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Dentist said my lower left molar will need a crown at some point.",
                    "Laptops are replaced every four years by the IT team.",
                    "The office opens at 08:00 on weekdays."], progress=False)
        r = llm.query("Which tooth needs a crown?", learn=False)
        assert ('molar' in r.text) == (rescue < 1), r.text
        assert bool(r.sources) == (rescue < 1)
        other = llm.query("When is the cafeteria open?", learn=False)
        assert '08:00' not in other.text and not other.sources, other.text


def test_a_correction_of_a_rescued_answer_replaces_it(tmp_path):
    """A rescued answer corrected by the user: the correction's answer lacks the key word too, so the filter lets nothing
    in and the rescue ran again, quoting the note the user had just said was wrong (a review of 7 December). The answer
    taught for the question is now taken, and what a retrieved correction says is wrong is taken out of the candidates:
    a paraphrase the correction does not reach reads nothing rather than the corrected note."""
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('context.rescue_min_similarity', 0.55).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Dentist said my lower left molar will need a crown at some point.",
                    "Laptops are replaced every four years by the IT team."], progress=False)
        r = llm.query("Which tooth needs a crown?")
        assert 'molar' in r.text, r.text
        llm.feedback(Feedback(r.request_id, rating=1, correction="The upper right premolar needs the crown."))
        llm.flush()
        for q in ("Which tooth needs a crown?", "Which tooth will need a crown?", "what tooth is getting a crown?"):
            again = llm.query(q, learn=False)
            assert 'molar' not in again.text.replace('premolar', ''), (q, again.text)
        assert 'premolar' in llm.query("Which tooth needs a crown?", learn=False).text


@pytest.mark.parametrize('q', ["why does elevator five keep halting?", "Jack's crown, which tooth?"])
def test_a_question_that_names_something_memory_lacks_is_not_rescued(tmp_path, q):
    """A number in words and a capitalised possessive name the thing asked about, as a name or digits do: memory does
    not hold it, so no neighbour is rescued (a review of 7 December: lift 2's note was quoted for elevator five)."""
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('context.rescue_min_similarity', 0.55).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Lift 2 keeps stopping between floors; the engineer is booked for Thursday.",
                    "Dentist said my lower left molar will need a crown at some point."], progress=False)
        r = llm.query(q, learn=False)
        assert not r.sources, (q, r.text)


def test_a_correction_that_cites_nothing_does_not_break_the_rescue(tmp_path):
    """A stored correction with wrong facts but no `Cites` edge (here ingested as such) strips nothing; the rescue once
    handed its empty placeholder to MiniLM and the request failed with an EmbeddingError (found by the self-learning run)."""
    from ruvllm.types import NodeType
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'})
           .set('router.safe_tier', 'tiny').set('context.rescue_min_similarity', 0.55).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Dentist said my lower left molar will need a crown at some point.",
                    "Laptops are replaced every four years by the IT team."], progress=False)
        llm.ingest([{'text': 'Q: How often are laptops replaced? A: Every three years.',
                     'metadata': {'wrong': ['Laptops are replaced every four years by the IT team.']}}], type=NodeType.QAPAIR, progress=False)
        assert 'molar' in llm.query("Which tooth needs a crown?", learn=False).text
