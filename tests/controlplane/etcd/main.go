// Command etcd is etcd's own server (etcdmain) at the version k8s.io/kubernetes v1.37.2 requires,
// built from the go.etcd.io/etcd modules for the test control plane.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
