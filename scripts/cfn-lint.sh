#!/usr/bin/env bash
# cfn-lint on template.yaml, the SAM transform included (cfn-lint runs
# aws-sam-translator on templates with Transform: AWS::Serverless-2016-10-31).
# Any error, warning or informational finding fails. Install the tool with
# `pip install cfn-lint` (it brings aws-sam-translator).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v cfn-lint >/dev/null 2>&1; then
  lint=(cfn-lint)
elif python3 -c 'import cfnlint' >/dev/null 2>&1; then
  lint=(python3 -c 'import sys; from cfnlint.runner import main; sys.exit(main())')
else
  echo "cfn-lint is not installed: pip install cfn-lint" >&2
  exit 1
fi
"${lint[@]}" --version
"${lint[@]}" template.yaml
echo "template.yaml: cfn-lint clean (no error, warning or informational finding)"
