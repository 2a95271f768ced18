"""Counts the stack's resources after the SAM transform, offline, against CloudFormation's limit
of 500 resources per stack, and fails well before it.

samtranslator (the SAM CLI's own transform) expands every AWS::Serverless::* resource as
CloudFormation will: a function becomes its role, its permissions, its event source mappings and
its routes. Managed policies are named, not looked up, so no AWS account is needed.
"""

import os
import sys

# The transform fills in pseudo parameters (AWS::Region); any region gives the same count.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

LIMIT = 500
# Fail at 80% of the limit: each new function adds about five resources, so this leaves room to
# split the stack (see the README) before a deployment is refused.
BUDGET = 400


class NamedPolicies:
    """Managed policies by name, as ARNs (the transform asks only for the names it meets)."""

    def load(self):
        return {}


def main(path):
    with open(path, encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    before = len(template["Resources"])
    # As `sam package` leaves it: each function's code uploaded to S3.
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and not str(properties.get("CodeUri", "")).startswith("s3://"):
            properties["CodeUri"] = f"s3://artifacts/{logical_id}.zip"
    parameters = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
    transformed = transform(template, parameters, NamedPolicies())
    resources = transformed["Resources"]
    kinds = {}
    for resource in resources.values():
        kinds[resource["Type"]] = kinds.get(resource["Type"], 0) + 1
    functions = kinds.get("AWS::Lambda::Function", 0)
    print(f"stack size: {before} resources in template.yaml, {len(resources)} after the SAM transform "
          f"({functions} functions), against CloudFormation's limit of {LIMIT} and our budget of {BUDGET}")
    for kind, count in sorted(kinds.items(), key=lambda item: -item[1])[:8]:
        print(f"  {count:4d} {kind}")
    if len(resources) > BUDGET:
        print(f"error: {len(resources)} resources after the transform pass the budget of {BUDGET} "
              f"(CloudFormation refuses a stack of more than {LIMIT}): split the stack into nested "
              "stacks as the README's deployment section describes", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
