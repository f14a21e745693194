"""The release gate: ``onglass gate RESULTS_DIR --policy FILE``.

Reads one run's Allure results, takes the last attempt of each test (lab-broken tests are
rerun by the plugin), and applies the policy:

    # gate-policy.yaml
    blocking_tiers: [1]            # any product defect in a scenario of these tiers blocks
    max_product_defects: 0         # product defects allowed in the other tiers
    max_broken: 2                  # tests still broken by the lab after their rerun allowed
    max_test_errors: 0             # tests broken by their own code (not the lab) allowed

Product defects are *failed* tests; lab problems are *broken* ones that the plugin labelled
``onglass_outcome=lab`` and never count as defects; other broken tests (an exception in the
scenario's own code) are test errors. Writes a summary JSON and JUnit XML; blocks (exit 1) only when the policy is
violated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import yaml


class GateError(Exception):
    """Bad results folder or policy file; the message names it and the problem."""


@dataclass(frozen=True)
class Policy:
    blocking_tiers: tuple[str, ...] = ("1",)
    max_product_defects: int = 0
    max_broken: int = 2
    max_test_errors: int = 0


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise GateError(f"{path}: cannot read policy ({error})") from None
    if not isinstance(data, dict):
        raise GateError(f"{path}: expected a mapping of policy settings")
    known = {"blocking_tiers", "max_product_defects", "max_broken", "max_test_errors"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise GateError(
            f"{path}: {unknown[0]}: unknown setting (known: {', '.join(sorted(known))})"
        )
    tiers = data.get("blocking_tiers", [1])
    if not isinstance(tiers, list):
        raise GateError(f"{path}: blocking_tiers: expected a list, got {tiers!r}")
    limits = {}
    for name in ("max_product_defects", "max_broken", "max_test_errors"):
        value = data.get(name, getattr(Policy, name))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise GateError(f"{path}: {name}: expected a whole number >= 0, got {value!r}")
        limits[name] = value
    return Policy(tuple(str(t) for t in tiers), **limits)


@dataclass
class TestOutcome:
    name: str
    full_name: str
    tier: str | None
    attempts: list[str] = field(default_factory=list)
    message: str = ""
    lab: bool = False  # broken by the lab (labelled by the plugin), not by the test's code

    @property
    def status(self) -> str:
        return self.attempts[-1]


def read_results(results_dir: str | Path) -> list[TestOutcome]:
    """Every test of an Allure results folder, its attempts in order."""
    folder = Path(results_dir)
    files = sorted(folder.glob("*-result.json")) if folder.is_dir() else []
    if not files:
        raise GateError(f"{folder}: no Allure results here (run pytest with --alluredir)")
    runs: dict[str, list[dict[str, Any]]] = {}
    for path in files:
        try:
            result = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise GateError(f"{path}: unreadable result ({error})") from None
        key = result.get("historyId") or result.get("fullName") or result.get("name", path.name)
        runs.setdefault(key, []).append(result)
    outcomes = []
    for attempts in runs.values():
        attempts.sort(key=lambda r: r.get("start", 0))
        last = attempts[-1]
        labels = {label["name"]: label["value"] for label in last.get("labels", [])}
        message = (last.get("statusDetails") or {}).get("message") or ""
        outcomes.append(
            TestOutcome(
                name=last.get("name", "?"),
                full_name=last.get("fullName", last.get("name", "?")),
                tier=labels.get("tier"),
                attempts=[r.get("status", "unknown") for r in attempts],
                message=" | ".join(line.strip() for line in message.splitlines() if line.strip())[
                    :400
                ],
                lab=labels.get("onglass_outcome") == "lab",
            )
        )
    return sorted(outcomes, key=lambda o: o.full_name)


def evaluate(outcomes: list[TestOutcome], policy: Policy) -> dict[str, Any]:
    """The gate's summary: verdict, reasons, totals, reruns and every test's outcome."""
    failed = [o for o in outcomes if o.status == "failed"]
    broken = [o for o in outcomes if o.status == "broken" and o.lab]
    errors = [o for o in outcomes if o.status == "broken" and not o.lab]
    blocking = [o for o in failed if o.tier in policy.blocking_tiers]
    elsewhere = [o for o in failed if o.tier not in policy.blocking_tiers]
    reasons = [
        f"product defect in tier-{o.tier} scenario {o.full_name}: {o.message}" for o in blocking
    ]
    if len(elsewhere) > policy.max_product_defects:
        reasons.append(
            f"{len(elsewhere)} product defect(s) outside the blocking tiers "
            f"(allowed: {policy.max_product_defects})"
        )
    if len(errors) > policy.max_test_errors:
        reasons.append(
            f"{len(errors)} test(s) broken by their own code, not the lab "
            f"(allowed: {policy.max_test_errors}): " + ", ".join(o.full_name for o in errors[:5])
        )
    if len(broken) > policy.max_broken:
        reasons.append(
            f"{len(broken)} test(s) still broken by the lab after rerun (allowed: {policy.max_broken})"
        )
    reruns = [
        {"test": o.full_name, "attempts": o.attempts, "final": o.status}
        for o in outcomes
        if len(o.attempts) > 1
    ]
    totals: dict[str, int] = {}
    for o in outcomes:
        totals[o.status] = totals.get(o.status, 0) + 1
    return {
        "schema": "onglass.gate/1",
        "verdict": "block" if reasons else "pass",
        "reasons": reasons,
        "policy": {
            "blocking_tiers": list(policy.blocking_tiers),
            "max_product_defects": policy.max_product_defects,
            "max_broken": policy.max_broken,
            "max_test_errors": policy.max_test_errors,
        },
        "totals": totals,
        "reruns": reruns,
        "tests": [
            {
                "test": o.full_name,
                "tier": o.tier,
                "status": o.status,
                "attempts": o.attempts,
                "message": o.message,
                "lab": o.lab,
            }
            for o in outcomes
        ],
    }


def junit_xml(summary: dict[str, Any]) -> bytes:
    """The gate's tests as JUnit XML: failed -> <failure>, broken -> <error>."""
    tests = summary["tests"]
    suite = ElementTree.Element(
        "testsuite",
        name="onglass gate",
        tests=str(len(tests)),
        failures=str(sum(t["status"] == "failed" for t in tests)),
        errors=str(sum(t["status"] == "broken" for t in tests)),
        skipped=str(sum(t["status"] == "skipped" for t in tests)),
    )
    for test in tests:
        classname, _, name = test["test"].rpartition("#")
        case = ElementTree.SubElement(
            suite, "testcase", classname=classname, name=name or test["test"]
        )
        if test["status"] == "failed":
            ElementTree.SubElement(case, "failure", message=test["message"], type="product defect")
        elif test["status"] == "broken":
            ElementTree.SubElement(case, "error", message=test["message"], type="infrastructure")
        elif test["status"] == "skipped":
            ElementTree.SubElement(case, "skipped")
        if len(test["attempts"]) > 1:
            ElementTree.SubElement(case, "system-out").text = "attempts: " + ", ".join(
                test["attempts"]
            )
    return ElementTree.tostring(suite, encoding="utf-8", xml_declaration=True)
