"""When a written procedure's steps are due (``daemon.circulation.closing`` does
them): one reminder to the silent before the deadline, and at the deadline the
compilation, with the item put on the deciding meeting as a decision item."""

from __future__ import annotations

from functools import partial

from daemon.context import Ctx
from daemon.refs import Ref
from daemon.steps import Step
from daemon.store import from_iso

# What the steps do (daemon/circulation/closing.py), imported when one runs: asking what is due loads
# neither the compilation nor its document (start-up, issue 19).
remind = Ref("daemon.circulation.closing:remind")
close_comments = Ref("daemon.circulation.closing:close_comments")


def due(ctx: Ctx) -> list[Step]:
    """STEPS: the reminder (before the deadline only) and the compilation of each open circulation."""
    steps = []
    for circ in ctx.store.all("SELECT * FROM circulations WHERE state = 'open' ORDER BY id"):
        deadline = from_iso(circ["deadline"])
        tag = f"{circ['item_id']}:{circ['id']}"
        if circ["reminder_at"] and from_iso(circ["reminder_at"]) <= ctx.now < deadline:
            steps.append(Step(f"circulation-reminder:{tag}", partial(remind, circ_id=circ["id"]),
                              f"remind the members who have not commented on {circ['item_id']}"))
        if deadline <= ctx.now:
            steps.append(Step(f"circulation-deadline:{tag}", partial(close_comments, circ_id=circ["id"]),
                              f"compile the comments on {circ['item_id']} and put it up for decision"))
    return steps
