//go:build unix

package localenv

import (
	"fmt"
	"syscall"
)

// killGroup kills the process group led by pid.
func killGroup(pid int) error {
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("localenv: kill process group %d: %w", pid, err)
	}
	return nil
}
