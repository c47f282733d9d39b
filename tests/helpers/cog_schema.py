"""What ``cog build`` puts in an image as ``.cog/openapi_schema.json``, made here from ``predict.py``.

The cog server (coglet) serves ``GET /openapi.json`` from that file and checks every request against its ``Input``
schema; ``cog build`` writes it with a Go parser that reads the predictor's source without running it, which
cannot run here. This stand-in applies that parser's rule (each ``Input()`` argument a plain literal: a string
in one pair of quotes without escapes, a number, a bool, a list of them; anything else the parser drops without a
word) and takes the inputs from the cog SDK's own reading of the predictor, laid out as ``cog build`` lays them
out (``pkg/schema/openapi_spec.go``: ``x-order``, ``minimum``/``maximum``, choices as an enum schema).
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml


def predictor_reference(cog_yaml: Path) -> tuple[Path, str]:
    """(predictor file, class name) of ``cog.yaml``'s ``predict:`` entry."""
    file, name = yaml.safe_load(cog_yaml.read_text())["predict"].split(":")
    return cog_yaml.parent / file, name


def static_parse_problems(predictor: Path) -> list[str]:
    """The ``Input()`` arguments of ``predictor`` that ``cog build``'s parser would not read as written."""
    source = predictor.read_text()
    problems = []
    for call in ast.walk(ast.parse(source)):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Input":
            for keyword in call.keywords:
                values = keyword.value.elts if isinstance(keyword.value, ast.List) else [keyword.value]
                problems += [f"line {value.lineno}: {keyword.arg}={ast.get_source_segment(source, value)}"
                             for value in values if not _plain_literal(ast.get_source_segment(source, value))]
    return problems


def _plain_literal(text: str) -> bool:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return False
    if isinstance(value, str):  # the parser keeps what stands between the first and the last quote
        return text[0] in "\"'" and text[-1] == text[0] and text[1:-1] == value and not text.startswith(text[0] * 3)
    return isinstance(value, (bool, int, float))


def predictor_info(predictor: Path, name: str) -> Any:
    """The cog SDK's reading of ``predictor``'s class ``name`` (imported from its folder): ``.inputs`` (name ->
    ``InputField``) and ``.output``."""
    from cog import _inspector

    sys.path.insert(0, str(predictor.parent))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # BasePredictor / predict(), as the issue asks
            importlib.invalidate_caches()
            return _inspector.create_predictor(predictor.stem, name)
    finally:
        sys.path.remove(str(predictor.parent))


def openapi_schema(predictor: Path, name: str) -> dict:
    """The OpenAPI document ``cog build`` would bundle for the predictor (its ``Input`` and ``Output`` parts)."""
    problems = static_parse_problems(predictor)
    assert not problems, f"cog build would not read these Input() arguments of {predictor.name}: {problems}"
    info = predictor_info(predictor, name)
    properties, required, enums = {}, [], {}
    for field_name, field in info.inputs.items():
        prop: dict[str, Any] = {"x-order": field.order}
        if field.choices:
            enums[field_name] = {"title": field_name, "description": "An enumeration.", "enum": field.choices,
                                 "type": field.type.json_type()["type"]}
            prop["allOf"] = [{"$ref": f"#/components/schemas/{field_name}"}]
        else:
            prop |= {"title": field_name.replace("_", " ").title(), **field.type.json_type()}
        if field.default is None:
            required.append(field_name)
        else:
            prop["default"] = field.default
        prop |= {key: value for key, value in (("description", field.description), ("minimum", field.ge),
                                                ("maximum", field.le)) if value is not None}
        properties[field_name] = prop
    request = {"title": "PredictionRequest", "type": "object",
               "properties": {"id": {"title": "Id", "type": "string"},
                              "input": {"$ref": "#/components/schemas/Input"}}}
    return {"openapi": "3.0.2", "info": {"title": "Cog", "version": "0.1.0"},
            "paths": {"/predictions": {"post": {"summary": "Predict", "operationId": "predict_predictions_post",
                                                "requestBody": {"content": {"application/json": {"schema": {
                                                    "$ref": "#/components/schemas/PredictionRequest"}}}}}}},
            "components": {"schemas": {
                "Input": {"title": "Input", "type": "object", "properties": properties, "required": required},
                "Output": info.output.json_type(),
                "PredictionRequest": request, **enums}}}


def write_bundled_schema(project: Path, predictor: Path, name: str) -> Path:
    """``project/.cog/openapi_schema.json``, where the cog server looks (relative to its working folder)."""
    path = project / ".cog" / "openapi_schema.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(openapi_schema(predictor, name)))
    return path
