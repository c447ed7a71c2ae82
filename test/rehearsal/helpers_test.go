//go:build linux

package rehearsal

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The rehearsal's own machinery, checked without moto.

func TestBatchFailuresAsLambda(t *testing.T) {
	handles := map[string]string{"a": "ha", "b": "hb"}
	for _, c := range []struct {
		name   string
		answer string
		report bool
		want   map[string]bool
	}{
		{"reported item stays", `{"batchItemFailures":[{"itemIdentifier":"b"}]}`, true, map[string]bool{"b": true}},
		{"empty report: all succeeded", `{"batchItemFailures":[]}`, true, map[string]bool{}},
		{"unknown id fails the batch", `{"batchItemFailures":[{"itemIdentifier":"zz"}]}`, true, map[string]bool{"a": true, "b": true}},
		{"empty id fails the batch", `{"batchItemFailures":[{"itemIdentifier":""}]}`, true, map[string]bool{"a": true, "b": true}},
		{"function error fails the batch", `{"errorType":"Runtime.ExitError","errorMessage":"boom"}`, true, map[string]bool{"a": true, "b": true}},
		{"unparseable answer fails the batch", `"ok"`, true, map[string]bool{"a": true, "b": true}},
		{"without ReportBatchItemFailures a report is ignored", `{"batchItemFailures":[{"itemIdentifier":"b"}]}`, false, map[string]bool{}},
		{"without ReportBatchItemFailures an error still fails", `{"errorMessage":"Task timed out after 10.00 seconds"}`, false, map[string]bool{"a": true, "b": true}},
	} {
		if got := batchFailures([]byte(c.answer), handles, c.report); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestReplaceRefs(t *testing.T) {
	var in any
	if err := json.Unmarshal([]byte(`{
		"a": {"Ref": "HttpApi"},
		"b": {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Other}"},
		"c": {"Fn::Sub": ["arn:${P}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/*", {"__ApiId__": {"Ref": "HttpApi"}}]},
		"d": {"Fn::GetAtt": ["HttpApi", "ApiEndpoint"]},
		"e": {"Ref": "Other"},
		"f": {"Fn::Sub": "${HttpApi.ApiId}"}
	}`), &in); err != nil {
		t.Fatal(err)
	}
	standIns := map[string]standIn{"HttpApi": unsupportedByMoto["AWS::ApiGatewayV2::Api"]}
	got, err := replaceRefs(in, standIns)
	if err != nil {
		t.Fatal(err)
	}
	var want any
	_ = json.Unmarshal([]byte(`{
		"a": "rehearse01",
		"b": {"Fn::Sub": "https://rehearse01.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Other}"},
		"c": {"Fn::Sub": ["arn:${P}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/*", {"__ApiId__": "rehearse01"}]},
		"d": "https://rehearse01.execute-api.us-east-1.amazonaws.com",
		"e": {"Ref": "Other"},
		"f": {"Fn::Sub": "rehearse01"}
	}`), &want)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("got %s", g)
	}
	if _, err := replaceRefs(map[string]any{"Fn::GetAtt": "HttpApi.Nope"}, standIns); err == nil {
		t.Error("a GetAtt without a stand-in must fail")
	}
}

func TestParsePolicy(t *testing.T) {
	for _, raw := range []string{
		// moto, for inline policies CloudFormation created: a Python literal
		`{'Statement': [{'Action': ['sqs:SendMessage'], 'Effect': 'Allow', 'Resource': 'arn:aws:sqs:us-east-1:123456789012:q', 'Sid': 'S'}], 'Version': '2012-10-17'}`,
		// IAM: URL-encoded JSON
		`%7B%22Statement%22%3A%5B%7B%22Action%22%3A%22sqs%3ASendMessage%22%2C%22Effect%22%3A%22Allow%22%2C%22Resource%22%3A%5B%22arn%3Aaws%3Asqs%3Aus-east-1%3A123456789012%3Aq%22%5D%2C%22Sid%22%3A%22S%22%7D%5D%7D`,
	} {
		doc, err := parsePolicy(raw)
		if err != nil {
			t.Fatal(err)
		}
		s := doc.Statement
		if len(s) != 1 || s[0].Sid != "S" || !reflect.DeepEqual([]string(s[0].Action), []string{"sqs:SendMessage"}) ||
			!reflect.DeepEqual([]string(s[0].Resource), []string{"arn:aws:sqs:us-east-1:123456789012:q"}) {
			t.Errorf("%s: %+v", raw, doc)
		}
	}
}

func TestQueueARNFromURL(t *testing.T) {
	got, err := queueARNFromURL("https://sqs.eu-west-1.amazonaws.com/123456789012/events.fifo")
	if err != nil || got != "arn:aws:sqs:eu-west-1:123456789012:events.fifo" {
		t.Errorf("%q %v", got, err)
	}
	for _, bad := range []string{"arn:aws:sqs:us-east-1:123456789012:q", "RetryQueue", "http://127.0.0.1:4566/123456789012/q"} {
		if _, err := queueARNFromURL(bad); err == nil {
			t.Errorf("%q accepted as a queue URL", bad)
		}
	}
}
