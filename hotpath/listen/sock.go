//go:build linux

package listen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dropAll is a classic BPF socket filter that keeps no packet. On a UDP socket it
// refuses new datagrams; on a TCP listener it drops SYNs and the ACKs that would
// complete a handshake, so the listen queue stops growing. The kernel counts what
// it drops this way in the socket's drop counter.
var dropAll = []unix.SockFilter{
	{Code: unix.BPF_RET | unix.BPF_K, K: 0},
}

// dropPayload is a classic BPF filter for an established TCP socket that drops
// every segment carrying data and keeps the rest (ACK, FIN, RST). A socket filter
// sees the segment from its TCP header on: byte 12 holds the header length in
// 32-bit words in its high nibble, and len is header plus payload.
var dropPayload = []unix.SockFilter{
	{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: 12},
	{Code: unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K, K: 2},
	{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: 0x3c},
	{Code: unix.BPF_MISC | unix.BPF_TAX},
	{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_LEN},
	{Code: unix.BPF_JMP | unix.BPF_JGT | unix.BPF_X, Jt: 0, Jf: 1},
	{Code: unix.BPF_RET | unix.BPF_K, K: 0},
	{Code: unix.BPF_RET | unix.BPF_K, K: 0xffffffff},
}

// attachFilter installs a classic BPF program on fd.
func attachFilter(fd int, prog []unix.SockFilter) error {
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fp); err != nil {
		return fmt.Errorf("attach socket filter: %w", err)
	}
	return nil
}

// detachFilter removes the filter attachFilter installed.
func detachFilter(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0); err != nil {
		return fmt.Errorf("detach socket filter: %w", err)
	}
	return nil
}

// setReadBuffer asks for a receive buffer of size bytes: SO_RCVBUFFORCE first,
// which needs CAP_NET_ADMIN and ignores net.core.rmem_max, then SO_RCVBUF, which
// the kernel caps at rmem_max. It returns what the kernel granted as getsockopt
// reports it: twice the request, because the kernel counts its bookkeeping too.
func setReadBuffer(fd, size int) (int, error) {
	if size > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size); err != nil {
				return 0, fmt.Errorf("set SO_RCVBUF to %d: %w", size, err)
			}
		}
	}
	got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		return 0, fmt.Errorf("get SO_RCVBUF: %w", err)
	}
	return got, nil
}

// socketDrops returns the kernel's count of packets dropped on this socket
// (receive buffer full, filter, bad checksum), from SO_MEMINFO (Linux 4.7).
func socketDrops(fd int) (uint64, error) {
	var mem [unix.SK_MEMINFO_VARS]uint32
	n := uint32(unsafe.Sizeof(mem))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&n)), 0)
	if errno != 0 {
		return 0, fmt.Errorf("get SO_MEMINFO: %w", errno)
	}
	if n < (unix.SK_MEMINFO_DROPS+1)*4 {
		return 0, errors.New("get SO_MEMINFO: kernel reports no drop counter (needs Linux 4.7)")
	}
	return uint64(mem[unix.SK_MEMINFO_DROPS]), nil
}

// sockaddr turns a resolved address into the family and sockaddr to bind. A
// wildcard address (":2003", "0.0.0.0:2003", "[::]:2003") binds dual-stack, as
// Go's net.Listen does; dualStack says so.
func sockaddr(ip net.IP, port int, zone string) (family int, sa unix.Sockaddr, dualStack bool, err error) {
	if ip == nil || ip.IsUnspecified() {
		return unix.AF_INET6, &unix.SockaddrInet6{Port: port}, true, nil
	}
	if ip4 := ip.To4(); ip4 != nil {
		sa4 := &unix.SockaddrInet4{Port: port}
		copy(sa4.Addr[:], ip4)
		return unix.AF_INET, sa4, false, nil
	}
	sa6 := &unix.SockaddrInet6{Port: port}
	copy(sa6.Addr[:], ip.To16())
	if zone != "" {
		if ifi, err := net.InterfaceByName(zone); err == nil {
			sa6.ZoneId = uint32(ifi.Index)
		} else if n, err := strconv.Atoi(zone); err == nil {
			sa6.ZoneId = uint32(n)
		} else {
			return 0, nil, false, fmt.Errorf("unknown zone %q", zone)
		}
	}
	return unix.AF_INET6, sa6, false, nil
}

// tcpAddr converts what getsockname returned.
func tcpAddr(sa unix.Sockaddr) *net.TCPAddr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: sa.Port}
	case *unix.SockaddrInet6:
		a := &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: sa.Port}
		if sa.ZoneId != 0 {
			a.Zone = strconv.Itoa(int(sa.ZoneId))
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	}
	return nil
}

// listenTCPSocket opens a non-blocking SO_REUSEPORT listening socket on host:port
// outside Go's network poller, since an event loop owns it.
func listenTCPSocket(host string, port int) (int, *net.TCPAddr, error) {
	ta, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return -1, nil, err
	}
	family, sa, dual, err := sockaddr(ta.IP, ta.Port, ta.Zone)
	if err != nil {
		return -1, nil, err
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil && dual && errors.Is(err, unix.EAFNOSUPPORT) {
		// No IPv6 in this kernel: a wildcard means every IPv4 address then.
		family, sa, dual = unix.AF_INET, &unix.SockaddrInet4{Port: ta.Port}, false
		fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return -1, nil, fmt.Errorf("socket: %w", err)
	}
	fail := func(what string, err error) (int, *net.TCPAddr, error) {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("%s: %w", what, err)
	}
	if dual {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
			return fail("clear IPV6_V6ONLY", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("set SO_REUSEADDR", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fail("set SO_REUSEPORT", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	// The kernel caps the backlog at net.core.somaxconn.
	if err := unix.Listen(fd, 65535); err != nil {
		return fail("listen", err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return fd, tcpAddr(bound), nil
}

// eventfdRead empties an eventfd's counter.
func eventfdRead(fd int) {
	var b [8]byte
	unix.Read(fd, b[:])
}

// eventfdWrite wakes whoever polls the eventfd.
func eventfdWrite(fd int) {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], 1)
	unix.Write(fd, b[:])
}
