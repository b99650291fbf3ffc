package redistest

import "syscall"

// sysProcAttr makes the kernel stop redis-server when the test process dies
// without running its cleanups (a panic, a timeout, a kill).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
