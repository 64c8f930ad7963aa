package boot

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// SetupNetwork brings up loopback and the Ethernet interfaces and gives
// them addresses: DHCP on each (renewed at half the lease), or the static
// address of c on the first when c asks for it or DHCP got nothing in time.
func SetupNetwork(c Config, logf func(string, ...any)) error {
	if err := linkUp(1); err != nil { // lo is always index 1; the kernel gives it 127.0.0.1
		return err
	}
	ifaces := waitInterfaces(c.Interface, 10*time.Second)
	if len(ifaces) == 0 {
		return fmt.Errorf("%w (interface = %q)", errNoInterface, c.Interface)
	}
	for _, ifi := range ifaces {
		if err := linkUp(ifi.Index); err != nil {
			return err
		}
	}
	if c.Network == "dhcp" {
		leases := make(chan bool, len(ifaces))
		for _, ifi := range ifaces {
			go func() {
				leases <- dhcpLoop(ifi, c.Hostname, time.Now().Add(c.DHCPTimeout), logf)
			}()
		}
		got := false
		for range ifaces {
			got = <-leases || got
		}
		if got {
			return nil
		}
		if !c.Address.IsValid() {
			return fmt.Errorf("dhcp: no lease on %d interfaces, and statbox.conf has no fallback address", len(ifaces))
		}
		logf("dhcp: no lease; falling back to the static address %s", c.Address)
	}
	ifi := ifaces[0]
	if err := addAddress(ifi.Index, c.Address); err != nil {
		return err
	}
	if c.Gateway.IsValid() {
		if err := addDefaultRoute(ifi.Index, c.Gateway); err != nil {
			return err
		}
	}
	writeResolvConf(c.DNS)
	logf("network: %s has %s (static), gateway %v", ifi.Name, c.Address, c.Gateway)
	return nil
}

// dhcpLoop takes a lease for ifi and, once it has one, keeps renewing it in
// the background. It reports whether the first lease came before deadline.
func dhcpLoop(ifi net.Interface, hostname string, deadline time.Time, logf func(string, ...any)) bool {
	l, err := DHCP(ifi.Name, hostname, deadline)
	if err != nil {
		logf("%v", err)
		return false
	}
	if err := applyLease(ifi, l); err != nil {
		logf("dhcp on %s: %v", ifi.Name, err)
		return false
	}
	gw := "none"
	if l.Router.IsValid() {
		gw = l.Router.String()
	}
	logf("network: %s has %s from %s (dhcp, %v), gateway %s", ifi.Name, l.Address, l.Server, l.Duration, gw)
	go func() {
		for {
			renew := max(l.Duration/2, time.Minute)
			time.Sleep(renew)
			nl, err := DHCP(ifi.Name, hostname, time.Now().Add(renew/2))
			if err != nil {
				logf("dhcp renewal: %v; keeping %s", err, l.Address)
				continue
			}
			if err := applyLease(ifi, nl); err != nil {
				logf("dhcp renewal on %s: %v", ifi.Name, err)
				continue
			}
			l = nl
		}
	}()
	return true
}

func applyLease(ifi net.Interface, l Lease) error {
	if err := addAddress(ifi.Index, l.Address); err != nil {
		return err
	}
	if l.Router.IsValid() {
		if err := addDefaultRoute(ifi.Index, l.Router); err != nil {
			return err
		}
	}
	writeResolvConf(l.DNS)
	return nil
}

// waitInterfaces waits for the NIC drivers to register their interfaces:
// name's, or every Ethernet one (sysfs type 1) when name is "".
func waitInterfaces(name string, wait time.Duration) []net.Interface {
	deadline := time.Now().Add(wait)
	for {
		var found []net.Interface
		all, _ := net.Interfaces()
		for _, ifi := range all {
			if name != "" && ifi.Name != name {
				continue
			}
			typ, _ := os.ReadFile(filepath.Join("/sys/class/net", ifi.Name, "type"))
			if strings.TrimSpace(string(typ)) == "1" && ifi.Flags&net.FlagLoopback == 0 {
				found = append(found, ifi)
			}
		}
		if len(found) > 0 || time.Now().After(deadline) {
			slices.SortFunc(found, func(a, b net.Interface) int { return a.Index - b.Index })
			return found
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeResolvConf(dns []netip.Addr) {
	if len(dns) == 0 {
		return
	}
	var b strings.Builder
	for _, a := range dns {
		fmt.Fprintf(&b, "nameserver %s\n", a)
	}
	os.MkdirAll("/etc", 0o755)
	os.WriteFile("/etc/resolv.conf", []byte(b.String()), 0o644)
}
