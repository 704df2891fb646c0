#!/usr/bin/env python3
"""Re-fill config/examples/results-2023-zhian-hotel-H1.csv for the current demo data.

The example sheet is the task list of zhian.hotel 2023-H1 as `suiji simulate --year 2023`
draws it, filled in with a fixed pattern of outcomes (clean, problems, late, missing). When the
demo registry or rules change, the drawn hotels change: run

    suiji simulate --year 2023            # in a scratch copy of the project
    scripts/make-example-results.py out/draws/zhian.hotel/2023-H1/tasks.csv

and the pattern of the existing example is applied, target by target in sheet order, to the
new task list (same categories, dates and remarks; signatures from the new teams). The example
keeps its own header and its 抽查事项 and 期次 cells (ids, as sheets were handed out before task
lists showed names), so it also proves that such sheets still import.
"""
import csv
import re
import sys

EXAMPLE = "config/examples/results-2023-zhian-hotel-H1.csv"


def rows(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def by_target(body):
    order, groups = [], {}
    for r in body:
        if r[3] not in groups:
            order.append(r[3])
            groups[r[3]] = []
        groups[r[3]].append(r)
    return [groups[t] for t in order]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    old = rows(EXAMPLE)
    new = rows(sys.argv[1])
    # A simulated draw's list starts with a line that says 模拟, above the header row; the
    # example sheet is written without it (both import).
    if new and "抽取编号" not in new[0]:
        new = new[1:]
    header, old_t, new_t = old[0], by_target(old[1:]), by_target(new[1:])
    if len(old_t) != len(new_t):
        sys.exit(f"the example has {len(old_t)} targets, the task list {len(new_t)}: adjust by hand")
    out = [header]
    for pattern, target in zip(old_t, new_t):
        for p, r in zip(pattern, target):
            r = list(r)
            r[1], r[2] = p[1], p[2]
            r[10], r[11], r[12] = p[10], p[11], p[12]
            if p[13]:
                team = r[6]
                ids = re.findall(r"（([^）]+)）", team)
                r[13] = "、".join(ids) if "（" not in p[13] else team
            out.append(r)
    with open(EXAMPLE, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(out)
    print(f"wrote {EXAMPLE}: {len(out) - 1} rows for {len(new_t)} targets")


if __name__ == "__main__":
    main()
