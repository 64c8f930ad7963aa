// Command statbox-init is PID 1 of the statbox appliance image (images/):
// see package statbox/appliance/boot.
package main

import (
	"os"

	"statbox/appliance/boot"
)

func main() { os.Exit(boot.Main()) }
