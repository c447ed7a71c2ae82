// Package docs checks the project's Markdown (README.md and docs/*.md)
// against the repository: every relative link and #anchor resolves, every
// https://github.com/signalwire-lambda/participants/blob/main/... address
// (the problem type URIs among them) names a file and heading that exist,
// the README's quick start is the two commands CI agrees with, and every
// make target it names exists. It has no non-test code.
package docs
