//go:build linux

package stdiobridge

import "syscall"

// sysProcAttr puts the server in a process group of its own, so that signals
// reach everything it started, and has the kernel kill it if the proxy dies
// without shutting it down.
//
// Pdeathsig fires when the thread that started the process exits; the Go
// runtime keeps its threads for the life of the process unless a goroutine
// that locked one exits, which this package never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
