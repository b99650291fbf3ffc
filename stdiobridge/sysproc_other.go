//go:build !unix

package stdiobridge

import (
	"os"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the process itself: there are no process groups to signal
// here, and no gentle signal either.
func killGroup(pid int, hard bool) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
