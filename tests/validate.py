#!/usr/bin/env python3
"""Validate kiltx outputs with the real validators, against their inputs.

Usage: validate.py PAIRS.json
PAIRS.json is a list of {"input": PATH, "output": PATH, "kind": "cloudformation"|"taskdef"|"describe"|"containers"}.

- cloudformation: cfn-lint; every error (level E) in the output must already be in the input
  (compared by rule id and JSON path).
- taskdef / containers: botocore's ParamValidator against the ECS RegisterTaskDefinition input
  shape (a containers array is wrapped as {"family": ..., "containerDefinitions": [...]}); every
  validation problem in the output must already be in the input.

Exits 1 and prints each new problem if there is any; 0 otherwise. A missing validator is an
error (exit 2), never a skip.
"""
import json
import subprocess
import sys

try:
    import botocore.session
    from botocore.validate import ParamValidator
except ImportError as e:  # pragma: no cover
    print(f"validate.py: botocore is not installed: {e}", file=sys.stderr)
    sys.exit(2)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def cfn_lint_errors(paths):
    """{path: set((rule, json_path))} for level-E findings, from one cfn-lint run."""
    out = {p: set() for p in paths}
    if not paths:
        return out
    proc = subprocess.run(
        ["cfn-lint", "--format", "json", "--", *paths],
        capture_output=True,
        text=True,
    )
    # cfn-lint exits non-zero when it finds something; only a crash has no JSON.
    try:
        findings = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        print(f"validate.py: cfn-lint failed (exit {proc.returncode}):\n{proc.stderr}", file=sys.stderr)
        sys.exit(2)
    if proc.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) and not findings:
        print(f"validate.py: cfn-lint failed (exit {proc.returncode}):\n{proc.stderr}", file=sys.stderr)
        sys.exit(2)
    for f in findings:
        if f.get("Level") != "Error":
            continue
        path = tuple(str(x) for x in f.get("Location", {}).get("Path") or [])
        out.setdefault(f["Filename"], set()).add((f["Rule"]["Id"], path, f.get("Message", "")))
    return out


SHAPE = None


def register_shape():
    global SHAPE
    if SHAPE is None:
        session = botocore.session.get_session()
        model = session.get_service_model("ecs")
        SHAPE = model.operation_model("RegisterTaskDefinition").input_shape
    return SHAPE


def boto_problems(doc, kind):
    if kind == "describe":
        kind = "taskdef"
    if kind == "containers":
        doc = {"family": "kiltx-validate", "containerDefinitions": doc}
    report = ParamValidator().validate(doc, register_shape())
    if not report.has_errors():
        return set()
    return set(line.strip() for line in report.generate_report().splitlines() if line.strip().startswith("-") or "Invalid" in line or "Unknown" in line or "Missing" in line)


def main():
    pairs = load_json(sys.argv[1])
    problems = []
    cfn = [p for p in pairs if p["kind"] == "cloudformation"]
    before = cfn_lint_errors([p["input"] for p in cfn])
    after = cfn_lint_errors([p["output"] for p in cfn])
    for p in cfn:
        new = {(r, path) for (r, path, _m) in after.get(p["output"], set())} - {
            (r, path) for (r, path, _m) in before.get(p["input"], set())
        }
        for r, path in sorted(new):
            msg = next(m for (rr, pp, m) in after[p["output"]] if (rr, pp) == (r, path))
            problems.append(f"{p['output']} (from {p['input']}): cfn-lint {r} at {'/'.join(path)}: {msg}")
    checked_td = 0
    for p in pairs:
        if p["kind"] not in ("taskdef", "containers", "describe"):
            continue
        checked_td += 1
        # describe-task-definition output is not register input; the patched result must be.
        baseline = set() if p["kind"] == "describe" else boto_problems(load_json(p["input"]), p["kind"])
        new = boto_problems(load_json(p["output"]), p["kind"]) - baseline
        for line in sorted(new):
            problems.append(f"{p['output']} (from {p['input']}): botocore: {line}")
    for line in problems:
        print(line)
    print(f"validate.py: {len(cfn)} template(s) through cfn-lint, {checked_td} task definition(s) through botocore, {len(problems)} new problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
