// Command kube-apiserver is the upstream kube-apiserver entry point, built from
// the k8s.io/kubernetes module so that tests can run a real API server without
// Docker or release downloads. See ../README.md.
package main

import (
	"os"
	_ "time/tzdata" // the upstream binary embeds zone data too

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
