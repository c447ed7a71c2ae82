#!/usr/bin/env python3
"""Transform a SAM template into the CloudFormation template AWS would deploy.

Runs aws-sam-translator (the transform `sam deploy` and CloudFormation's
AWS::Serverless-2016-10-31 use) offline, as `sam package` + the managed
transform would:

  * every function's local CodeUri (e.g. ".") becomes --code-uri
    (s3://bucket/key of the uploaded zip), as `sam package` does;
  * AWS managed policy names resolve from the map aws-sam-translator ships
    (samtranslator/internal/data/aws_managed_policies.json), instead of
    listing IAM's policies over the network.

Usage: sam-transform.py TEMPLATE --code-uri s3://BUCKET/KEY [--region R]
       [--parameter Name=Value ...]   > transformed.json

Used by internal/rehearsal (make rehearsal). Needs: pip install aws-sam-translator
"""

import argparse
import json
import os
import sys
from importlib import resources


def managed_policies():
    data = resources.files("samtranslator").joinpath("internal/data/aws_managed_policies.json")
    return json.loads(data.read_text())["aws"]


class OfflinePolicyLoader:
    """ManagedPolicyLoader without IAM: the translator's bundled map."""

    def load(self):
        return managed_policies()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("template")
    ap.add_argument("--code-uri", required=True, help="s3://bucket/key replacing local CodeUri values")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()

    # The translator takes the region (AWS::Region, ARNs it builds) from boto3's session.
    os.environ["AWS_DEFAULT_REGION"] = args.region
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    with open(args.template, encoding="utf-8") as f:
        template = yaml_parse(f.read())

    for name, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        uri = res.get("Properties", {}).get("CodeUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            res["Properties"]["CodeUri"] = args.code_uri

    params = {}
    for p in args.parameter:
        name, sep, value = p.partition("=")
        if not sep:
            sys.exit(f"--parameter {p!r}: want Name=Value")
        params[name] = value

    try:
        out = transform(template, params, OfflinePolicyLoader())
    except InvalidDocumentException as e:
        causes = "; ".join(c.message for c in e.causes)
        sys.exit(f"sam-transform: {e.message} {causes}")
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
