// Package bench holds, in its tests only, benchmarks of the hot spots that
// profiling the function's request paths found (cmd/bench -pprof), each
// beside a prototype of the suggested fix, with a test that the prototype
// gives the same result as the code it would replace. They are evidence for
// the suggestions, not code the function uses:
//
//	go test -run . -bench . -benchmem ./test/bench/
//
// Package trigger's BenchmarkReadPath and BenchmarkWebhookPath measure the
// whole paths; cmd/bench runs those.
package bench
