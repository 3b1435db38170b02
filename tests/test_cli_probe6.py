"""The probe of a memory used over weeks (7 December, evening; notes/lead45/probe_longlived/FINDINGS.md, HIGH-1 and
HIGH-2): a paragraph deleted from its file, or changed, after Loop C had compressed it was still found through its
concept once the file was ingested again, and answered ("Who runs the post office?" kept the deleted answer; the old
mayor could win over the new one). The file sync passed over archived rows, and a compressed one is archived. Now a
compressed passage gone from its file is released from its concept (`Memory.release`) and archived as a live one is.
MEDIUM-1: `stats` called compressed notes archived, though they still answer; it now counts them apart."""
import json

import pytest

from ruvllm.cli import run_cli

TOML = ('[inference]\ntiers = {tiny = "extractive"}\n\n[router]\nsafe_tier = "tiny"\n\n'
        '[learning]\ncold_after_s = 0.0\n\n[cache]\nenabled = false\n')
TOWN = ["# Ulmbridge", "Ulmbridge is a market town on the river Sevvy with a population of 18,400.",
        "The mayor of Ulmbridge is Councillor Edwina Frost.", "The Ulmbridge library opens at 10 am and closes at 6 pm.",
        "The Ulmbridge clock tower was built in 1784 by the stonemason Jacob Pell.",
        "The Ulmbridge farmers market is held every Saturday in Corn Square.",
        "The best bakery in Ulmbridge is Hollin's Bakery, famous for its treacle loaf.",
        "The Ulmbridge museum holds a Roman mosaic called the Dolphin Floor.",
        "The Ulmbridge post office is run by Gerald Mintoff."]


@pytest.fixture
def base(cli_argv): return cli_argv(TOML)


def _run(base, *args) -> str:
    code, out, err = run_cli([*base, *args])
    assert code == 0, err
    return out


def _ask(base, q: str) -> str: return json.loads(_run(base, 'ask', q, '--json'))['text']


def test_a_compressed_passage_gone_from_its_file_is_no_longer_found(base, tmp_path):
    f = tmp_path / 'town.md'
    f.write_text('\n\n'.join(TOWN) + '\n')
    _run(base, 'ingest', '--no-progress', str(f))
    learned = json.loads(_run(base, 'learn', 'C', '--json'))['C'][0]; learned = learned[0] if isinstance(learned, list) else learned
    assert learned['concepts_made'] >= 1 and learned['archived'] >= 5, learned  # the passages are compressed, still findable
    assert 'Gerald Mintoff' in _ask(base, "Who runs the Ulmbridge post office?")
    compressed = json.loads(_run(base, 'stats', '--json'))['memory']['compressed']
    assert compressed == learned['archived'], compressed  # `stats` tells compressed notes (still found) from archived ones
    assert f"{compressed} of them compressed, found through their concepts" in _run(base, 'stats')
    f.write_text('\n\n'.join(t.replace('Edwina Frost', 'Bram Tolliver') for t in TOWN[:-1]) + '\n')
    out = _run(base, 'ingest', '--no-progress', str(f))
    assert '2 passages no longer in the file archived' in out, out
    assert 'Gerald Mintoff' not in _ask(base, "Who runs the Ulmbridge post office?")
    assert 'Edwina Frost' not in _ask(base, "Who is the mayor of Ulmbridge?")
    assert 'Jacob Pell' in _ask(base, "Who built the clock tower in Ulmbridge?")  # what stayed in the file is still found
    assert json.loads(_run(base, 'stats', '--json'))['memory']['compressed'] == compressed - 2  # the two released


def test_the_ingest_message_names_the_namespace_a_transcript_line_chose(base, tmp_path):
    """The probe of tenants (7 December, evening; notes/lead45/probe_tenants, H1): a chat line naming its own namespace
    is stored there (the call's namespace is for lines that name none), but `ingest --namespace bob` printed "stored
    per namespace: bob 2" for two turns that went to `alice`. The message counts where each turn went."""
    chat = tmp_path / 'chat.jsonl'
    chat.write_text('{"speaker": "Bob", "text": "The vault code is 4471.", "timestamp": "2024-03-02T10:00:00Z", "namespace": "alice"}\n'
                    '{"speaker": "Ann", "text": "Noted, thanks.", "timestamp": "2024-03-02T10:01:00Z"}\n')
    out = _run(base, 'ingest', '--no-progress', '--namespace', 'bob', str(chat))
    assert 'stored per namespace: alice 1, bob 1' in out, out
