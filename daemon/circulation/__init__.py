"""Written procedure (skriftligt förfarande): an item is mailed to every member
for reading and comments, the replies are collected as comments, the silent
get one reminder, and at the deadline a compilation is made and the item goes
on the agenda of the deciding meeting as a decision item.

How a circulation starts:
- a proposal with ``Skriftligt förfarande: ja`` (hook "created"), or a reply to
  the acknowledgement that sets it (hook "amended");
- the chair or chancellery setting the item's kind to written procedure in the
  draft agenda review (hook "written_procedure");
- a mail to the shared mailbox with ``Skriftligt förfarande: KLG-2026-042``
  from the chair, the chancellery or the item's proposer.

Timing: the comment period is ``[circulation] comment_days`` working days
(holidays respected) and ends at ``deadline_time``; the deciding meeting is the
first whose proposal deadline comes after that, so the compilation is on the
agenda before the draft is made. If that is not the meeting the item was
planned for, the proposer is told in the mail that confirms the start.

While circulating the item has state ``circulating`` (no agenda shows it); at
the deadline it becomes ``planned`` on the deciding meeting with kind
``beslut``, origin ``circulation`` and the compilation as an item attachment.

Modules: ``start`` (how one starts, and the item listener), ``replies``
(comments, STATUS, ÅTERKALLA, back to a meeting), ``deadline`` (the reminder
and the compilation's step), ``compilation`` and ``document`` (the Word
compilation), ``held`` (the limit on circulations one sender starts),
``records`` (the circulation's row, its state and the mail contexts),
``timing``, ``words``, ``settings``, ``status``.

Who may do what: every member except the proposer is asked; any member's reply
to a circulation mail is a comment (the latest one counts). The proposer, the
chair and the chancellery may reply ``STATUS`` (who has answered) and
``ÅTERKALLA`` (withdraw: the item is withdrawn and the members told), and
``Skriftligt förfarande: nej`` (the item goes back to an ordinary meeting).
"""
