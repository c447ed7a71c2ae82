//go:build linux

package localenv

import "syscall"

// sysProcAttr puts the emulator in its own process group (Close kills the
// group, the bootstrap included) and kills it if this process dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
