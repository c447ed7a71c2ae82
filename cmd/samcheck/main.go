// Command samcheck validates AWS SAM templates against the SAM JSON schema.
//
// Usage:
//
//	go run ./cmd/samcheck -schema ../shared/sam/sam.schema.re2.json template.yaml [more.yaml ...]
//
// Each template (YAML with CloudFormation short-form tags such as !Ref, !Sub
// and !If, or JSON) is converted to JSON with every intrinsic function kept in
// its long form ({"Ref": ...}, {"Fn::Sub": ...}), then validated with
// github.com/santhosh-tekuri/jsonschema/v6. Use the schema's RE2 variant: the
// original uses a look-ahead that Go's regexp cannot compile.
//
// samcheck prints "<template>: valid against <schema>" for a valid template
// and one "<template>: at <JSON pointer>: <message>" line per violation
// otherwise. It exits 0 when every template is valid, 1 when one is not (or
// cannot be read or converted), and 2 on a usage or schema error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it parses args, validates every template
// named there and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("samcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	schemaPath := fs.String("schema", "", "path of the SAM JSON schema (e.g. ../shared/sam/sam.schema.re2.json)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: samcheck -schema SCHEMA.json TEMPLATE.yaml [TEMPLATE ...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *schemaPath == "" || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}

	schema, err := CompileSchema(*schemaPath)
	if err != nil {
		fmt.Fprintf(stderr, "samcheck: %v\n", err)
		return 2
	}

	status := 0
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "samcheck: %v\n", err)
			status = 1
			continue
		}
		violations, err := Check(schema, data)
		if err != nil {
			fmt.Fprintf(stderr, "samcheck: %s: %v\n", path, err)
			status = 1
			continue
		}
		if len(violations) == 0 {
			fmt.Fprintf(stdout, "%s: valid against %s\n", path, *schemaPath)
			continue
		}
		status = 1
		for _, v := range violations {
			fmt.Fprintf(stdout, "%s: %s\n", path, v)
		}
	}
	return status
}
