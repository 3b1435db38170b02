"""A rating and a task outcome that contradict each other (`--rating 5 --success no`) were accepted: the rating decided
and the outcome was dropped without a word (a probe of the Python API, 7 December). Now the feedback is refused with
both named, and nothing is claimed: the one the user meant can still be given."""
import json

import pytest

from ruvllm.cli import run_cli

EXTRACTIVE = '[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n'


@pytest.fixture
def base(cli_argv): return cli_argv(EXTRACTIVE)


def test_a_rating_and_an_outcome_that_disagree_are_refused_and_claim_nothing(base, tmp_path):
    (tmp_path / 'v.txt').write_text('The Zorblat river flows through Quenby.\n')
    assert run_cli([*base, 'ingest', '--no-progress', str(tmp_path / 'v.txt')])[0] == 0
    code, out, err = run_cli([*base, 'ask', 'Which river flows through Quenby?', '--json'])
    assert code == 0, err
    rid = json.loads(out)['request_id']
    code, out, err = run_cli([*base, 'feedback', rid, '--rating', '5', '--success', 'no'])
    assert code != 0 and 'rating 5 and task_success false disagree' in err
    code, out, err = run_cli([*base, 'feedback', rid, '--rating', '2', '--success', 'yes'])
    assert code != 0 and 'rating 2 and task_success true disagree' in err
    code, out, err = run_cli([*base, 'feedback', rid, '--rating', '3', '--success', 'no'])  # a middling rating says neither
    assert code == 0, err
    assert 'task outcome recorded (no)' in out
