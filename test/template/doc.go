// Package template holds no code: its tests pin the deployment contract of
// the repository's template.yaml (the AWS SAM template) and samconfig.toml.
//
// The tests read ../../template.yaml three ways:
//   - goformation's typed model (goformation.Open), for the function's
//     runtime settings and events;
//   - the raw document (goformation's intrinsics.ProcessYAML with NoProcess),
//     where the typed model drops something: environment values, IAM
//     statements, LoggingConfig, the SQS event's FunctionResponseTypes and
//     the HTTP API's OpenAPI body;
//   - a rendered document: the same processor evaluating Conditions, Fn::If,
//     Fn::Sub and friends for given parameter values, to check what
//     CloudFormation would deploy for each ReadRouteAuthorization and
//     optional forwarding destination.
//
// They assert the runtime (provided.al2023, bootstrap, arm64 by default, makefile
// build), every trigger and its authorization, the environment variables
// listed in docs/CONFIGURATION.md, least-privilege IAM with no "*" in any action or
// resource, the retry queue's redrive to its dead-letter queue, the alarms
// (those on the function's EMF metrics checked against the lines the code
// writes), and the outputs. TestCfnLint runs cfn-lint (with the SAM transform) on the
// template, as `make lint-template` and .ci/run do.
package template
