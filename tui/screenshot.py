"""Regenerate `tui/screenshot.svg` (shown in the README) with the app's own screenshot
action: the real pipeline on seeds/, one question answered, at 120x40.

    python -m tui.screenshot [QUESTION]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tui.app import make_app

QUESTION = "Which opposition activist was imprisoned?"
OUT = Path(__file__).with_name("screenshot.svg")


async def take(question: str, out: Path) -> Path:
    app = make_app(sources=Path("seeds"))
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.ready:  # the model loads and the index updates in a worker
            if not app.loading:
                raise SystemExit("the index could not be opened: run `qa index` first")
            await pilot.pause(0.2)
        app.query_one("#question").value = question
        await pilot.press("enter")
        while app._asking or not app.exchanges:
            await pilot.pause(0.1)
        await pilot.pause(0.5)
        return Path(app.save_screenshot(out.name, str(out.parent)))


if __name__ == "__main__":
    print(asyncio.run(take(sys.argv[1] if len(sys.argv) > 1 else QUESTION, OUT)))
