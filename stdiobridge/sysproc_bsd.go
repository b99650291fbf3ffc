//go:build unix && !linux

package stdiobridge

import "syscall"

// sysProcAttr puts the server in a process group of its own, so that signals
// reach everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
