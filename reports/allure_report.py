"""Generating the Allure report: ``onglass report RESULTS_DIR -o OUT``.

Allure 3 (npm ``allure``, pinned to ``ALLURE_VERSION``) is used rather than Allure 2: it needs
no Java, writes a single self-contained HTML file that opens from ``file://``, keeps history
in one JSONL file, and takes categories and per-device environments from one config file.

Categories, first match wins: known issues from the lab's file, then product defects per
detector, then other product failures, then infrastructure problems (no signal, capture
drops and stalls, transport errors, other). One environment per device model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from detectors.registry import DETECTORS

ALLURE_VERSION = "3.18.0"
"""The Allure report generator version scripts/bootstrap installs."""
TOOLS_DIR = Path(__file__).resolve().parents[1] / ".tools" / "allure"
"""Where scripts/bootstrap installs Allure (``npm install --prefix``)."""


class ReportError(Exception):
    """The report could not be made; the message says why in one line."""


def find_allure() -> str:
    """The ``allure`` command: $ONGLASS_ALLURE, the bootstrap install, or PATH."""
    candidates = [
        os.environ.get("ONGLASS_ALLURE"),
        str(TOOLS_DIR / "node_modules" / ".bin" / "allure"),
        shutil.which("allure"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise ReportError(
        f"the Allure {ALLURE_VERSION} generator is not installed (run scripts/bootstrap, "
        f"or set ONGLASS_ALLURE)"
    )


def load_known_issues(path: str | Path | None) -> list[dict[str, str]]:
    """The lab's known issues: a YAML list of {name, detector?, scenario?, message?}.

    ``scenario`` and ``message`` are regular expressions; ``detector`` is a detector name.
    """
    if path is None:
        return []
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or []
    except (OSError, yaml.YAMLError) as error:
        raise ReportError(f"{path}: cannot read known issues ({error})") from None
    if not isinstance(data, list):
        raise ReportError(f"{path}: expected a list of known issues")
    issues = []
    for i, entry in enumerate(data):
        where = f"{path}: entry {i + 1}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ReportError(f"{where}: needs a 'name'")
        unknown = set(entry) - {"name", "detector", "scenario", "message"}
        if unknown:
            raise ReportError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        if len(entry) == 1:
            raise ReportError(f"{where}: needs at least one of detector, scenario, message")
        for key in ("scenario", "message"):
            if key in entry:
                try:
                    re.compile(str(entry[key]))
                except re.error as error:
                    raise ReportError(
                        f"{where}: {key} is not a regular expression ({error})"
                    ) from None
        issues.append({k: str(v) for k, v in entry.items()})
    return issues


def categories(known_issues: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Allure 3 category rules (regex strings), in matching order."""
    rules: list[dict[str, Any]] = []
    for issue in known_issues:
        matcher: dict[str, Any] = {"statuses": ["failed", "broken"]}
        labels = {}
        if "detector" in issue:
            labels["defect"] = f"^{re.escape(issue['detector'])}$"
        if "scenario" in issue:
            labels["scenario"] = issue["scenario"]
        if labels:
            matcher["labels"] = labels
        if "message" in issue:
            matcher["message"] = issue["message"]
        rules.append({"name": f"Known issue: {issue['name']}", "matchers": [matcher]})
    for detector in DETECTORS:
        rules.append(
            {
                "name": f"Product defect: {detector}",
                "matchers": [{"statuses": ["failed"], "labels": {"defect": f"^{detector}$"}}],
            }
        )
    rules += [
        {"name": "Product defect: other", "matchers": [{"statuses": ["failed"]}]},
        {
            "name": "Infrastructure: no signal",
            "matchers": [{"statuses": ["broken"], "message": "no signal|no video"}],
        },
        {
            "name": "Infrastructure: capture drops and stalls",
            "matchers": [{"statuses": ["broken"], "message": "capture (lost|stalled)|fell behind"}],
        },
        {
            "name": "Infrastructure: transport errors",
            "matchers": [{"statuses": ["broken"], "trace": "TransportError"}],
        },
        {"name": "Infrastructure: other", "matchers": [{"statuses": ["broken"]}]},
    ]
    return rules


def device_models(results_dir: Path) -> list[str]:
    """Every ``device_model`` label value in an Allure results folder."""
    models = set()
    for path in results_dir.glob("*-result.json"):
        try:
            labels = json.loads(path.read_text()).get("labels", [])
        except (OSError, json.JSONDecodeError):
            continue
        models |= {label["value"] for label in labels if label.get("name") == "device_model"}
    return sorted(models)


def config_text(
    name: str, history: Path, models: list[str], known_issues: list[dict[str, str]]
) -> str:
    """The ``allurerc.mjs`` for one report: single file, history, categories, environments."""
    environments = ",\n".join(
        f"    {json.dumps(re.sub(r'[^A-Za-z0-9_-]+', '-', model).strip('-') or 'device')}: "
        f"{{ name: {json.dumps(model)}, matcher: ({{ labels }}) => labels.some("
        f"(l) => l.name === 'device_model' && l.value === {json.dumps(model)}) }}"
        for model in models
    )
    plugins = {
        "awesome": {"options": {"singleFile": True, "reportLanguage": "en", "reportName": name}}
    }
    return (
        "export default {\n"
        f"  name: {json.dumps(name)},\n"
        f"  historyPath: {json.dumps(str(history))},\n"
        f"  plugins: {json.dumps(plugins)},\n"
        f"  categories: {json.dumps(categories(known_issues))},\n"
        f"  environments: {{\n{environments}\n  }},\n"
        "};\n"
    )


def generate(
    results_dir: str | Path,
    output_dir: str | Path,
    history: str | Path | None = None,
    known_issues: str | Path | None = None,
    name: str = "onglass",
) -> Path:
    """Make the single-file report in ``output_dir``; returns its ``index.html``."""
    results = Path(results_dir)
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise ReportError(f"{results}: no Allure results here (run pytest with --alluredir)")
    output = Path(output_dir)
    history_path = Path(history) if history else output.parent / "allure-history.jsonl"
    history_path.parent.mkdir(parents=True, exist_ok=True)
    text = config_text(
        name, history_path.resolve(), device_models(results), load_known_issues(known_issues)
    )
    allure = find_allure()
    with tempfile.TemporaryDirectory(prefix="onglass-allure-") as scratch:
        config = Path(scratch) / "allurerc.mjs"
        config.write_text(text)
        done = subprocess.run(
            [
                allure,
                "generate",
                str(results.resolve()),
                "--config",
                str(config),
                "--output",
                str(output.resolve()),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NO_COLOR": "1"},
        )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ReportError(f"allure generate failed: {detail[-1] if detail else done.returncode}")
    index = output / "index.html"
    if not index.exists():
        raise ReportError(f"allure generate wrote no {index}")
    return index
