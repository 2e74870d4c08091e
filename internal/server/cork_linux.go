package server

import (
	"net"

	"golang.org/x/sys/unix"
)

// setCork sets TCP_CORK on a TCP connection. Corked, the kernel holds
// partial segments until uncorked, so a response written as several parts
// (writev, then sendfile, then writev …) goes out in full packets.
// Errors are ignored: corking is an optimization only.
func setCork(nc net.Conn, on bool) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	v := 0
	if on {
		v = 1
	}
	_ = raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, v)
	})
}
