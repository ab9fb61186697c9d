// Package zzdeps pins dependencies for in-flight work.
package zzdeps

import (
	_ "github.com/johannesboyne/gofakes3"
	_ "github.com/parquet-go/parquet-go"
	_ "github.com/tink-crypto/tink-go/v2/keyset"
	_ "github.com/tink-crypto/tink-go/v2/streamingaead"
	_ "gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"
	_ "gocloud.dev/secrets"
	_ "gocloud.dev/secrets/awskms"
	_ "gocloud.dev/secrets/azurekeyvault"
	_ "gocloud.dev/secrets/gcpkms"
	_ "gocloud.dev/secrets/hashivault"
	_ "gocloud.dev/secrets/localsecrets"
)
