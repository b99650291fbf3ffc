package hydratest

import "syscall"

// sysProcAttr makes the kernel stop hydra when the test process dies
// without running its cleanups (a panic, a timeout, a kill).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
