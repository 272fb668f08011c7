package crdt

import "syscall"

// A worker is killed when its parent dies (Pdeathsig; and it exits on EOF
// of its requests anyway), and sits in its own process group so that the
// terminal's Ctrl-C reaches the parent, which flushes, not the workers.
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
