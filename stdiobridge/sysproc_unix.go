//go:build unix

package stdiobridge

import "syscall"

// killGroup signals the process group led by pid: SIGKILL when hard,
// SIGTERM otherwise. A group that is already gone is not an error.
func killGroup(pid int, hard bool) {
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pid, sig)
}
