"""The CLI probe's findings (notes/lead31/cli_probe/FINDINGS.md) on forced tiers and re-ingested files:
9. `ask --tier tiny` (safe tier small) was labelled "[safe default, forced]" and its JSON said "fallback": true: the
   router kept its own fallback flag when the forced tier replaced its pick; and `--tier large`, offered by the
   parser but not configured, failed as "force_model 'large' ..." after making the data directory;
2. the same .txt file given by another path spelling (relative, absolute, ./x from another folder) was stored again,
   every paragraph duplicated: records named the file as typed, and memory's duplicate check compares that name."""
import json, os

import pytest

from ruvllm.cli import EXIT_USAGE, run_cli

TWO_TIERS = '[inference]\ntiers = {tiny = "extractive", small = "extractive"}\n\n[router]\nsafe_tier = "small"\n'


@pytest.fixture
def base(cli_argv):
    "Global options for a data directory whose two extractive tiers have `small` as the safe tier."
    return cli_argv(TWO_TIERS)


def _ingest(base, *paths) -> str:
    code, out, err = run_cli([*base, 'ingest', '--no-progress', *map(str, paths)])
    assert code == 0, err
    return out


def _live(out: str) -> int:
    "The live node count an ingest reports ('memory now has N live nodes')."
    return int(out.split('memory now has ')[1].split()[0])


# --- 9. a forced tier is not a safe default -----------------------------------------------------------

def test_forced_tier_is_forced_not_a_safe_default(base, tmp_path):
    (tmp_path / 'facts.txt').write_text('The Orl is the longest river in Rivstaum.\n')
    _ingest(base, tmp_path / 'facts.txt')
    code, out, err = run_cli([*base, 'ask', '--no-cache', '--json', 'Which river is the longest in Rivstaum?'])
    ri = json.loads(out)['routing_info']
    assert code == 0 and (ri['model'], ri['fallback'], ri['forced']) == ('small', True, False), ri  # untrained: the safe tier
    code, out, err = run_cli([*base, 'ask', '--tier', 'tiny', '--no-cache', '--json', 'Which river is the longest in Rivstaum?'])
    ri = json.loads(out)['routing_info']
    assert code == 0 and (ri['model'], ri['fallback'], ri['forced']) == ('tiny', False, True), ri
    code, out, err = run_cli([*base, 'ask', '--tier', 'tiny', '--no-cache', 'What is the longest river in Rivstaum?'])
    line = next(l for l in out.splitlines() if l.strip().startswith('tier tiny'))
    assert code == 0 and '[forced]' in line and 'safe default' not in line, out


def test_unconfigured_tier_is_a_usage_error_naming_tier(base, tmp_path):
    code, out, err = run_cli([*base, 'ask', '--tier', 'large', 'Which river is the longest?'])
    assert (code, err.strip()) == (EXIT_USAGE, "ruvllm: error: argument --tier: 'large' is not a configured tier; "
                                               "inference.tiers configures tiny, small"), err
    assert out == '' and not (tmp_path / 'data').exists()  # refused before any data directory is made


# --- 2. one file, many spellings ------------------------------------------------------------------------

@pytest.mark.parametrize('name,text', [
    ('facts.txt', 'The Orl is the longest river in Rivstaum.\n\nQuorvane was founded by Ilsa Marrow in 1642.\n'),
    ('guide.md', '# Rivstaum\n\nThe Orl is its longest river.\n\nQuorvane was founded in 1642.\n'),
    ('facts.jsonl', '{"text": "The Orl is the longest river in Rivstaum."}\n{"text": "Quorvane was founded in 1642."}\n')])
def test_a_file_by_another_spelling_is_not_stored_again(base, tmp_path, monkeypatch, name, text):
    (tmp_path / 'in').mkdir(); (tmp_path / 'in' / name).write_text(text)
    (tmp_path / 'link').symlink_to(tmp_path / 'in')
    monkeypatch.chdir(tmp_path)
    first = _live(_ingest(base, f'in/{name}'))  # relative
    assert first == 2
    for spelling in (tmp_path / 'in' / name, f'./in/{name}', f'link/{name}', f'in/../in/{name}'):
        out = _ingest(base, spelling)
        assert _live(out) == first and '2 records already in memory' in out and '; 0 stored' in out, (spelling, out)
    monkeypatch.chdir(tmp_path / 'in')  # from another working directory
    out = _ingest(base, f'./{name}')
    assert _live(out) == first and '; 0 stored' in out, out
