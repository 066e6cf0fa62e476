"""REVALIGN_EMBEDDING_MODEL: any sentence-transformers model name or local path, on SQLite and
PostgreSQL. Tested with a tiny randomly initialised BERT built here (no download, seconds)."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings
from tests.helpers import import_content, search_content

ROWS = [
    {"title": "Lumen Pricing FAQ", "url": "https://content.example/pricing", "type": "pricing_faq",
     "stage": "decision", "persona": "cfo", "summary": "How seats and event volume are billed.",
     "objections": ["too expensive"]},
    {"title": "SOC 2 Type II Report", "url": "https://content.example/soc2", "type": "security_doc",
     "stage": "decision", "persona": "it_security", "summary": "Our audit report. Pen test summary.",
     "objections": ["security review"]},
]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A 2-layer, 32-dim BERT with random weights and a 200-word vocabulary, saved as a
    sentence-transformers model directory."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("tiny")
    bert_dir, model_dir = root / "bert", root / "tiny-bert-st"
    words = sorted({w.strip(".,").lower() for r in ROWS for w in f"{r['title']} {r['summary']}".split()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *[chr(c) for c in range(97, 123)]]
    bert_dir.mkdir()
    (bert_dir / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(bert_dir / "vocab.txt")).save_pretrained(bert_dir)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(bert_dir)
    transformer = models.Transformer(str(bert_dir), max_seq_length=64)
    # sentence-transformers renamed the method; either release builds the same pooling layer
    dimension = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
    pooling = models.Pooling(dimension(), "mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(model_dir))
    return model_dir


def test_a_local_model_path_re_embeds_the_library_with_progress(database_url, fake_slack, clock, tiny_model, capfd):
    from bot.services import Services

    services = Services(make_settings(database_url, fake_slack.api_url,
                                      REVALIGN_EMBEDDING_MODEL=str(tiny_model)), clock=clock)
    try:
        assert services.embedder.model_id == "tiny-bert-st" and services.embedder.dim == 32
        outcome = import_content(services, ROWS)
        assert outcome.report.added == 2 and outcome.embedded > 0
        assert "embedding the content library with tiny-bert-st" in capfd.readouterr().err
        assert services.content.cache.count("tiny-bert-st") == outcome.embedded
        found = search_content(services, "too expensive", user_id="U0REP0001", record=False)
        assert {r.item.title for r in found.results} <= {r["title"] for r in ROWS} and found.results
    finally:
        services.close()
    # A second process with the same model finds every vector in the cache: nothing re-embedded.
    again = Services(make_settings(database_url, fake_slack.api_url, REVALIGN_EMBEDDING_MODEL=str(tiny_model)),
                     clock=clock)
    try:
        again.content.keeper.ensure_loaded()
        assert again.content.keeper.last_load_stats.embedded == 0 and len(again.content.index) == 2
    finally:
        again.close()
