package boot

import (
	"net"
	"testing"
)

// An OFFER as qemu's user-mode network sends one, parsed back.
func TestParseDHCP(t *testing.T) {
	xid := [4]byte{1, 2, 3, 4}
	mac := net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	p := dhcpPacket(xid, mac, dhcpDiscover, "box", nil)
	p[0] = 2 // a reply
	copy(p[16:20], []byte{10, 0, 2, 15})
	p = p[:240]
	p = append(p, optType, 1, dhcpOffer, optSubnet, 4, 255, 255, 255, 0, optRouter, 4, 10, 0, 2, 2,
		optDNS, 8, 10, 0, 2, 3, 1, 1, 1, 1, optLease, 4, 0, 1, 0x51, 0x80, optServer, 4, 10, 0, 2, 2, 0, optEnd)
	typ, l, ok := parseDHCP(p, xid)
	if !ok || typ != dhcpOffer {
		t.Fatalf("parseDHCP: %v %v", typ, ok)
	}
	if l.Address.String() != "10.0.2.15/24" || l.Router.String() != "10.0.2.2" || len(l.DNS) != 2 ||
		l.Duration.Seconds() != 86400 || l.Server.String() != "10.0.2.2" {
		t.Errorf("lease %+v", l)
	}
	if _, _, ok := parseDHCP(p, [4]byte{9, 9, 9, 9}); ok {
		t.Error("an answer to another transaction was taken")
	}
	if _, _, ok := parseDHCP(p[:len(p)-5], xid); ok {
		t.Error("a truncated option was taken")
	}
}
