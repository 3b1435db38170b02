"""Write ruvllm/data/common_words.txt: the whole words of WordLlama's tokenizer vocabulary (Llama 2's 32,000 pieces).

A word that is one piece of a 32k-piece BPE/sentencepiece vocabulary is frequent in the text the tokenizer was built
from; `ruvllm.text.common_word` reads this list. Run once (`python tools/make_common_words.py`); the list is committed.
"""
import json, importlib.util
from pathlib import Path

spec = importlib.util.find_spec('wordllama')
cfg = Path(spec.origin).parent / 'tokenizers' / 'l2_supercat_tokenizer_config.json'
vocab = json.loads(cfg.read_text())['model']['vocab']
ws = sorted({t[1:].lower() for t in vocab if t.startswith('\u2581') and t[1:].isascii() and t[1:].isalpha() and len(t) > 3})
out = Path(__file__).resolve().parent.parent / 'ruvllm' / 'data' / 'common_words.txt'
out.write_text('\n'.join(ws) + '\n')
print(len(ws), 'words ->', out)
