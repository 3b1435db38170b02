"""How files are cut into passages, from a probe of answering from one's own documents (lead32/doc_probe F3, F6, F10):
a Markdown passage carried only its nearest heading, so the product named in the top heading never reached the
passage that answers ("How do I reset the Lumen lamp?" quoted the warranty: the context keeps only passages holding
one of the question's names); a .txt title line was a passage of its own (three gym questions answered with the
file's title); setext headings were text; a loose list lost its lead-in; and `RuvLLM.ingest([Path(...)])` refused a
file without saying how files are read, while a list of path strings was stored as the file names."""
import logging
from pathlib import Path

import pytest

from ruvllm import Config, RuvLLM
from ruvllm.cli import read_inputs, read_md, read_txt
from ruvllm.types import Constraints, InvalidInputError

FAQ = """# Lumen Desk Lamp — Product FAQ

## What is the warranty?

The Lumen Desk Lamp has a 2-year limited warranty covering manufacturing defects.

## How do I reset the lamp?

Hold the power button for 10 seconds until the light blinks twice.

## What colour options are there?

The lamp comes in Graphite, Sand and Sage.
"""
GYM = """FitHub Gym Membership Terms

Cancellation

Members may end the contract with 4 weeks' notice to the end of any month. Notice must be given in writing or in the app.

Opening hours

Monday to Friday 06:00 to 23:00, weekends 08:00 to 20:00.

Guest passes

Each member may bring one guest per month free of charge.
"""
MOVING = """Moving checklist
================

Registration
------------

Register the new address at the Bürgeramt within 14 days of moving in.

Documents
---------

Bring the following documents to the appointment:

- your passport or ID card

- the landlord's confirmation of moving in (Wohnungsgeberbestätigung)

- the registration form, filled in
"""


def _llm(path):
    return RuvLLM(Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
                  .set('system.warm_up', False).build(), start_scheduler=False)


def _ask(llm, q):
    return llm.query(q, constraints=Constraints(force_model='tiny'), learn=False).text


def _write(tmp_path, name, text) -> Path:
    p = tmp_path / name; p.write_text(text); return p


def _answers(tmp_path, name, text, *questions) -> list[str]:
    "The tiny tier's answers to `questions` from file `name` holding `text`, read as `ruvllm ingest` reads it."
    recs, _ = read_inputs([str(_write(tmp_path, name, text))])
    with _llm(tmp_path / 'db') as llm:
        llm.ingest(recs, progress=False)
        return [_ask(llm, q) for q in questions]


# F3: the heading path

def test_a_markdown_passage_carries_its_top_heading(tmp_path):
    texts = [r['text'] for r in read_md(_write(tmp_path, 'faq.md', FAQ))]
    reset = [t for t in texts if 'power button' in t]
    assert reset == ["Lumen Desk Lamp — Product FAQ > How do I reset the lamp? Hold the power button for 10 seconds until the light blinks twice."]
    assert all(t.startswith('Lumen Desk Lamp — Product FAQ > ') for t in texts)


def test_a_deeper_heading_path_reads_top_to_nearest(tmp_path):
    md = "# Lumen Lamp FAQ\n\n## Troubleshooting\n\n### Resetting\n\nHold the button.\n\n## Colours\n\nSand or Sage.\n"
    recs = read_md(_write(tmp_path, 'deep.md', md))
    assert [(r['text'], r['metadata']['section']) for r in recs] == [
        ("Lumen Lamp FAQ > Troubleshooting > Resetting: Hold the button.", 'Lumen Lamp FAQ > Troubleshooting > Resetting'),
        ("Lumen Lamp FAQ > Colours: Sand or Sage.", 'Lumen Lamp FAQ > Colours')]


def test_a_question_naming_the_product_is_answered_from_its_section(tmp_path):
    [reset] = _answers(tmp_path, 'faq.md', FAQ, "How do I reset the Lumen lamp?")
    assert 'Hold the power button' in reset


# F6: .txt titles, setext headings, loose lists

def test_a_txt_title_is_no_passage_and_titles_its_sections(tmp_path):
    recs = read_txt(_write(tmp_path, 'gym_terms.txt', GYM))
    assert [r['text'] for r in recs] == [
        "FitHub Gym Membership Terms > Cancellation: Members may end the contract with 4 weeks' notice to the end of any month. "
        "Notice must be given in writing or in the app.",
        "FitHub Gym Membership Terms > Opening hours: Monday to Friday 06:00 to 23:00, weekends 08:00 to 20:00.",
        "FitHub Gym Membership Terms > Guest passes: Each member may bring one guest per month free of charge."]
    assert [r['metadata']['line'] for r in recs] == [5, 9, 13]


def test_txt_lines_that_lead_into_no_text_stay_passages(tmp_path):
    recs = read_txt(_write(tmp_path, 'notes.txt', "Buy milk\n\nCall Anna\n\nDentist Tuesday 10am\n"))
    assert [r['text'] for r in recs] == ["Buy milk", "Call Anna", "Dentist Tuesday 10am"]
    assert all('section' not in r['metadata'] for r in recs)  # an untitled file's records are what they were


def test_gym_questions_are_answered_from_the_sections_not_the_title(tmp_path):
    cancel, hours = _answers(tmp_path, 'gym_terms.txt', GYM, "How do I cancel my gym membership?", "What are the gym's opening hours?")
    assert "4 weeks' notice" in cancel and '06:00 to 23:00' in hours


def test_setext_headings_are_headings(tmp_path):
    recs = read_md(_write(tmp_path, 'moving.md', MOVING))
    assert not any('---' in r['text'] or '===' in r['text'] for r in recs)
    assert recs[0]['text'] == "Moving checklist > Registration: Register the new address at the Bürgeramt within 14 days of moving in."
    assert recs[0]['metadata']['section'] == 'Moving checklist > Registration'


def test_a_loose_list_stays_with_its_lead_in(tmp_path):
    recs = read_md(_write(tmp_path, 'moving.md', MOVING))
    assert recs[1]['text'] == ("Moving checklist > Documents: Bring the following documents to the appointment:\n- your passport or ID card\n"
                               "- the landlord's confirmation of moving in (Wohnungsgeberbestätigung)\n- the registration form, filled in")
    assert len(recs) == 2 and recs[1]['metadata']['line'] == 12


def test_a_lead_in_joins_no_more_than_fits(tmp_path):
    recs = read_md(_write(tmp_path, 'moving.md', MOVING), max_chars=120)
    assert recs[1]['text'] == "Moving checklist > Documents: Bring the following documents to the appointment:\n- your passport or ID card"
    assert all(len(r['text']) <= 120 for r in recs) and len(recs) == 4


def test_the_documents_question_gets_the_documents(tmp_path):
    [documents] = _answers(tmp_path, 'moving.md', MOVING, "Which documents do I bring to the registration appointment?")
    assert 'passport' in documents


# F10: files given to the Python `ingest`

def test_a_path_in_the_list_names_the_way_to_read_files(tmp_path):
    faq = _write(tmp_path, 'faq.md', FAQ)
    with _llm(tmp_path / 'db') as llm:
        with pytest.raises(InvalidInputError, match=r"item 0 is a file path.*ruvllm\.cli\.read_inputs"):
            llm.ingest([faq], progress=False)
        with pytest.raises(InvalidInputError, match=r"item 1 is a file path"):
            llm.ingest(iter(["A text.", faq]), progress=False)  # a stream is checked as it is read
        records, per_file = read_inputs([faq])  # the way the message names works with Path items
        assert per_file == {str(faq): 3} and llm.ingest(records, progress=False).stored == 3


def test_a_string_that_names_a_file_is_stored_as_given_with_a_warning(tmp_path, caplog):
    faq = _write(tmp_path, 'faq.md', FAQ)
    with _llm(tmp_path / 'db') as llm, caplog.at_level(logging.WARNING):
        ids = llm.ingest([str(faq), "faq.md is a file name too, in a sentence."], progress=False)
        assert ids.stored == 2  # not read as a file: a text is a text
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"item 0 ({str(faq)!r}) is the name of a file" in m and 'read_inputs' in m for m in warned), warned
    assert not any('item 1' in m for m in warned)
