// Command enclave is the Enclave platform: server, worker and CLI in one binary.
package main

import (
	"os"

	"github.com/enclave-ml/enclave/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
