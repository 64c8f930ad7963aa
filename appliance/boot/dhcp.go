package boot

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A small DHCPv4 client (RFC 2131): DISCOVER, OFFER, REQUEST, ACK, over a
// UDP socket bound to the interface. The broadcast flag asks servers to
// broadcast their answers, since the interface has no address yet to take
// a unicast reply to; that spares the raw sockets udhcpc needs.

// Lease is what a DHCP server handed out.
type Lease struct {
	Address  netip.Prefix
	Router   netip.Addr // invalid when the server named none
	DNS      []netip.Addr
	Server   netip.Addr
	Duration time.Duration
}

const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
	dhcpNak      = 6

	optSubnet    = 1
	optRouter    = 3
	optDNS       = 6
	optHostname  = 12
	optRequested = 50
	optLease     = 51
	optType      = 53
	optServer    = 54
	optParams    = 55
	optEnd       = 255
)

var dhcpCookie = []byte{99, 130, 83, 99}

// DHCP asks for a lease on the interface until one comes or deadline passes.
func DHCP(ifname, hostname string, deadline time.Time) (Lease, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return Lease{}, err
	}
	conn, err := dhcpSocket(ifname)
	if err != nil {
		return Lease{}, err
	}
	defer conn.Close()
	bcast := &net.UDPAddr{IP: net.IPv4bcast, Port: 67}
	for wait := time.Second; time.Now().Before(deadline); wait = min(2*wait, 8*time.Second) {
		var xid [4]byte
		rand.Read(xid[:])
		if _, err := conn.WriteTo(dhcpPacket(xid, ifi.HardwareAddr, dhcpDiscover, hostname, nil), bcast); err != nil {
			return Lease{}, fmt.Errorf("dhcp discover on %s: %w", ifname, err)
		}
		offer, ok := dhcpAwait(conn, xid, time.Now().Add(wait), deadline, dhcpOffer)
		if !ok {
			continue
		}
		if _, err := conn.WriteTo(dhcpPacket(xid, ifi.HardwareAddr, dhcpRequest, hostname, &offer), bcast); err != nil {
			return Lease{}, fmt.Errorf("dhcp request on %s: %w", ifname, err)
		}
		if ack, ok := dhcpAwait(conn, xid, time.Now().Add(wait), deadline, dhcpAck); ok {
			return ack, nil
		}
	}
	return Lease{}, fmt.Errorf("dhcp on %s: no lease before the deadline", ifname)
}

func dhcpSocket(ifname string) (net.PacketConn, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dhcp socket: %w", err)
	}
	for _, o := range []struct {
		opt int
		err error
	}{
		{unix.SO_REUSEADDR, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)},
		{unix.SO_BROADCAST, unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1)},
		{unix.SO_BINDTODEVICE, unix.BindToDevice(fd, ifname)},
		{0, unix.Bind(fd, &unix.SockaddrInet4{Port: 68})},
	} {
		if o.err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("dhcp socket on %s (option %d): %w", ifname, o.opt, o.err)
		}
	}
	f := os.NewFile(uintptr(fd), "dhcp")
	defer f.Close()
	return net.FilePacketConn(f)
}

// dhcpAwait reads answers until one of type want for xid arrives or the
// wait ends. A NAK ends the wait at once.
func dhcpAwait(conn net.PacketConn, xid [4]byte, until, deadline time.Time, want byte) (Lease, bool) {
	if deadline.Before(until) {
		until = deadline
	}
	conn.SetReadDeadline(until)
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return Lease{}, false
		}
		typ, l, ok := parseDHCP(buf[:n], xid)
		if !ok {
			continue
		}
		if typ == dhcpNak {
			return Lease{}, false
		}
		if typ == want {
			return l, true
		}
	}
}

// dhcpPacket builds a DISCOVER, or a REQUEST for offer.
func dhcpPacket(xid [4]byte, mac net.HardwareAddr, typ byte, hostname string, offer *Lease) []byte {
	p := make([]byte, 236, 300)
	p[0], p[1], p[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, 6-byte address
	copy(p[4:8], xid[:])
	binary.BigEndian.PutUint16(p[10:12], 0x8000) // broadcast the reply
	copy(p[28:44], mac)
	p = append(p, dhcpCookie...)
	p = append(p, optType, 1, typ)
	if hostname != "" && len(hostname) < 256 {
		p = append(p, optHostname, byte(len(hostname)))
		p = append(p, hostname...)
	}
	if offer != nil {
		a, s := offer.Address.Addr().As4(), offer.Server.As4()
		p = append(p, optRequested, 4)
		p = append(p, a[:]...)
		p = append(p, optServer, 4)
		p = append(p, s[:]...)
	}
	p = append(p, optParams, 4, optSubnet, optRouter, optDNS, optLease, optEnd)
	return p
}

// parseDHCP reads a server's answer to xid: its type and the lease it offers.
func parseDHCP(b []byte, xid [4]byte) (byte, Lease, bool) {
	var l Lease
	if len(b) < 240 || b[0] != 2 || !bytes.Equal(b[4:8], xid[:]) || !bytes.Equal(b[236:240], dhcpCookie) {
		return 0, l, false
	}
	yi := netip.AddrFrom4([4]byte(b[16:20]))
	bits, typ := 24, byte(0)
	for o := b[240:]; len(o) > 0 && o[0] != optEnd; {
		if o[0] == 0 { // pad
			o = o[1:]
			continue
		}
		if len(o) < 2 || len(o) < 2+int(o[1]) {
			return 0, l, false
		}
		code, v := o[0], o[2:2+int(o[1])]
		o = o[2+len(v):]
		switch {
		case code == optType && len(v) == 1:
			typ = v[0]
		case code == optSubnet && len(v) == 4:
			ones, _ := net.IPMask(v).Size()
			bits = ones
		case code == optRouter && len(v) >= 4:
			l.Router = netip.AddrFrom4([4]byte(v[:4]))
		case code == optDNS:
			for ; len(v) >= 4; v = v[4:] {
				l.DNS = append(l.DNS, netip.AddrFrom4([4]byte(v[:4])))
			}
		case code == optLease && len(v) == 4:
			l.Duration = time.Duration(binary.BigEndian.Uint32(v)) * time.Second
		case code == optServer && len(v) == 4:
			l.Server = netip.AddrFrom4([4]byte(v))
		}
	}
	l.Address = netip.PrefixFrom(yi, bits)
	if typ == 0 {
		return 0, l, false
	}
	return typ, l, true
}

// errNoInterface is returned when no Ethernet interface appeared.
var errNoInterface = errors.New("no network interface")
