//go:build !unix

package localenv

import (
	"errors"
	"syscall"
)

// sysProcAttr has no process groups to set up here.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup is unsupported here; Close falls back to killing the emulator.
func killGroup(int) error {
	return errors.New("localenv: process groups are unsupported on this system")
}
