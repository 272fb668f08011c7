//go:build !linux

package crdt

import "syscall"

// Elsewhere a worker exits on EOF of its requests when its parent dies, and
// sits in its own process group so the terminal's Ctrl-C reaches only the
// parent.
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
