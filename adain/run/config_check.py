"""A configuration's problems in a few lines: each wrong key once, with the nearest valid key.

Snakemake's own schema check prints the whole schema and configuration (hundreds of lines) for
one misspelt key; :func:`config_problems` says, per problem, which key and what is wrong, and
:func:`refuse` ends the run with just that (no traceback).
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence

__all__ = ["config_problems", "check_config", "refuse"]


def _where(path: Sequence) -> str:
    return ".".join(str(p) for p in path) or "the configuration"


def _unknown_keys(instance: dict, schema: dict, path: Sequence) -> list[str]:
    known = list((schema.get("properties") or {}).keys())
    problems = []
    for key in sorted(set(instance) - set(known), key=str):
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"; did you mean {_where([*path, close[0]])}?" if close else ""
        problems.append(f"{_where([*path, key])}: not a setting{hint} (every key: workflow/schemas/config.schema.yaml)")
    return problems


def config_problems(config: dict, schema: dict) -> list[str]:
    """One line per problem of ``config`` against the workflow's JSON ``schema`` (empty: valid)."""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            problems += _unknown_keys(error.instance, error.schema, list(error.absolute_path))
            continue
        message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
        described = (error.schema.get("description") or "").split(". ")[0].strip()
        hint = f" ({described[:120]})" if described and error.validator in ("enum", "type") else ""
        problems.append(f"{_where(error.absolute_path)}: {message}{hint}")
    return list(dict.fromkeys(problems))


def refuse(problems: Sequence[str], heading: str = "the run cannot start") -> None:
    """End this process with ``problems`` on stderr, nothing else (status 1)."""
    print(f"adain: {heading}:", *(f"  - {p}" for p in problems), sep="\n", file=sys.stderr, flush=True)
    raise SystemExit(1)


def check_config(config: dict, schema: dict) -> None:
    """End the run with :func:`config_problems`' lines if there are any (before Snakemake's own
    schema check, which then only fills in the defaults)."""
    problems = config_problems(config, schema)
    if problems:
        refuse(problems, "the configuration is not valid")
