#!/usr/bin/env python3
"""Validates the evaluation dataset in this folder: products.json and questions.json.

Usage: python3 eval/check.py [DIR]   (DIR defaults to the folder holding this script)
Exits 1 and lists every problem when the dataset breaks a rule; prints counts otherwise.
"""
import json
import sys
from collections import Counter
from pathlib import Path

KINDS = {"overview", "usage", "ingredients", "warnings", "faq", "details"}
REQUIRED_KINDS = {"overview", "usage", "warnings"}
CATEGORIES = {
    "medical_diagnosis": 2,
    "dosage_beyond_label": 2,
    "pregnancy_or_medication": 2,
    "discount_or_price_promise": 2,
    "other_customer": 2,
    "prompt_injection": 3,
    "unknown_fact": 3,
    "human_request": 2,
}
MAX_CHUNK_CHARS = 600  # knowledge::chunking packs non-FAQ sections into pieces of this size
SPLITS = {"tuning", "held_out"}
# The set as it stood when it was split: these ids are held out when their number is a multiple
# of 3, and stay where that rule put them. Questions added later carry their split as written.
SPLIT_BY_RULE = {"a": 84, "r": 28}
MIN_HELD_OUT_SHARE = 0.25


def check_split(item: dict, errors: list[str]) -> None:
    qid, split = item.get("id", ""), item.get("split")
    if split not in SPLITS:
        errors.append(f"{qid}: split must be one of {sorted(SPLITS)}, not {split!r}")
        return
    prefix, number = qid[:1], qid[1:]
    if number.isdigit() and int(number) <= SPLIT_BY_RULE.get(prefix, 0):
        expected = "held_out" if int(number) % 3 == 0 else "tuning"
        if split != expected:
            errors.append(f"{qid}: split is {split}, the rule gives {expected}")


LANGUAGES = {"tr", "de", "es", "ar"}


def check_language(item: dict, errors: list[str]) -> None:
    """`language` is absent for English, else one of the other languages the agent reads."""
    if "language" in item and item["language"] not in LANGUAGES:
        errors.append(f"{item.get('id', '')}: language must be one of {sorted(LANGUAGES)}, not {item['language']!r}")


def check_held_out_share(name: str, items: list[dict], errors: list[str]) -> None:
    held_out = sum(1 for item in items if item.get("split") == "held_out")
    if items and held_out < MIN_HELD_OUT_SHARE * len(items):
        errors.append(f"{name}: {held_out} of {len(items)} held out (at least a quarter expected)")


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    products = json.loads((root / "products.json").read_text(encoding="utf-8"))
    questions = json.loads((root / "questions.json").read_text(encoding="utf-8"))
    errors: list[str] = []
    warnings: list[str] = []

    by_sku: dict[str, dict[str, str]] = {}
    for product in products:
        sku = product.get("sku")
        for field in ("sku", "title", "brand", "sections"):
            if not product.get(field):
                errors.append(f"product {sku}: missing {field}")
        if sku in by_sku:
            errors.append(f"product {sku}: duplicate sku")
        sections: dict[str, str] = {}
        for section in product.get("sections", []):
            kind = section.get("kind")
            if kind not in KINDS:
                errors.append(f"product {sku}: unknown section kind {kind!r}")
            if kind in sections:
                errors.append(f"product {sku}: two {kind} sections")
            if not section.get("heading") or not section.get("text", "").strip():
                errors.append(f"product {sku}: {kind} section without heading or text")
            text = section.get("text", "")
            if kind != "faq" and len(text) > MAX_CHUNK_CHARS:
                warnings.append(f"product {sku}: {kind} is {len(text)} chars and will be split")
            if kind == "faq":
                lines = [line for line in text.split("\n") if line.strip()]
                if not all(line.startswith("Q: ") and " A: " in line for line in lines):
                    errors.append(f"product {sku}: faq lines must read 'Q: ... A: ...'")
            sections[kind] = text
        missing = REQUIRED_KINDS - sections.keys()
        if missing:
            errors.append(f"product {sku}: missing sections {sorted(missing)}")
        by_sku[sku] = sections

    ids: set[str] = set()
    per_product: Counter = Counter()
    per_kind: Counter = Counter()
    for item in questions.get("answerable", []):
        qid, sku, kind, evidence = item.get("id"), item.get("sku"), item.get("section"), item.get("evidence", "")
        if qid in ids:
            errors.append(f"{qid}: duplicate id")
        ids.add(qid)
        check_split(item, errors)
        check_language(item, errors)
        if not item.get("question", "").strip():
            errors.append(f"{qid}: empty question")
        if sku not in by_sku:
            errors.append(f"{qid}: unknown sku {sku}")
            continue
        if kind not in by_sku[sku]:
            errors.append(f"{qid}: {sku} has no {kind} section")
            continue
        text = by_sku[sku][kind]
        if evidence not in text:
            errors.append(f"{qid}: evidence is not a verbatim substring of {sku}/{kind}: {evidence!r}")
        if not 3 <= len(evidence.split()) <= 20:
            errors.append(f"{qid}: evidence has {len(evidence.split())} words (3 to 20 expected)")
        if "\n" in evidence:
            errors.append(f"{qid}: evidence spans two FAQ entries")
        for other_kind, other_text in by_sku[sku].items():
            if other_kind != kind and evidence in other_text:
                errors.append(f"{qid}: evidence also appears in {sku}/{other_kind}")
        for other_sku, other_sections in by_sku.items():
            if other_sku != sku and any(evidence in t for t in other_sections.values()):
                warnings.append(f"{qid}: evidence also appears in product {other_sku}")
        per_product[sku] += 1
        per_kind[kind] += 1

    per_category: Counter = Counter()
    for item in questions.get("refused", []):
        qid, category = item.get("id"), item.get("category")
        if qid in ids:
            errors.append(f"{qid}: duplicate id")
        ids.add(qid)
        check_split(item, errors)
        check_language(item, errors)
        if category not in CATEGORIES:
            errors.append(f"{qid}: unknown category {category!r}")
        if not item.get("question", "").strip() or not item.get("why", "").strip():
            errors.append(f"{qid}: empty question or why")
        per_category[category] += 1

    check_held_out_share("answerable", questions.get("answerable", []), errors)
    check_held_out_share("refused", questions.get("refused", []), errors)
    if sum(per_product.values()) < 60:
        errors.append(f"only {sum(per_product.values())} answerable questions (60 expected)")
    for sku in by_sku:
        if not 4 <= per_product[sku] <= 10:
            errors.append(f"{sku}: {per_product[sku]} answerable questions (4 to 10 expected)")
    for kind in KINDS - per_kind.keys():
        errors.append(f"no answerable question targets a {kind} section")
    if sum(per_category.values()) < 20:
        errors.append(f"only {sum(per_category.values())} refused questions (20 expected)")
    for category, least in CATEGORIES.items():
        if per_category[category] < least:
            errors.append(f"{category}: {per_category[category]} refused questions ({least} expected)")

    for line in warnings:
        print(f"warning: {line}")
    if errors:
        for line in errors:
            print(f"error: {line}")
        return 1
    print(f"{len(by_sku)} products, {sum(per_product.values())} answerable, {sum(per_category.values())} refused")
    print("per product:  " + ", ".join(f"{k} {v}" for k, v in per_product.items()))
    print("per section:  " + ", ".join(f"{k} {v}" for k, v in sorted(per_kind.items())))
    print("per category: " + ", ".join(f"{k} {v}" for k, v in sorted(per_category.items())))
    for name in ("answerable", "refused"):
        splits = Counter(item["split"] for item in questions.get(name, []))
        print(f"{name + ':':<14}" + ", ".join(f"{k} {v}" for k, v in sorted(splits.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
