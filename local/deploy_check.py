"""Checks what the README's deployment checklist promises and a command can check, before any
`sam deploy`: the samconfig defaults, that every template parameter is documented in the
checklist, that the outputs the checklist names exist, and that the stack stays within
CloudFormation's resource limit (stack_size.py).
"""

import os
import re
import sys
import tomllib

sys.path.insert(0, os.path.dirname(__file__))
import stack_size  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402


def deploy_section(readme):
    start = readme.index("\n## Deploy")
    end = readme.find("\n## ", start + 1)
    return readme[start:] if end < 0 else readme[start:end]


def main():
    problems = []
    with open("samconfig.toml", "rb") as handle:
        config = tomllib.load(handle)
    deploy = config["default"]["deploy"]["parameters"]
    build = config["default"]["build"]["parameters"]
    if "CAPABILITY_IAM" not in deploy.get("capabilities", ""):
        problems.append("samconfig.toml: deploy needs capabilities = \"CAPABILITY_IAM\" (the functions' roles)")
    if deploy.get("confirm_changeset") is not True:
        problems.append("samconfig.toml: deploy must show the change set first (confirm_changeset = true)")
    if build.get("beta_features") is not True:
        problems.append("samconfig.toml: build needs beta_features = true (rust-cargolambda is a SAM beta feature)")
    if not config["default"]["global"]["parameters"].get("stack_name"):
        problems.append("samconfig.toml: no stack_name")

    with open("template.yaml", encoding="utf-8") as handle:
        template = yaml_parse(handle.read())
    with open("README.md", encoding="utf-8") as handle:
        section = deploy_section(handle.read())
    for parameter in template.get("Parameters", {}):
        if f"`{parameter}`" not in section:
            problems.append(f"README, Deploy: the parameter `{parameter}` is not in the checklist")
    outputs = set(template.get("Outputs", {}))
    for named in sorted(set(re.findall(r"output `([A-Za-z0-9]+)`", section))):
        if named not in outputs:
            problems.append(f"README, Deploy: the checklist names output `{named}`, which template.yaml does not have")
    for secret, resource in template["Resources"].items():
        if resource["Type"] == "AWS::SecretsManager::Secret" and f"`{secret}`" not in section:
            problems.append(f"README, Deploy: the secret `{secret}` is not in the checklist")

    if stack_size.main("template.yaml") != 0:
        problems.append("the stack passes its resource budget")
    for problem in problems:
        print(f"deploy check: {problem}", file=sys.stderr)
    if not problems:
        print(f"deploy check: samconfig defaults, {len(template.get('Parameters', {}))} parameters, "
              f"{len(outputs)} outputs and the stack size agree with the checklist")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
