#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Name search against a labelled set of real spellings of the same names.

  recall.py make DIR OUT [DISTRACTORS]   the store's records and the searches
  recall.py report OUT [--misses]        recall and mean rank, by script pair,
                                         by kind of variant and by origin

DIR holds the groups (*.txt): one name per line, "given: A | B | C || D",
every spelling of the name a volunteer may meet; after "||", the same name
in a cognate language (Mykola || Nikolai). A person is planted once per
script its name is written in, with a partner name of the same origin, among
DISTRACTORS other people (default 12,000) whose names are drawn from the
same groups, so the common names are as common as they are in a caseload.
Every other spelling of the planted name is then searched for, with the
partner name in the same script; also typos, family name first, and the
father's name used as a family name.

The groups are split in two halves by a hash of their first spelling: "dev"
and "test". Only the dev half's misses are ever printed, and changes to the
search are judged on it; the test half is the figure that counts.
"""

import hashlib
import json
import pathlib
import random
import sys
import uuid
from collections import defaultdict

LIMIT = 10


def script_of(text):
    for ch in text:
        o = ord(ch)
        if 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF:
            return "Arabic"
        if 0x0400 <= o <= 0x04FF:
            return "Cyrillic"
        if 0x1200 <= o <= 0x139F:
            return "Ethiopic"
    return "Latin"


class Group:
    def __init__(self, origin, role, spellings, line):
        self.origin = origin
        self.role = role
        self.spellings = spellings  # [(text, side)]
        self.line = line
        digest = hashlib.sha256(spellings[0][0].encode()).digest()
        self.half = "dev" if digest[0] % 2 == 0 else "test"
        self.id = f"{origin}:{line}"

    def scripts(self):
        seen = []
        for text, _ in self.spellings:
            s = script_of(text)
            if s not in seen:
                seen.append(s)
        return seen

    def first_in(self, script):
        for text, side in self.spellings:
            if script_of(text) == script:
                return text
        return None

    def in_script(self, script):
        return [t for t, _ in self.spellings if script_of(t) == script]


def load(directory):
    """The groups of every file. A name that two files both list (Hassan is
    Arabic and Somali) is one group: the later one's spellings join the first."""
    groups = []
    owner = {}
    for path in sorted(pathlib.Path(directory).glob("*.txt")):
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            role, sep, rest = line.partition(":")
            role = role.strip()
            if not sep or role not in ("given", "family"):
                sys.exit(f"{path}:{number}: expected 'given:' or 'family:' and spellings")
            spellings = []
            for side, part in enumerate(rest.split("||")):
                for text in part.split("|"):
                    text = " ".join(text.split())
                    if text and text not in [t for t, _ in spellings]:
                        spellings.append((text, side))
            if len(spellings) < 2:
                continue
            shared = {}
            for t, _ in spellings:
                if t.casefold() in owner:
                    shared.setdefault(owner[t.casefold()], []).append(t)
            def conflict(g):
                # Two names, not one, if both are written in a script other
                # than Latin and never alike (محمد and محمود), Persian and
                # Arabic letters for one sound counting as alike.
                mine = {native(t) for t, _ in spellings if script_of(t) != "Latin"}
                theirs = {native(t) for t, _ in g.spellings if script_of(t) != "Latin"}
                return bool(mine) and bool(theirs) and not (mine & theirs)
            group = next((g for g, ts in shared.items() if len(ts) >= 2 or not conflict(g)), None)
            if group is None:
                # One spelling shared with another name is ambiguous ("Mohamud" is
                # Somali for Mahmoud, and a spelling of Muhammad too): it
                # belongs to neither as a label.
                for g, ts in shared.items():
                    for t in ts:
                        g.spellings = [(x, side) for x, side in g.spellings if x.casefold() != t.casefold()]
                        spellings = [(x, side) for x, side in spellings if x.casefold() != t.casefold()]
                        print(f"{path}:{number}: '{t}' is also a spelling of '{g.spellings[0][0]}'; "
                              "left out of both", file=sys.stderr)
                if len(spellings) < 2:
                    continue
                group = Group(path.stem, role, spellings, number)
                groups.append(group)
            else:
                known = {t.casefold() for t, _ in group.spellings}
                group.spellings += [(t, side) for t, side in spellings if t.casefold() not in known]
            for t, _ in spellings:
                owner.setdefault(t.casefold(), group)
    return groups


NATIVE = str.maketrans({"ی": "ي", "ى": "ي", "ک": "ك", "ە": "ه", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا",
                        "\u200c": None, " ": None, "ё": "е", "Ё": "Е"})


def native(text):
    return text.translate(NATIVE).casefold()


def words(text):
    return len(text.replace("-", " ").replace("'", " ").split())


def kind_of(record, r_side, query, q_side):
    if r_side != q_side:
        return "cognate"
    if script_of(record) != script_of(query):
        return "script"
    if words(record) != words(query):
        return "compound"
    return "romanisation" if script_of(query) == "Latin" else "spelling"


KEYBOARD = {
    "a": "qsz", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "wa", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "ax",
}


def typo(rng, text):
    """One slip of the hand: a letter dropped, doubled, swapped or mistyped."""
    positions = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(positions) < 4:
        return None
    i = rng.choice(positions[1:])
    op = rng.randrange(4)
    if op == 0:
        return text[:i] + text[i + 1:]
    if op == 1:
        return text[:i] + text[i] + text[i:]
    if op == 2 and i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    near = KEYBOARD.get(text[i].lower())
    if not near:
        return text[:i] + text[i + 1:]
    return text[:i] + rng.choice(near) + text[i + 1:]


def person_record(rng, given, family, father=None):
    person = {"given_name": given, "family_name": family, "sex": "unknown"}
    if father:
        person["father_name"] = father
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": "registration",
        "subtype": "found_person",
        "person": person,
        "registered_date": "2025-01",
        "consent": {"tracing": True, "share_within_movement": True, "publish_photo": False},
    }


PATRONYMIC_ORIGINS = {"arabic", "horn", "afghan"}


def make(directory, out, n_distractors):
    rng = random.Random(515000)
    groups = load(directory)
    by_origin = defaultdict(lambda: defaultdict(list))
    for g in groups:
        by_origin[g.origin][g.role].append(g)

    records, queries, taken = [], [], set()

    def partner_for(g, script):
        pool = by_origin[g.origin]["family" if g.role == "given" else "given"] or \
            [h for h in by_origin[g.origin]["given"] if h is not g]
        # Never the partner of another planted person with this name: two
        # people of one name are the same person to a search.
        pool = [h for h in pool if h is not g and script in h.scripts()
                and frozenset((g.id, h.id)) not in taken]
        if not pool:
            return None
        best = max(len(set(h.scripts()) & set(g.scripts())) for h in pool)
        return rng.choice([h for h in pool if len(set(h.scripts()) & set(g.scripts())) == best])

    def add_query(text, record, g, kind, pair, spelling):
        queries.append((text, record["id"], {
            "half": g.half, "origin": g.origin, "kind": kind, "pair": pair,
            "name": g.spellings[0][0], "record": spelling, "query": text,
        }))

    for g in groups:
        for script in g.scripts():
            p = partner_for(g, script)
            if p is None:
                continue
            r_text = g.first_in(script)
            r_side = next(side for t, side in g.spellings if t == r_text)
            p_text = p.first_in(script)
            given_g, family_g = (g, p) if g.role == "given" else (p, g)
            given, family = (r_text, p_text) if g.role == "given" else (p_text, r_text)
            father_g = father = None
            if g.origin in PATRONYMIC_ORIGINS and g.role == "given" and rng.randrange(3) == 0:
                candidates = [h for h in by_origin[g.origin]["given"] if h is not g and h.first_in(script)]
                if candidates:
                    father_g = rng.choice(candidates)
                    father = father_g.first_in(script)
            record = person_record(rng, given, family, father)
            records.append(record)
            taken.add(frozenset((given_g.id, family_g.id)))
            if father_g:
                taken.add(frozenset((given_g.id, father_g.id)))

            for q_text, q_side in g.spellings:
                if q_text == r_text:
                    continue
                q_script = script_of(q_text)
                partner = p_text if script_of(p_text) == q_script else p.first_in(q_script)
                if partner is None:
                    continue
                text = f"{q_text} {partner}" if g.role == "given" else f"{partner} {q_text}"
                add_query(text, record, g, kind_of(r_text, r_side, q_text, q_side),
                          f"{script}→{q_script}", r_text)
            if script == "Latin":
                for _ in range(2):
                    slip = typo(rng, r_text)
                    if slip and slip != r_text:
                        text = f"{slip} {p_text}" if g.role == "given" else f"{p_text} {slip}"
                        add_query(text, record, g, "typo", "Latin→Latin", r_text)
            add_query(f"{family} {given}", record, g, "order", f"{script}→{script}", r_text)
            if father:
                add_query(f"{given} {father}", record, g, "patronymic", f"{script}→{script}", r_text)

    givens = [g for g in groups if g.role == "given"]
    families = [g for g in groups if g.role == "family"]
    made = attempts = 0
    while made < n_distractors:
        attempts += 1
        if attempts > 20 * n_distractors:
            sys.exit("names: too few groups to draw distinct distractors from")
        a = rng.choice(givens)
        same = [f for f in by_origin[a.origin]["family"]] or families
        b = rng.choice(same if rng.random() < 0.8 else families)
        if frozenset((a.id, b.id)) in taken:
            continue
        common = [s for s in a.scripts() if s in b.scripts()]
        script = "Latin" if "Latin" in common and (rng.random() < 0.6 or len(common) == 1) else rng.choice(common)
        father = None
        if rng.random() < 0.3:
            c = rng.choice(by_origin[a.origin]["given"] or givens)
            if c.in_script(script) and frozenset((a.id, c.id)) not in taken:
                father = rng.choice(c.in_script(script))
        records.append(person_record(rng, rng.choice(a.in_script(script)), rng.choice(b.in_script(script)), father))
        made += 1

    rng.shuffle(records)
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "records.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(out / "queries.tsv", "w", encoding="utf-8") as f, \
            open(out / "queries.jsonl", "w", encoding="utf-8") as m:
        for text, rid, meta in queries:
            f.write(f"{text}\t{rid}\n")
            m.write(json.dumps(meta, ensure_ascii=False) + "\n")
    print(f"names: {len(groups)} groups, {sum(len(g.spellings) for g in groups)} spellings, "
          f"{len(records)} people ({n_distractors} distractors), {len(queries)} searches", file=sys.stderr)


def figures(ranks):
    n = len(ranks)
    if n == 0:
        return (0, 0.0, 0.0, 0.0)
    at1 = sum(1 for r in ranks if r == 1) / n
    at10 = sum(1 for r in ranks if 1 <= r <= LIMIT) / n
    mean = sum(r if r else LIMIT + 1 for r in ranks) / n
    return (n, at1, at10, mean)


def report(out, show_misses):
    out = pathlib.Path(out)
    result = json.loads((out / "result.json").read_text())
    metas = [json.loads(line) for line in open(out / "queries.jsonl", encoding="utf-8")]
    ranks = result["ranks"]
    if len(ranks) != len(metas):
        sys.exit("names: the results do not match the searches")
    for meta, rank in zip(metas, ranks):
        meta["rank"] = rank

    def table(title, key):
        keys = sorted({key(m) for m in metas})
        print(f"\n{title:<22} {'test: n':>8} {'@1':>6} {'@10':>6} {'rank':>5}   {'dev: n':>7} {'@1':>6} {'@10':>6} {'rank':>5}")
        for k in keys:
            row = f"{k:<22}"
            for half in ("test", "dev"):
                n, at1, at10, mean = figures([m["rank"] for m in metas if key(m) == k and m["half"] == half])
                row += f" {n:>8} {at1:>6.3f} {at10:>6.3f} {mean:>5.2f}  "
            print(row)

    table("all", lambda m: "all")
    table("script pair", lambda m: m["pair"])
    table("kind of variant", lambda m: m["kind"])
    table("origin", lambda m: m["origin"])
    print(f"\nsearch latency here: p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms; "
          f"rank counts a miss as {LIMIT + 1}", flush=True)

    summary = {"workload": "names"}
    for half in ("test", "dev"):
        n, at1, at10, mean = figures([m["rank"] for m in metas if m["half"] == half])
        summary[half] = {"searches": n, "recall_at_1": round(at1, 4), "recall_at_10": round(at10, 4),
                         "mean_rank": round(mean, 3)}
        pairs = {}
        for pair in sorted({m["pair"] for m in metas if m["half"] == half}):
            pairs[pair] = round(figures([m["rank"] for m in metas if m["pair"] == pair and m["half"] == half])[2], 4)
        summary[half]["recall_at_10_by_pair"] = pairs
    if show_misses:
        print("\nmisses and late finds, dev half only:")
        for m in metas:
            if m["half"] == "dev" and m["rank"] != 1:
                print(f"  {m['rank']:>2}  {m['kind']:<12} {m['record']}  <-  {m['query']}")
    print(json.dumps(summary, ensure_ascii=False))


def main(argv):
    if len(argv) >= 4 and argv[1] == "make":
        make(argv[2], argv[3], int(argv[4]) if len(argv) > 4 else 12000)
    elif len(argv) >= 3 and argv[1] == "report":
        report(argv[2], "--misses" in argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
