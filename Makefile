# The two commands a new user needs are `make run` and `make test`.
.PHONY: run test build bench

build:
	go build -o bin/enclave ./cmd/enclave

run: build
	./bin/enclave server

test:
	./scripts/test.sh

bench:
	go run ./bench
