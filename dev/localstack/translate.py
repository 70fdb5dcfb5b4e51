"""What `sam package` and `sam deploy` do before CloudFormation, for the
local stack (dev/localstack/deploy.go runs it with python3; laptop only).

Usage: python3 translate.py TEMPLATE BUCKET CONFIG_ENV

Reads the SAM template, points every AWS::Serverless::Function's CodeUri at
s3://BUCKET/<LogicalId>.zip (as `sam package` would after `sam build`),
inlines each AWS::Serverless::StateMachine's DefinitionUri as Definition
(moto's CloudFormation cannot load a definition from S3), translates the
template with aws-sam-translator, the library `sam deploy` and CloudFormation
use, and reads the parameter_overrides and stack_name of CONFIG_ENV's deploy
section in samconfig.toml next to the template. Prints one JSON object:
{"template": <translated template>, "parameters": {...}, "stack_name": "..."}.
"""

import json
import os
import shlex
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class ManagedPolicies:
    """The AWS managed policies SAM adds by name. sam deploy asks IAM; the
    local stack has no account to ask."""

    def load(self):
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        }


def samconfig(directory, env):
    path = os.path.join(directory, "samconfig.toml")
    if not os.path.exists(path):
        return {}, ""
    if tomllib is None:
        sys.exit("reading samconfig.toml needs Python 3.11 or later (tomllib)")
    with open(path, "rb") as f:
        config = tomllib.load(f)
    section = config.get(env, {})
    deploy = section.get("deploy", {}).get("parameters", {})
    stack_name = deploy.get("stack_name") or section.get("global", {}).get("parameters", {}).get("stack_name", "")
    overrides = deploy.get("parameter_overrides", "")
    if isinstance(overrides, list):
        overrides = " ".join(overrides)
    params = {}
    for item in shlex.split(overrides):
        key, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"samconfig.toml [{env}.deploy.parameters] parameter_overrides: {item!r} is not Key=Value")
        params[key] = value
    return params, stack_name


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: translate.py TEMPLATE BUCKET CONFIG_ENV")
    template_path, bucket, env = sys.argv[1:]
    directory = os.path.dirname(os.path.abspath(template_path))
    with open(template_path) as f:
        template = yaml_parse(f.read())
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.setdefault("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://{bucket}/{logical_id}.zip"
        elif resource.get("Type") == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            uri = props.pop("DefinitionUri")
            if not isinstance(uri, str) or uri.startswith("s3://"):
                sys.exit(f"{logical_id}: DefinitionUri must be a local file for the local stack, got {uri!r}")
            with open(os.path.join(directory, uri)) as f:
                props["Definition"] = json.load(f)
    translated = transform(template, {}, ManagedPolicies())
    params, stack_name = samconfig(directory, env)
    json.dump({"template": translated, "parameters": params, "stack_name": stack_name}, sys.stdout)


if __name__ == "__main__":
    main()
