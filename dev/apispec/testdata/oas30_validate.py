"""Validates a JSON instance (stdin) against one schema of an OpenAPI 3.0
document with openapi-schema-validator's OAS30Validator, which reads
`nullable` strictly (only beside `type`, as OAS 3.0.3 says). It comes with
openapi-spec-validator. Usage: oas30_validate.py openapi.yaml SchemaName
Exit 0: valid; 1: invalid (one line per error); 2: cannot run."""
import json
import sys

try:
    import yaml
    from openapi_schema_validator import OAS30Validator
except ImportError as e:  # make deps installs openapi-spec-validator
    print(f"missing: {e}; pip install openapi-spec-validator", file=sys.stderr)
    sys.exit(2)

spec = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
schema = {"$ref": "#/components/schemas/" + sys.argv[2], "components": spec["components"]}
errors = list(OAS30Validator(schema).iter_errors(json.load(sys.stdin)))
for e in errors:
    print("/".join(map(str, e.absolute_path)) or "(root)", ":", e.message[:300])
sys.exit(1 if errors else 0)
