"""The probe texts an ONNX export is verified on before its first use.

Varied on purpose: questions and statements on unrelated and related topics (so that the
top-10 neighbour lists are meaningful), headings, very short and very long texts (one past the
256-token window, to check truncation), casing, punctuation, numbers, code, accents, non-Latin
scripts and symbols (to check the tokenizer), and literal special-token text. No two probes
embed alike (an upper-case copy of a probe would: the tokenizer lowercases), so that
neighbour lists have no exact ties.
"""

from __future__ import annotations

PROBES_VERSION = 2  # bump when the list changes: stored verifications are redone

_LONG = " ".join(
    f"Section {n}: the package manager resolves dependencies, downloads archives from the "
    f"configured mirrors, verifies their signatures and unpacks them in order ({n * 7} files)."
    for n in range(1, 16)
)

PROBES: tuple[str, ...] = (
    "Who is Kim Jong Un meeting?",
    "Where did the two leaders hold their summit?",
    "Russia shares a short border with North Korea along the Tumen River.",
    "The talks in Vladivostok were the first meeting between the two leaders.",
    "Sanctions over the nuclear programme have hurt the North Korean economy.",
    "How do I upgrade Debian to the next stable release?",
    "Run apt update and then apt full-upgrade after editing sources.list.",
    "What is the difference between stable, testing and unstable?",
    "Packages in unstable are uploaded by developers and migrate to testing after a delay.",
    "Is Debian free software?",
    "The Debian Free Software Guidelines define which licences are acceptable.",
    "How can I report a bug in a package?",
    "Use the reportbug tool to send a report to the bug tracking system.",
    "The recipe needs two cups of flour, a pinch of salt and three eggs.",
    "Bake the bread at 220 degrees for forty minutes until the crust is golden.",
    "The striker scored twice in the second half and the team won the cup.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
    "Mitochondria produce most of the chemical energy a cell needs.",
    "The stock market fell sharply after the central bank raised interest rates.",
    "Inflation reached 4.2% in March, up from 3.8% a year earlier.",
    "Installation",
    "Frequently asked questions",
    "ok",
    "?",
    "",
    "   leading and trailing spaces   ",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
    "def main() -> int:\n    return sum(x * x for x in range(10))",
    "https://www.example.org/docs/install.html#requirements",
    "Café, naïve, façade, Ærøskøbing and São Paulo have accented letters.",
    "東京は日本の首都です。",
    "Москва является столицей России.",
    "Die Katze schläft auf dem Sofa neben dem Fenster.",
    "Emoji and symbols: 🚀 ✓ → ± ∞ © ™",
    "[CLS] a text that contains [SEP] special token names [MASK] literally",
    "2019-04-25 10:30 UTC, +7 (423) 555-0199, 1,234,567.89",
    "Line one.\nLine two.\n\n\tTabbed line three.",
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    _LONG,
)
