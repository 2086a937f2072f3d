"""schema_check.py: the part of JSON Schema (2020-12) our export schemas
use, checked with the standard library only: type, enum, const, pattern,
minimum, properties, required, additionalProperties, items, minItems,
maxItems, contains, oneOf, anyOf and local $ref. Unknown keywords fail
loudly, so a schema cannot silently use more than this checks."""
import re

KNOWN = {"$schema", "$id", "$defs", "title", "description", "format", "type", "enum", "const",
         "pattern", "minimum", "properties", "required", "additionalProperties", "items",
         "minItems", "maxItems", "contains", "oneOf", "anyOf", "$ref"}

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def _is_type(v, t):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "null":
        return v is None
    return isinstance(v, TYPES[t])


def errors(schema, value, root=None, path="$"):
    """Every way value fails schema, as strings; [] when it is valid."""
    root = root or schema
    unknown = set(schema) - KNOWN
    assert not unknown, f"schema keywords not checked here: {unknown}"
    out = []
    if "$ref" in schema:
        assert schema["$ref"].startswith("#/$defs/"), schema["$ref"]
        out += errors(root["$defs"][schema["$ref"][8:]], value, root, path)
    if "type" in schema:
        ts = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, t) for t in ts):
            return out + [f"{path}: {value!r:.60} is not {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r:.60} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        out.append(f"{path}: {value!r:.60} != {schema['const']!r}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        out.append(f"{path}: {value!r:.60} does not match {schema['pattern']}")
    if "minimum" in schema and _is_type(value, "number") and value < schema["minimum"]:
        out.append(f"{path}: {value} < {schema['minimum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in value:
                out.append(f"{path}: missing {k}")
        for k, v in value.items():
            if k in props:
                out += errors(props[k], v, root, f"{path}.{k}")
            elif schema.get("additionalProperties") is False:
                out.append(f"{path}: unexpected {k}")
            elif isinstance(schema.get("additionalProperties"), dict):
                out += errors(schema["additionalProperties"], v, root, f"{path}.{k}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, v in enumerate(value):
                out += errors(schema["items"], v, root, f"{path}[{i}]")
        if "contains" in schema and not any(not errors(schema["contains"], v, root) for v in value):
            out.append(f"{path}: no item matches {schema['contains']}")
    if "oneOf" in schema:
        ok = [s for s in schema["oneOf"] if not errors(s, value, root, path)]
        if len(ok) != 1:
            out.append(f"{path}: matches {len(ok)} of oneOf, not exactly 1")
    if "anyOf" in schema and not any(not errors(s, value, root, path) for s in schema["anyOf"]):
        out.append(f"{path}: matches none of anyOf")
    return out
