"""The app in a real browser: `streamlit run streamlit_app.py` on a free loopback port, on the embedded
defaults (WordLlama; SmolLM2 for the seeded conversation), looked at by headless Chromium (the rendered DOM and
screenshots). The screenshots are kept as test artefacts in tests/artefacts/."""
import base64, contextlib, json, os, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import numpy as np
import pytest

from ruvllm import Config, Feedback, RuvLLM

ROOT = Path(__file__).resolve().parent.parent
ARTEFACTS = ROOT / 'tests' / 'artefacts'
CHROMIUM = shutil.which('chromium') or ('/usr/bin/chromium' if Path('/usr/bin/chromium').exists() else None)
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--hide-scrollbars']

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs Debian's chromium via apt in .ci/run)")
pytest.importorskip('streamlit')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def seed(data: Path) -> list:
    """A conversation on the default tiers (SmolLM2 answers): a question about a fictional country the model cannot
    know, a correction, and a paraphrase. Returns the answers (what they say is the orchestrator's business, tested
    there; here they are page content)."""
    with RuvLLM(Config.builder().db_path(data).build(), start_scheduler=False) as llm:
        llm.ingest(["The Zorblat river flows through Quenby.", "Quenby is a small town in Veltoria.",
                    "Veltoria exports copper and wool."], progress=False)
        s = llm.new_session()
        r = llm.query("What is the capital of the country Zembravia?", session=s)
        llm.feedback(Feedback(r.request_id, rating=1, correction="The capital of Zembravia is Vellimar."))
        r2 = llm.query("Which city is Zembravia's capital?", session=s)
        llm.learn('A'); llm.learn('C')
        return [r.text, r2.text]


class Chromium:
    """Headless Chromium driven over the DevTools protocol. `--dump-dom` with `--virtual-time-budget` races the app:
    virtual time runs ahead while the page waits on Streamlit's websocket (about half the loads came back
    unrendered), so the test waits in real time for the rendered page instead, then reads the DOM and screenshots it."""
    def __init__(self, user_data: Path, width: int = 1280, height: int = 900):
        from websockets.sync.client import connect
        self.width, self.height = width, height
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f'--user-data-dir={user_data}', '--remote-debugging-port=0',
                                      f'--window-size={width},{height}', 'about:blank'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file, t0 = Path(user_data) / 'DevToolsActivePort', time.time()
        while not (port_file.exists() and port_file.read_text().strip()):
            assert self.proc.poll() is None and time.time() - t0 < 30, "chromium did not start"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f'http://127.0.0.1:{port}/json/list', timeout=10))
        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(connect(next(t for t in targets if t['type'] == 'page')['webSocketDebuggerUrl'],
                                                   max_size=None))
        self.n = 0
        self.call('Emulation.setDeviceMetricsOverride', width=width, height=height, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, **params) -> dict:
        self.n += 1; self.ws.send(json.dumps(dict(id=self.n, method=method, params=params)))
        while True:
            m = json.loads(self.ws.recv(timeout=60))
            if m.get('id') == self.n:
                assert 'error' not in m, (method, m['error'])
                return m['result']

    def js(self, expr: str):
        return self.call('Runtime.evaluate', expression=expr, returnByValue=True)['result'].get('value')

    def open(self, url: str, marker: str, timeout: float = 60) -> str:
        "Navigate; wait until `marker` is on the page and the page has stopped changing (the script run is over); the DOM."
        self.call('Page.navigate', url=url)
        t0, last, same = time.time(), None, 0
        while same < 4:  # unchanged for 4 polls (1.2 s)
            assert time.time() - t0 < timeout, f"{url}: {marker!r} not rendered in {timeout} s"
            time.sleep(0.3)
            now = self.js("document.body ? document.body.innerText + document.querySelectorAll('*').length : ''")
            running = self.js("!!document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"], [data-testid=\"stStatusWidget\"]')")
            same = same + 1 if (now == last and marker in (now or '') and not running) else 0
            last = now
        return self.js("document.documentElement.outerHTML")

    def screenshot(self, path: Path):
        path.write_bytes(base64.b64decode(self.call('Page.captureScreenshot', format='png')['data']))

    def close(self):
        try: self.stack.close()
        finally:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try: self.proc.wait(10)
            except subprocess.TimeoutExpired: os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait(5)


def assert_clean(dom: str):
    for bad in ('stException', 'Traceback', 'stAlertContentError', 'Error running app'):
        assert bad not in dom, bad


def assert_not_blank(png: Path):
    import matplotlib.image as mpimg
    img = mpimg.imread(png)
    assert img.shape[:2] == (900, 1280), img.shape
    assert float(np.std(img[..., :3])) > 0.05  # not a blank page


def test_app_in_a_real_browser(tmp_path):
    data = tmp_path / 'data'
    answers = seed(data)
    port = free_port(); url = f'http://127.0.0.1:{port}'
    started = time.time()
    env = dict(os.environ, RUVLLM_SYSTEM__DB_PATH=str(data), RUVLLM_BENCH_OUT=str(tmp_path / 'bench'))
    log = open(tmp_path / 'server.log', 'w')
    server = subprocess.Popen([sys.executable, '-m', 'streamlit', 'run', 'streamlit_app.py', '--server.headless', 'true',
                               '--server.port', str(port), '--server.address', '127.0.0.1', '--browser.gatherUsageStats', 'false'],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        t0 = time.time()
        while True:
            try:
                if urllib.request.urlopen(f'{url}/_stcore/health', timeout=2).read() == b'ok': break
            except OSError: pass
            assert server.poll() is None, (tmp_path / 'server.log').read_text()
            assert time.time() - t0 < 60, "the server did not come up in 60 s"
            time.sleep(0.3)
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        browser = Chromium(tmp_path / 'chrome')
        try:
            dom = browser.open(url, 'Rate or correct this answer')
            assert '<title>ruvllm</title>' in dom
            for page in ('Memory', 'Router', 'Learning', 'Benchmarks'): assert page in dom  # the navigation
            text = browser.js("document.body.innerText")
            assert "Which city is Zembravia's capital?" in text, text[:2000]  # the seeded conversation
            assert all(a.strip().split('\n')[0][:30] in text for a in answers), (answers, text[:2000])
            assert_clean(dom)
            browser.screenshot(ARTEFACTS / 'app.png'); assert_not_blank(ARTEFACTS / 'app.png')
            dom = browser.open(f'{url}/learning', 'Compression (Loop C)')
            assert 'Loop runs' in dom and 'Memory growth' in dom and 'Semantic cache' in dom
            assert_clean(dom)
            browser.screenshot(ARTEFACTS / 'app_learning.png'); assert_not_blank(ARTEFACTS / 'app_learning.png')
            dom = browser.open(f'{url}/router', 'Training rounds (Loop B)')
            assert 'Decisions over time' in dom and 'tiers, cheapest first' in dom
            assert_clean(dom)
            browser.screenshot(ARTEFACTS / 'app_router.png'); assert_not_blank(ARTEFACTS / 'app_router.png')
        finally:
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try: server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL); server.wait(10)
        log.close()
    # the server closed the system on its way out (saved its state, released the directory)
    import sqlite3
    db = sqlite3.connect(data / 'memory.sqlite')
    saved_at = db.execute("SELECT updated_at FROM kv WHERE key='orchestrator'").fetchone()[0]; db.close()
    assert saved_at > started, (saved_at, started)
    with RuvLLM(Config.builder().db_path(data).build(), start_scheduler=False) as llm:
        assert llm.stats()['queries']['queries'] == 2
