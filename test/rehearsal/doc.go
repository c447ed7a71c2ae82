// Package rehearsal holds the deploy rehearsal (make rehearsal): template.yaml
// transformed by aws-sam-translator (the real SAM transform) and created as a
// CloudFormation stack in moto_server, then the real bootstrap run under the
// Lambda Runtime Interface Emulator with the function's environment exactly
// as moto resolved it, serving webhooks through the stack's own queues. It
// proves the template and the code agree: names, URLs vs ARNs, receive
// counts, the event source mapping and the IAM policies' targets. See
// docs/TESTING.md. It has no non-test code.
package rehearsal
