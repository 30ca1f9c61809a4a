package client

// The client is generated from the OpenAPI document by ogen, whose version
// is pinned by the tool directive in go.mod. TestGeneratedClientIsFresh
// fails when the checked-in code differs from what this would write.
//go:generate go tool ogen -config ogen.yml -package client -target . -clean ../api/openapi.yaml
