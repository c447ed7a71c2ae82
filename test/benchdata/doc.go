// Package benchdata holds the baseline Lambda functions cmd/bench measures
// the real bootstrap against. Each subdirectory is a tiny main package built
// exactly like the bootstrap (localenv.BuildLambda: CGO_ENABLED=0, -tags
// lambda.norpc, -trimpath, -ldflags='-s -w'):
//
//   - hello: aws-lambda-go only, echoing its input;
//   - minsdk: aws-lambda-go plus aws-sdk-go-v2's config.LoadDefaultConfig
//     and a Secrets Manager client built at init and unused per request;
//   - minsdkcall: minsdk with a reachable GetSecretValue call (made only for
//     an event naming a secret), so that it links the SDK's request
//     pipeline, which minsdk's linker drops: a diagnostic baseline.
package benchdata
