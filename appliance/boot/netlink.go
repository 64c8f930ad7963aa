package boot

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The three rtnetlink requests the appliance needs (link up, address,
// default route), written by hand so that init needs no netlink library.

var nlSeq atomic.Uint32

// nlRequest sends one rtnetlink request and waits for the kernel's ack.
func nlRequest(typ uint16, flags uint16, body []byte) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink bind: %w", err)
	}
	seq := nlSeq.Add(1)
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	msg = append(msg, body...)
	*(*unix.NlMsghdr)(unsafe.Pointer(&msg[0])) = unix.NlMsghdr{
		Len: uint32(len(msg)), Type: typ, Flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK | flags, Seq: seq,
	}
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return fmt.Errorf("netlink receive: %w", err)
		}
		for b := buf[:n]; len(b) >= unix.SizeofNlMsghdr; {
			h := (*unix.NlMsghdr)(unsafe.Pointer(&b[0]))
			l := int(h.Len+3) &^ 3
			if h.Len < unix.SizeofNlMsghdr || int(h.Len) > len(b) {
				return fmt.Errorf("netlink: bad message length %d", h.Len)
			}
			if h.Seq == seq && h.Type == unix.NLMSG_ERROR && h.Len >= unix.SizeofNlMsghdr+4 {
				if errno := int32(binary.NativeEndian.Uint32(b[unix.SizeofNlMsghdr:])); errno != 0 {
					return unix.Errno(-errno)
				}
				return nil
			}
			b = b[min(l, len(b)):]
		}
	}
}

// rtattr appends one netlink attribute, padded to four bytes.
func rtattr(b []byte, typ uint16, data []byte) []byte {
	l := unix.SizeofRtAttr + len(data)
	b = binary.NativeEndian.AppendUint16(b, uint16(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for l%4 != 0 {
		b = append(b, 0)
		l++
	}
	return b
}

func structBytes[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

// linkUp sets the interface's IFF_UP flag.
func linkUp(index int) error {
	m := unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: int32(index), Flags: unix.IFF_UP, Change: unix.IFF_UP}
	if err := nlRequest(unix.RTM_NEWLINK, 0, append([]byte(nil), structBytes(&m)...)); err != nil {
		return fmt.Errorf("link %d up: %w", index, err)
	}
	return nil
}

// addAddress gives the interface an IPv4 address and the route to its subnet.
func addAddress(index int, p netip.Prefix) error {
	m := unix.IfAddrmsg{Family: unix.AF_INET, Prefixlen: uint8(p.Bits()), Index: uint32(index)}
	b := append([]byte(nil), structBytes(&m)...)
	a := p.Addr().As4()
	b = rtattr(b, unix.IFA_LOCAL, a[:])
	b = rtattr(b, unix.IFA_ADDRESS, a[:])
	bc := broadcast(p).As4()
	b = rtattr(b, unix.IFA_BROADCAST, bc[:])
	if err := nlRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, b); err != nil {
		return fmt.Errorf("address %s: %w", p, err)
	}
	return nil
}

// addDefaultRoute routes everything off the subnet through gw.
func addDefaultRoute(index int, gw netip.Addr) error {
	m := unix.RtMsg{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_BOOT,
		Scope: unix.RT_SCOPE_UNIVERSE, Type: unix.RTN_UNICAST}
	b := append([]byte(nil), structBytes(&m)...)
	g := gw.As4()
	b = rtattr(b, unix.RTA_GATEWAY, g[:])
	var oif [4]byte
	binary.NativeEndian.PutUint32(oif[:], uint32(index))
	b = rtattr(b, unix.RTA_OIF, oif[:])
	if err := nlRequest(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, b); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (1<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}
