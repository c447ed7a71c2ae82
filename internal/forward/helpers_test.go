package forward_test

import (
	"bytes"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sivchari/kumo"
)

// awsConfig returns an SDK config that can only reach what a client's
// BaseEndpoint names: static test credentials, no IMDS, no shared files.
func awsConfig(t *testing.T) aws.Config {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	return cfg
}

// exchange is one recorded AWS JSON-protocol request and its response.
type exchange struct {
	Target   string // X-Amz-Target, e.g. "AmazonSQS.SendMessage"
	Request  []byte
	Status   int
	Response []byte
}

// recorder is an http.RoundTripper that records every exchange it carries.
type recorder struct {
	base http.RoundTripper

	mu        sync.Mutex
	exchanges []exchange
}

// newRecorder returns a recorder over a fresh transport that never uses a proxy.
func newRecorder() *recorder {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	return &recorder{base: tr}
}

// RoundTrip records the request and response bodies, leaving both readable.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	r.mu.Lock()
	r.exchanges = append(r.exchanges, exchange{
		Target:   req.Header.Get("X-Amz-Target"),
		Request:  reqBody,
		Status:   resp.StatusCode,
		Response: respBody,
	})
	r.mu.Unlock()
	return resp, nil
}

// calls returns the recorded exchanges whose X-Amz-Target ends in "."+action.
func (r *recorder) calls(action string) []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []exchange
	for _, e := range r.exchanges {
		if strings.HasSuffix(e.Target, "."+action) {
			out = append(out, e)
		}
	}
	return out
}

// kumoEnv is an in-process kumo server with SDK clients whose traffic is recorded.
type kumoEnv struct {
	srv *kumo.Server
	rec *recorder
	sqs *sqs.Client
	eb  *eventbridge.Client
}

// newKumo starts kumo and builds recorded SQS and EventBridge clients on it.
// kumo keeps its state in process-wide storage shared by every server, so
// tests using it must not run in parallel and must use their own resource names.
func newKumo(t *testing.T) *kumoEnv {
	t.Helper()
	cfg := awsConfig(t)
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	rec := newRecorder()
	httpClient := &http.Client{Transport: rec}
	return &kumoEnv{
		srv: srv,
		rec: rec,
		sqs: sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			o.BaseEndpoint = aws.String(srv.URL)
			o.HTTPClient = httpClient
		}),
		eb: eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
			o.BaseEndpoint = aws.String(srv.URL)
			o.HTTPClient = httpClient
		}),
	}
}
