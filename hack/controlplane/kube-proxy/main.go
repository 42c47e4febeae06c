// Command kube-proxy is the upstream kube-proxy entry point, built from the same
// k8s.io/kubernetes module and versions as kube-apiserver, for the local node
// (`make node`), where it runs in iptables mode inside the node's network
// namespace.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-proxy/app"
)

func main() {
	os.Exit(cli.Run(app.NewProxyCommand()))
}
