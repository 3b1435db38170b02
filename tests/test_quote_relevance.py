"""A cheap tier's quote must be about the question, not only share its words (`RuvLLM.quote_relevance`).

With the doc probe's files in memory and the extractive tier first, 51 of 223 general questions were answered by a
quote that shared a number or a word with them ("What is 3 times 4?" -> the lease's "3. Deposit ..."), 42 of them
wrong; key words alone cannot see it. The check sends such a quote on to the model in the same request."""
import pytest
from ruvllm.config import Config
from ruvllm.orchestrator import RuvLLM
from ruvllm.types import Constraints

HANDBOOK = ["Remote work is allowed up to 3 days per week. Fully remote contracts need the manager's approval.",
            "3. Deposit. The tenant pays a security deposit of 3,450 EUR, equal to three months of base rent.",
            "The kitchen is cleaned on Tuesdays and Fridays; please empty the fridge on Thursday evening."]


@pytest.mark.parametrize('threshold', [0.35, 0.0])
def test_a_quote_that_shares_words_but_not_the_subject_escalates(tmp_path, threshold):
    cfg = (Config.builder().db_path(tmp_path / 'd').set('router.safe_tier', 'tiny').set('inference.max_tokens', 24)
           .set('inference.quote_min_similarity', threshold).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(HANDBOOK, progress=False)
        none = Constraints(no_cache=True)
        doc = llm.query("How many days a week can I work from home?", constraints=none)
        assert (doc.routing_info.model.value, doc.routing_info.escalated_from) == ('tiny', None) and '3 days per week' in doc.text
        for q in ("How many days are in a week?", "What is 3 times 4?"):
            r = llm.query(q, constraints=none)
            if threshold:  # every key word is in the quote, but it is about something else: the model answers
                assert (r.routing_info.model.value, r.routing_info.escalated_from) == ('small', 'tiny'), (q, r.text)
            else:  # the check off: the quote is served, as before it existed
                assert r.routing_info.model.value == 'tiny' and r.text in ' '.join(HANDBOOK), (q, r.text)


def test_quote_relevance_reads_the_subject_and_can_be_switched_off(tmp_path):
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    with RuvLLM(cfg, start_scheduler=False) as llm:
        week, remote = (llm.quote_relevance(q, HANDBOOK[0]) for q in ("How many days are in a week?", "How many days per week can I work remotely?"))
        assert week < llm.cfg.inference.quote_min_similarity <= remote
        assert llm.answer_supported("How many days per week can I work remotely?", HANDBOOK[0], True)
        assert not llm.answer_supported("How many days are in a week?", HANDBOOK[0], True)
        assert llm.answer_supported("How many days are in a week?", HANDBOOK[0], True, taught=True)  # taught for this very question
        assert llm.answer_supported("How many days are in a week?", "Seven.", False)  # a model's answer is not a quote
    off = Config.builder().db_path(tmp_path / 'e').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny') \
        .set('inference.quote_min_similarity', 0.0).build()
    with RuvLLM(off, start_scheduler=False) as llm:
        assert llm.quote_relevance("a", "b") is None
        assert llm.answer_supported("How many days are in a week?", HANDBOOK[0], True)  # key words only
    with RuvLLM(Config.builder().db_path(tmp_path / 'f').set('inference.tiers', {'tiny': 'extractive'})
                .set('router.safe_tier', 'tiny').set('inference.quote_min_similarity', 0.0).set('inference.quote_tie_break', False)
                .set('context.rescue_min_similarity', 1.0).set('inference.follow_up_own_similarity', 0.0).build(), start_scheduler=False) as llm:
        assert llm.quote_judge() is None and llm.passage_relevance("a", ["b"]) is None  # all four off: the model is never loaded


def test_a_quote_that_holds_the_key_words_in_another_form_stands(tmp_path):
    """'Who issues parking permits?' against '... A parking permit ... is issued by Karin Olsen': word for word only
    'parking' matched (1 of 3 key words), so the right quote went on to SmolLM2, which answered with the whole
    passage reworded (found in `ruvllm demo`); by stems all three match."""
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.max_tokens', 24).build()  # the default tiers: extractive first
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Staff parking is in the basement, level -2. A parking permit costs 40 EUR per month and is issued by "
                    "Karin Olsen at reception.", "The coffee machine on the third floor is descaled every Monday."], progress=False)
        r = llm.query("Who issues parking permits?", constraints=Constraints(no_cache=True))
        assert (r.routing_info.model.value, r.routing_info.escalated_from) == ('tiny', None) and 'Karin Olsen' in r.text, (r.routing_info, r.text)


CLUB = ["Harbourside Chess Club Rules > Opening hours: The club room is open on Tuesdays and Thursdays from 18:30 to 22:00. "
        "On Saturdays it opens at 10:00 and closes at 16:00. The club is closed on Sundays and public holidays.",
        "Harbourside Chess Club Rules > Membership: Membership costs 60 EUR a year; juniors under 18 pay half.",
        "Harbourside Chess Club Rules > Tournaments: The club championship is played every autumn over seven rounds."]


def test_a_follow_up_quote_is_judged_with_the_question_it_leans_on(tmp_path):
    """'And on Sundays?' after 'When is the chess club open on Saturdays?': the opening-hours passage answers it, but
    read alone the follow-up is about nothing (cosine 0.29), so the quote went on to SmolLM2, which dropped the hours.
    The check now reads the follow-up with the question before it, as retrieval does (`standalone_query`)."""
    cfg = Config.builder().db_path(tmp_path / 'd').build()  # (the default max_tokens: the quote is the whole passage)
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(CLUB, progress=False)
        s = llm.new_session()
        first = llm.query("When is the chess club open on Saturdays?", session=s)
        assert first.routing_info.model.value == 'tiny' and '10:00' in first.text
        r = llm.query("And on Sundays?", session=s)
        assert (r.routing_info.model.value, r.routing_info.escalated_from) == ('tiny', None) and 'closed on Sundays' in r.text, (r.routing_info, r.text)


def test_model_tiers_alone_need_no_safe_tier_and_escalation_off_warns(tmp_path, caplog):
    """The default safe tier, 'tiny', stands for the smallest configured tier: a configuration of SmolLM2 alone (valid
    before 'tiny' became the default) still opens and answers. With escalation off, the extractive tier first would
    keep every question from the model until the router is trained: a warning says so and what to set."""
    import logging
    only_small = Config.builder().db_path(tmp_path / 'a').set('inference.tiers', {'small': 'llamacpp:default'}).set('inference.max_tokens', 8).build()
    with RuvLLM(only_small, start_scheduler=False) as llm:
        r = llm.query("What is the capital of France?", constraints=Constraints(no_cache=True), learn=False)
        assert r.routing_info.model.value == 'small' and r.routing_info.fallback and r.text.strip()
    with caplog.at_level(logging.WARNING, logger='ruvllm.orchestrator'):
        RuvLLM(Config.builder().db_path(tmp_path / 'b').set('inference.escalate', False).build(), start_scheduler=False).close()
    assert "inference.escalate is off and router.safe_tier 'tiny' only quotes memory" in caplog.text and "router.safe_tier = 'small'" in caplog.text


NOTES = ["Biscuit the dog eats two cups of dry food a day.", "Biscuit the dog is a beagle we adopted from a rescue centre.",
         "Biscuit the dog was born on 3 June 2020, according to the rescue."]

def test_the_extractive_tier_gives_a_tie_to_the_passage_about_the_question(tmp_path):
    """Notes about one subject share only its words with 'What breed is Biscuit the dog?': a tie on the question's words,
    and a breed is no name, date or amount. The tie went to the better-ranked passage (the food note); now
    all-MiniLM-L6-v2 (the quote check's model) gives it to the beagle note. Switched off, the old choice comes back."""
    def ask(name, tie_break):
        cfg = (Config.builder().db_path(tmp_path / name).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
               .set('inference.quote_tie_break', tie_break).set('cache.enabled', False).build())
        with RuvLLM(cfg, start_scheduler=False) as llm:
            llm.ingest(NOTES, progress=False)
            return [llm.query(q).text for q in ("What breed is Biscuit the dog?", "biscuit the dog breed?")]
    assert all('beagle' in a for a in ask('on', True))
    assert not any('beagle' in a for a in ask('off', False))


def test_a_quote_of_a_rescued_passage_stands_without_the_key_word(tmp_path):
    """The default tiers, extractive first. "Which tooth needs a crown?" has one key word, *tooth*, which no note holds;
    `context.rescue_min_similarity` lets in the note MiniLM finds about the question, and its quote stands in the cheap
    tier: asking the quote for a key word it cannot hold would send every rescued answer on to SmolLM2."""
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.max_tokens', 24)
           .set('context.rescue_min_similarity', 0.55).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["Dentist said my lower left molar will need a crown at some point.",
                    "The coffee machine on the third floor is descaled every Monday."], progress=False)
        r = llm.query("Which tooth needs a crown?", constraints=Constraints(no_cache=True))
        assert (r.routing_info.model.value, r.routing_info.escalated_from) == ('tiny', None) and 'molar' in r.text, (r.routing_info, r.text)


@pytest.mark.parametrize('abstain', [True, False])
def test_the_last_quoting_tier_says_it_does_not_know_instead_of_quoting_another_subject(tmp_path, abstain):
    """A quotes-only system (no dearer tier) served every quote unchecked: "How many days are in a week?" got the
    remote-work clause. With `inference.abstain_unsupported` it reads no passage and says so, streamed or not; a quote
    about the question still stands, and a terse one is judged by its passage's relevance, not by its key-word share."""
    from ruvllm.inference import EXTRACTIVE_NO_CONTEXT
    from ruvllm.types import Response
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('inference.abstain_unsupported', abstain).build())
    none = Constraints(no_cache=True)
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(HANDBOOK, progress=False)
        r = llm.query("How many days are in a week?", constraints=none)
        if not abstain:
            assert r.text == HANDBOOK[0] and [s.text for s in r.sources] == [HANDBOOK[0]]  # as before: served as quoted
            return
        assert r.text == EXTRACTIVE_NO_CONTEXT and r.sources == [] and r.routing_info.model.value == 'tiny'
        events = list(llm.query_stream("What is 3 times 4?", constraints=none))
        assert isinstance(events[-1], Response) and ''.join(events[:-1]) == events[-1].text == EXTRACTIVE_NO_CONTEXT
        assert llm.record(events[-1].request_id).used_ids == []  # no passage is its source
        ok = list(llm.query_stream("How many days a week can I work from home?", constraints=none))
        assert len(ok) > 2 and ''.join(ok[:-1]) == ok[-1].text and '3 days per week' in ok[-1].text  # checked, then released in pieces
        q, club = "what does it cost to join the runners each year?", "Running club membership is £20 a year and includes England Athletics affiliation."
        assert not llm.answer_supported(q, club, True)  # one key word of four: escalation's test hands it on
        assert llm.answer_supported(q, club, True, words=False)  # about the question: the last tier's test lets it stand


def test_a_terse_correction_of_an_abstention_is_served_and_a_rated_abstention_teaches_nothing(tmp_path):
    """(A review of the last tier's "I don't know".) "What is in the box?" is 0.26-0.28 from its note, so a quotes-only
    system abstains; the user's correction "Apples." holds no key word of the question and was never let in, so the
    question went back to "I don't know" whenever the cache was not asked. And an "I don't know" rated good was cached
    and taught: it was served after memory learned the answer."""
    from ruvllm.inference import EXTRACTIVE_NO_CONTEXT
    from ruvllm.types import Feedback
    cfg = Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build()
    none = Constraints(no_cache=True)
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(["The box holds apples.", HANDBOOK[0]], progress=False)
        r = llm.query("What is in the box?")
        assert r.text == EXTRACTIVE_NO_CONTEXT
        llm.feedback(Feedback(r.request_id, rating=1, correction="Apples.")); llm.flush()
        assert llm.query("What is in the box?", constraints=none).text == "Apples."  # the answer taught for this very question
        week = llm.query("How many days are in a week?")
        assert week.text == EXTRACTIVE_NO_CONTEXT
        llm.feedback(Feedback(week.request_id, rating=5)); llm.flush()  # "right not to make it up"
        llm.ingest(["A week has seven days, Monday to Sunday."], progress=False)
        again = llm.query("How many days are in a week?")
        assert not again.cached and 'seven days' in again.text, again.text


OFFICE = ("Office handbook. The office opens at 8:00 and closes at 18:00 on weekdays. Bicycles go in the yard behind the kitchen. "
          "Visitors sign in at reception and wear a badge. The printer on floor 2 needs a PIN from IT. "
          "Lost keys are reported to facilities within one day. Fire drills take place every March and September.")


@pytest.mark.parametrize('bar', [0.5, 1.0])
def test_a_page_of_several_topics_answers_a_question_about_one_of_them(tmp_path, bar):
    """(A review of the last tier's "I don't know", HIGH.) The check read the whole passage: a handbook page of six
    topics is 0.19-0.25 from "Where do bicycles go?", so a quotes-only system said "I don't know" to 4 of its 6
    questions although the page holds each answer. The sentence the question's words pick in the page ("Bicycles go
    in the yard behind the kitchen.", 0.74) now supports the quote at `inference.quote_sentence_similarity`; a
    question about another subject still gets "I don't know" (its sentence is far from it too)."""
    from ruvllm.inference import EXTRACTIVE_NO_CONTEXT
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('inference.quote_sentence_similarity', bar).build())
    none = Constraints(no_cache=True)
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest([OFFICE, *HANDBOOK], progress=False)
        for q in ("Where do bicycles go?", "What must visitors wear?", "What does the printer need?", "Who do I report lost keys to?"):
            assert llm.quote_relevance(q, OFFICE) < llm.cfg.inference.quote_min_similarity  # the page as a whole is about other things
            r = llm.query(q, constraints=none)
            assert (r.text == OFFICE) if bar < 1 else (r.text == EXTRACTIVE_NO_CONTEXT), (q, r.text)  # bar 1: the sentence test off, as before
            short = llm.query(q, constraints=Constraints(no_cache=True, max_tokens=16)).text  # a cut quote: the very sentence
            assert short.startswith("I don't know") == (bar == 1), (q, short)  # (the abstention is cut at 16 tokens too)
        for q in ("How many days are in a week?", "What is 3 times 4?"):  # a shared number or word: the sentence is no nearer
            assert llm.query(q, constraints=none).text == EXTRACTIVE_NO_CONTEXT, q
        assert not llm.sentence_supports("What is 3 times 4?", HANDBOOK[1])  # '3.' numbers a clause: not the sentence judged


BRASK = ["Brask was founded by Oda Fen in 1890 on the north shore of the lake.",
         "Oda Fen was born in 1862 in Tromsø and trained as a shipwright.",
         "The Brask ferry runs every two hours between the harbour and Lillevik."]


@pytest.mark.parametrize('nearer,own', [(False, 0.3), (True, 0.0), (False, 0.0)])
def test_a_follow_up_memory_cannot_answer_is_not_answered_with_the_question_before(tmp_path, nearer, own):
    """(A review of the last tier's "I don't know", MEDIUM.) A follow-up is judged with the questions it leans on, so
    "What colour was his boat?" after "Who founded Brask?" was about Brask's founding (0.73) and got its note again;
    asked alone it gets "I don't know". With `inference.follow_up_own_similarity` 0.3 (an option) a sentence of the
    passage, names masked, must be about the follow-up's own words: the boat and the height are not, Oda Fen's birth is.
    The option `inference.follow_up_nearer` asks instead that the follow-up's words bring the question nearer to the
    passage than the question before it is. With both off (the default), the founding note again: the finding is open."""
    from ruvllm.inference import EXTRACTIVE_NO_CONTEXT
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('inference.follow_up_nearer', nearer).set('inference.follow_up_own_similarity', own).build())
    none = Constraints(no_cache=True)
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(BRASK, progress=False)
        for follow in ("What colour was his boat?", "How tall was he?"):
            s = llm.new_session()
            assert 'Oda Fen' in llm.query("Who founded Brask?", session=s, constraints=none).text
            r = llm.query(follow, session=s, constraints=none)
            assert (r.text == EXTRACTIVE_NO_CONTEXT) == bool(nearer or own), (follow, r.text)  # both off: the founding note again
        s = llm.new_session()
        llm.query("Who founded Brask?", session=s, constraints=none)
        assert '1862' in llm.query("When was he born?", session=s, constraints=none).text  # a follow-up memory answers stands
        s = llm.new_session()  # (the review's next finding) an "I don't know" between does not lose whom "he" is
        for q in ("Who founded Brask?", "What colour was his boat?"): llm.query(q, session=s, constraints=none)
        assert '1862' in llm.query("When was he born?", session=s, constraints=none).text
        assert llm.leads_nearer("Why?", "Why? Who founded Brask?", "") and llm.leads_nearer("Why?", "Why?", BRASK[0])  # nothing to compare: no verdict against it


VARGA = ["Tom's piano teacher is Mr Varga, who comes on Wednesdays at 6 pm and charges 30 pounds a lesson.",
         "Mr Varga was born in Budapest and studied at the Liszt Academy.",
         "The Harbour Rowing Club was founded in 1978 by Edith Crane.",
         "Edith Crane's first boat was a green wooden skiff called the Heron."]


@pytest.mark.parametrize('lead,follow,want', [("Who is Tom's piano teacher?", "Where was he born?", 'Budapest'),
                                              ("Who founded the Harbour Rowing Club?", "What colour was her boat?", 'green'),
                                              ("Who is Tom's piano teacher?", "How much does he charge?", '30 pounds')])
def test_a_follow_up_is_answered_by_its_own_words_not_by_the_names_it_borrows(tmp_path, lead, follow, want):
    """(A new user's probe, 7 December, HIGH.) A follow-up is read with the names the turns before lent it ("Where was
    he born? (Tom's, Mr, Varga, Wednesdays)"), and the earlier answer's note holds more of them than the note that
    answers it: the quoting tier gave the piano-teacher note again. Among the passages that name what it leans on, its
    own words now decide."""
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny').build())
    none = Constraints(no_cache=True)
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(VARGA, progress=False)
        s = llm.new_session()
        llm.query(lead, session=s, constraints=none)
        assert want in llm.query(follow, session=s, constraints=none).text


@pytest.mark.parametrize('on,want', [(False, 'Parking'), (True, 'Off-peak')])
def test_a_question_that_names_nothing_reads_what_memory_ranks_above_its_rare_word(tmp_path, on, want):
    """(A new user's probe, 7 December, HIGH-3.) "How much is my gym membership?" names nothing, so its key word is its
    rare word 'gym', which the membership note does not repeat: the filter let in the parking note alone. With
    `context.soft_keys_above` (an option, off) the passages ranked above the first one holding 'gym' enter too. (With the
    rival bar on, its default, that quote is refused: 'off-peak membership' reads as another membership than 'my gym
    membership', and MiniLM puts it under 0.5; the bar is off here, to test the option alone, and so is the quote
    margin, `inference.quote_min_margin`: the three notes of one gym sit about as close to the question.)"""
    gym = ["Off-peak membership costs £24 a month.", "Parking behind the gym is free for 2 hours if you enter your reg at the desk.",
           "My personal trainer there is Dominika Weiss, on Tuesdays at 7 am."]
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('context.soft_keys_above', on).set('inference.quote_rival_similarity', 0.0).set('inference.quote_min_margin', 0.0).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(gym, progress=False)
        assert llm.query("How much is my gym membership?", constraints=Constraints(no_cache=True)).text.startswith(want)


CLUBS = ["The chess club was founded in 2009 by Henrik Aalto.", "Chess club membership is 35 pounds a year.",
         "The Harbour Rowing Club was founded in 1978 by Edith Crane.", "The bin collection in our street is on Tuesday mornings."]


@pytest.mark.parametrize('bar', [0.5, 0.0])
def test_a_quote_about_another_thing_of_the_kind_asked_about_needs_to_be_closer(tmp_path, bar):
    "A new user's probe: 'Who founded the tennis club?' was answered with the chess club's founder (MiniLM cosine 0.47)."
    cfg = (Config.builder().db_path(tmp_path / 'd').set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
           .set('inference.quote_rival_similarity', bar).build())
    with RuvLLM(cfg, start_scheduler=False) as llm:
        llm.ingest(CLUBS, progress=False)
        none = Constraints(no_cache=True)
        assert 'Henrik Aalto' in llm.query("Who founded the chess club?", constraints=none).text  # its own club: served
        r = llm.query("Who founded the tennis club?", constraints=none)
        if bar: assert r.text.startswith("I don't know"), r.text
        else: assert 'founded' in r.text and 'club' in r.text.lower(), r.text  # the bar off: another club's founder, as before
