// Package enclave holds the vocabulary every Enclave domain shares: typed
// error kinds, the authenticated actor carried by a request's context,
// resource-name validation and opaque page tokens. It imports no transport
// or storage package, so every domain package can depend on it.
package enclave
