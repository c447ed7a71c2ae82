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
// derives from the VCS), else the VCS revision go build stamps, else
// stamped, else "devel".
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(bi, stamped)
}

func versionOf(bi *debug.BuildInfo, stamped string) string {
	if bi == nil {
		return cmp.Or(stamped, "devel")
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value[:min(len(s.Value), 12)]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev != "" {
		return rev + dirty
	}
	return cmp.Or(stamped, "devel")
}
