// Command statbox is the whole Graphite pipeline in one binary; see
// package statbox/appliance for its subcommands.
package main

import (
	"os"

	"statbox/appliance"
)

func main() { os.Exit(appliance.Main(os.Args[1:])) }
