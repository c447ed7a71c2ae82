package main

// The driver: the mix run in process or under the RIE, one invocation per job.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/signalwire-lambda/participants/test/localenv"
)

// job is one request of the mix.
type job struct {
	kind, shape string
	payload     []byte
}

// invokeFunc runs one invocation: the raw output, the Lambda errorType of a
// function error, or an error when the invocation itself failed.
type invokeFunc func(ctx context.Context, payload []byte) (out []byte, errorType string, err error)

// drive runs jobs with at most concurrency in flight and returns their
// results in job order; it stops handing out jobs when ctx is done.
func drive(ctx context.Context, invoke invokeFunc, jobs []job, concurrency int) []result {
	results := make([]result, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				results[i] = do(ctx, invoke, jobs[i])
			}
		})
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return results
}

// useFunctionEnv makes this process's AWS_* variables and SSL_CERT_FILE
// those of the function's environment (other AWS_* variables, such as
// AWS_CA_BUNDLE or AWS_PROFILE, are unset; shared config files point
// nowhere) and returns a function restoring them.
func useFunctionEnv(env *localenv.Env) (func(), error) {
	want := envMap(env.FunctionEnv())
	want["AWS_CONFIG_FILE"] = filepath.Join(env.Dir, "no-aws-config")
	want["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(env.Dir, "no-aws-credentials")
	saved := map[string]*string{}
	save := func(k string) {
		if _, done := saved[k]; done {
			return
		}
		if v, ok := os.LookupEnv(k); ok {
			saved[k] = &v
		} else {
			saved[k] = nil
		}
	}
	restore := func() {
		for k, v := range saved {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, keep := want[k]; strings.HasPrefix(k, "AWS_") && !keep {
			save(k)
			os.Unsetenv(k)
		}
	}
	for k, v := range want {
		if strings.HasPrefix(k, "AWS_") || k == "SSL_CERT_FILE" {
			save(k)
			if err := os.Setenv(k, v); err != nil {
				restore()
				return nil, err
			}
		}
	}
	return restore, nil
}

func envMap(kvs []string) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// rieInvoker invokes through the emulator; a function error is a 200
// whose body is {"errorMessage":..,"errorType":..}.
func rieInvoker(rie *localenv.RIE) invokeFunc {
	return func(ctx context.Context, payload []byte) ([]byte, string, error) {
		out, err := rie.Invoke(ctx, payload)
		if err != nil {
			return out, "", err
		}
		var fe struct {
			ErrorType    string  `json:"errorType"`
			ErrorMessage *string `json:"errorMessage"`
		}
		if json.Unmarshal(out, &fe) == nil && fe.ErrorType != "" && fe.ErrorMessage != nil {
			return nil, fe.ErrorType, nil
		}
		return out, "", nil
	}
}

// do runs one job and judges its answer.
func do(ctx context.Context, invoke invokeFunc, j job) result {
	ctx, cancel := context.WithTimeout(ctx, invocationTimeout)
	defer cancel()
	start := time.Now()
	out, errorType, err := invoke(ctx, j.payload)
	r := result{latency: time.Since(start)}
	switch {
	case err != nil:
		r.reason = "invoke failed: " + err.Error()
	case j.shape == "direct":
		r.judgeDirect(j.kind, out, errorType)
	case errorType != "":
		r.reason = "HTTP event got Lambda error " + errorType
	default:
		r.judgeHTTP(j.kind, out)
	}
	r.ok = r.reason == ""
	return r
}
