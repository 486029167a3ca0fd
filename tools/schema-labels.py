#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Writes po/schema-labels.c: every field, value and status name of the record
# schema as the app shows it ("date_of_birth" -> "Date of birth"), and the
# labels the schema gives kinds of record ("Tracing request", "Deceased
# person"), marked for translation, so that xgettext finds labels that live in
# data, not code (app/rfl-record-labels.c reads them).
# The file is never compiled. tests/check-potfiles.sh fails when it is stale:
# after changing data/schema/records.json, run this script again.

import json
import sys


def label(name):
    spaced = name.replace("_", " ")
    return spaced[:1].upper() + spaced[1:]


def walk(fields, out):
    for name, desc in fields.items():
        if desc.get("type") in ("id", "status", "record_ref") or name in ("type", "id"):
            continue
        out.add(desc.get("label") or label(name))
        for value in desc.get("values", []):
            out.add(label(value))
        items = desc.get("items", {})
        for value in items.get("values", []):
            out.add(label(value))


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    labels = set()
    for struct in schema.get("structs", {}).values():
        walk(struct, labels)
    walk(schema.get("common", {}), labels)
    for record in schema.get("records", {}).values():
        walk(record.get("fields", {}), labels)
        for key in ("label", "plural"):
            if key in record:
                labels.add(record[key])
        labels.update(record.get("subtypes", {}).values())
    for lifecycle in schema.get("lifecycles", {}).values():
        for status in lifecycle.get("transitions", {}):
            labels.add(label(status))
    lines = [
        "/* SPDX-License-Identifier: GPL-3.0-or-later */",
        "/* Written by tools/schema-labels.py from data/schema/records.json, for",
        " * xgettext only: the labels forms make of the schema's names. */",
        "",
    ]
    lines += ['N_("%s")' % l for l in sorted(labels)]
    sys.stdout.write("\n".join(lines) + "\n")


main()
