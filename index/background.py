"""How relevant a question about something else looks in these documents: their off-topic level.

A cosine of 0.3 means "on topic" in a three-page article and little in a large manual,
where any question finds some passage sharing its style or one of its words. So each
index is measured once: the relevance that everyday questions about other things reach in
it (``OFF_TOPIC_PROBES``: cooking, sport, health, money, travel, science, pets, ... — two
per walk of life, none about software documentation in particular). Their relevance at
``BACKGROUND_QUANTILE`` is the index's background level; the engine weighs a question's
relevance by how far it rises above it (``retriever.judge``). The 90th percentile, not the
maximum: documents about one of those walks of life (a cooking club's recipes) make a
couple of probes relevant without moving it.

Measured (tests/data and the held-out docutils set): the article 0.21, the Debian FAQ 0.24,
docutils' reST manuals 0.28; answerable questions rise well above it on average (the
article 0.38, the Debian FAQ 0.47), off-topic ones stay 0.12–0.15 below.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from index.embedding import Embedder

BACKGROUND_QUANTILE = 0.9
PROBE_BATCH = 8  # no bigger than a bot's batches: onnxruntime keeps its largest buffers

OFF_TOPIC_PROBES: tuple[str, ...] = (
    "How do I bake sourdough bread at home?",
    "What is the best way to cook a steak medium rare?",
    "Who won the last Formula 1 championship?",
    "How many players are on a basketball team?",
    "What are the symptoms of the flu?",
    "How much water should I drink every day?",
    "Should I invest in index funds or individual stocks?",
    "How do I file my income tax return?",
    "What is the cheapest way to fly to Paris?",
    "Which countries need a visa for travel to Japan?",
    "How do I center a div in CSS?",
    "What is a closure in JavaScript?",
    "How do I solve a quadratic equation?",
    "What is the derivative of sin x?",
    "When did the Roman Empire fall?",
    "Who was the first president of the United States?",
    "Why is the sky blue?",
    "How far is the Moon from the Earth?",
    "Which movie won the Oscar for best picture last year?",
    "Who is the lead singer of Coldplay?",
    "How often should I change my car's oil?",
    "What tire pressure should my bike have?",
    "How do I train my puppy to stop biting?",
    "What should I feed a pet rabbit?",
    "Will it rain tomorrow in London?",
    "What is the best smartphone to buy this year?",
    "How do I ask someone out on a date?",
    "How can I improve my sleep?",
    "What is the capital of Australia?",
    "How do volcanoes form?",
    "What is the plot of Hamlet?",
    "How do I knit a scarf?",
    "What are good exercises for back pain?",
    "How do I grow tomatoes on a balcony?",
    "What is the exchange rate of the euro to the dollar?",
    "How do I make cold brew coffee?",
    "Which chess opening is best for beginners?",
    "How do I remove a red wine stain from a carpet?",
    "What time does the supermarket close on Sundays?",
    "How many calories are in an avocado?",
)

_probe_vectors: weakref.WeakKeyDictionary[Embedder, np.ndarray] = weakref.WeakKeyDictionary()


def probe_vectors(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """The probes' vectors (``texts``: the probes as the engine reads them), embedded once
    per embedder: every index of a process shares them."""
    vectors = _probe_vectors.get(embedder)
    if vectors is None:
        vectors = embedder.encode(texts, batch_size=PROBE_BATCH)
        _probe_vectors[embedder] = vectors
    return vectors


def background_level(relevances: Sequence[float]) -> float:
    """The off-topic level from the probes' relevances (0.0 for none)."""
    return float(np.quantile(relevances, BACKGROUND_QUANTILE)) if len(relevances) else 0.0
