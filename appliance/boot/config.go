package boot

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
)

// Config is the appliance's settings, read from statbox.conf on the EFI
// system partition so that a user can edit them on any computer.
type Config struct {
	Hostname    string
	Network     string        // "dhcp" or "static"
	DHCPTimeout time.Duration // how long DHCP may take before the static fallback
	Interface   string        // "" for every Ethernet interface
	Address     netip.Prefix  // static address, or DHCP's fallback; invalid for none
	Gateway     netip.Addr
	DNS         []netip.Addr
	Flags       []string // extra arguments for statbox run
}

// DefaultConfig is what a box runs with when statbox.conf is missing or
// empty: DHCP, and a hostname that says what the box is.
func DefaultConfig() Config {
	return Config{Hostname: "statbox", Network: "dhcp", DHCPTimeout: 20 * time.Second}
}

// ParseConfig reads statbox.conf: KEY = VALUE lines, # comments, unknown
// keys rejected so that a typo does not pass silently. Settings absent
// from the file keep DefaultConfig's values.
func ParseConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return c, fmt.Errorf("statbox.conf:%d: want KEY = VALUE, got %q", n, line)
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if err := c.set(key, val); err != nil {
			return c, fmt.Errorf("statbox.conf:%d: %s: %w", n, key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("statbox.conf: %w", err)
	}
	if c.Network == "static" && !c.Address.IsValid() {
		return c, fmt.Errorf("statbox.conf: network = static needs an address")
	}
	return c, nil
}

func (c *Config) set(key, val string) error {
	var err error
	switch key {
	case "hostname":
		if val == "" || len(val) > 64 || strings.ContainsAny(val, " \t/") {
			return fmt.Errorf("%q is not a host name", val)
		}
		c.Hostname = val
	case "network":
		if val != "dhcp" && val != "static" {
			return fmt.Errorf("want dhcp or static, got %q", val)
		}
		c.Network = val
	case "dhcp_timeout":
		c.DHCPTimeout, err = time.ParseDuration(val)
	case "interface":
		c.Interface = val
	case "address":
		if val != "" {
			c.Address, err = netip.ParsePrefix(val)
		}
	case "gateway":
		if val != "" {
			c.Gateway, err = netip.ParseAddr(val)
		}
	case "dns":
		c.DNS = nil
		for _, f := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' }) {
			a, perr := netip.ParseAddr(f)
			if perr != nil {
				return perr
			}
			c.DNS = append(c.DNS, a)
		}
	case "flags":
		c.Flags = strings.Fields(val)
	default:
		return fmt.Errorf("unknown setting")
	}
	return err
}
