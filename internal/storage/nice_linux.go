package storage

import "syscall"

// setThreadNice sets the calling OS thread's nice value (Linux keeps one per thread; the
// caller has locked its goroutine to the thread). Raising it needs no privilege.
func setThreadNice(nice int) error {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
