// Command kube-controller-manager is the upstream kube-controller-manager entry
// point, built from the same k8s.io/kubernetes module as kube-apiserver. The test
// control plane runs only the namespace, garbage-collector and
// serviceaccount-token controllers of it (see the harness in
// operator/twilio_operator/testing/controlplane.py).
package main

import (
	"os"
	_ "time/tzdata" // the upstream binary embeds zone data too (CronJob time zones)

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
