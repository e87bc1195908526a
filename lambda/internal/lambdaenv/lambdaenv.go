// Package lambdaenv reads the environment contract for a Lambda function: the same variables as
// every API, with one Lambda-specific default.
package lambdaenv

import (
	"os"
	"strconv"

	"github.com/perflab/apilab/internal/config"
)

// DefaultDBPoolMax is the pool size of one execution environment when DB_POOL_MAX is unset.
// An environment serves one invocation at a time, so it needs one connection for the event and
// one spare for a health check racing a slow statement; N environments then hold 2N connections,
// which is what keeps a scaled-out Lambda fleet under max_connections.
const DefaultDBPoolMax = 2

// Load reads the process environment. PORT and BIND_ADDRESS are ignored by functions: the
// Lambda runtime API decides where invocations come from.
func Load() (config.Config, error) {
	return config.FromLookup(lookup(os.LookupEnv), config.DefaultRESTPort)
}

func lookup(env func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env(name)
		if name == "DB_POOL_MAX" && (!ok || v == "") {
			return strconv.Itoa(DefaultDBPoolMax), true
		}
		return v, ok
	}
}
