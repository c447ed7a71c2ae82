// Package benchdata holds the peer cmd/bench measures the real bootstrap
// against: bare, the least code doing the same job (the SDK's
// GetSecretValue, one net/http GET with Basic auth, json.Decode into a
// struct; for a webhook one SQS SendMessage more), and barepeer, its Lambda
// entry point, built exactly like the bootstrap (localenv.BuildLambda:
// CGO_ENABLED=0, -tags lambda.norpc, -trimpath, -ldflags='-s -w').
// internal/trigger's in-process benchmarks call bare.Handler too.
// hello answers a fixed 200: its cold first response is the floor's
// fixed part (cmd/bench adds the round trips).
// nodepeer is the official-SDK peer: the read as SignalWire's docs show it
// in Node.js, with its package-lock.json and a minimal Runtime API loop.
package benchdata
