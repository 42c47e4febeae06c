// Command etcd wraps etcdmain: `go install go.etcd.io/etcd/server/v3` cannot
// work because etcd's own go.mod carries replace directives.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
