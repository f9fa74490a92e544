"""The scrolling list of exchanges, newest at the bottom."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.widgets.answer_card import AnswerCard

WELCOME = (
    "Ask a question about the sources named at the bottom left. Answers are quoted "
    "verbatim from the files, "
    "with the file and line they come from.\n"
    "Tab cycles through the citations · ctrl+o opens one in $EDITOR · F1 help · "
    "ctrl+p commands · ctrl+q quits"
)


class Conversation(VerticalScroll):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.count = 0

    def compose(self):
        yield Static(Text(WELCOME), id="welcome")

    def add_question(self, question: str) -> AnswerCard:
        self.count += 1
        card = AnswerCard(self.count, question, id=f"card-{self.count}")
        self.mount(card)
        self.call_after_refresh(self.scroll_end, animate=False)
        return card

    def card(self, card_id: str) -> AnswerCard | None:
        found = self.query(f"#{card_id}")
        return found.first(AnswerCard) if found else None

    def latest_answered(self) -> AnswerCard | None:
        for card in reversed(list(self.query(AnswerCard))):
            if card.exchange is not None:
                return card
        return None
