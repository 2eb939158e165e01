"""Offline verification of a whole log: recompute the tree from the entries and hold every
signed checkpoint (and an auditor's own earlier checkpoint) against it.

Framework-free; takes plain data so it works the same on a database, an export or the HTTP
API. It reports every problem it finds and names the first entry that does not match (or
the smallest range that must contain it, when stored leaf hashes cannot narrow it down).
Malformed input is reported as a problem, never raised.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

from audit import checkpoint as notes
from audit import merkle


@dataclass
class VerifyReport:
    """The outcome: ``ok`` only if ``problems`` is empty."""

    entries: int = 0
    checkpoints: int = 0
    verified_size: int = 0
    first_bad_index: int | None = None
    first_bad_type: str | None = None  # the event type of that entry, if its leaf says
    first_bad_problem: str | None = None  # what is wrong with it
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    latest_note: str | None = None
    # Checkpoints the log key signed under another origin: origin -> which ones.
    other_origins: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def headline(self) -> str | None:
        """The problem to show first: the one about the first bad entry, else the first."""
        return self.first_bad_problem or (self.problems[0] if self.problems else None)

    def bad(self, message: str, index: int | None = None) -> None:
        self.problems.append(message)
        if index is not None and (self.first_bad_index is None or index < self.first_bad_index):
            self.first_bad_index = index
            self.first_bad_problem = message


def verify_log(
    *,
    entries: list[tuple[int, bytes]],
    checkpoint_notes: list[tuple[int, str]],
    origin: str,
    public_key_der: bytes,
    stored_leaf_hashes: dict[int, bytes] | None = None,
    trusted_note: str | None = None,
) -> VerifyReport:
    """Check ``entries`` ((index, leaf bytes), any order) against ``checkpoint_notes``
    ((id, signed note), any order) signed by the log key, and against ``trusted_note``, a
    checkpoint the auditor verified before (it must still be a prefix of this log)."""
    report = VerifyReport(entries=len(entries))
    leaves = _ordered_leaves(entries, report)
    checked = _genuine_checkpoints(
        checkpoint_notes, report, origin=origin, public_key_der=public_key_der
    )
    report.checkpoints = len(checked)
    for earlier, later in itertools.pairwise(checked):
        if later.size < earlier.size:
            report.bad(
                f"checkpoints go backwards from size {earlier.size} to {later.size}: "
                "the log was truncated or forked"
            )
    if trusted_note is not None:
        try:
            checked.append(
                _verify_note(
                    trusted_note,
                    report,
                    what="the trusted checkpoint",
                    origin=origin,
                    public_key_der=public_key_der,
                )
            )
        except (notes.CheckpointError, ValueError, TypeError) as exc:
            report.bad(f"the trusted checkpoint does not verify: {exc}")

    sizes = sorted({c.size for c in checked if 0 < c.size <= len(leaves)})
    roots = _prefix_roots(leaves, sizes)
    previous_good = 0
    for item in sorted(checked, key=lambda c: c.size):
        if item.size > len(leaves):
            report.bad(
                f"a checkpoint covers {item.size} entries but only {len(leaves)} are "
                "present: the log was truncated",
                len(leaves),
            )
        elif item.size and roots[item.size] == item.root:
            previous_good = max(previous_good, item.size)
            report.verified_size = max(report.verified_size, item.size)
        elif item.size:
            culprit = _first_changed(
                leaves, stored=stored_leaf_hashes, start=previous_good, end=item.size
            )
            if culprit is None:
                report.bad(
                    f"an entry in [{previous_good}, {item.size}) does not match the "
                    f"checkpoint of size {item.size}",
                    previous_good,
                )
            else:
                report.bad(
                    f"entry {culprit} was changed after it was logged: it matches neither its "
                    f"stored leaf hash nor the signed checkpoint of size {item.size}",
                    culprit,
                )
    if report.ok and len(leaves) > report.verified_size:
        tail = _first_changed(
            leaves, stored=stored_leaf_hashes, start=report.verified_size, end=len(leaves)
        )
        if tail is not None:
            report.bad(f"entry {tail} differs from its stored leaf hash", tail)
        report.warnings.append(
            f"{len(leaves) - report.verified_size} entries from index {report.verified_size} "
            "on are not covered by a signed checkpoint yet"
        )
    for named, which in report.other_origins.items():
        report.warnings.append(
            f"{len(which)} checkpoint(s) ({', '.join(which[:3])}{', …' if len(which) > 3 else ''})"
            f" were signed by the log key under origin {named!r}, not under the log's origin "
            f"{origin!r}: signed before the origin was fixed; checked all the same"
        )
    if report.first_bad_index is not None and report.first_bad_index < len(leaves):
        report.first_bad_type = _event_type(leaves[report.first_bad_index])
    if checked:
        latest = max(checked, key=lambda c: c.size)
        report.latest_note = next(
            (
                note
                for _, note in sorted(checkpoint_notes, reverse=True)
                if _size_of(note) == latest.size
            ),
            trusted_note,
        )
    return report


def _ordered_leaves(entries: list[tuple[int, bytes]], report: VerifyReport) -> list[bytes]:
    """The leaves 0..n-1 in order, stopping at the first gap or duplicate."""
    leaves: list[bytes] = []
    for position, (index, leaf) in enumerate(sorted(entries, key=lambda item: item[0])):
        if index < position:
            report.bad(f"entry {index} appears more than once", index)
            break
        if index > position:
            report.bad(f"entry {position} is missing (the next entry present is {index})", position)
            break
        try:
            decoded = json.loads(leaf)
            seq = decoded.get("seq") if isinstance(decoded, dict) else None
        except (ValueError, RecursionError):
            seq = None
        if seq != index:
            report.bad(f"entry {index} carries sequence number {seq!r}: moved or rewritten", index)
        leaves.append(leaf)
    return leaves


def _genuine_checkpoints(
    checkpoint_notes: list[tuple[int, str]],
    report: VerifyReport,
    *,
    origin: str,
    public_key_der: bytes,
) -> list[notes.Checkpoint]:
    checked: list[notes.Checkpoint] = []
    for checkpoint_id, note in sorted(checkpoint_notes, key=lambda item: item[0]):
        try:
            checked.append(
                _verify_note(
                    note,
                    report,
                    what=f"checkpoint #{checkpoint_id}",
                    origin=origin,
                    public_key_der=public_key_der,
                )
            )
        except notes.CheckpointError as exc:
            report.bad(f"checkpoint #{checkpoint_id} is not genuine: {exc}")
    return checked


def _verify_note(
    note: str, report: VerifyReport, *, what: str, origin: str, public_key_der: bytes
) -> notes.Checkpoint:
    """The checkpoint in ``note`` if the log key signed it.

    A note the log key signed under another origin still binds this log (the key signs for
    no other log): older versions named the log after the issuer of the moment, so a moved
    deployment has such notes. They are checked like the others and reported as a warning,
    not as tampering."""
    try:
        return notes.verify(note, origin=origin, public_key_der=public_key_der)
    except notes.CheckpointError:
        named = _origin_of(note)
        if named is None or named == origin:
            raise
        checked = notes.verify(note, origin=named, public_key_der=public_key_der)
        report.other_origins.setdefault(named, []).append(what)
        return checked


def _origin_of(note: str) -> str | None:
    try:
        return notes.parse(note)[0].origin
    except (notes.CheckpointError, TypeError):
        return None


def _event_type(leaf: bytes) -> str | None:
    try:
        decoded = json.loads(leaf)
    except (ValueError, RecursionError):
        return None
    kind = decoded.get("type") if isinstance(decoded, dict) else None
    return kind if isinstance(kind, str) else None


def _size_of(note: str) -> int | None:
    try:
        return notes.parse(note)[0].size
    except (notes.CheckpointError, TypeError):
        return None


def _prefix_roots(leaves: list[bytes], sizes: list[int]) -> dict[int, bytes]:
    """Roots of the first ``s`` leaves for every ``s`` in ``sizes``, in one pass."""
    roots: dict[int, bytes] = {}
    stack: list[tuple[int, bytes]] = []
    wanted = iter(sizes)
    target = next(wanted, None)
    for count, leaf in enumerate(leaves, start=1):
        height, value = 0, merkle.leaf_hash(leaf)
        while stack and stack[-1][0] == height:
            value = merkle.node_hash(stack.pop()[1], value)
            height += 1
        stack.append((height, value))
        while target == count:
            roots[count] = merkle.fold([hashed for _, hashed in stack])
            target = next(wanted, None)
    return roots


def _first_changed(
    leaves: list[bytes], *, stored: dict[int, bytes] | None, start: int, end: int
) -> int | None:
    """The first entry in [start, end) whose hash differs from the stored leaf hash; None
    when that cannot tell (no stored hashes, or they were changed too)."""
    if stored:
        for index in range(start, end):
            if stored.get(index) != merkle.leaf_hash(leaves[index]):
                return index
    return None
