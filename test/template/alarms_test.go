package template_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

const alarmTopic = "arn:aws:sns:eu-west-1:123456789012:ops"

// stackAlarms are the template's alarms: the parameter that switches each
// off ("" for always on) and its Properties, AlarmDescription and the
// actions aside.
var stackAlarms = map[string]struct{ param, props string }{
	"DeadLetterQueueAlarm": {"", `{
		"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
		"Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["RetryDeadLetterQueue", "QueueName"]}}],
		"Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 1,
		"Threshold": 0, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}`},
	"CredentialsUnavailableAlarm": {"AlarmCredentialsUnavailable", `{
		"Namespace": {"Ref": "MetricsNamespace"}, "MetricName": "CredentialsUnavailable",
		"Dimensions": [{"Name": "Service", "Value": {"Ref": "ParticipantsFunction"}}],
		"Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1,
		"Threshold": 0, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}`},
	"UpstreamErrorsAlarm": {"AlarmUpstreamErrors", `{
		"Metrics": [
			{"Id": "errors", "Expression": "FILL(server, 0) + FILL(network, 0)", "Label": "UpstreamErrors 5xx + network"},
			{"Id": "server", "ReturnData": false, "MetricStat": {"Period": 60, "Stat": "Sum", "Metric": {
				"Namespace": {"Ref": "MetricsNamespace"}, "MetricName": "UpstreamErrors",
				"Dimensions": [{"Name": "Service", "Value": {"Ref": "ParticipantsFunction"}}, {"Name": "StatusClass", "Value": "5xx"}]}}},
			{"Id": "network", "ReturnData": false, "MetricStat": {"Period": 60, "Stat": "Sum", "Metric": {
				"Namespace": {"Ref": "MetricsNamespace"}, "MetricName": "UpstreamErrors",
				"Dimensions": [{"Name": "Service", "Value": {"Ref": "ParticipantsFunction"}}, {"Name": "StatusClass", "Value": "network"}]}}}],
		"EvaluationPeriods": 5, "DatapointsToAlarm": 2,
		"Threshold": 0, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}`},
	"FunctionErrorsAlarm": {"AlarmFunctionErrors", `{
		"Namespace": "AWS/Lambda", "MetricName": "Errors",
		"Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "ParticipantsFunction"}}],
		"Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1,
		"Threshold": 0, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}`},
	"FunctionThrottlesAlarm": {"AlarmFunctionThrottles", `{
		"Namespace": "AWS/Lambda", "MetricName": "Throttles",
		"Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "ParticipantsFunction"}}],
		"Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1,
		"Threshold": 0, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}`},
	"RetryQueueAgeAlarm": {"AlarmRetryQueueAge", `{
		"Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage",
		"Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["RetryQueue", "QueueName"]}}],
		"Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 1,
		"Threshold": 600, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching"}`},
}

// deployed reports whether CloudFormation would create resource id of a
// rendered document.
func deployed(doc map[string]any, id string) bool {
	_, ok := lookup(doc, "Resources", id)
	return ok
}

// TestAlarms pins every alarm (metric, statistic, period, threshold), its
// switch (on by default, "off" removes it and nothing else) and its actions:
// the optional DeadLetterAlarmTopicArn on ALARM and OK, none without it.
func TestAlarms(t *testing.T) {
	raw := rawTemplate(t)
	var ids []string
	for id := range digMap(t, raw, "Resources") {
		if dig(t, raw, "Resources", id, "Type") == "AWS::CloudWatch::Alarm" {
			ids = append(ids, id)
		}
	}
	if slices.Sort(ids); !slices.Equal(ids, keys(stackAlarms)) {
		t.Fatalf("alarms %v, the test pins %v", ids, keys(stackAlarms))
	}
	params := digMap(t, raw, "Parameters")
	defaults, withTopic := render(t, nil), render(t, map[string]string{"DeadLetterAlarmTopicArn": alarmTopic})
	for id, want := range stackAlarms {
		t.Run(id, func(t *testing.T) {
			props := maps.Clone(digMap(t, raw, "Resources", id, "Properties"))
			if d, _ := props["AlarmDescription"].(string); len(d) < 20 {
				t.Errorf("AlarmDescription %q says nothing", d)
			}
			action := `{"Fn::If": ["HasDeadLetterAlarmTopic", [{"Ref": "DeadLetterAlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}`
			assertJSON(t, "AlarmActions", props["AlarmActions"], action)
			assertJSON(t, "OKActions", props["OKActions"], action)
			delete(props, "AlarmDescription")
			delete(props, "AlarmActions")
			delete(props, "OKActions")
			assertJSON(t, "Properties", props, want.props)

			if !deployed(defaults, id) || !deployed(withTopic, id) {
				t.Error("not created with the default parameters")
			}
			for _, k := range []string{"AlarmActions", "OKActions"} {
				assertJSON(t, k+" with a topic", dig(t, withTopic, "Resources", id, "Properties", k), `["`+alarmTopic+`"]`)
				if v, ok := lookup(defaults, "Resources", id, "Properties", k); ok {
					t.Errorf("%s without a topic = %v, want absent", k, v)
				}
			}
			if want.param == "" {
				return
			}
			assertJSON(t, want.param+".AllowedValues", dig(t, params, want.param, "AllowedValues"), `["on", "off"]`)
			off := render(t, map[string]string{want.param: "off"})
			for other := range stackAlarms {
				if got := deployed(off, other); got != (other != id) {
					t.Errorf("%s=off: %s created %v", want.param, other, got)
				}
			}
		})
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// metricID is one CloudWatch metric: namespace, name and dimensions.
type metricID struct {
	Namespace, Name string
	Dimensions      string // JSON of the name -> value map
}

// emitted returns the metrics of the EMF lines in out.
func emitted(t *testing.T, out []byte) []metricID {
	t.Helper()
	var ids []metricID
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("EMF line %s: %v", sc.Bytes(), err)
		}
		var meta struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name string }
			}
		}
		b, _ := json.Marshal(line["_aws"])
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatal(err)
		}
		for _, d := range meta.CloudWatchMetrics {
			for _, set := range d.Dimensions {
				dims := map[string]any{}
				for _, name := range set {
					dims[name] = line[name]
				}
				for _, m := range d.Metrics {
					ids = append(ids, metricID{d.Namespace, m.Name, jsonString(dims)})
				}
			}
		}
	}
	return ids
}

// watched returns the metrics a rendered alarm reads.
func watched(t *testing.T, props map[string]any) []metricID {
	t.Helper()
	metric := func(m map[string]any) metricID {
		dims := map[string]any{}
		for _, d := range m["Dimensions"].([]any) {
			dims[d.(map[string]any)["Name"].(string)] = d.(map[string]any)["Value"]
		}
		return metricID{m["Namespace"].(string), m["MetricName"].(string), jsonString(dims)}
	}
	list, ok := props["Metrics"].([]any)
	if !ok {
		return []metricID{metric(props)}
	}
	var ids []metricID
	for _, q := range list {
		if ms, ok := lookup(q, "MetricStat", "Metric"); ok {
			ids = append(ids, metric(ms.(map[string]any)))
		}
	}
	return ids
}

type failingSecrets struct{}

func (failingSecrets) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return nil, errors.New("Secrets Manager is unreachable")
}

type fixedCreds struct{ creds credentials.Credentials }

func (f fixedCreds) Get(context.Context) (credentials.Credentials, uint64, error) {
	return f.creds, 1, nil
}
func (f fixedCreds) Refresh(context.Context, uint64) (credentials.Credentials, uint64, error) {
	return f.creds, 1, nil
}

type failingUpstream struct{ err error }

func (f failingUpstream) GetParticipant(context.Context, signalwire.Auth, signalwire.ParticipantRef) (*signalwire.Participant, error) {
	return nil, f.err
}

func (f failingUpstream) ListParticipants(context.Context, signalwire.Auth, signalwire.ParticipantRef, signalwire.ListFilter) ([]*signalwire.Participant, error) {
	return nil, f.err
}

// TestAlarmsWatchTheEmittedMetrics: the alarms on the function's own EMF
// metrics read exactly the metrics (namespace, name, dimension names and
// values) that the code writes, configured from the rendered template, for
// a read without credentials (the secret cannot be fetched) and for reads
// SignalWire answers 503 or that cannot reach it. A renamed metric or
// dimension, or a namespace or Service the template does not pass, fails.
func TestAlarmsWatchTheEmittedMetrics(t *testing.T) {
	params := map[string]string{"MetricsNamespace": "Custom/Participants"}
	cfg, err := loadRendered(t, params)
	if err != nil {
		t.Fatal(err)
	}
	doc := render(t, params)
	ref := signalwire.ParticipantRef{
		AccountSID:    "8f0f5e4a-1b2c-4d3e-8f9a-0b1c2d3e4f5a",
		ConferenceSID: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
		CallSID:       "0e1d2c3b-4a59-4867-8f5e-4d3c2b1a0f9e",
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for id, reads := range map[string][]*app.App{
		"CredentialsUnavailableAlarm": {app.New(credentials.New(failingSecrets{}, "signalwire", credentials.Options{TTL: time.Minute}), nil, quiet)},
		"UpstreamErrorsAlarm": {
			app.New(fixedCreds{credentials.Credentials{ProjectID: ref.AccountSID}}, failingUpstream{&signalwire.APIError{Kind: signalwire.KindUpstream, StatusCode: 503}}, quiet),
			app.New(fixedCreds{credentials.Credentials{ProjectID: ref.AccountSID}}, failingUpstream{&signalwire.APIError{Kind: signalwire.KindNetwork, Err: errors.New("connection refused")}}, quiet),
		},
	} {
		t.Run(id, func(t *testing.T) {
			var out bytes.Buffer
			metrics := obs.NewMetrics(&out, cfg.MetricsNamespace, cfg.MetricsService)
			for _, a := range reads {
				batch := metrics.NewBatch()
				if _, err := a.Participant(obs.WithInvocation(context.Background(), &obs.Invocation{Metrics: batch}), ref); err == nil {
					t.Fatal("the read succeeded")
				}
				if err := metrics.Flush(batch); err != nil {
					t.Fatal(err)
				}
			}
			want := watched(t, digMap(t, doc, "Resources", id, "Properties"))
			var got []metricID
			for _, m := range emitted(t, out.Bytes()) {
				if m.Name == want[0].Name {
					got = append(got, m)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("the alarm reads %v; the code writes %v\nEMF lines:\n%s", want, got, out.Bytes())
			}
		})
	}
}
