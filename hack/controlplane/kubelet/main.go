// Command kubelet is the upstream kubelet entry point, built from the same
// k8s.io/kubernetes module and versions as kube-apiserver. The local node
// (operator/twilio_operator/testing/node.py, `make node`) runs it against
// Debian's containerd inside a network namespace of its own.
package main

import (
	"context"
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	os.Exit(cli.Run(app.NewKubeletCommand(context.Background())))
}
