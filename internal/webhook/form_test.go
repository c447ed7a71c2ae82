package webhook

import (
	"encoding/base64"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	tests := []struct {
		body string
		want url.Values
	}{
		{"", url.Values{}},
		{"a=1", url.Values{"a": {"1"}}},
		{"Tag=b&x=1&Tag=a&Tag=c", url.Values{"Tag": {"b", "a", "c"}, "x": {"1"}}},
		{"From=%2B14158675309&Name=Ada+Lovelace&Sp=%20", url.Values{"From": {"+14158675309"}, "Name": {"Ada Lovelace"}, "Sp": {" "}}},
		{"a=1&&b=2&", url.Values{"a": {"1"}, "b": {"2"}}},
		{"flag&empty=&=v", url.Values{"flag": {""}, "empty": {""}, "": {"v"}}},
		{"a=x=y", url.Values{"a": {"x=y"}}},
		{"%C3%A9t%C3%A9=%E2%9C%93", url.Values{"été": {"✓"}}},
	}
	for _, tt := range tests {
		got, err := ParseForm([]byte(tt.body))
		if err != nil {
			t.Errorf("ParseForm(%q): %v", tt.body, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseForm(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestParseFormMalformed(t *testing.T) {
	for _, body := range []string{"a=%zz", "a=%4", "a=%", "%zz=1", "ok=1&bad=100%", "a=1;b=2", "a;b=1"} {
		_, err := ParseForm([]byte(body))
		if !errors.Is(err, errMalformedBody) {
			t.Errorf("ParseForm(%q) = %v, want errMalformedBody", body, err)
		}
	}
}

func TestParseFormSize(t *testing.T) {
	atCap := "a=" + strings.Repeat("x", MaxBodyBytes-2)
	if _, err := ParseForm([]byte(atCap)); err != nil {
		t.Errorf("body of MaxBodyBytes: %v", err)
	}
}

func TestDecodeBody(t *testing.T) {
	const form = "AccountSid=a&CallStatus=completed&From=%2B1"
	got, err := DecodeBody(form, false)
	if err != nil || string(got) != form {
		t.Fatalf("plain: %q, %v", got, err)
	}
	got, err = DecodeBody(base64.StdEncoding.EncodeToString([]byte(form)), true)
	if err != nil || string(got) != form {
		t.Fatalf("base64: %q, %v", got, err)
	}
	if got, err := DecodeBody("", true); err != nil || len(got) != 0 {
		t.Errorf("empty base64: %q, %v", got, err)
	}
	for _, bad := range []string{"not base64!", "QUJD=", "QUJ"} {
		if _, err := DecodeBody(bad, true); !errors.Is(err, errMalformedBody) {
			t.Errorf("DecodeBody(%q) = %v, want errMalformedBody", bad, err)
		}
	}
}

func TestDecodeBodyCap(t *testing.T) {
	atCap := strings.Repeat("x", MaxBodyBytes)
	over := atCap + "x"
	if _, err := DecodeBody(atCap, false); err != nil {
		t.Errorf("plain at cap: %v", err)
	}
	if _, err := DecodeBody(over, false); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("plain over cap: %v, want ErrBodyTooLarge", err)
	}
	if _, err := DecodeBody(base64.StdEncoding.EncodeToString([]byte(atCap)), true); err != nil {
		t.Errorf("base64 at cap: %v", err)
	}
	// MaxBodyBytes+1 bytes encode to as many characters as MaxBodyBytes: the
	// decoded size check catches it.
	enc := base64.StdEncoding.EncodeToString([]byte(over))
	if len(enc) != base64.StdEncoding.EncodedLen(MaxBodyBytes) {
		t.Fatalf("test assumption: %d != %d", len(enc), base64.StdEncoding.EncodedLen(MaxBodyBytes))
	}
	if _, err := DecodeBody(enc, true); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("base64 decoding to cap+1: %v, want ErrBodyTooLarge", err)
	}
	// An encoded string obviously too large is rejected before decoding: even
	// invalid base64 reports the size, not the encoding.
	huge := strings.Repeat("!", base64.StdEncoding.EncodedLen(MaxBodyBytes)+1)
	if _, err := DecodeBody(huge, true); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("huge base64: %v, want ErrBodyTooLarge", err)
	}
}

// A base64 body from API Gateway, decoded, parsed and verified end to end.
func TestBase64BodyVerifies(t *testing.T) {
	v := vector(t, "form_sorting")
	enc := base64.StdEncoding.EncodeToString([]byte(encodePairs(v.Params)))
	body, err := DecodeBody(enc, true)
	if err != nil {
		t.Fatal(err)
	}
	form, err := ParseForm(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (SignedRequest{CandidateURLs: []string{v.URL}, Body: body, Form: form, Signature: v.Signature}).Verify(v.Key); err != nil {
		t.Fatal(err)
	}
}
