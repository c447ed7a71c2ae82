//go:build linux

package rehearsal

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/signalwire-lambda/participants/test/localenv"
	"github.com/signalwire-lambda/participants/test/sandbox"
	"github.com/signalwire-lambda/participants/test/signing"
)

const (
	region = "us-east-1"
	// account is moto's default account (it maps every access key to it).
	account   = "123456789012"
	stackName = "signalwire-participants"
	// Where the rehearsal's `sam package` step puts the code.
	codeBucket = "rehearsal-artifacts"
	codeKey    = "participants/bootstrap.zip"
	// The resources outside the stack that its parameters name.
	secretName  = "signalwire/participants"
	destQueue   = "signalwire-participants-events"
	busName     = "signalwire-participants"
	observeRule = "rehearsal-observe-bus"
	// poison is a retry-queue message no attempt can process.
	poison = "not a stored webhook"
)

// clients are the AWS clients for moto.
type clients struct {
	cfn    *cloudformation.Client
	lambda *lambda.Client
	iam    *iam.Client
	sqs    *sqs.Client
	sm     *secretsmanager.Client
	eb     *eventbridge.Client
}

func newClients(endpoint string) clients {
	cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	ep := aws.String(endpoint)
	return clients{
		cfn:    cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { o.BaseEndpoint = ep }),
		lambda: lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = ep }),
		iam:    iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = ep }),
		sqs:    sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = ep }),
		sm:     secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = ep }),
		eb:     eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = ep }),
	}
}

// world is what exists before the deploy: SignalWire (the sandbox), the
// HTTPS destination, the credentials secret, the destination queue and the
// bus (with a rule copying its events to an observation queue).
type world struct {
	sandbox   *sandbox.Server
	receiver  *localenv.Receiver
	caFile    string
	secretARN string
	destURL   string // moto's URL of the destination queue
	destARN   string
	busARN    string
	observe   string // moto's URL of the queue the bus rule feeds
	// keyARN is the customer-managed KMS key of the secret and the
	// destination queue; topicARN the SNS topic of the DLQ alarm.
	keyARN, topicARN string
}

// worldTemplate creates what the kms and sns clients would (the rehearsal
// has no need of their SDK modules): a KMS key and an SNS topic.
const worldTemplate = `{"Resources": {
  "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::` + account + `:root"}, "Action": "kms:*", "Resource": "*"}]}}},
  "Topic": {"Type": "AWS::SNS::Topic"}},
 "Outputs": {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}, "TopicArn": {"Value": {"Ref": "Topic"}}}}`

func setUpWorld(t *testing.T, ctx context.Context, c clients, dir string) *world {
	t.Helper()
	w := &world{sandbox: sandbox.New(), receiver: localenv.NewReceiver(), caFile: filepath.Join(dir, "ca.pem")}
	t.Cleanup(w.sandbox.Close)
	t.Cleanup(w.receiver.Close)
	// One certificate for every httptest TLS server of the process: the sandbox's and the receiver's.
	if err := w.sandbox.WriteCACert(w.caFile); err != nil {
		t.Fatal(err)
	}
	var shared template
	if err := json.Unmarshal([]byte(worldTemplate), &shared); err != nil {
		t.Fatal(err)
	}
	st := createStack(t, c.cfn, "rehearsal-world", shared, nil)
	w.keyARN, w.topicARN = outputValue(st, "KeyArn"), outputValue(st, "TopicArn")
	project, token := w.sandbox.Credentials()
	secret, _ := json.Marshal(localenv.Secret{
		ProjectID: project, APIToken: token, SpaceHost: w.sandbox.Host(),
		SigningKey: sandbox.SigningKey, ForwardSigningSecret: sandbox.ForwardSigningSecret,
	})
	s, err := c.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(secretName), SecretString: aws.String(string(secret)), KmsKeyId: aws.String(w.keyARN),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.secretARN = aws.ToString(s.ARN)
	w.destURL, w.destARN = createQueue(t, ctx, c, destQueue, map[string]string{"KmsMasterKeyId": w.keyARN})
	var observeARN string
	w.observe, observeARN = createQueue(t, ctx, c, "rehearsal-bus-observer", nil)
	bus, err := c.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(busName)})
	if err != nil {
		t.Fatal(err)
	}
	w.busARN = aws.ToString(bus.EventBusArn)
	if _, err := c.eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String(observeRule), EventBusName: aws.String(busName), EventPattern: aws.String(`{"account":["` + account + `"]}`),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(observeRule), EventBusName: aws.String(busName),
		Targets: []ebtypes.Target{{Id: aws.String("observer"), Arn: aws.String(observeARN)}},
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

func createQueue(t *testing.T, ctx context.Context, c clients, name string, attrs map[string]string) (queueURL, arn string) {
	t.Helper()
	q, err := c.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl), queueAttrs(t, ctx, c, aws.ToString(q.QueueUrl))["QueueArn"]
}

func queueAttrs(t *testing.T, ctx context.Context, c clients, queueURL string) map[string]string {
	t.Helper()
	out, err := c.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("attributes of queue %s: %v", queueURL, err)
	}
	return out.Attributes
}

// zipBootstrap packages the bootstrap as `sam build` + `sam package` do: a
// zip with one executable file named bootstrap.
func zipBootstrap(t *testing.T, bootstrap string) []byte {
	t.Helper()
	bin, err := os.ReadFile(bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	f, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bin); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// onlyOfType returns the logical id of the template's one resource of type typ.
func onlyOfType(t *testing.T, tpl template, typ string) string {
	t.Helper()
	var ids []string
	for id := range tpl.section("Resources") {
		if tpl.resourceType(id) == typ {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("want one %s in the template, have %v", typ, ids)
	}
	return ids[0]
}

// unresolved reports whether a value CloudFormation produced still carries
// a reference: a ${...}, Python's None (moto's value of a Ref it could not
// resolve), an intrinsic's JSON, or a bare logical id.
func unresolved(v string, tpl template) bool {
	if strings.Contains(v, "${") || strings.Contains(v, "None") || strings.Contains(v, "Fn::") || strings.Contains(v, `"Ref"`) {
		return true
	}
	_, isLogicalID := tpl.section("Resources")[v]
	return isLogicalID
}

func TestDeployRehearsal(t *testing.T) {
	if testing.Short() {
		t.Skip("deploy rehearsal (builds and runs the bootstrap)")
	}
	python, motoBin := requireTools(t)
	for _, kv := range localenv.OfflineAWSEnv() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	root, err := localenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bootstrap, err := localenv.BuildBootstrap(ctx, dir, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	rieBin, err := localenv.BuildRIE(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	code := zipBootstrap(t, bootstrap)
	m := startMoto(t, motoBin)
	c := newClients(m.url)
	w := setUpWorld(t, ctx, c, dir)

	// 1. Transform, deploy, and check what moto created.
	d := deploy(t, ctx, m, c, w, python, root, code)
	// 2. The template and the code agree.
	d.checkAgreement(t, ctx)
	if t.Failed() {
		t.FailNow()
	}
	// 3. The real bootstrap with exactly the deployed environment, plus what
	// Lambda itself sets and the local plumbing (moto's endpoint, the test
	// credentials, the certificate of the sandbox and the receiver).
	fnEnv := functionEnv(t, d.tpl, d.fnID, d.conf, d.params, d.physical(d.logGroupID), m.url, w.caFile, dir)
	fn, err := localenv.StartRIE(ctx, rieBin, bootstrap, fnEnv, localenv.RIEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = fn.Close()
		if t.Failed() {
			t.Logf("function logs:\n%s", fn.Logs())
		}
	})
	// 4. Traffic through the stack's own resources.
	readParticipant(t, ctx, fn, outputValue(d.stack, "ReadRouteUrlTemplate"), sandbox.ProjectID, sandbox.ConferenceStandup, sandbox.CallCarol)
	d.driveWebhooks(t, ctx, fn)
}

// deployment is the stack as moto created it.
type deployment struct {
	c        clients
	w        *world
	tpl      template          // transformed and stripped
	params   map[string]string // the stack's parameters
	stripped map[string]string // logical id -> type, of what moto cannot create
	stack    *cfntypes.Stack
	// resources are the stack's resources by logical id; arns their ARNs
	// (functions, roles, log groups, queues, KMS keys, SNS topics).
	resources  map[string]cfntypes.StackResourceSummary
	arns       map[string]string
	queueByARN map[string]string
	fnID       string
	roleID     string
	logGroupID string
	conf       lambda.GetFunctionConfigurationOutput
	esm        lambdatypes.EventSourceMappingConfiguration
	// The retry queue (the event source), its DLQ (the redrive target) and its maxReceiveCount.
	retryID, dlqID string
	maxReceive     int
}

func (d *deployment) physical(id string) string {
	return aws.ToString(d.resources[id].PhysicalResourceId)
}

// deploy uploads the code, transforms template.yaml with parameters naming
// the world's resources, strips and probes what moto cannot create,
// creates the stack and checks every resource, output and the function.
func deploy(t *testing.T, ctx context.Context, m *moto, c clients, w *world, python, root string, code []byte) *deployment {
	t.Helper()
	d := &deployment{c: c, w: w, params: map[string]string{
		"SignalWireSecretArn": w.secretARN,
		"ForwardQueueArn":     w.destARN,
		"ForwardEventBusName": busName,
		"ForwardHttpsUrl":     w.receiver.URL(),
		"KmsKeyArn":           w.keyARN,
		// The alarms are among what moto cannot create; the parameter is still checked.
		"DeadLetterAlarmTopicArn": w.topicARN,
	}}
	putS3(t, m.url, codeBucket, codeKey, code)
	d.tpl = samTransform(t, python, root, "s3://"+codeBucket+"/"+codeKey, d.params)
	checkParameters(t, d.tpl, d.params)
	var probe template
	probe, d.stripped = stripUnsupported(t, d.tpl)

	// moto still cannot create what the rehearsal strips: a stack of only those.
	createStack(t, c.cfn, "rehearsal-probe", probe, nil)
	for id, r := range stackResources(t, c.cfn, "rehearsal-probe") {
		if _, ok := d.stripped[id]; ok {
			t.Errorf("moto's CloudFormation now creates %s: remove %s from unsupportedByMoto", id, aws.ToString(r.ResourceType))
		}
	}
	if got, want := m.unsupportedTypes(), strippedTypes(d.stripped); !slices.Equal(got, want) {
		t.Errorf("moto reports no CloudFormation support for %v, want %v", got, want)
	}

	d.stack = createStack(t, c.cfn, stackName, d.tpl, d.params)
	if got, want := m.unsupportedTypes(), strippedTypes(d.stripped); !slices.Equal(got, want) {
		t.Fatalf("moto's CloudFormation cannot create %v of the stack, the rehearsal strips %v: add the new type to unsupportedByMoto with a stand-in", got, want)
	}
	d.resources = stackResources(t, c.cfn, stackName)
	created := map[string]int{}
	for _, id := range slices.Sorted(maps.Keys(d.tpl.section("Resources"))) {
		r, ok := d.resources[id]
		if !ok || r.ResourceStatus != cfntypes.ResourceStatusCreateComplete {
			t.Errorf("%s (%s) not created: %+v", id, d.tpl.resourceType(id), r)
			continue
		}
		created[d.tpl.resourceType(id)]++
		t.Logf("created %-50s %-34s %s", id, d.tpl.resourceType(id), aws.ToString(r.PhysicalResourceId))
	}
	for _, id := range slices.Sorted(maps.Keys(d.stripped)) {
		t.Logf("NOT created (moto has no CloudFormation support) %s %s; Ref gives the stand-in %q", id, d.stripped[id], unsupportedByMoto[d.stripped[id]].ref(id))
	}
	t.Logf("moto's CloudFormation created %d resources %v; could not create %v", len(d.tpl.section("Resources")), created, d.stripped)

	// The function as moto created it.
	d.fnID = onlyOfType(t, d.tpl, "AWS::Lambda::Function")
	conf, err := c.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(d.physical(d.fnID))})
	if err != nil {
		t.Fatal(err)
	}
	d.conf = *conf
	d.roleID = onlyOfType(t, d.tpl, "AWS::IAM::Role")
	d.logGroupID = onlyOfType(t, d.tpl, "AWS::Logs::LogGroup")
	role, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(d.physical(d.roleID))})
	if err != nil {
		t.Fatal(err)
	}
	// Every resource's ARN, for the outputs and the policies.
	d.arns = map[string]string{
		d.fnID:       aws.ToString(d.conf.FunctionArn),
		d.roleID:     aws.ToString(role.Role.Arn),
		d.logGroupID: "arn:aws:logs:" + region + ":" + account + ":log-group:" + d.physical(d.logGroupID),
	}
	d.queueByARN = map[string]string{}
	for id := range d.tpl.section("Resources") {
		switch d.tpl.resourceType(id) {
		case "AWS::SQS::Queue":
			d.arns[id] = queueAttrs(t, ctx, c, d.physical(id))["QueueArn"]
			d.queueByARN[d.arns[id]] = id
		case "AWS::KMS::Key":
			d.arns[id] = "arn:aws:kms:" + region + ":" + account + ":key/" + d.physical(id)
		case "AWS::SNS::Topic":
			d.arns[id] = d.physical(id) // its Ref is its ARN
		}
	}
	checkOutputs(t, d.tpl, d.stack, d.params, d.physical, d.arns)
	checkFunction(t, d.tpl, d.fnID, d.conf, d.arns[d.roleID], code)

	// The retry queue is the event source mapping's; its DLQ is its redrive target.
	d.esm = checkEventSourceMapping(t, ctx, c, d.tpl, d.conf)
	var ok bool
	if d.retryID, ok = d.queueByARN[aws.ToString(d.esm.EventSourceArn)]; !ok {
		t.Fatalf("the event source mapping reads %s, none of the stack's queues", aws.ToString(d.esm.EventSourceArn))
	}
	retryAttrs := queueAttrs(t, ctx, c, d.physical(d.retryID))
	var redrive struct {
		DeadLetterTargetArn string          `json:"deadLetterTargetArn"`
		MaxReceiveCount     json.RawMessage `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(retryAttrs["RedrivePolicy"]), &redrive); err != nil {
		t.Fatalf("the retry queue's RedrivePolicy %q: %v", retryAttrs["RedrivePolicy"], err)
	}
	if d.maxReceive, err = strconv.Atoi(strings.Trim(string(redrive.MaxReceiveCount), `"`)); err != nil || d.maxReceive < 1 {
		t.Fatalf("the retry queue's maxReceiveCount %s", redrive.MaxReceiveCount)
	}
	if d.dlqID, ok = d.queueByARN[redrive.DeadLetterTargetArn]; !ok {
		t.Fatalf("the retry queue's dead-letter target %s is none of the stack's queues", redrive.DeadLetterTargetArn)
	}
	visibility, _ := strconv.Atoi(retryAttrs["VisibilityTimeout"])
	t.Logf("retry queue %s: maxReceiveCount %d, visibility timeout %d s, dead-letter queue %s", d.retryID, d.maxReceive, visibility, d.dlqID)
	if timeout := int(aws.ToInt32(d.conf.Timeout)); visibility < 6*timeout {
		t.Errorf("the retry queue's visibility timeout %d s is below 6x the function timeout %d s (AWS's guidance for SQS event sources)", visibility, timeout)
	}
	return d
}

// checkAgreement checks the function's resolved environment names what the
// code expects, in the form it expects (URLs, not ARNs; the redrive
// policy's receive count), and that the execution role allows exactly the
// calls the code and the event source mapping make.
func (d *deployment) checkAgreement(t *testing.T, ctx context.Context) {
	t.Helper()
	env, w := d.conf.Environment.Variables, d.w
	for k, want := range map[string]string{
		"RETRY_QUEUE_URL":         d.physical(d.retryID),
		"DEAD_LETTER_QUEUE_URL":   d.physical(d.dlqID),
		"RETRY_MAX_RECEIVE_COUNT": strconv.Itoa(d.maxReceive),
		"SIGNALWIRE_SECRET_ID":    w.secretARN,
		"FORWARD_EVENT_BUS":       busName,
		"FORWARD_HTTPS_URL":       w.receiver.URL(),
	} {
		if got, ok := env[k]; ok && got != want || !ok && k != "DEAD_LETTER_QUEUE_URL" {
			t.Errorf("the function's %s is %q, want %q", k, got, want)
		}
	}
	for k, wantARN := range map[string]string{"RETRY_QUEUE_URL": d.arns[d.retryID], "DEAD_LETTER_QUEUE_URL": d.arns[d.dlqID], "FORWARD_SQS_QUEUE_URL": w.destARN} {
		u, ok := env[k]
		if !ok {
			if k != "DEAD_LETTER_QUEUE_URL" {
				t.Errorf("the function has no %s", k)
			}
			continue
		}
		if got, err := queueARNFromURL(u); err != nil || got != wantARN {
			t.Errorf("%s=%s names %s (%v), want the queue %s", k, u, got, err, wantARN)
		}
		// The URL reaches the queue through the SQS API.
		if got := queueAttrs(t, ctx, d.c, u)["QueueArn"]; got != wantARN {
			t.Errorf("%s=%s reaches %s, want %s", k, u, got, wantARN)
		}
	}
	logGroupARN := d.arns[d.logGroupID]
	known := map[string]bool{w.secretARN: true, w.destARN: true, w.busARN: true, w.keyARN: true, logGroupARN + ":*": true}
	for _, arn := range d.arns {
		known[arn] = true
	}
	source := aws.ToString(d.esm.EventSourceArn)
	checkPolicies(t, ctx, d.c, d.tpl, d.conf, d.physical(d.roleID), known, []grant{
		{"secretsmanager:GetSecretValue", env["SIGNALWIRE_SECRET_ID"]},
		{"sqs:SendMessage", d.arns[d.retryID]},
		{"sqs:SendMessage", w.destARN},
		{"events:PutEvents", w.busARN},
		{"sqs:ReceiveMessage", source},
		{"sqs:DeleteMessage", source},
		{"sqs:GetQueueAttributes", source},
		{"sqs:ChangeMessageVisibility", source},
		{"logs:CreateLogStream", logGroupARN},
		{"logs:PutLogEvents", logGroupARN},
		// The secret and the destination queue are encrypted with the customer-managed key.
		{"kms:Decrypt", w.keyARN},
		{"kms:GenerateDataKey", w.keyARN},
	}, env["DEAD_LETTER_QUEUE_URL"] != "", d.arns[d.dlqID])
}

// driveWebhooks sends webhooks through a destination outage and a recovery,
// adds a poison message, plays the event source mapping until the retry
// queue is empty, and checks accepted = delivered + queued + dead-lettered.
func (d *deployment) driveWebhooks(t *testing.T, ctx context.Context, fn *localenv.RIE) {
	t.Helper()
	c, w := d.c, d.w
	webhookURL := outputValue(d.stack, "WebhookUrl")
	var l ledger
	accept := func(call string, seq int, want string) string {
		t.Helper()
		id, outcome := sendWebhook(t, ctx, fn, webhookURL, call, seq)
		l.accepted++
		if outcome != want {
			t.Fatalf("webhook %s/%d: outcome %q, want %q", call, seq, outcome, want)
		}
		return id
	}
	ids := []string{accept(sandbox.CallAlice, 1, "delivered")}

	// A destination outage parks webhooks on the stack's retry queue.
	w.receiver.FailUntilRecover(503)
	for i, call := range []string{sandbox.CallBob, sandbox.CallCarol, sandbox.CallDave} {
		ids = append(ids, accept(call, 10+i, "queued"))
	}
	retryURL := d.conf.Environment.Variables["RETRY_QUEUE_URL"]
	if visible, _, err := queueCounts(ctx, c.sqs, retryURL); err != nil || visible != 3 {
		t.Fatalf("the retry queue holds %d visible messages (%v), want 3", visible, err)
	}
	// And a poison message: nothing can process it.
	if _, err := c.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(retryURL), MessageBody: aws.String(poison)}); err != nil {
		t.Fatal(err)
	}
	l.accepted++

	poller := &eventSourceMapping{
		sqs: c.sqs, queueURL: retryURL, queueARN: aws.ToString(d.esm.EventSourceArn),
		batchSize:      aws.ToInt32(d.esm.BatchSize),
		reportFailures: slices.Contains(d.esm.FunctionResponseTypes, lambdatypes.FunctionResponseTypeReportBatchItemFailures),
		fn:             fn,
	}
	var poisonReceives []int
	pollOnce := func() pollResult {
		t.Helper()
		r, err := poller.poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for id, n := range r.receiveCount {
			if r.bodies[id] == poison {
				poisonReceives = append(poisonReceives, n)
				if _, ok := r.failed[id]; !ok {
					t.Fatalf("the poison message was deleted: it succeeded on receive %d", n)
				}
			}
		}
		if err := poller.elapseVisibilityTimeout(ctx, r.failed); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// While the destination is down every message fails and stays.
	if r := pollOnce(); r.received != 4 || r.deleted != 0 || len(r.failed) != 4 {
		t.Fatalf("poll while down: received %d, deleted %d, failed %d; want 4, 0, 4", r.received, r.deleted, len(r.failed))
	}
	w.receiver.Recover()
	for range d.maxReceive + 2 {
		r := pollOnce()
		t.Logf("poll: received %d, deleted %d, left %d", r.received, r.deleted, len(r.failed))
		visible, inFlight, err := queueCounts(ctx, c.sqs, retryURL)
		if err != nil {
			t.Fatal(err)
		}
		if r.received == 0 && visible+inFlight == 0 {
			break
		}
	}
	wantReceives := make([]int, d.maxReceive)
	for i := range wantReceives {
		wantReceives[i] = i + 1
	}
	if !slices.Equal(poisonReceives, wantReceives) {
		t.Errorf("the poison message was received %v times, want %v (the stack's maxReceiveCount %d)", poisonReceives, wantReceives, d.maxReceive)
	}
	if !strings.Contains(fn.Logs(), `"DeadLettered":1`) {
		t.Errorf("no DeadLettered metric on the last receive: RETRY_MAX_RECEIVE_COUNT and the redrive policy disagree")
	}

	// The ledger: accepted = delivered + queued + dead-lettered.
	dests := map[string]map[string]int{
		"https":       envelopeIDs(t, w.receiver),
		"sqs":         drainIDs(t, ctx, c, w.destURL, false),
		"eventbridge": drainIDs(t, ctx, c, w.observe, true),
	}
	for _, id := range ids {
		reached := 0
		for name, got := range dests {
			if got[id] > 0 {
				reached++
			} else {
				t.Errorf("webhook %s never reached the %s destination", id, name)
			}
		}
		if reached == len(dests) {
			l.delivered++
		}
	}
	visible, inFlight, err := queueCounts(ctx, c.sqs, retryURL)
	if err != nil {
		t.Fatal(err)
	}
	l.queued = visible + inFlight
	dlqURL := d.physical(d.dlqID)
	dlqVisible, dlqInFlight, err := queueCounts(ctx, c.sqs, dlqURL)
	if err != nil {
		t.Fatal(err)
	}
	l.deadLettered = dlqVisible + dlqInFlight
	t.Logf("accepted %d = delivered %d + queued %d + dead-lettered %d", l.accepted, l.delivered, l.queued, l.deadLettered)
	if l.accepted != l.delivered+l.queued+l.deadLettered {
		t.Errorf("webhooks lost: accepted %d != delivered %d + queued %d + dead-lettered %d", l.accepted, l.delivered, l.queued, l.deadLettered)
	}
	if l.delivered != len(ids) || l.queued != 0 || l.deadLettered != 1 {
		t.Errorf("want every webhook delivered (%d), nothing queued and the poison message dead-lettered", len(ids))
	}
	dead, err := c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead.Messages) != 1 || aws.ToString(dead.Messages[0].Body) != poison {
		t.Errorf("the dead-letter queue holds %d messages, want the poison one", len(dead.Messages))
	}
}

// ledger counts what the rehearsal accepted and where it ended.
type ledger struct{ accepted, delivered, queued, deadLettered int }

func outputValue(st *cfntypes.Stack, key string) string {
	for _, o := range st.Outputs {
		if aws.ToString(o.OutputKey) == key {
			return aws.ToString(o.OutputValue)
		}
	}
	return ""
}

// checkOutputs checks every output of the template resolved, and that a
// plain reference to a resource or parameter resolved to it.
func checkOutputs(t *testing.T, tpl template, st *cfntypes.Stack, params map[string]string, physical func(string) string, arns map[string]string) {
	t.Helper()
	for _, key := range slices.Sorted(maps.Keys(tpl.section("Outputs"))) {
		got := outputValue(st, key)
		if got == "" || unresolved(got, tpl) {
			t.Errorf("output %s did not resolve: %q", key, got)
			continue
		}
		t.Logf("output %-26s %s", key, got)
		expr, _ := tpl.section("Outputs")[key].(map[string]any)["Value"].(map[string]any)
		want := ""
		if ref, ok := expr["Ref"].(string); ok {
			if _, isResource := tpl.section("Resources")[ref]; isResource {
				want = physical(ref)
			} else if v, ok := params[ref]; ok {
				want = v
			}
		}
		if ga, ok := expr["Fn::GetAtt"].([]any); ok && len(ga) == 2 && ga[1] == "Arn" {
			want = arns[ga[0].(string)]
		}
		if want != "" && got != want {
			t.Errorf("output %s = %q, want %q", key, got, want)
		}
		if strings.HasPrefix(got, "https://") {
			if u, err := url.Parse(got); err != nil || u.Host == "" {
				t.Errorf("output %s = %q is not a URL", key, got)
			}
		}
	}
	if api, hook := outputValue(st, "ApiUrl"), outputValue(st, "WebhookUrl"); api != "" && hook != api+"/webhooks/signalwire" {
		t.Errorf("WebhookUrl %q is not ApiUrl %q + /webhooks/signalwire", hook, api)
	}
}

// checkFunction compares the function's configuration with the template,
// and logs what moto accepted but does not keep.
func checkFunction(t *testing.T, tpl template, fnID string, conf lambda.GetFunctionConfigurationOutput, roleARN string, code []byte) {
	t.Helper()
	p := tpl.properties(fnID)
	num := func(k string) int32 { f, _ := p[k].(float64); return int32(f) }
	if aws.ToString(conf.Handler) != p["Handler"] || string(conf.Runtime) != p["Runtime"] ||
		aws.ToInt32(conf.Timeout) != num("Timeout") || aws.ToInt32(conf.MemorySize) != num("MemorySize") || aws.ToString(conf.Role) != roleARN {
		t.Errorf("function %s: handler %s runtime %s timeout %d memory %d role %s; template %v %v %v %v, role %s",
			fnID, aws.ToString(conf.Handler), conf.Runtime, aws.ToInt32(conf.Timeout), aws.ToInt32(conf.MemorySize), aws.ToString(conf.Role),
			p["Handler"], p["Runtime"], p["Timeout"], p["MemorySize"], roleARN)
	}
	sum := sha256.Sum256(code)
	if aws.ToString(conf.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("the function's code is not the package uploaded (CodeSha256 %s)", aws.ToString(conf.CodeSha256))
	}
	if conf.Environment == nil || len(conf.Environment.Variables) == 0 {
		t.Fatal("the function has no environment")
	}
	vars, _ := p["Environment"].(map[string]any)["Variables"].(map[string]any)
	for k, v := range conf.Environment.Variables {
		if unresolved(v, tpl) {
			t.Errorf("the function's %s did not resolve: %q", k, v)
		}
		if _, ok := vars[k]; !ok {
			t.Errorf("the function has %s, which the template does not set", k)
		}
	}
	for k, v := range vars {
		// A variable may be absent when its value is conditional or AWS::NoValue.
		expr, _ := v.(map[string]any)
		_, conditional := expr["Fn::If"]
		if !conditional && expr["Ref"] != "AWS::NoValue" {
			if _, ok := conf.Environment.Variables[k]; !ok {
				t.Errorf("the function lacks %s", k)
			}
		}
	}
	// What moto's Lambda accepts from CloudFormation but does not keep.
	if a, ok := p["Architectures"].([]any); ok && (len(conf.Architectures) != 1 || string(conf.Architectures[0]) != a[0]) {
		t.Logf("moto ignores Architectures %v (reports %v)", a, conf.Architectures)
	}
	if tc, ok := p["TracingConfig"].(map[string]any); ok && (conf.TracingConfig == nil || string(conf.TracingConfig.Mode) != tc["Mode"]) {
		t.Logf("moto ignores TracingConfig %v", tc)
	}
	if lc, ok := p["LoggingConfig"]; ok && conf.LoggingConfig == nil {
		t.Logf("moto ignores LoggingConfig %v", lc)
	}
}

// checkEventSourceMapping checks the stack's SQS trigger and takes it over:
// moto's own mapping would try to run the function in Docker.
func checkEventSourceMapping(t *testing.T, ctx context.Context, c clients, tpl template, conf lambda.GetFunctionConfigurationOutput) lambdatypes.EventSourceMappingConfiguration {
	t.Helper()
	esmID := onlyOfType(t, tpl, "AWS::Lambda::EventSourceMapping")
	p := tpl.properties(esmID)
	// All of them, filtered here: moto's FunctionName filter does not match an ARN.
	out, err := c.lambda.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var mine []lambdatypes.EventSourceMappingConfiguration
	for _, e := range out.EventSourceMappings {
		if aws.ToString(e.FunctionArn) == aws.ToString(conf.FunctionArn) {
			mine = append(mine, e)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("the function has %d event source mappings, want 1: %+v", len(mine), out.EventSourceMappings)
	}
	esm := mine[0]
	batch, _ := p["BatchSize"].(float64)
	var types []string
	for _, v := range p["FunctionResponseTypes"].([]any) {
		types = append(types, v.(string))
	}
	if aws.ToString(esm.FunctionArn) != aws.ToString(conf.FunctionArn) || aws.ToInt32(esm.BatchSize) != int32(batch) ||
		aws.ToString(esm.State) != "Enabled" || !slices.Contains(types, string(lambdatypes.FunctionResponseTypeReportBatchItemFailures)) {
		t.Errorf("event source mapping %s: %+v; template %v", esmID, esm, p)
	}
	t.Logf("event source mapping %s: %s -> %s, batch %d, %v", esmID, aws.ToString(esm.EventSourceArn), aws.ToString(esm.FunctionArn), aws.ToInt32(esm.BatchSize), esm.FunctionResponseTypes)
	if _, err := c.lambda.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: esm.UUID, Enabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	return esm
}

// grant is an action the code performs on a resource.
type grant struct{ action, resource string }

// checkPolicies checks the execution role's statements name only the
// stack's resources and its parameters' (by ARN, with the action's
// service), that every call the code and the event source mapping make is
// allowed, and that the function's resource policy lets only the HTTP API
// invoke it.
func checkPolicies(t *testing.T, ctx context.Context, c clients, tpl template, conf lambda.GetFunctionConfigurationOutput, roleName string, known map[string]bool, needed []grant, dlqInUse bool, dlqARN string) {
	t.Helper()
	if dlqInUse {
		needed = append(needed, grant{"sqs:SendMessage", dlqARN})
	}
	names, err := c.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(roleName)})
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[grant]bool{}
	for _, name := range names.PolicyNames {
		pol, err := c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := parsePolicy(aws.ToString(pol.PolicyDocument))
		if err != nil {
			t.Fatalf("policy %s: %v", name, err)
		}
		for _, s := range doc.Statement {
			if s == nil {
				t.Logf("policy %s: a null statement (moto's value of an Fn::If that chose AWS::NoValue; CloudFormation drops it)", name)
				continue
			}
			for _, r := range s.Resource {
				if !known[r] {
					t.Errorf("policy %s statement %s: resource %s is none of the stack's or its parameters' resources", name, s.Sid, r)
				}
				for _, a := range s.Action {
					if svc, _, _ := strings.Cut(a, ":"); svc != arnService(r) {
						t.Errorf("policy %s statement %s: action %s on a %s resource %s", name, s.Sid, a, arnService(r), r)
					}
					if s.Effect == "Allow" {
						allowed[grant{a, strings.TrimSuffix(r, ":*")}] = true
					}
				}
			}
			t.Logf("policy %s %-28s %v on %v", name, s.Sid, s.Action, s.Resource)
		}
	}
	for _, g := range needed {
		if !allowed[g] {
			t.Errorf("the role does not allow %s on %s, which the function needs", g.action, g.resource)
		}
	}
	attached, err := c.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(roleName)})
	if err != nil {
		t.Fatal(err)
	}
	if want, ok := tpl.properties(onlyOfType(t, tpl, "AWS::IAM::Role"))["ManagedPolicyArns"]; ok && len(attached.AttachedPolicies) == 0 {
		t.Logf("moto attaches none of the role's ManagedPolicyArns %v", want)
	}

	pol, err := c.lambda.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: conf.FunctionName})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parsePolicy(aws.ToString(pol.Policy))
	if err != nil {
		t.Fatal(err)
	}
	permissions := 0
	for id := range tpl.section("Resources") {
		if tpl.resourceType(id) == "AWS::Lambda::Permission" {
			permissions++
		}
	}
	if len(doc.Statement) != permissions {
		t.Errorf("the function's resource policy has %d statements, the template %d permissions", len(doc.Statement), permissions)
	}
	prefix := "arn:aws:execute-api:" + region + ":" + account + ":" + standInAPIID + "/"
	for _, s := range doc.Statement {
		if s == nil {
			t.Errorf("a null statement in the function's resource policy")
			continue
		}
		arnLike, _ := s.Condition["ArnLike"].(map[string]any)
		src, _ := arnLike["AWS:SourceArn"].(string)
		if !strings.HasPrefix(src, prefix) || slices.Index(s.Resource, aws.ToString(conf.FunctionArn)) < 0 {
			t.Errorf("invoke permission %s: source %q on %v, want the HTTP API's routes (%s...) on the function", s.Sid, src, s.Resource, prefix)
		}
		t.Logf("invoke permission: %s from %s", s.Action, src)
	}
}

// functionEnv is the environment Lambda would give the bootstrap: the
// function's variables as moto resolved them, the variables Lambda sets
// itself, and the local plumbing. The plumbing never overrides a variable
// of the template.
func functionEnv(t *testing.T, tpl template, fnID string, conf lambda.GetFunctionConfigurationOutput, params map[string]string, logGroup, motoURL, caFile, dir string) []string {
	t.Helper()
	lc, _ := tpl.properties(fnID)["LoggingConfig"].(map[string]any)
	plumbing := [][2]string{
		// What Lambda sets itself (LoggingConfig, which moto does not keep, from the template).
		{"AWS_REGION", region},
		{"AWS_DEFAULT_REGION", region},
		{"AWS_LAMBDA_FUNCTION_NAME", aws.ToString(conf.FunctionName)},
		{"AWS_LAMBDA_FUNCTION_VERSION", aws.ToString(conf.Version)},
		{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", strconv.Itoa(int(aws.ToInt32(conf.MemorySize)))},
		{"AWS_LAMBDA_FUNCTION_TIMEOUT", strconv.Itoa(int(aws.ToInt32(conf.Timeout)))},
		{"AWS_LAMBDA_LOG_GROUP_NAME", logGroup},
		{"AWS_LAMBDA_LOG_FORMAT", resolveParam(tpl, params, lc["LogFormat"])},
		{"AWS_LAMBDA_LOG_LEVEL", resolveParam(tpl, params, lc["ApplicationLogLevel"])},
		// Local plumbing: credentials, moto, the sandbox's certificate.
		{"PATH", "/usr/local/bin:/usr/bin:/bin"},
		{"HOME", dir},
		{"AWS_ACCESS_KEY_ID", "test"},
		{"AWS_SECRET_ACCESS_KEY", "test"},
		{"AWS_EC2_METADATA_DISABLED", "true"},
		{"AWS_ENDPOINT_URL_SECRETS_MANAGER", motoURL},
		{"AWS_ENDPOINT_URL_SQS", motoURL},
		{"AWS_ENDPOINT_URL_EVENTBRIDGE", motoURL},
		{"SSL_CERT_FILE", caFile},
	}
	var env []string
	for _, kv := range plumbing {
		if _, ok := conf.Environment.Variables[kv[0]]; ok {
			t.Fatalf("the template sets %s, which the rehearsal sets to run on this machine", kv[0])
		}
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(conf.Environment.Variables)) {
		env = append(env, k+"="+conf.Environment.Variables[k])
	}
	return env
}

// resolveParam resolves a string or a Ref to a parameter (its value, or its default).
func resolveParam(tpl template, params map[string]string, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		ref, _ := x["Ref"].(string)
		if v, ok := params[ref]; ok {
			return v
		}
		if p, ok := tpl.section("Parameters")[ref].(map[string]any); ok {
			if d, ok := p["Default"].(string); ok {
				return d
			}
		}
	}
	return ""
}

// sendWebhook sends a signed participant-join callback as API Gateway's
// HTTP API would deliver SignalWire's POST to webhookURL (the stack's
// WebhookUrl output), and returns the event id and outcome the function
// answered.
func sendWebhook(t *testing.T, ctx context.Context, fn *localenv.RIE, webhookURL, call string, seq int) (id, outcome string) {
	t.Helper()
	u, err := url.Parse(webhookURL)
	if err != nil || u.Host == "" {
		t.Fatalf("WebhookUrl %q: %v", webhookURL, err)
	}
	// Signed now: the stack's replay window (WEBHOOK_MAX_AGE) is on.
	now := time.Now().UTC()
	form := url.Values{
		"AccountSid": {sandbox.ProjectID}, "ConferenceSid": {sandbox.ConferenceStandup}, "CallSid": {call},
		"StatusCallbackEvent": {"participant-join"}, "SequenceNumber": {strconv.Itoa(seq)},
		"Timestamp": {now.Format(time.RFC1123Z)}, "FriendlyName": {"daily-standup"},
		"Muted": {"false"}, "Hold": {"false"},
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: "POST " + u.Path,
		RawPath:  u.Path,
		Headers: map[string]string{
			"content-type":           "application/x-www-form-urlencoded",
			"host":                   u.Host,
			"user-agent":             "SignalWire-Webhook/1.0",
			"x-forwarded-proto":      "https",
			"x-forwarded-port":       "443",
			"x-signalwire-signature": signing.Form(sandbox.SigningKey, webhookURL, form),
		},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     "POST " + u.Path,
			AccountID:    account,
			Stage:        "$default",
			RequestID:    fmt.Sprintf("rehearsal-%d", seq),
			APIID:        strings.Split(u.Host, ".")[0],
			DomainName:   u.Host,
			DomainPrefix: strings.Split(u.Host, ".")[0],
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: "POST", Path: u.Path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.10", UserAgent: "SignalWire-Webhook/1.0",
			},
		},
		Body: form.Encode(),
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := fn.Invoke(ictx, payload)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var resp events.APIGatewayV2HTTPResponse
	var body struct{ ID, Outcome string }
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &body) != nil {
		t.Fatalf("webhook answer: %s", out)
	}
	return body.ID, body.Outcome
}

// readParticipant fills the stack's ReadRouteUrlTemplate output and sends
// the GET as the HTTP API would deliver it (IAM-authorized), expecting the
// participant.
func readParticipant(t *testing.T, ctx context.Context, fn *localenv.RIE, urlTemplate, account, conference, call string) {
	t.Helper()
	u, err := url.Parse(urlTemplate)
	if err != nil || u.Host == "" {
		t.Fatalf("ReadRouteUrlTemplate %q: %v", urlTemplate, err)
	}
	routePath, _ := url.PathUnescape(u.EscapedPath())
	params := map[string]string{"account_sid": account, "conference_sid": conference, "call_sid": call}
	path := routePath
	for k, v := range params {
		if !strings.Contains(path, "{"+k+"}") {
			t.Fatalf("ReadRouteUrlTemplate %q has no {%s}", urlTemplate, k)
		}
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "GET " + routePath, RawPath: path, PathParameters: params,
		Headers: map[string]string{"host": u.Host, "accept": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "GET " + routePath, AccountID: account, Stage: "$default", RequestID: "rehearsal-read",
			APIID: strings.Split(u.Host, ".")[0], DomainName: u.Host, DomainPrefix: strings.Split(u.Host, ".")[0],
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.10"},
		},
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	out, err := fn.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	var resp events.APIGatewayV2HTTPResponse
	var p struct {
		CallSid string `json:"call_sid"`
	}
	if json.Unmarshal(out, &resp) != nil || resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &p) != nil || p.CallSid != call {
		t.Fatalf("read route answer: %s", out)
	}
	t.Logf("read route %s: 200, participant %s", path, p.CallSid)
}

// envelopeIDs counts the envelopes the HTTPS destination accepted, by id.
func envelopeIDs(t *testing.T, r *localenv.Receiver) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, req := range r.Accepted() {
		var env struct{ ID string }
		if err := json.Unmarshal(req.Body, &env); err != nil {
			t.Errorf("HTTPS destination body: %v", err)
		}
		ids[env.ID]++
	}
	return ids
}

// drainIDs receives and deletes every message of a queue and counts the
// envelopes by id (in the event's detail when the queue is fed by the bus).
func drainIDs(t *testing.T, ctx context.Context, c clients, queueURL string, eventBridge bool) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for {
		out, err := c.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			return ids
		}
		for _, msg := range out.Messages {
			var env struct {
				ID     string
				Detail struct{ ID string }
			}
			if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &env); err != nil {
				t.Errorf("message on %s: %v", queueURL, err)
			}
			if eventBridge {
				env.ID = env.Detail.ID
			}
			ids[env.ID]++
			if _, err := c.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: msg.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
