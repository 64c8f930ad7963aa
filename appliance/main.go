// Package appliance is the statbox daemon and command: flags and configuration,
// the wiring and lifecycle of the stages, and the subcommands.
package appliance

import (
	"fmt"
	"os"

	"statbox/appliance/whispertool"
)

const usage = `usage: statbox COMMAND [ARGS]

commands:
  run         start the appliance (statbox run --help for its flags)
  whisper     whisper file tools, as whisper-create, -info, -fetch, -update,
              -dump, -resize, -merge and -fill take them:
                statbox whisper create|info|fetch|update|dump|resize|merge|fill ARGS
  update      send a new system to an appliance, which tries it once:
                statbox update http://BOX:8080 statbox.img
  version     print the version
`

// Version is the statbox version, set at link time.
var Version = "dev"

// Main runs the statbox command with args (without the program name) and
// returns the exit code.
func Main(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return Run(args[1:], os.Stdout, os.Stderr)
	case "whisper":
		return whispertool.Main(args[1:], whispertool.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	case "update":
		return Update(args[1:], os.Stdout, os.Stderr)
	case "version", "--version":
		fmt.Println("statbox", Version)
		return 0
	case "help", "-h", "--help":
		fmt.Print(usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "statbox: unknown command %q\n\n%s", args[0], usage)
	return 2
}
