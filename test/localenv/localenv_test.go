package localenv_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

func start(t *testing.T, opts localenv.Options) *localenv.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	env, err := localenv.Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return env
}

func timeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func getSecret(t *testing.T, env *localenv.Env) map[string]string {
	t.Helper()
	out, err := env.SecretsManager().GetSecretValue(timeout(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(env.SecretName)})
	if err != nil {
		t.Fatalf("GetSecretValue: %v", err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
		t.Fatalf("secret JSON: %v", err)
	}
	return m
}

func TestStartCreatesTheSecret(t *testing.T) {
	env := start(t, localenv.Options{})
	got := getSecret(t, env)
	want := map[string]string{
		"project_id":             sandbox.ProjectID,
		"api_token":              sandbox.APIToken,
		"space_host":             env.Sandbox.Host(),
		"signing_key":            sandbox.SigningKey,
		"forward_signing_secret": sandbox.ForwardSigningSecret,
	}
	if len(got) != len(want) {
		t.Errorf("secret has keys %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("secret[%s] = %q, want %q", k, got[k], v)
		}
	}
	if !strings.HasPrefix(env.SecretName, localenv.DefaultSecretName+"-") || env.SecretARN == "" {
		t.Errorf("SecretName = %q, ARN = %q", env.SecretName, env.SecretARN)
	}

	// The secret's space_host reaches the sandbox with its credentials.
	req, _ := http.NewRequestWithContext(timeout(t), http.MethodGet,
		"https://"+got["space_host"]+sandbox.ParticipantPath(got["project_id"], sandbox.ConferenceStandup, sandbox.CallAlice), nil)
	req.SetBasicAuth(got["project_id"], got["api_token"])
	resp, err := env.Sandbox.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("sandbox with the secret's credentials = %d", resp.StatusCode)
	}

	if err := env.RotateToken(timeout(t), "PTrotated-localenv-token"); err != nil {
		t.Fatal(err)
	}
	if got := getSecret(t, env); got["api_token"] != "PTrotated-localenv-token" || env.Secret().APIToken != "PTrotated-localenv-token" {
		t.Errorf("after RotateToken, secret api_token = %q", got["api_token"])
	}
	if _, tok := env.Sandbox.Credentials(); tok != "PTrotated-localenv-token" {
		t.Errorf("sandbox token = %q", tok)
	}
	if err := env.PutSecretString(timeout(t), "{not json"); err != nil {
		t.Fatal(err)
	}
	out, err := env.SecretsManager().GetSecretValue(timeout(t), &secretsmanager.GetSecretValueInput{SecretId: aws.String(env.SecretARN)})
	if err != nil || aws.ToString(out.SecretString) != "{not json" {
		t.Errorf("GetSecretValue by ARN = %v, %v", out, err)
	}
}

func TestStartCreatesTheQueues(t *testing.T) {
	env := start(t, localenv.Options{MaxReceiveCount: 2})
	ctx := timeout(t)
	for _, q := range []string{env.RetryQueueURL, env.RetryDLQURL, env.DestinationQueueURL} {
		if !strings.HasPrefix(q, env.KumoURL+"/") {
			t.Errorf("queue URL %q is not on kumo (%s)", q, env.KumoURL)
		}
		if n, err := env.QueueDepth(ctx, q); err != nil || n != 0 {
			t.Errorf("QueueDepth(%s) = %d, %v", q, n, err)
		}
	}
	attrs, err := env.SQS().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(env.RetryQueueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	var redrive struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &redrive); err != nil {
		t.Fatalf("RedrivePolicy %q: %v", attrs.Attributes["RedrivePolicy"], err)
	}
	if !strings.HasSuffix(redrive.DeadLetterTargetArn, ":"+env.RetryDLQURL[strings.LastIndex(env.RetryDLQURL, "/")+1:]) ||
		strings.Trim(string(redrive.MaxReceiveCount), `"`) != "2" {
		t.Errorf("RedrivePolicy = %s", attrs.Attributes["RedrivePolicy"])
	}

	// A message received MaxReceiveCount times without deletion moves to the DLQ.
	if _, err := env.SQS().SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(env.RetryQueueURL), MessageBody: aws.String("poison")}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		out, err := env.SQS().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(env.RetryQueueURL)})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[i < 2]; len(out.Messages) != want {
			t.Fatalf("receive #%d got %d messages, want %d", i+1, len(out.Messages), want)
		}
		for _, m := range out.Messages { // make it visible again at once: a failed processing
			if _, err := env.SQS().ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(env.RetryQueueURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	msgs, err := env.WaitMessages(ctx, env.RetryDLQURL, 1)
	if err != nil || aws.ToString(msgs[0].Body) != "poison" {
		t.Fatalf("DLQ: %v, %v", msgs, err)
	}
}

func putEvent(t *testing.T, env *localenv.Env, bus, detailType string, at *time.Time) string {
	t.Helper()
	out, err := env.EventBridge().PutEvents(timeout(t), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(bus),
		Source:       aws.String("signalwire.conference"),
		DetailType:   aws.String(detailType),
		Detail:       aws.String(`{"conference_sid":"` + sandbox.ConferenceStandup + `"}`),
		Time:         at,
	}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v, %+v", err, out)
	}
	return aws.ToString(out.Entries[0].EventId)
}

func TestEventsOnTheBus(t *testing.T) {
	env := start(t, localenv.Options{})
	ctx := timeout(t)
	if _, err := env.EventBridge().DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(env.EventBusName)}); err != nil {
		t.Fatalf("DescribeEventBus: %v", err)
	}
	other := start(t, localenv.Options{}) // shares kumo's process-wide state
	at := time.Date(2026, 11, 26, 10, 15, 0, 0, time.UTC)
	id := putEvent(t, env, env.EventBusName, "participant-join", &at)
	putEvent(t, other, other.EventBusName, "elsewhere", nil)
	putEvent(t, env, env.EventBusName, "participant-leave", nil)

	events, err := env.WaitEvents(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("events = %+v", events)
	}
	ev := events[0]
	if ev.ID != id || ev.Source != "signalwire.conference" || ev.DetailType != "participant-join" ||
		ev.EventBusName != env.EventBusName || ev.Time != "2026-11-26T10:15:00Z" ||
		!strings.Contains(string(ev.Detail), sandbox.ConferenceStandup) {
		t.Errorf("event = %+v", ev)
	}
	var detail map[string]string
	if err := json.Unmarshal(ev.Detail, &detail); err != nil || detail["conference_sid"] != sandbox.ConferenceStandup {
		t.Errorf("Detail %s: %v", ev.Detail, err)
	}
	if events[1].DetailType != "participant-leave" {
		t.Errorf("second event = %+v", events[1])
	}
	if got, err := other.Events(ctx); err != nil || len(got) != 1 || got[0].DetailType != "elsewhere" {
		t.Errorf("other Env's events = %+v, %v", got, err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if got, err := env.WaitEvents(short, 3); err == nil || len(got) != 2 {
		t.Errorf("WaitEvents(3) = %d, %v", len(got), err)
	}
}

func TestFunctionEnv(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
	env := start(t, localenv.Options{})
	vars := func(list []string) map[string]string {
		m := map[string]string{}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			if _, dup := m[k]; dup {
				t.Errorf("duplicate %s", k)
			}
			m[k] = v
		}
		return m
	}
	m := vars(env.FunctionEnv())
	want := map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": env.KumoURL,
		"AWS_ENDPOINT_URL_SQS":             env.KumoURL,
		"AWS_ENDPOINT_URL_EVENTBRIDGE":     env.KumoURL,
		"AWS_ACCESS_KEY_ID":                "test",
		"AWS_SECRET_ACCESS_KEY":            "test",
		"AWS_REGION":                       "us-east-1",
		"AWS_EC2_METADATA_DISABLED":        "true",
		"SSL_CERT_FILE":                    env.CAFile,
		"SIGNALWIRE_SECRET_ID":             env.SecretName,
		"FORWARD_HTTPS_URL":                env.Receiver.URL(),
		"FORWARD_EVENT_BUS":                env.EventBusName,
		"FORWARD_SQS_QUEUE_URL":            env.DestinationQueueURL,
		"RETRY_QUEUE_URL":                  env.RetryQueueURL,
		"DEAD_LETTER_QUEUE_URL":            env.RetryDLQURL,
		"PUBLIC_BASE_URL":                  localenv.DefaultPublicBaseURL,
		"LOG_LEVEL":                        "info",
		"AWS_SAM_LOCAL":                    "true",
		"HOME":                             env.Dir,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	for _, k := range []string{"AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_SESSION_TOKEN"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s is set", k)
		}
	}
	if _, err := os.Stat(env.CAFile); err != nil {
		t.Errorf("CA file: %v", err)
	}

	m = vars(env.FunctionEnv(localenv.WithoutHTTPSDestination(), localenv.WithoutEventBus(), localenv.WithoutSQSDestination(),
		localenv.WithoutRetryQueue(), localenv.WithVar("CREDENTIALS_TTL", "1s"), localenv.WithVar("LOG_LEVEL", "debug"),
		localenv.WithoutVar("PUBLIC_BASE_URL"), localenv.WithVar("PUBLIC_BASE_URL", "https://x.test")))
	for _, k := range []string{"FORWARD_HTTPS_URL", "FORWARD_EVENT_BUS", "FORWARD_SQS_QUEUE_URL", "RETRY_QUEUE_URL"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s is still set", k)
		}
	}
	if m["CREDENTIALS_TTL"] != "1s" || m["LOG_LEVEL"] != "debug" || m["PUBLIC_BASE_URL"] != "https://x.test" {
		t.Errorf("overrides: %v", m)
	}
}

func TestExactNamesAndCleanup(t *testing.T) {
	opts := localenv.Options{ExactNames: true, SecretName: "localenv-test/exact", EventBusName: "localenv-test-exact"}
	for range 2 { // the second Start succeeds only if the first Close deleted the resources
		ctx := timeout(t)
		env, err := localenv.Start(ctx, opts)
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		if env.SecretName != "localenv-test/exact" || env.EventBusName != "localenv-test-exact" {
			t.Errorf("names = %q %q", env.SecretName, env.EventBusName)
		}
		// Events of an earlier Env with the same names are not this one's.
		if got, err := env.Events(ctx); err != nil || len(got) != 0 {
			t.Errorf("fresh Env has events %+v, %v", got, err)
		}
		putEvent(t, env, env.EventBusName, "exact", nil)
		if got, err := env.WaitEvents(ctx, 1); err != nil || len(got) != 1 {
			t.Errorf("WaitEvents = %+v, %v", got, err)
		}
		dir := env.Dir
		if err := env.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := env.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("Dir still exists: %v", err)
		}
	}
}

func TestReceiver(t *testing.T) {
	r := localenv.NewReceiver()
	defer r.Close()
	if !strings.HasPrefix(r.URL(), "https://127.0.0.1:") || !strings.HasSuffix(r.URL(), localenv.ReceiverPath) {
		t.Errorf("URL = %q", r.URL())
	}
	ctx := timeout(t)
	send := func(body string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.URL()+"?q=1", strings.NewReader(body))
		req.Header.Set("Webhook-Id", "msg_"+body)
		resp, err := r.Client().Do(req)
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	post := func(body string) int {
		t.Helper()
		status, err := send(body)
		if err != nil {
			t.Fatal(err)
		}
		return status
	}
	r.FailNext(2, 0)
	statuses := []int{post("a"), post("b"), post("c")}
	if !slices.Equal(statuses, []int{503, 503, 204}) {
		t.Errorf("statuses = %v", statuses)
	}
	r.FailUntilRecover(http.StatusInternalServerError)
	if s := post("d") + post("e"); s != 1000 {
		t.Errorf("FailUntilRecover statuses sum = %d", s)
	}
	r.Recover()
	if s := post("f"); s != http.StatusNoContent {
		t.Errorf("after Recover = %d", s)
	}
	reqs := r.Requests()
	if len(reqs) != 6 {
		t.Fatalf("Requests = %d", len(reqs))
	}
	if q := reqs[0]; q.Method != http.MethodPost || q.URI != localenv.ReceiverPath+"?q=1" || string(q.Body) != "a" ||
		q.Header.Get("Webhook-Id") != "msg_a" || q.Status != 503 {
		t.Errorf("first request = %+v", q)
	}
	acc, err := r.WaitAccepted(timeout(t), 2)
	if err != nil || len(acc) != 2 || string(acc[0].Body) != "c" || string(acc[1].Body) != "f" {
		t.Errorf("WaitAccepted = %v, %v", acc, err)
	}
	short, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.WaitRequests(short, 7); err == nil {
		t.Error("WaitRequests(7) did not time out")
	}
	go func() { _, _ = send("g") }()
	if got, err := r.WaitRequests(timeout(t), 7); err != nil || len(got) != 7 {
		t.Errorf("WaitRequests(7) = %d, %v", len(got), err)
	}
	r.Reset()
	if len(r.Requests()) != 0 {
		t.Error("Reset kept requests")
	}
}

// TestCAFileTrustsTheSandboxAndTheReceiver: with the sandbox on its own
// certificate (sandbox.WithCertificate, as cmd/bench runs it), the CA file
// a function gets still trusts both the sandbox and the HTTPS receiver.
func TestCAFileTrustsTheSandboxAndTheReceiver(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	env := start(t, localenv.Options{Sandbox: []sandbox.Option{sandbox.WithCertificate(tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})}})
	ca, err := os.ReadFile(env.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	for name, addr := range map[string]string{"sandbox": env.Sandbox.Host(), "receiver": strings.Split(env.Receiver.URL(), "/")[2]} {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if name == "sandbox" && !bytes.Equal(c.ConnectionState().PeerCertificates[0].Raw, der) {
			t.Error("the sandbox does not serve the certificate it was given")
		}
		_ = c.Close()
	}
}
