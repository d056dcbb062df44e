"""JSON Schema of every contract, as published in `models/schemas/` for banks and the FIU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from models.alerts import Alert, DeadLetter
from models.events import AccountEvent, Indicator, Transaction

__all__ = ["SCHEMA_DIR", "CONTRACTS", "render_schemas", "write_schemas"]

SCHEMA_DIR = Path(__file__).parent / "schemas"

# topic -> (model, mode): inputs are described as we accept them, outputs as we write them.
CONTRACTS: dict[str, tuple[type[BaseModel], Literal["validation", "serialization"]]] = {
    "transactions": (Transaction, "validation"),
    "accounts": (AccountEvent, "validation"),
    "osint.indicators": (Indicator, "validation"),
    "fiu.alerts": (Alert, "serialization"),
    "monitor.dlq": (DeadLetter, "serialization"),
}


def render_schemas() -> dict[str, str]:
    """File name -> JSON Schema text, deterministic (sorted keys, trailing newline)."""
    out = {}
    for topic, (model, mode) in CONTRACTS.items():
        schema = model.model_json_schema(mode=mode)
        schema["$id"] = f"urn:txmon:contract:{topic}"
        schema["title"] = f"{topic} ({model.__name__})"
        out[f"{topic}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
