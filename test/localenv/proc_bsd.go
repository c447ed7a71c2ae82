//go:build unix && !linux

package localenv

import "syscall"

// sysProcAttr puts the emulator in its own process group (Close kills the
// group, the bootstrap included).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
