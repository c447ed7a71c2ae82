package trigger

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
)

// TestDecodeV2ReadsEverySamplePayload2Event: the fast path is the one
// taken for the payload 2.0 events a user sends (events/*.json), and gives
// what json.Unmarshal gives.
func TestDecodeV2ReadsEverySamplePayload2Event(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		b := readEvent(t, filepath.Base(name))
		var want event
		if json.Unmarshal(b, &want) != nil || want.Version != "2.0" {
			continue
		}
		n++
		got, ok := decodeV2(b)
		if !ok || !reflect.DeepEqual(*got, want) {
			t.Errorf("%s: fast path ok %v, got %+v, want %+v", filepath.Base(name), ok, got, want)
		}
	}
	if n < 8 {
		t.Fatalf("only %d payload 2.0 sample events", n)
	}
}

// FuzzDecodeV2: whatever the fast path accepts, json.Unmarshal decodes to
// the same event without an error.
func FuzzDecodeV2(f *testing.F) {
	for _, s := range []string{
		`{"version":"2.0","rawPath":"/a","requestContext":{"domainName":"d","http":{"method":"GET"}},"headers":{"a":"b"},"body":"x","isBase64Encoded":true}`,
		`{"VERSION":"2.0","rawpath":"/a","RequestContext":{"HTTP":{"METHOD":"POST"}}}`,
		`{"headers":{"a":"1"},"headers":{"b":"2","a":"3"},"rawPath":"/x","rawPath":"/y"}`,
		`{"pathParameters":{"id":"1"},"cookies":["a"],"stageVariables":{"a":"b"},"requestContext":{"timeEpoch":1,"authorizer":{"jwt":{}}}}`,
		`{"body":"{\"a\":\"\u00e9\\n\"}","rawQueryString":"a=1&b=%20"}`,
		`{"body":"\ud83d\ude00"}`, `{"body":"\ud800"}`, "{\"body\":\"\xff\"}", "{\"body\":\"a\tb\"}",
		`{"headers":null}`, `{"body":null}`, `{"headers":{"a":1}}`, `{"isBase64Encoded":"true"}`, `{"requestContext":"x"}`,
		`{"httpMethod":"GET"}`, `{"Records":[]}`, `{"account_sid":"a"}`, `{"signalwire_webhook":{}}`,
		`{"rawP\u0061th":"/e"}`, `{"ſ":1}`, `[]`, `null`, `{"a":[[[[1]]]]}`, `{"a":1e999}`, `{"a":01}`, `{"a":"b"}x`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, ok := decodeV2(payload)
		if !ok {
			return
		}
		var want event
		if err := json.Unmarshal(payload, &want); err != nil {
			t.Fatalf("fast path accepted %q, which json.Unmarshal refuses: %v", payload, err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("%q: fast path %+v, json.Unmarshal %+v", payload, *got, want)
		}
	})
}
