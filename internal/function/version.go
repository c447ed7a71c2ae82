package function

import (
	"cmp"
	"runtime/debug"
)

// stamped is the version make build passes with -ldflags -X, used only
// when the build info carries none (GOFLAGS=-buildvcs=false, or sam build
// building from a copy without .git).
var stamped string

// version is the function's version, in the User-Agent and the init log
// line: the main module's version (a tag, or the pseudo-version go build
// derives from the VCS since Go 1.24), else stamped, else "devel".
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(bi, stamped)
}

func versionOf(bi *debug.BuildInfo, stamped string) string {
	if bi != nil && bi.Main.Version != "(devel)" {
		return cmp.Or(bi.Main.Version, stamped, "devel")
	}
	return cmp.Or(stamped, "devel")
}
