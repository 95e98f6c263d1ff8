"""A question log with a known story, for the report tests (CLI, JSON, HTML, /insights)."""

from __future__ import annotations

import time
from pathlib import Path

from bot.shared.feedback import FeedbackStore
from bot.shared.question_log import DAY, Cited, QuestionEntry, QuestionLog

DOC = "kim-jong-un-putin-meeting.txt"
UNUSED_DOC = "zorblax-festival.md"
UNUSED_TEXT = (
    "# The Zorblax Festival\n\n## Dates\n\nThe Zorblax festival is held every year in March "
    "in the mountain town of Quillby.\n"
)
TIMING = f"{DOC} › The Timing"
DYNAMICS = f"{DOC} › Regional Dynamics"
GUILD, OTHER_GUILD = 42, 43
HOSTILE = "<script>alert('x')</script> how do I <b>install</b> it?"

# (question, outcome, answer citation or None, times asked, 👍 and 👎 per answer)
STORY: list[tuple[str, str, str | None, int, tuple[int, int]]] = [
    ("When did the Hanoi summit break down?", "answered", TIMING, 4, (1, 0)),
    ("When did the talks in Hanoi collapse?", "answered", TIMING, 2, (0, 0)),
    ("Where are Kim and Putin meeting?", "answered", DYNAMICS, 3, (0, 1)),
    ("How do I bake bread?", "refused", None, 3, (0, 0)),
    ("What's a good bread recipe?", "refused", None, 1, (0, 0)),
    ("What is the capital of France?", "refused", None, 1, (0, 0)),
    (HOSTILE, "refused", None, 1, (0, 0)),
    ("Who is Kim meeting?", "error", None, 1, (0, 0)),
]
EXPECTED = {"questions": 16, "answered": 9, "refused": 6, "errors": 1, "up": 4, "down": 3}


def seed(log_path: Path, feedback_path: Path, now: float | None = None) -> None:
    """Write :data:`STORY` over the last days (plus one question 40 days old and one from
    another server), with votes on some answers."""
    now = time.time() if now is None else now
    store = QuestionLog(log_path, retention_days=365)
    feedback = FeedbackStore(feedback_path)
    message_id = 5000
    n = 0
    for question, outcome, cited, times, (up, down) in STORY:
        for _ in range(times):
            n += 1
            message_id += 1
            sources = (Cited(DOC, cited), Cited(DOC, DOC)) if cited else ()
            store.record(
                QuestionEntry(
                    question,
                    outcome,  # type: ignore[arg-type]
                    0.9 if cited else 0.2,
                    sources,
                    guild_id=GUILD,
                    channel_kind="text",
                    via="slash",
                    user_id=100 + n % 5,
                    message_id=None if outcome == "error" else message_id,
                    asked_at=now - (n % 4) * DAY - 60,
                )
            )
            for voter in range(up):
                feedback.record(message_id, question, cited or "", 900 + voter, 1)
            for voter in range(down):
                feedback.record(message_id, question, cited or "", 950 + voter, -1)
    store.record(QuestionEntry("an old question", "refused", 0.1, guild_id=GUILD,
                               asked_at=now - 40 * DAY))  # fmt: skip
    store.record(QuestionEntry("another server's question", "refused", 0.1,
                               guild_id=OTHER_GUILD, asked_at=now - 60))  # fmt: skip
    store.close()
    feedback.close()
