"""Groups of alike answers that are too many to report as pairs: a ring of copiers.

The similarity report pairs the holders of each fingerprint only while they are few (at most
`similarity.MAX_HOLDERS` of the compared answers): a fingerprint held by a crowd of answers would
make every pair of the crowd, quadratic in it. A crowd's fingerprint is not one the whole class
writes (those, held by more than `similarity.COMMON_SHARE` of it, are left out before), so it is
either an idiom that many, not most, write, or what a ring of students who copied one answer,
each disguising it their own way, all hold. This module tells the two apart in work linear in
the fingerprints, and reports a ring as one group:

- Each answer, in turn, counts which earlier answers hold its crowded fingerprints, among only
  the first `holders` holders of each (so at most `holders` counts per fingerprint it holds).
- The CANDIDATES earlier answers it counts most are compared with it whole: the Dice coefficient
  of the two answers' kept fingerprints, crowded ones included (what the pair's score would be
  had the crowd not stopped its pairs). So are the CANDIDATES earlier ones it shares most other
  fingerprints with in a pair not reported (a pair's score counts only those: a copy of an
  answer made mostly of crowded fingerprints, whose first holders are others, is found so). A
  candidate reaching the threshold is a link.
- The links' connected components are the groups. A ring's members share its answer, so each
  one's candidates are earlier members (its fingerprints' first holders), and it is linked to
  them: the ring is one group however many it holds. Students who write an idiom share a few
  fingerprints, not their answers, so they score low and are linked to nobody.

A group names each member with the classmate it is most alike and that score, and its core: the
fingerprints at least half of its members hold, which the page shows once, on its first
member's lines.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

CANDIDATES = 5  # earlier answers each answer is compared with whole


@dataclass(frozen=True)
class Member:
    """A student of a group, the classmate they are most alike in it, and that score."""

    student: str
    score: float
    alike: str


@dataclass(frozen=True)
class Group:
    """Students linked by alike answers of one kind ("code" or "text"), in the class's order,
    and the fingerprints at least half of them hold."""

    kind: str
    members: tuple[Member, ...]
    core: frozenset[int]


def dice(first: frozenset[int], second: frozenset[int]) -> float:
    """The Dice coefficient of two fingerprint sets, 2 |A ∩ B| / (|A| + |B|), to 3 places."""
    if not first or not second:
        return 0.0
    return round(2 * len(first & second) / (len(first) + len(second)), 3)


def links(order: list[str], kept: dict[str, frozenset[int]], crowded: frozenset[int],
          unreported: Counter[tuple[str, str]], threshold: float, holders: int
          ) -> list[tuple[str, str, float]]:
    """(student, an earlier one, their score) for each student of `order` and each earlier one
    among its candidates whose score with it reaches `threshold`: the CANDIDATES holding most
    of its `crowded` fingerprints (counted among each fingerprint's first `holders` holders),
    and the CANDIDATES sharing most of the other fingerprints in a pair not reported
    (`unreported`: {(earlier, later): how many they share}), whose crowded fingerprints may
    make up the rest of their answers."""
    position = {name: index for index, name in enumerate(order)}
    paired: dict[str, Counter[int]] = {}
    for (earlier, later), count in unreported.items():
        paired.setdefault(later, Counter())[position[earlier]] = count
    first_holders: dict[int, list[int]] = {}
    found = []
    for index, name in enumerate(order):
        mine = kept[name] & crowded
        if not mine:
            continue
        held = Counter(earlier for value in mine for earlier in first_holders.get(value, ()))
        candidates = dict(held.most_common(CANDIDATES))
        candidates.update(paired.get(name, Counter()).most_common(CANDIDATES))
        for earlier in candidates:
            score = dice(kept[name], kept[order[earlier]])
            if score >= threshold:
                found.append((name, order[earlier], score))
        for value in mine:
            listed = first_holders.setdefault(value, [])
            if len(listed) < holders:
                listed.append(index)
    return found


def linked_groups(kind: str, order: list[str], kept: dict[str, frozenset[int]],
                  crowded: frozenset[int], unreported: Counter[tuple[str, str]],
                  threshold: float, holders: int) -> list[Group]:
    """The groups of `order`'s students linked by `links`, each in `order`'s order, in the
    order of their first members."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    best: dict[str, tuple[float, str]] = {}
    for name, earlier, score in links(order, kept, crowded, unreported, threshold, holders):
        parent[root(name)] = root(earlier)
        for student, other in ((name, earlier), (earlier, name)):
            if score > best.get(student, (0.0, ""))[0]:
                best[student] = (score, other)
    members: dict[str, list[str]] = {}
    for name in order:
        if name in best:
            members.setdefault(root(name), []).append(name)
    groups = []
    for names in members.values():
        held = Counter(value for name in names for value in kept[name])
        core = frozenset(value for value, count in held.items() if 2 * count >= len(names))
        groups.append(Group(kind, tuple(Member(name, *best[name]) for name in names), core))
    return groups
