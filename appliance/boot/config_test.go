package boot

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		check    func(Config) bool
		err      string
	}{
		{"empty", "", func(c Config) bool { return c.Network == "dhcp" && c.Hostname == "statbox" }, ""},
		{"static", "network = static\naddress = 10.1.2.3/16 # the lab\ngateway=10.1.0.1\ndns = 10.1.0.1, 1.1.1.1",
			func(c Config) bool {
				return c.Network == "static" && c.Address.String() == "10.1.2.3/16" && c.Gateway.String() == "10.1.0.1" && len(c.DNS) == 2
			}, ""},
		{"flags", "flags = --flush-interval 2s --log-level debug\ndhcp_timeout = 5s",
			func(c Config) bool {
				return slices.Equal(c.Flags, []string{"--flush-interval", "2s", "--log-level", "debug"}) && c.DHCPTimeout == 5*time.Second
			}, ""},
		{"empty values", "interface =\naddress =\nflags =", func(c Config) bool { return !c.Address.IsValid() && len(c.Flags) == 0 }, ""},
		{"typo", "hostnme = x", nil, "statbox.conf:1: hostnme: unknown setting"},
		{"static without address", "network = static", nil, "needs an address"},
		{"bad address", "address = 10.0.0.300/24", nil, "statbox.conf:1: address"},
		{"no equals", "hostname box", nil, "want KEY = VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !tc.check(c) {
				t.Fatalf("ParseConfig = %+v, %v", c, err)
			}
		})
	}
}

// The statbox.conf shipped on the image parses, and says what it means.
func TestShippedConfig(t *testing.T) {
	f, err := os.Open("../../images/esp/statbox.conf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.Network != "dhcp" || !c.Address.IsValid() {
		t.Errorf("shipped config: %+v", c)
	}
}
