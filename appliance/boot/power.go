package boot

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
)

// WatchPowerButton reports each press of an ACPI power button (the kernel's
// button driver, seen through evdev) on the returned channel. qemu's
// system_powerdown presses it too. With no button it never reports.
func WatchPowerButton(logf func(string, ...any)) <-chan struct{} {
	pressed := make(chan struct{}, 1)
	names, _ := filepath.Glob("/sys/class/input/event*/device/name")
	for _, n := range names {
		b, _ := os.ReadFile(n)
		if strings.TrimSpace(string(b)) != "Power Button" {
			continue
		}
		dev := "/dev/input/" + filepath.Base(filepath.Dir(filepath.Dir(n)))
		f, err := os.Open(dev)
		if err != nil {
			logf("power button %s: %v", dev, err)
			continue
		}
		logf("power button: %s", dev)
		go readPowerKey(f, pressed)
	}
	return pressed
}

// readPowerKey reads struct input_event (64-bit: 16 bytes of time, type,
// code, value) and reports KEY_POWER going down.
func readPowerKey(f *os.File, pressed chan<- struct{}) {
	const evKey, keyPower = 1, 116
	ev := make([]byte, 24)
	for {
		if _, err := f.Read(ev); err != nil {
			return
		}
		typ, code := binary.NativeEndian.Uint16(ev[16:]), binary.NativeEndian.Uint16(ev[18:])
		if typ == evKey && code == keyPower && binary.NativeEndian.Uint32(ev[20:]) == 1 {
			select {
			case pressed <- struct{}{}:
			default:
			}
		}
	}
}
