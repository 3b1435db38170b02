"Test helper (not a test): a chat ingested into a fresh extractive `RuvLLM` and ranked for one question by the default retrieval path."
from ruvllm.config import Config
from ruvllm.orchestrator import RuvLLM


def chat_items(sessions):  # [(source, date, [(speaker, text), ...]), ...]
    "Turn records as a transcript's ingest makes them: '[date] Speaker: text', one source per session."
    return [dict(text=f"[{d}] {s}: {t}", source=src, metadata=dict(speaker=s)) for src, d, turns in sessions for s, t in turns]


def extractive_config(path, **memory):
    "A config at `path` with only the extractive tier (no model load), `memory.*` settings from keywords."
    b = Config.builder().db_path(path).set('inference.tiers', {'tiny': 'extractive'}).set('router.safe_tier', 'tiny')
    return b.update(memory, section='memory').build()


def ranked(path, items, question, **memory):
    "Ingest `items` at `path` and retrieve `question`: (node ids, ranked node ids, the subgraph)."
    with RuvLLM(extractive_config(path, **memory), start_scheduler=False) as llm:
        ids = llm.ingest(items, progress=False)
        sg = llm.retrieve(question, llm.memory.embed_query(question))
        return ids, [n.node.id for n in sg.ranked()], sg


# Small talk with no word of the tests' questions: a later session that takes a chat past one `Follows` window
# (`Memory.spans_a_window`: with 21 turns or fewer, propagation does not run at all).
SMALL_TALK = [("Ana", "the bus was late again this morning"), ("Ben", "typical, it rained too"), ("Ana", "I need new shoes"),
              ("Ben", "the market sells good ones"), ("Ana", "maybe on Saturday"), ("Ben", "my sister phoned last night"),
              ("Ana", "how is she doing?"), ("Ben", "busy with exams"), ("Ana", "good luck to her"),
              ("Ben", "the printer jammed twice today"), ("Ana", "ours is ancient"), ("Ben", "time for a coffee")]


def past_a_window(sessions):
    "`sessions` and, last, a session of `SMALL_TALK` (its turns get the ids after theirs)."
    return [*sessions, ('talk', '2023-09-01', SMALL_TALK)]
