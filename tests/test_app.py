"""The Streamlit app, page by page, through Streamlit's test harness (`AppTest` runs the real pages in this
process against a real `RuvLLM` on the extractive tier: no model load, milliseconds per answer)."""
import json
from pathlib import Path

import pytest

st = pytest.importorskip('streamlit')
from streamlit.testing.v1 import AppTest

import ruvllm.app as app
from ruvllm import Constraints, Feedback

DOCS = ["The Zorblat river flows through Quenby.", "Quenby is a small town in Veltoria.",
        "The capital of Veltoria is Arnhold.", "Veltoria exports copper and wool."]


@pytest.fixture
def system(tmp_path, monkeypatch):
    "The app's system (the one its pages use) on a fresh data directory with a few documents."
    monkeypatch.setenv('RUVLLM_SYSTEM__DB_PATH', str(tmp_path / 'data'))
    monkeypatch.setenv('RUVLLM_INFERENCE__TIERS', '{"tiny": "extractive"}')
    monkeypatch.setenv('RUVLLM_ROUTER__SAFE_TIER', 'tiny')
    monkeypatch.setenv('RUVLLM_BENCH_OUT', str(tmp_path / 'bench'))
    llm = app.get_system()
    llm.ingest(DOCS, progress=False)
    yield llm
    st.cache_resource.clear()  # closes the system (on_release)
    assert llm.closed


def page(name: str) -> AppTest:
    "The app opened on one page through its real navigation."
    return AppTest.from_string(f"from ruvllm.app import main\nmain({name!r})", default_timeout=60).run()


def ok(at: AppTest):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metrics(at: AppTest) -> dict:
    return {m.label: m.value for m in at.metric}


def ask(at: AppTest, q: str) -> AppTest:
    at.chat_input[0].set_value(q).run()
    ok(at)
    return at


def last_answer(at: AppTest):
    return at.chat_message[-1]


def test_every_page_renders_without_error(system):
    for name in app.PAGES:
        at = page(name)
        ok(at)
        assert at.title[0].value.endswith(name), (name, at.title[0].value)


def test_ask_shows_answer_sources_routing_latency(system):
    at = ask(page('Chat'), "What is the capital of Veltoria?")
    a = last_answer(at)
    assert 'Arnhold' in a.markdown[0].value
    src = next(e for e in a.expander if e.label.startswith(':material/menu_book: Sources'))
    assert src.label != ':material/menu_book: Sources (0)'
    lines = [m.value for m in src.markdown]
    assert any('Document' in l and 'score' in l for l in lines), lines  # node type and score of each source
    assert any('Arnhold' in t.value for t in src.text)
    routing = next(e for e in a.expander if e.label == ':material/alt_route: Routing').dataframe[0].value
    assert routing.loc[0, 'tier'] == 'tiny' and routing.loc[0, 'context_budget'] > 0
    assert {'temperature', 'top_p', 'confidence'} <= set(routing.columns)
    assert any(e.label.startswith(':material/timer: Latency') for e in a.expander)
    cap = a.caption[0].value
    assert 'tier **tiny**' in cap and 'confidence' in cap and 'from cache' not in cap, cap
    assert metrics(at)['Queries'] == '1'


def test_correction_changes_stats_and_next_paraphrase(system):
    at = ask(page('Chat'), "What is the capital of Veltoria?")
    assert 'Arnhold' in last_answer(at).markdown[0].value
    before = metrics(at)
    at.select_slider[0].set_value(1)
    at.text_area[0].set_value("The capital of Veltoria is Quorvane.")
    next(b for b in at.button if b.label == 'Send feedback').click().run()
    ok(at)
    msg = at.success[0].value
    assert msg.startswith('Feedback recorded: quality 0.00') and 'correction stored as node #' in msg, msg
    after = metrics(at)
    assert int(after['Corrections']) == int(before['Corrections']) + 1
    assert int(after['Feedback']) == int(before['Feedback']) + 1
    assert not [b for b in at.button if b.label == 'Send feedback']  # feedback counts once: the form is gone
    ask(at, "Which city is Veltoria's capital?")
    a = last_answer(at)
    assert 'Quorvane' in a.markdown[0].value, a.markdown[0].value
    cap = a.caption[0].value
    src = next(e for e in a.expander if e.label.startswith(':material/menu_book: Sources'))
    from_memory = any('learned from a correction' in m.value for m in src.markdown)
    assert from_memory or 'from cache' in cap, (cap, [m.value for m in src.markdown])


def test_thumbs_and_empty_feedback(system):
    at = ask(page('Chat'), "Where does the Zorblat river flow?")
    next(b for b in at.button if b.label == 'Send feedback').click().run()  # neither rating nor correction
    assert at.error[0].value == 'give a rating or a correction (or both)'
    assert not at.exception
    at.feedback[0].set_value(1).run()  # thumbs up
    assert at.success[0].value.startswith('Feedback recorded: quality 1.00'), at.success[0].value
    assert metrics(at)['Feedback'] == '1'
    assert len(at.feedback) == 0


def test_thumbs_down_waits_for_the_correction(system):
    "A thumbs-down sent the feedback at once, so the correction form closed and the right answer could not be given (app probe, 7 December)."
    at = ask(page('Chat'), "Where does the Zorblat river flow?")
    at.feedback[0].set_value(0).run()  # thumbs down: not sent yet
    ok(at)
    assert any('Thumbs down noted, not sent yet' in c.value for c in at.caption), [c.value for c in at.caption]
    n0 = metrics(at)['Feedback']
    next(t for t in at.text_area if t.label.startswith('Correction')).set_value("It flows through Marlow.")
    next(b for b in at.button if b.label == 'Send feedback').click().run()
    ok(at)
    assert 'correction stored as node' in at.success[0].value, at.success[0].value
    assert int(metrics(at)['Feedback']) == int(n0) + 1
    at = ask(at, "Where does the Veltoria canal flow?")  # the thumbs-down alone
    at.feedback[-1].set_value(0).run()
    next(b for b in at.button if b.label == 'Send the thumbs-down alone').click().run()
    ok(at)
    assert at.success[-1].value.startswith('Feedback recorded: quality 0.00'), at.success[-1].value


def test_sessions(system):
    at = ask(page('Chat'), "Where does the Zorblat river flow?")
    first = at.selectbox(key='session_pick').value
    at.button(key='new_session').click().run()
    ok(at)
    assert at.selectbox(key='session_pick').value != first
    ask(at, "What does Veltoria export?")
    assert len(at.chat_message) == 2  # only the new session's turn
    at.selectbox(key='session_pick').set_value(first).run()
    ok(at)
    assert 'Zorblat' in at.chat_message[0].markdown[0].value
    assert len(system.sessions) == 2


def test_upload_messages_name_the_file_and_read_well():
    "A NUL in a .txt upload was refused without the file's name; a JSON error read 'starting at at column 10' (a probe)."
    from ruvllm.app import read_upload
    from ruvllm.types import InvalidInputError
    with pytest.raises(InvalidInputError, match=r'^notes.txt:3: text contains a NUL character'): read_upload('notes.txt', b'ok\n\nPart one\x00two.')
    with pytest.raises(InvalidInputError) as e: read_upload('b.jsonl', b'{"text": "x\n')
    assert str(e.value) == 'b.jsonl:1: not valid JSON (Unterminated string starting at: column 10)'


def test_memory_search_and_open_a_node(system):
    at = page('Memory')
    at.text_input(key='mem_query').set_value("capital of Veltoria")
    at.button(key='FormSubmitter:memory_search-Search').click().run()
    ok(at)
    hits = at.dataframe[0].value
    assert hits.loc[0, 'text'] == "The capital of Veltoria is Arnhold." and hits.loc[0, 'type'] == 'Document'
    assert any(e.type == 'image' for e in at.main)  # the subgraph drawing
    pick = at.selectbox(key='mem_pick')
    pick.select_index(0).run()
    ok(at)
    heads = [m.value for m in at.markdown if m.value.startswith('#### Node #')]
    assert heads == [f"#### Node #{hits.loc[0, 'id']} · Document"], heads
    assert any(t.value == "The capital of Veltoria is Arnhold." for t in at.text)
    m = metrics(at)
    assert m['Type'] == 'Document' and m['Namespace'] == 'global' and m['Quality'] == '0.50'
    # by id, including a bad one: a message, not a traceback
    at.number_input(key='mem_node_id').set_value(999).run()
    assert not at.exception
    assert any('no memory node with id 999' in e.value for e in at.error)


def test_ingest_names_the_namespace_a_transcript_chose(system):
    "A chat transcript's lines may name their namespace; the page said the page's namespace (an app probe, 7 December)."
    at = page('Memory')
    at.file_uploader(key='ingest_files').upload('dana.jsonl', b'{"session": 1, "timestamp": "2023-05-07T10:00", "speaker": "Dana", '
                                                b'"text": "my sister studies geology", "namespace": "dana-sam"}\n')
    at.button(key='ingest_go').click().run()
    ok(at)
    msg = at.success[0].value
    assert msg.startswith("Ingested 1 passage(s) into namespace 'dana-sam': node #") and "not this page's" in msg, msg


def test_memory_ingest_paste_and_upload(system):
    n0 = system.memory.stats()['live']
    at = page('Memory')
    at.text_area(key='ingest_text').set_value("Mirelda is a port city.\n\nIts lighthouse is red.")
    at.file_uploader(key='ingest_files').upload('facts.jsonl', b'"Mirelda was founded in 1210."\n{"text": "Mirelda trades salt."}\n')
    at.button(key='ingest_go').click().run()
    ok(at)
    assert at.success[0].value.startswith("Ingested 4 passage(s) into namespace 'global'"), at.success[0].value
    assert system.memory.stats()['live'] == n0 + 4
    assert metrics(at)['Live nodes'] == str(n0 + 4)  # the page's count includes what it just added (it showed the count before)
    hit = system.memory.search("When was Mirelda founded?", k=1)[0].node
    assert hit.text == "Mirelda was founded in 1210." and hit.source == 'facts.jsonl'
    at.text_area(key='ingest_text').set_value("")
    at.file_uploader(key='ingest_files').upload('bad.jsonl', b'{"no_text": 1}\n')
    at.button(key='ingest_go').click().run()
    assert not at.exception
    assert any("bad.jsonl:1: must be a string or an object with a 'text' string" in e.value for e in at.error)
    assert system.memory.stats()['live'] == n0 + 4
    # the same upload again, with one new line: only that line is stored, and the page says so
    at.file_uploader(key='ingest_files').upload('facts.jsonl', b'"Mirelda was founded in 1210."\n{"text": "Mirelda trades salt."}\n"Mirelda has two ports."\n')
    at.button(key='ingest_go').click().run()
    ok(at)
    assert at.success[0].value.startswith("Ingested 1 passage(s) into namespace 'global'"), at.success[0].value
    assert "2 already in memory (the same source and text, or the same chat turn) were not stored again" in at.success[0].value
    assert system.memory.stats()['live'] == n0 + 5


def test_router_page_trains_and_shows_rounds(system):
    for i in range(12):  # outcomes for the replay buffer
        q = f"Where does the Zorblat river flow? ({i})" if i % 2 else f"What is the capital of Veltoria? ({i})"
        r = system.query(q, constraints=Constraints(no_cache=True))
        system.feedback(Feedback(r.request_id, rating=5 if i % 3 else 2))
    at = page('Router')
    m = metrics(at)
    assert m['Requests'] == '12'
    assert m['Threshold'] == f"{system.router.cfg.confidence_threshold:.2f}"
    assert m['Tiers'] == '1'  # a count that fits its column; the names are in a caption
    assert any(c.value.startswith('tiers, cheapest first: **tiny**') for c in at.caption), [c.value for c in at.caption]
    assert any(e.type == 'image' for e in at.main)  # decisions over time (app.decisions_figure)
    assert any('No training round yet' in i.value for i in at.info)
    at.button(key='router_train').click().run()
    ok(at)
    assert at.success[0].value.startswith('round 1: '), at.success[0].value
    at.run()
    ok(at)
    rounds = at.dataframe[-1].value
    assert list(rounds['round']) == [1] and {'utility_before', 'utility_after', 'promoted', 'ewc_penalty'} <= set(rounds.columns)


def test_learning_page_runs_loops(system):
    r = system.query("What is the capital of Veltoria?")
    system.feedback(Feedback(r.request_id, rating=5))  # a quote is kept once rated: Loop A writes it back
    at = page('Learning')
    for loop in 'ABC':
        at.button(key=f'run_loop_{loop}').click().run()
        ok(at)
        assert at.success[0].value.startswith(f'Loop {loop}: '), at.success[0].value
    runs = at.dataframe[0].value
    assert list(runs['loop']) == ['C', 'B', 'A']  # newest first
    assert len([e for e in at.main if e.type == 'image']) == 2  # the loop timeline and the memory growth chart
    assert int(metrics(at)['Lookups']) >= 1
    comp = at.dataframe[-1].value
    assert 'concepts_made' in comp.columns and comp['live_before'].iloc[0] >= 4


def test_memory_growth_needs_two_moments(system):
    "Documents ingested at one moment are no growth to draw: the page says so instead of an empty chart."
    nodes = app.memory_nodes(system)
    at = page('Learning')
    ok(at)
    assert nodes.created_at.nunique() == 1  # one `ingest` call: one creation time
    assert any(i.value.startswith(f'Not enough data yet: all {len(nodes)} node(s)') for i in at.info), [i.value for i in at.info]
    assert app.memory_growth_figure(nodes) is None
    r = system.query("What is the capital of Veltoria?")
    system.feedback(Feedback(r.request_id, rating=5))  # Loop A writes the rated answer back: a second moment
    at = page('Learning')
    ok(at)
    assert not any(i.value.startswith('Not enough data yet') for i in at.info)
    lines = {l.get_label(): l for l in app.memory_growth_figure(app.memory_nodes(system)).axes[0].get_lines()}
    assert lines['all'].get_ydata()[-1] == len(app.memory_nodes(system)) and 'QAPair' in lines


def test_decisions_figure_has_a_readable_time_axis(system):
    "Requests milliseconds apart: the axis spans at least a minute and shows dates/times, not epoch numbers."
    for i in range(3): system.query(f"Where does the Zorblat river flow? ({i})")
    hist = app.routing_history(system)
    assert (hist['at'].max() - hist['at'].min()).total_seconds() < 60
    fig = app.decisions_figure(hist, threshold=0.7)
    try:
        bars, conf = fig.axes
        assert sum(r.get_height() for c in bars.containers for r in c) == len(hist)
        lo, hi = conf.get_xlim()
        assert (hi - lo) * 86400 >= 60, (lo, hi)
        fig.canvas.draw()
        labels = [t.get_text() for t in conf.get_xticklabels() if t.get_text()]
        assert labels and all(len(l) < 12 and '.' not in l for l in labels), labels  # e.g. '08:10', '30', not '1796193819917.293'
    finally:
        import matplotlib.pyplot as plt; plt.close(fig)


def test_benchmarks_page(system, tmp_path, monkeypatch):
    out = tmp_path / 'bench'; out.mkdir()
    (out / 'demo.csv').write_text("epoch,accuracy\n0,0.1\n1,0.9\n")
    (out / 'meta.json').write_text(json.dumps({'quick': True, 'headlines': {'demo': 'accuracy 0.1 -> 0.9'}}))
    at = page('Benchmarks')
    ok(at)
    assert any(m.value == '#### demo' for m in at.markdown)
    assert at.dataframe[-1].value['accuracy'].tolist() == [0.1, 0.9]
    assert any('accuracy 0.1 -> 0.9' in c.value for c in at.caption)
    run_bench, suites = app.bench_api()
    if run_bench is None:
        assert any('not available' in i.value for i in at.info)
        return
    assert set(at.multiselect(key='bench_suites').options) >= {f"{n} — {d}" if d else n for n, d in suites.items()}
    at.multiselect(key='bench_suites').set_value([])
    at.button(key='bench_run').click().run()
    assert not at.exception and any('pick at least one suite' in e.value for e in at.error)


def test_benchmarks_page_runs_a_suite(system, tmp_path, monkeypatch):
    """The page's run path through the real harness (`run_bench` writes CSV, markdown, plot and meta.json) on a
    test-double suite: the real suites' cost is the harness's business, not the page's."""
    bench = pytest.importorskip('ruvllm.bench')
    if not hasattr(bench, 'run_bench'): pytest.skip("this ruvllm.bench has no run_bench")
    pd = pytest.importorskip('pandas')
    def test_double_suite(quick=False, progress=True): return pd.DataFrame(dict(size=[1, 2, 3], ms=[0.5, 0.7, 0.8]))
    monkeypatch.setitem(bench.SUITES, 'test_double', bench.Suite(test_double_suite, lambda df: f"{len(df)} rows measured",
                                                                lambda df, ax: ax.plot(df['size'], df['ms']), 'a test double'))
    out = tmp_path / 'bench'
    at = page('Benchmarks')
    at.multiselect(key='bench_suites').set_value(['test_double'])
    at.button(key='bench_run').click().run()
    ok(at)
    assert at.success[0].value.startswith('Ran test_double (quick) in '), at.success[0].value
    assert (out / 'test_double.csv').exists() and (out / 'test_double.png').exists()
    assert json.loads((out / 'meta.json').read_text())['quick'] is True
    assert [m.value for m in at.markdown if m.value.startswith('#### ')] == ['#### test_double']
    assert at.dataframe[-1].value['ms'].tolist() == [0.5, 0.7, 0.8]
    assert any('3 rows measured' in c.value for c in at.caption)
    assert any(e.type == 'image' for e in at.main)


def test_errors_show_as_messages_on_every_page(system, monkeypatch):
    monkeypatch.setenv('RUVLLM_MEMORY__HNSW_M', 'many')  # a bad setting: every page must say so, not crash
    for name in app.PAGES:
        at = page(name)
        assert not at.exception, (name, [e.value for e in at.exception])
        assert any('memory.hnsw_m' in e.value for e in at.error), (name, [e.value for e in at.error])


def test_memory_ingest_chat_transcript_with_a_bad_line_stores_nothing(system):
    "Issue 17: a transcript line with a bad timestamp or no text names file:line, and nothing of that upload is stored."
    n0 = system.memory.stats()['live']
    good = (b'{"session": 1, "timestamp": "2023-05-07T10:00", "speaker": "Dana", "text": "my sister studies marine biology"}\n'
            b'{"session": 1, "timestamp": "2023-05-07T10:01", "speaker": "Sam", "text": "nice"}\n')
    at = page('Memory')
    for bad, needle in [(b'{"session": 1, "timestamp": "May 7th", "speaker": "Sam", "text": "hi"}\n', 'dana.jsonl:3: "timestamp"'),
                        (b'{"session": 1, "speaker": "Sam"}\n', 'dana.jsonl:3: "text" must be a non-empty string')]:
        at.text_area(key='ingest_text').set_value("")
        at.file_uploader(key='ingest_files').upload('dana.jsonl', good + bad)
        at.button(key='ingest_go').click().run()
        assert not at.exception
        assert any(needle in e.value for e in at.error), [e.value for e in at.error]
        assert system.memory.stats()['live'] == n0


# Bad input (the defects the app probe of 4 December found): Bad input through the Streamlit app (the defects the app probe found): every upload checked before anything is stored, errors that name `file:line`, the project's namespace rule, a correction's length limit, damaged benchmark results, unreadable CSV, a transcript whose first line is not a turn, and text made only of invisible characters.


def live(llm) -> int: return llm.memory.stats()['live']


def errors(at: AppTest) -> list[str]:
    assert not at.exception, [e.value for e in at.exception]
    return [e.value for e in at.error]


def ingest(at: AppTest, files=(), text: str = '', namespace: str = 'global') -> AppTest:
    "Press Ingest with pasted `text` and uploaded `files` [(name, bytes)]."
    at.text_input(key='ingest_ns').set_value(namespace)
    at.text_area(key='ingest_text').set_value(text)
    at.file_uploader(key='ingest_files').set_value([(n, b, 'application/octet-stream') for n, b in files] or None)
    return at.button(key='ingest_go').click().run()


def jsonl(n: int, bad_line: int | None = None, bad: str = '') -> bytes:
    lines = [json.dumps({"text": f"Passage number {i} about the town of Quenby."}) for i in range(n)]
    if bad_line: lines[bad_line - 1] = bad
    return ('\n'.join(lines) + '\n').encode()


@pytest.mark.parametrize('bad, needle', [('"bad \\ud800 line"', 'not valid Unicode'),
                                         ('{"text": "x", "metadata": [1]}', '"metadata" must be a JSON object'),
                                         ('{"text": "x", "type": "Nope"}', '"type"')])
def test_a_bad_record_after_the_first_batch_stores_nothing_and_names_file_line(system, bad, needle):
    n0 = live(system)
    at = ingest(page('Memory'), [('many.jsonl', jsonl(100, 80, bad))])
    errs = errors(at)
    assert any('many.jsonl:80' in e and needle in e for e in errs), errs
    assert live(system) == n0  # nothing of the upload stored
    at = ingest(at, [('many.jsonl', jsonl(100))])  # the fixed file: stored once, no duplicates from the failed try
    assert not errors(at) and live(system) == n0 + 100


def test_a_bad_second_file_stores_nothing_of_the_first(system):
    n0 = live(system)
    at = ingest(page('Memory'), [('a.jsonl', b'{"text": "alpha passage"}\n'), ('b.jsonl', b'{"text": "beta", "type": "Nope"}\n')],
                text="A pasted passage.")
    assert any('b.jsonl:1' in e for e in errors(at)), errors(at)
    assert live(system) == n0


@pytest.mark.parametrize('ns', ['my docs', 'n' * 100, '\u200b', ' global'])
def test_ingest_namespace_follows_the_project_rule(system, ns):
    n0 = live(system)
    at = ingest(page('Memory'), text="Mirelda is a port city.", namespace=ns)
    errs = errors(at)
    assert any('namespace must be a non-empty string of at most 64' in e for e in errs), errs
    assert live(system) == n0


def test_new_session_namespace_follows_the_project_rule(system):
    at = page('Chat')
    at.text_input(key='chat_namespace').set_value('n' * 200)
    at.button(key='new_session').click().run()
    errs = errors(at)
    assert any('namespace must be a non-empty string of at most 64' in e for e in errs), errs
    assert len(system.sessions) == 0
    at.text_input(key='chat_namespace').set_value('my.notes')
    at.button(key='new_session').click().run()
    assert not errors(at) and [s.namespace for s in system.sessions.values()] == ['my.notes']


def ask(at: AppTest, q: str) -> AppTest:
    at.chat_input[0].set_value(q).run()
    return at


def send_correction(at: AppTest, text: str) -> AppTest:
    at.text_area[-1].set_value(text)
    return next(b for b in at.button if b.label == 'Send feedback').click().run()


def test_a_correction_longer_than_max_query_chars_is_refused(system):
    at = ask(page('Chat'), "What is the capital of Veltoria?")
    assert not errors(at)
    at = send_correction(at, "The capital of Veltoria is Quorvane. " * 250)  # 9,250 characters; the limit is 8,000
    errs = errors(at)
    assert any('correction is 9250 characters long; the limit is 8000 (server.max_query_chars)' in e for e in errs), errs
    assert system.stats()['queries']['corrections'] == 0
    assert not (app.memory_nodes(system).source == 'correction').any()  # nothing stored
    at = send_correction(at, "The capital of Veltoria is Quorvane.")  # within the limit: accepted
    assert not errors(at) and system.stats()['queries']['corrections'] == 1


def test_text_of_invisible_characters_only_is_refused(system):
    n0 = live(system)
    at = ingest(page('Memory'), [('zw.jsonl', b'"\\u200b"\n{"text": "\\u200b\\u200b"}\n')], text="\u200b")
    assert any('no text found' in e for e in errors(at)), errors(at)
    assert live(system) == n0
    at = ingest(at, text="\u200b\n\nMirelda is a port city.")  # the paragraph of zero-width spaces is no passage
    assert not errors(at) and live(system) == n0 + 1
    at = ask(page('Chat'), "\u200b\u200b")
    assert any('query is empty' in e for e in errors(at)), errors(at)
    at = ask(at, "What is the capital of Veltoria?")
    at = send_correction(at, "\u200b")
    assert 'give a rating or a correction (or both)' in errors(at)
    assert system.stats()['queries']['corrections'] == 0


@pytest.mark.parametrize('content', [b'', b'text\n"unterminated\n', b'\n\n'])
def test_an_unreadable_csv_names_the_file(system, content):
    n0 = live(system)
    at = ingest(page('Memory'), [('table.csv', content)])
    errs = errors(at)
    assert any('table.csv: not a readable CSV (' in e for e in errs), errs
    assert not any('unexpected' in e for e in errs), errs
    assert live(system) == n0


def test_a_transcript_whose_first_line_is_no_turn_is_read_as_passages_with_a_warning(system):
    lines = [{"text": "A preface about the chat."},
             {"session": 1, "timestamp": "2023-05-07T10:00", "speaker": "Dana", "text": "my sister studies marine biology"}]
    n0 = live(system)
    at = ingest(page('Memory'), [('dana.jsonl', ''.join(json.dumps(l) + '\n' for l in lines).encode())])
    assert not errors(at)
    warns = [w.value for w in at.warning]
    assert any('dana.jsonl' in w and 'not read as a chat transcript' in w and 'line 2' in w for w in warns), warns
    assert live(system) == n0 + 2
    hit = system.memory.search("sister marine biology", k=1)[0].node
    assert hit.metadata.get('speaker') == 'Dana' and hit.metadata.get('timestamp') == "2023-05-07T10:00"  # kept, as the CLI keeps them


@pytest.mark.parametrize('damage', [
    {'meta.json': b'[1, 2]'}, {'meta.json': b'{"headlines": ["x"]}'}, {'meta.json': b'{not json'},
    {'good.md': b'\xff\xfe bad'}, {'bad.png': b'not a png', 'bad.csv': b'a\n1\n'}, {'bad.csv': b'\xff\xfe\x00bad\n\x81'}])
def test_a_damaged_results_file_is_skipped_with_a_warning(system, tmp_path, damage):
    out = tmp_path / 'bench'; out.mkdir()
    (out / 'good.csv').write_text("a,b\n1,2\n")
    for name, data in damage.items(): (out / name).write_bytes(data)
    at = page('Benchmarks')
    assert not errors(at)
    assert any(m.value == '#### good' for m in at.markdown), [m.value for m in at.markdown]  # the other suites still show
    warns = [w.value for w in at.warning]
    assert any(name in w for name in damage for w in warns), warns
