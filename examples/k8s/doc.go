// Package k8s holds the Kubernetes example of frpt (an Indexed Job running the
// post-training grid as N tasks, and the image's Dockerfile). It has no code: its test
// parses frpt-grid.yaml and checks it against frpt's command line.
package k8s
