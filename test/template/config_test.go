package template_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/internal/config"
)

// loadRendered renders the template with params and loads the function's
// environment with the production config loader. Values naming stack
// resources (rendered "ref:…") become queue URLs, as CloudFormation would
// make them; Lambda's AWS_LAMBDA_FUNCTION_NAME is the function's Ref.
func loadRendered(t *testing.T, params map[string]string) (config.Config, error) {
	t.Helper()
	vars := digMap(t, render(t, params), "Resources", functionID, "Properties", "Environment", "Variables")
	env := map[string]string{}
	for k, v := range vars {
		s := fmt.Sprint(v)
		if strings.HasPrefix(s, "ref:") {
			s = "https://sqs.eu-west-1.amazonaws.com/123456789012/" + strings.TrimPrefix(s, "ref:")
		}
		env[k] = s
	}
	env["AWS_LAMBDA_FUNCTION_NAME"] = "ref:" + functionID
	return config.Load(func(k string) string { return env[k] })
}

// TestWebhookParametersReachTheConfig: PublicWebhookUrl and PublicBaseUrl
// are wired to PUBLIC_WEBHOOK_URL and PUBLIC_BASE_URL, and every value the
// parameters allow is one the function accepts with the meaning the
// parameter describes.
func TestWebhookParametersReachTheConfig(t *testing.T) {
	c, err := loadRendered(t, nil)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.PublicWebhookURL != "" || c.PublicBaseURL != "" {
		t.Errorf("defaults: public webhook URL %q, public base URL %q; want none", c.PublicWebhookURL, c.PublicBaseURL)
	}
	for _, u := range []string{"https://example.ngrok.io/webhook", "https://example.ngrok.io/webhook/", "https://hooks.example.com"} {
		c, err := loadRendered(t, map[string]string{"PublicWebhookUrl": u})
		if err != nil || c.PublicWebhookURL != u {
			t.Errorf("PublicWebhookUrl=%s: config %q (%v)", u, c.PublicWebhookURL, err)
		}
	}
	for _, u := range []string{"https://hooks.example.com", "https://hooks.example.com/prod"} {
		c, err := loadRendered(t, map[string]string{"PublicBaseUrl": u})
		if err != nil || c.PublicBaseURL != u {
			t.Errorf("PublicBaseUrl=%s: config %q (%v)", u, c.PublicBaseURL, err)
		}
	}
}

// TestConfigurationParameterColumn: the tables of docs/CONFIGURATION.md
// document every variable the template sets and none that neither the
// template sets nor the code reads; each names the template parameter that
// sets it, the template wires exactly that parameter (a Ref to it somewhere
// in the variable's value), and a variable the table gives no parameter
// refers to none.
func TestConfigurationParameterColumn(t *testing.T) {
	doc, err := os.ReadFile("../../docs/CONFIGURATION.md")
	if err != nil {
		t.Fatal(err)
	}
	vars := digMap(t, rawTemplate(t), "Resources", functionID, "Properties", "Environment", "Variables")
	params := digMap(t, rawTemplate(t), "Parameters")
	named := regexp.MustCompile("^\\| `([A-Z][A-Z0-9_]*)` \\|")
	row := regexp.MustCompile("^\\| `([A-Z][A-Z0-9_]*)` \\| ?(?:`([A-Za-z0-9]+)`)? ?\\|")
	documented := map[string]bool{}
	seen := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if m := named.FindStringSubmatch(line); m != nil {
			documented[m[1]] = true
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, param := m[1], m[2]
		v, declared := vars[name]
		if !declared {
			if param != "" {
				t.Errorf("docs/CONFIGURATION.md: %s is set by parameter %s, but template.yaml does not set %s", name, param, name)
			}
			continue
		}
		seen++
		b, _ := json.Marshal(v)
		var refs []string
		for p := range params {
			if strings.Contains(string(b), `{"Ref":"`+p+`"}`) {
				refs = append(refs, p)
			}
		}
		switch {
		case param == "" && len(refs) > 0:
			t.Errorf("docs/CONFIGURATION.md: %s has no template parameter, but template.yaml sets it from %v", name, refs)
		case param != "" && !slices.Equal(refs, []string{param}):
			t.Errorf("docs/CONFIGURATION.md: %s is set by parameter %s; template.yaml sets it from %v", name, param, refs)
		}
	}
	if seen == 0 {
		t.Fatal("no row of docs/CONFIGURATION.md's configuration table names a variable template.yaml sets")
	}
	for name := range vars {
		if !documented[name] {
			t.Errorf("docs/CONFIGURATION.md: template.yaml sets %s, which no row documents", name)
		}
	}
	read := map[string]bool{} // every variable the code reads
	_, _ = config.Load(func(k string) string { read[k] = true; return "" })
	for name := range documented {
		_, set := vars[name]
		if !set && !read[name] {
			t.Errorf("docs/CONFIGURATION.md documents %s, which template.yaml does not set and the code does not read", name)
		}
	}
}
