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
        assert llm.quote_judge() is None and llm.quote_relevance("a", "b") is None
        assert llm.answer_supported("How many days are in a week?", HANDBOOK[0], True)  # key words only


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
