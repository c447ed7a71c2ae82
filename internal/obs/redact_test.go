package obs

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

const (
	project    = "5a3e1c2b-7d4f-4e8a-9b6c-0d1e2f3a4b5c"
	token      = "PTtok+en/with=odd&chars<>0123"
	signingKey = "PSK_signing-key-value"
)

// derived lists, independently of the package, the forms the issue names:
// base64 std/url with and without padding of each value and of
// project:token, "Basic …", hex, percent-encoded and JSON-escaped forms.
func derived(v string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		out = append(out, enc.EncodeToString([]byte(v)))
	}
	out = append(out, v, url.QueryEscape(v), url.PathEscape(v), hex.EncodeToString([]byte(v)),
		strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(v))
	return out
}

func allForms() []string {
	forms := append(derived(token), derived(signingKey)...)
	forms = append(forms, derived(project+":"+token)...)
	forms = append(forms, "Basic "+base64.StdEncoding.EncodeToString([]byte(project+":"+token)),
		url.QueryEscape("Basic "+base64.StdEncoding.EncodeToString([]byte(project+":"+token))))
	return forms
}

func TestSetRedactsEveryDerivedForm(t *testing.T) {
	var s Secrets
	s.Add(token, signingKey)
	s.AddBasic(project, token)
	for _, f := range allForms() {
		got := s.String("before " + f + " after")
		if strings.Contains(got, f) || !strings.Contains(got, mask) {
			t.Errorf("form %q not redacted: %q", f, got)
		}
	}
	// The project id alone is not a secret (it is every AccountSid).
	if got := s.String("account " + project); got != "account "+project {
		t.Errorf("project id redacted: %q", got)
	}
	var empty Secrets
	if got := empty.String("x " + token); got != "x "+token {
		t.Error("an empty set changed text")
	}
}

func TestTextRedactsBasicCredentials(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(project + ":" + token))
	forms := append(derived(token), derived(project+":"+token)...)
	for _, f := range append(forms, "Basic "+basic, url.QueryEscape("Basic "+basic)) {
		if got := RedactText("echo: "+f, project, token); strings.Contains(got, f) {
			t.Errorf("form %q not redacted: %q", f, got)
		}
	}
}

func TestHandlerRedactsEveryString(t *testing.T) {
	var buf bytes.Buffer
	var s Secrets
	log := slog.New(s.Handler(slog.NewJSONHandler(&buf, nil)))
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(project+":"+token))
	log.Info("before load " + "plain")
	s.Add(token, signingKey)
	s.AddBasic(project, token)
	log.With("with", basic).WithGroup("g").Warn("upstream said "+basic,
		"error", errors.New("echo "+base64.RawURLEncoding.EncodeToString([]byte(token))),
		"str", url.QueryEscape(basic), "bytes", []byte(signingKey),
		slog.Group("nested", "v", hex.EncodeToString([]byte(token))))
	out := buf.String()
	for _, f := range allForms() {
		if strings.Contains(out, f) {
			t.Errorf("log output contains %q:\n%s", f, out)
		}
	}
	if strings.Count(out, mask) < 6 || !strings.Contains(out, "plain") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}

// Attributes of other kinds (a []string such as the candidate URLs, a map)
// are written by the JSON redactHandler as they are: a secret inside one must be
// redacted too. One without a secret keeps its JSON shape.
func TestHandlerRedactsInsideOtherValues(t *testing.T) {
	var buf bytes.Buffer
	var s Secrets
	s.Add(token)
	log := slog.New(s.Handler(slog.NewJSONHandler(&buf, nil)))
	log.Warn("m", "urls", []string{"https://h/p?k=" + token}, "m", map[string]any{"k": "a" + token},
		"n", []int{1, 2}, "clean", []string{"a", "b"})
	out := buf.String()
	if strings.Contains(out, token) {
		t.Fatalf("log output contains the secret:\n%s", out)
	}
	if strings.Count(out, mask) != 2 || !strings.Contains(out, `"clean":["a","b"]`) || !strings.Contains(out, `"n":[1,2]`) {
		t.Fatalf("unexpected output:\n%s", out)
	}
}

// logValuer is a value that logs itself as a group holding a map.
type logValuer struct{ secret string }

func (l logValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.Any("inner", map[string]string{"echo": l.secret}))
}

// TestHandlerRedactsEveryKind: values the JSON redactHandler serializes itself —
// a struct, a map (secret in a key and in values), a slice, a pointer, a
// LogValuer resolving to a group with a map, a value that does not encode —
// are redacted like strings, every line stays valid JSON, and the
// non-secret content is kept as JSON, not flattened.
func TestHandlerRedactsEveryKind(t *testing.T) {
	var buf bytes.Buffer
	var s Secrets
	log := slog.New(s.Handler(slog.NewJSONHandler(&buf, nil)))
	s.Add(token, signingKey)
	s.AddBasic(project, token)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(project+":"+token))
	type upstream struct {
		Status  int
		Headers map[string][]string
		Body    string
		Raw     []byte
		Note    *string
	}
	forms := allForms()
	for i, f := range forms {
		note := "note " + f
		u := upstream{Status: 401, Headers: map[string][]string{"Authorization": {basic}, "X-Echo": {f}}, Body: "token=" + f, Raw: []byte(signingKey), Note: &note}
		log.Warn("upstream answer", "i", i, "answer", u, "ptr", &u,
			"map", map[string]any{f: "as key", "nested": map[string]any{"v": []string{"ok", f}}},
			"slice", []any{1, f, map[string]string{"k": f}},
			"valuer", logValuer{f},
			slog.Group("g", "inner", map[string]string{"echo": f}),
			"unencodable", map[string]any{"fn": func() {}, "s": f})
	}
	out := buf.String()
	for _, f := range forms {
		if strings.Contains(out, f) {
			t.Errorf("log output contains %q", f)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(forms) {
		t.Fatalf("%d lines for %d records", len(lines), len(forms))
	}
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("invalid JSON line %v: %s", err, line)
		}
		ans, ok := m["answer"].(map[string]any)
		mp, _ := m["map"].(map[string]any)
		keyRedacted := false
		for k, v := range mp {
			keyRedacted = keyRedacted || strings.Contains(k, mask) && v == "as key"
		}
		if !ok || ans["Status"] != float64(401) || !keyRedacted {
			t.Fatalf("structure lost: %s", line)
		}
	}
	t.Logf("first line: %s", lines[0])
}

// TestHandlerRedactsNumericSecrets: a secret made of digits is redacted from
// numbers, and numbers are left alone when no secret could appear in them.
func TestHandlerRedactsNumericSecrets(t *testing.T) {
	var buf bytes.Buffer
	var s Secrets
	log := slog.New(s.Handler(slog.NewJSONHandler(&buf, nil)))
	s.Add(token)
	log.Info("x", "n", 987654321)
	if !strings.Contains(buf.String(), `"n":987654321`) {
		t.Fatalf("a number changed without a numeric secret: %s", buf.String())
	}
	s.Add("987654321")
	buf.Reset()
	log.Info("x", "n", 987654321, "u", uint64(987654321), "f", 987654321.5)
	if strings.Contains(buf.String(), "987654321") {
		t.Fatalf("numeric secret in %s", buf.String())
	}
}

func TestSetKeepsRedactingNewValuesPastItsBound(t *testing.T) {
	var s Secrets
	// Rotate the secret until the set must have dropped forms: the value it
	// holds now must still be redacted (before, forms past the bound were
	// no longer added).
	value := func(i int) string { return fmt.Sprintf("PT%040d", i) }
	rotations := maxForms/len(forms(value(0))) + 2
	for i := 0; i < rotations; i++ {
		s.Add(value(i))
	}
	latest := value(rotations)
	s.Add(latest)
	for _, f := range forms(latest) {
		if got := s.String("x " + f + " y"); strings.Contains(got, f) {
			t.Errorf("newest value's form %q not redacted past the bound: %q", f, got)
		}
	}
}
